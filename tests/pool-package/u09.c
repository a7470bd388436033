/* unit 09 of the pool test package */
int unit09(int x)
{
    int r = x;
    switch (x) {
    case 1:
        r++;
        /* fall through */
    case 2:
        r += 9;
        break;
    }
    return r;
}
