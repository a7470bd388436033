/* unit 16 of the pool test package */
int unit16(int x)
{
    int r = x;
    switch (x) {
    case 1:
        r++;
        /* fall through */
    case 2:
        r += 16;
        break;
    }
    return r;
}
