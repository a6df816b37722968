/* lex.c: tokens and exact number text of the IR text form (see lex.h). Numbers must
 * round-trip bit for bit, so every real is printed by trying ever longer decimal forms
 * until the parser's own reading of the text gives back the same bits. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lex.h"

static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

static const char *skip(const char *p) {
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
        if (*p != '#') return p;
        while (*p && *p != '\n') p++;
    }
}

/* Length of a NaN payload "(0x<1-16 hex>)" at p, or 0. */
static size_t payload_len(const char *p) {
    if (p[0] != '(' || p[1] != '0' || (p[2] != 'x' && p[2] != 'X')) return 0;
    size_t k = 3;
    while (is_hex(p[k]) && k < 20) k++;
    return k > 3 && k <= 19 && p[k] == ')' ? k + 1 : 0;
}

jx__tok jx__lex(const char *p) {
    p = skip(p);
    jx__tok t = {JX__T_EOF, p, 0};
    const char *q = p;
    if (!*p) return t;
    if (*q == '-' && (is_alpha(q[1]) || is_digit(q[1]))) q++;
    if (is_alpha(*q)) {
        while (is_alpha(*q) || is_digit(*q)) q++;
        if (q - p == 3 && memcmp(p, "nan", 3) == 0) q += payload_len(q);
        t.kind = JX__T_WORD;
    } else if (is_digit(*q)) {
        while (is_digit(*q)) q++;
        if (*q == '.') {
            q++;
            while (is_digit(*q)) q++;
        }
        if ((*q == 'e' || *q == 'E') &&
            (is_digit(q[1]) || ((q[1] == '+' || q[1] == '-') && is_digit(q[2])))) {
            q += 2;
            while (is_digit(*q)) q++;
        }
        t.kind = JX__T_NUM;
    } else if (*q == '"') {
        for (q++; *q && *q != '"'; q++)
            if (*q == '\\' && q[1]) q++;
        t.kind = *q == '"' ? JX__T_STR : JX__T_BAD;
        if (*q) q++;
    } else {
        t.kind = strchr("{}()[],:=.", *q) ? JX__T_PUNCT : JX__T_BAD;
        q++;
    }
    t.n = (size_t)(q - p);
    return t;
}

static int hex_val(char c) {
    return is_digit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
}

char *jx__str_decode(const char *s, size_t n, bool *bad) {
    *bad = false;
    char *r = malloc(n + 1), *w = r;
    if (!r) return NULL;
    for (size_t i = 1; i + 1 < n; i++) { /* inside the quotes */
        if (s[i] != '\\') {
            *w++ = s[i];
            continue;
        }
        char c = s[++i];
        if (c == '"' || c == '\\') {
            *w++ = c;
        } else if (c == 'x' && i + 3 < n && hex_val(s[i + 1]) >= 0 && hex_val(s[i + 2]) >= 0 &&
                   (hex_val(s[i + 1]) | hex_val(s[i + 2]))) {
            *w++ = (char)(hex_val(s[i + 1]) * 16 + hex_val(s[i + 2]));
            i += 2;
        } else {
            *bad = true;
            free(r);
            return NULL;
        }
    }
    *w = 0;
    return r;
}

bool jx__tok_is(jx__tok t, const char *s) {
    return t.kind != JX__T_EOF && strlen(s) == t.n && memcmp(t.s, s, t.n) == 0;
}

bool jx__word_reserved(const char *s, size_t n) {
    static const char *const words[] = {"lambda", "let", "in", "true", "false", "inf", "nan"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strlen(words[i]) == n && memcmp(words[i], s, n) == 0) return true;
    return false;
}

int jx__dtype_lookup(const char *s, size_t n) {
    for (int d = 0; d < JX_DTYPE_COUNT; d++) {
        const char *name = jx_dtype_name((jx_dtype)d);
        if (strlen(name) == n && memcmp(name, s, n) == 0) return d;
    }
    return -1;
}

bool jx__int_parse(const char *s, size_t n, bool *neg, uint64_t *mag) {
    size_t i = 0;
    *neg = n > 0 && s[0] == '-';
    if (*neg) i++;
    if (i == n) return false;
    uint64_t m = 0;
    for (; i < n; i++) {
        if (!is_digit(s[i])) return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (m > (UINT64_MAX - d) / 10) return false;
        m = m * 10 + d;
    }
    *mag = m;
    return true;
}

/* ------------------------------------------------------------------ reals */

/* Per float dtype: storage width, the sign bit, the exponent mask, the canonical
 * quiet NaN. */
typedef struct real_fmt {
    int bits;
    uint64_t sign, expo, qnan;
} real_fmt;

static bool real_fmt_of(jx_dtype t, real_fmt *f) {
    switch (t) {
    case JX_F16: *f = (real_fmt){16, 0x8000u, 0x7c00u, 0x7e00u}; return true;
    case JX_BF16: *f = (real_fmt){16, 0x8000u, 0x7f80u, 0x7fc0u}; return true;
    case JX_F32: *f = (real_fmt){32, 0x80000000u, 0x7f800000u, 0x7fc00000u}; return true;
    case JX_F64:
        *f = (real_fmt){64, 0x8000000000000000ull, 0x7ff0000000000000ull, 0x7ff8000000000000ull};
        return true;
    default: return false;
    }
}

static bool is_nan_bits(const real_fmt *f, uint64_t b) {
    return (b & f->expo) == f->expo && (b & ~(f->sign | f->expo)) != 0;
}

static uint64_t f32_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    return u;
}

static float bits_f32(uint64_t b) {
    uint32_t u = (uint32_t)b;
    float x;
    memcpy(&x, &u, 4);
    return x;
}

double jx__real_value(jx_dtype t, uint64_t b) {
    switch (t) {
    case JX_F16: return (double)jx_f16_to_f32((uint16_t)b);
    case JX_BF16: return (double)jx_bf16_to_f32((uint16_t)b);
    case JX_F32: return (double)bits_f32(b);
    default: {
        double x;
        memcpy(&x, &b, 8);
        return x;
    }
    }
}

/* float-rounded value into t (f16/bf16/f32 all go through float). */
static uint64_t float_bits(jx_dtype t, float x) {
    if (t == JX_F16) return jx_f32_to_f16(x);
    if (t == JX_BF16) return jx_f32_to_bf16(x);
    return f32_bits(x);
}

uint64_t jx__real_bits(jx_dtype t, double v) {
    if (t == JX_F64) {
        uint64_t b;
        memcpy(&b, &v, 8);
        return b;
    }
    return float_bits(t, (float)v);
}

bool jx__real_parse(jx_dtype t, const char *s, size_t n, uint64_t *bits) {
    real_fmt f;
    if (!real_fmt_of(t, &f) || n == 0) return false;
    bool neg = s[0] == '-';
    const char *w = s + neg;
    size_t wn = n - neg;
    if (wn == 3 && memcmp(w, "inf", 3) == 0) {
        *bits = f.expo | (neg ? f.sign : 0);
        return true;
    }
    if (wn == 3 && memcmp(w, "nan", 3) == 0) {
        *bits = f.qnan | (neg ? f.sign : 0);
        return true;
    }
    if (!neg && n > 6 && memcmp(s, "nan(0x", 6) == 0 && s[n - 1] == ')') {
        uint64_t b = 0;
        size_t nd = n - 7;
        if (nd == 0 || nd > (size_t)f.bits / 4) return false;
        for (size_t i = 6; i < n - 1; i++) {
            char c = s[i];
            if (!is_hex(c)) return false;
            b = b << 4 | (uint64_t)(is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
        }
        if (!is_nan_bits(&f, b)) return false;
        *bits = b;
        return true;
    }
    /* numeric: the lexer's NUM syntax only (strtod would also take hex and words) */
    jx__tok tk = jx__lex(s);
    if (tk.kind != JX__T_NUM || tk.s != s || tk.n != n) return false;
    char tmp[96];
    if (n >= sizeof tmp) return false;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    if (t == JX_F64) {
        double x = strtod(tmp, NULL);
        memcpy(bits, &x, 8);
    } else {
        *bits = float_bits(t, strtof(tmp, NULL));
    }
    return true;
}

static bool round_trips(jx_dtype t, uint64_t bits, const char *s) {
    uint64_t b;
    return jx__real_parse(t, s, strlen(s), &b) && b == bits;
}

void jx__real_format(jx_dtype t, uint64_t bits, bool mark, char *buf, size_t cap) {
    real_fmt f;
    if (!real_fmt_of(t, &f)) {
        snprintf(buf, cap, "?");
        return;
    }
    if (f.bits < 64) bits &= (1ull << f.bits) - 1;
    if (is_nan_bits(&f, bits)) {
        if ((bits & ~f.sign) == f.qnan)
            snprintf(buf, cap, "%snan", bits & f.sign ? "-" : "");
        else
            snprintf(buf, cap, "nan(0x%0*llx)", f.bits / 4, (unsigned long long)bits);
        return;
    }
    double v = jx__real_value(t, bits);
    if (isinf(v)) {
        snprintf(buf, cap, "%sinf", v < 0 ? "-" : "");
        return;
    }
    char e[48], d[400];
    int p = 1;
    for (; p <= 17; p++) {
        snprintf(e, sizeof e, "%.*e", p - 1, v);
        if (round_trips(t, bits, e)) break;
    }
    if (p > 17) snprintf(e, sizeof e, "%.17g", v); /* cannot happen: 17 digits pin a double */
    /* Plain positional form for moderate exponents: 100.0 reads better than 1e+02. */
    const char *x = strchr(e, 'e');
    int ex = x ? atoi(x + 1) : 0;
    const char *out = e;
    if (x && ex >= -4 && ex <= 16) {
        int dec = p - 1 - ex;
        snprintf(d, sizeof d, "%.*f", dec > 0 ? dec : 0, v);
        if (round_trips(t, bits, d)) out = d;
    }
    bool floaty = strpbrk(out, ".e") != NULL;
    snprintf(buf, cap, "%s%s", out, mark && !floaty ? ".0" : "");
}
