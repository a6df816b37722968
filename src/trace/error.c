/* error.c: status names, the thread's last error, and message helpers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

const jx_loc jx__noloc = {NULL, 0};

static const char *const status_names[] = {
#define JX__X(name, msg) "JX_" #name,
    JX_STATUS_LIST(JX__X)
#undef JX__X
};
static const char *const status_msgs[] = {
#define JX__X(name, msg) msg,
    JX_STATUS_LIST(JX__X)
#undef JX__X
};

const char *jx_status_name(jx_status s) {
    return (unsigned)s < JX_STATUS_COUNT ? status_names[s] : "JX_?";
}
const char *jx_status_message(jx_status s) {
    return (unsigned)s < JX_STATUS_COUNT ? status_msgs[s] : "unknown status";
}

static _Thread_local char last_msg[1024];
static _Thread_local jx_status last_code;

const char *jx_errmsg(void) { return last_msg; }
jx_status jx_errcode(void) { return last_code; }
void jx_clear_error(void) {
    last_msg[0] = 0;
    last_code = JX_OK;
}

jx_status jx__vfail(jx_status code, jx_loc loc, const char *what, const char *fmt, va_list ap) {
    char buf[sizeof last_msg];
    size_t n = 0;
    if (loc.file) n += (size_t)snprintf(buf + n, sizeof buf - n, "%s:%d: ", loc.file, loc.line);
    if (what && n < sizeof buf) n += (size_t)snprintf(buf + n, sizeof buf - n, "%s: ", what);
    if (n < sizeof buf) vsnprintf(buf + n, sizeof buf - n, fmt, ap);
    memcpy(last_msg, buf, sizeof buf);
    last_code = code;
    return code;
}

jx_status jx__fail(jx_status code, jx_loc loc, const char *what, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    jx__vfail(code, loc, what, fmt, ap);
    va_end(ap);
    return code;
}

jx_status jx__rule_fail(jx__rule_err *e, jx_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->code = code;
    return code;
}

void jx__assert_fail(const char *what, const char *file, int line) {
    fprintf(stderr, "jx internal error: %s:%d: assertion failed: %s\n", file, line, what);
    abort();
}

static _Thread_local char rot_buf[8][160];
static _Thread_local int rot_i;

const char *jx__avs(const jx_aval *a) {
    char *b = rot_buf[rot_i++ & 7];
    return jx_aval_str(a, b, sizeof rot_buf[0]);
}

const char *jx__ints_str(jx_ints v) {
    char *b = rot_buf[rot_i++ & 7];
    size_t n = 0, cap = sizeof rot_buf[0];
    n += (size_t)snprintf(b, cap, "(");
    for (int i = 0; i < v.n && n < cap; i++)
        n += (size_t)snprintf(b + n, cap - n, i ? ",%lld" : "%lld", (long long)v.v[i]);
    if (n < cap) snprintf(b + n, cap - n, ")");
    return b;
}
