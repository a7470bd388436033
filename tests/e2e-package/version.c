#include "hello.h"

int version(void) { return 1; }
