/* unit 04 of the pool test package */
int unit04(int x)
{
    int r = x;
    switch (x) {
    case 1:
        r++;
        /* fall through */
    case 2:
        r += 4;
        break;
    }
    return r;
}
