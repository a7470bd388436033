/* unit 14 of the pool test package */
int unit14(int x)
{
    int r = x;
    switch (x) {
    case 1:
        r++;
        /* fall through */
    case 2:
        r += 14;
        break;
    }
    return r;
}
