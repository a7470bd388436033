/* unit 11 of the pool test package */
int unit11(int x)
{
    int r = x;
    switch (x) {
    case 1:
        r++;
        /* fall through */
    case 2:
        r += 11;
        break;
    }
    return r;
}
