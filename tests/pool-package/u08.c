/* unit 08 of the pool test package */
int unit08(int x)
{
    int r = x;
    switch (x) {
    case 1:
        r++;
        /* fall through */
    case 2:
        r += 8;
        break;
    }
    return r;
}
