/* clock.h: the monotonic clock the surgery and interpretability examples time steps with. */
#ifndef JX_EXAMPLES_CLOCK_H
#define JX_EXAMPLES_CLOCK_H

#include <time.h>

/* Seconds on the monotonic clock. */
static inline double clock_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
