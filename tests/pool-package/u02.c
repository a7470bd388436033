/* unit 02 of the pool test package */
int unit02(int x)
{
    int r = x;
    switch (x) {
    case 1:
        r++;
        /* fall through */
    case 2:
        r += 2;
        break;
    }
    return r;
}
