/* fpenv.c: the process's default for subnormal flushing (fpenv.h), JX_FLUSH_SUBNORMALS
 * read once. */
#include <pthread.h>

#include "../trace/ir.h"
#include "fpenv.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool flush = true;

static void read_env(void) { flush = jx__env_bool("JX_FLUSH_SUBNORMALS", true); }

bool jx__flush_default(void) {
    pthread_once(&once, read_env);
    return flush;
}
