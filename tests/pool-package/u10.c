/* unit 10 of the pool test package */
int unit10(int x)
{
    int r = x;
    switch (x) {
    case 1:
        r++;
        /* fall through */
    case 2:
        r += 10;
        break;
    }
    return r;
}
