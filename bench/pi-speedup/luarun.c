/* Runs one Lua chunk with the library built beside it: the benchmark's program, so the
 * build is checked to work, not only to finish. */
#include <stdio.h>
#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

int main(int argc, char **argv) {
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    const char *chunk = argc > 1 ? argv[1] : "local s = 0 for i = 1, 100 do s = s + i end print(s)";
    int failed = luaL_dostring(L, chunk);
    if (failed)
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
    lua_close(L);
    return failed;
}
