/* fpenv.h: subnormal flushing, as XLA's CPU backend does it. Both executors (the
 * interpreter and the jit, with its pool workers), and constant folding, run with the
 * CPU's flush-to-zero and denormals-are-zero modes on (x86 MXCSR FTZ|DAZ, aarch64 FPCR.FZ)
 * unless JX_FLUSH_SUBNORMALS=0 or jx_jit_opts.subnormals says otherwise (docs/jit.md):
 * arithmetic on subnormal f32/f64 values then is arithmetic on zero, and a result below
 * the normal range is zero. The mode is set on the calling thread for the duration of a
 * run and restored after it; pool workers take the mode of the thread that hands them a
 * job. On other CPUs the mode cannot be set here and values are never flushed. */
#ifndef JX_BACKENDS_FPENV_H
#define JX_BACKENDS_FPENV_H

#include <stdbool.h>
#include <stdint.h>

#if defined(__x86_64__) || (defined(__i386__) && defined(__SSE2__))
#include <xmmintrin.h>
#define JX__FPENV_FLUSH 0x8040u /* MXCSR: FTZ (bit 15) | DAZ (bit 6) */
static inline uint64_t jx__fpenv_get(void) { return _mm_getcsr(); }
static inline void jx__fpenv_put(uint64_t v) { _mm_setcsr((unsigned)v); }
#elif defined(__aarch64__)
#define JX__FPENV_FLUSH (1u << 24) /* FPCR.FZ: flushes inputs and results */
static inline uint64_t jx__fpenv_get(void) {
    uint64_t v;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(v));
    return v;
}
static inline void jx__fpenv_put(uint64_t v) { __asm__ __volatile__("msr fpcr, %0" : : "r"(v)); }
#else /* no known control register: subnormals are always kept */
#define JX__FPENV_FLUSH 0u
static inline uint64_t jx__fpenv_get(void) { return 0; }
static inline void jx__fpenv_put(uint64_t v) { (void)v; }
#endif

/* Whether this build can flush subnormals at all. */
#define JX__FPENV_CAN_FLUSH (JX__FPENV_FLUSH != 0)

/* The process's default: JX_FLUSH_SUBNORMALS (1/true/on/yes, 0/false/off/no; read once,
 * anything else warned about), flushing when unset. */
bool jx__flush_default(void);

/* Puts the calling thread in flushing (or IEEE) mode; returns the control word to give
 * jx__fpenv_leave. Cheap: the register is written only when it changes. */
static inline uint64_t jx__fpenv_enter(bool flush) {
    uint64_t old = jx__fpenv_get(), want = flush ? old | JX__FPENV_FLUSH : old & ~(uint64_t)JX__FPENV_FLUSH;
    if (want != old) jx__fpenv_put(want);
    return old;
}

/* Restores the control word jx__fpenv_enter returned. */
static inline void jx__fpenv_leave(uint64_t old) {
    if (jx__fpenv_get() != old) jx__fpenv_put(old);
}

/* The flush bits of the calling thread's mode (to hand to pool workers). */
static inline uint64_t jx__fpenv_mode(void) { return jx__fpenv_get() & JX__FPENV_FLUSH; }

#endif
