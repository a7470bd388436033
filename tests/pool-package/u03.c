/* unit 03 of the pool test package */
int unit03(int x)
{
    int r = x;
    switch (x) {
    case 1:
        r++;
        /* fall through */
    case 2:
        r += 3;
        break;
    }
    return r;
}
