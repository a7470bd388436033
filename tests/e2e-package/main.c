#include <stdio.h>
#include "hello.h"

int main(void) {
    printf("%s: %d (v%d)\n", greeting(), sum_to(8) + 6, version());
    return 0;
}
