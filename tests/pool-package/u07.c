/* unit 07 of the pool test package */
int unit07(int x)
{
    int r = x;
    switch (x) {
    case 1:
        r++;
        /* fall through */
    case 2:
        r += 7;
        break;
    }
    return r;
}
