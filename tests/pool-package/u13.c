/* unit 13 of the pool test package */
int unit13(int x)
{
    int r = x;
    switch (x) {
    case 1:
        r++;
        /* fall through */
    case 2:
        r += 13;
        break;
    }
    return r;
}
