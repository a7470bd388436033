/* unit 15 of the pool test package */
int unit15(int x)
{
    int r = x;
    switch (x) {
    case 1:
        r++;
        /* fall through */
    case 2:
        r += 15;
        break;
    }
    return r;
}
