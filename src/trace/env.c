/* env.c: jx__env_bool and jx__env_int, the parsers of the yes/no and whole-number
 * environment switches (ir.h). */
#include <errno.h>
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

int64_t jx__env_int(const char *name, int64_t def, int64_t lo, int64_t hi) {
    const char *v = getenv(name);
    if (!v || !*v) return def;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (*end == 0 && errno == 0 && n >= lo && n <= hi) return (int64_t)n; /* ERANGE: out of long long */
    fprintf(stderr, "jx: warning: %s=%s is not a whole number from %lld to %lld; using %lld\n", name, v, (long long)lo,
            (long long)hi, (long long)def);
    return def;
}
