/* env.c: jx__env_bool, the parser of every yes/no environment switch (ir.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

bool jx__env_bool(const char *name, bool def) {
    const char *v = getenv(name);
    if (!v || !*v) return def;
    static const char *const yes[] = {"1", "true", "on", "yes"}, *const no[] = {"0", "false", "off", "no"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(v, yes[i]) == 0) return true;
        if (strcmp(v, no[i]) == 0) return false;
    }
    fprintf(stderr, "jx: warning: %s=%s is not 1, true, on, yes, 0, false, off or no; using %s\n", name, v,
            def ? "on" : "off");
    return def;
}
