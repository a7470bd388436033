/* unit 06 of the pool test package */
int unit06(int x)
{
    int r = x;
    switch (x) {
    case 1:
        r++;
        /* fall through */
    case 2:
        r += 6;
        break;
    }
    return r;
}
