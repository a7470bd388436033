/* unit 01 of the pool test package */
int unit01(int x)
{
    int r = x;
    switch (x) {
    case 1:
        r++;
        /* fall through */
    case 2:
        r += 1;
        break;
    }
    return r;
}
