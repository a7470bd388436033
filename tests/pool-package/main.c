#include <stdio.h>
int unit01(int);
int main(void)
{
    printf("%d\n", unit01(1));
    return 0;
}
