/* unit 05 of the pool test package */
int unit05(int x)
{
    int r = x;
    switch (x) {
    case 1:
        r++;
        /* fall through */
    case 2:
        r += 5;
        break;
    }
    return r;
}
