/* unit 12 of the pool test package */
int unit12(int x)
{
    int r = x;
    switch (x) {
    case 1:
        r++;
        /* fall through */
    case 2:
        r += 12;
        break;
    }
    return r;
}
