/* number.c: JSON numbers to doubles. Most coordinates in COCO are short decimals
 * ("214.27"); for those the digits form an exact integer below 2^53 and the power of ten
 * is exact, so one IEEE multiplication or division rounds correctly (Clinger's fast path)
 * and gives the same double as strtod or Python's float(). Anything else goes to strtod. */
#include <stdlib.h>
#include <string.h>

#include "data.h"

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                     1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static int slow(const char *s, size_t len, double *out) {
    char small[64], *buf = len < sizeof small ? small : malloc(len + 1);
    if (!buf) return 0;
    memcpy(buf, s, len);
    buf[len] = 0;
    char *end;
    *out = strtod(buf, &end);
    int ok = len > 0 && end == buf + len;
    if (buf != small) free(buf);
    return ok;
}

int jx__data_parse_double(const char *s, size_t len, double *out) {
    size_t i = 0;
    int neg = 0, digits = 0, frac = 0;
    uint64_t m = 0;
    if (i < len && s[i] == '-') neg = 1, i++;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++) m = m * 10 + (uint64_t)(s[i] - '0');
    if (i < len && s[i] == '.')
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++, frac++) m = m * 10 + (uint64_t)(s[i] - '0');
    if (i != len || digits == 0 || digits > 19 || m > (1ull << 53) || frac > 22) return slow(s, len, out);
    double v = (double)m;
    if (frac) v /= pow10_exact[frac];
    *out = neg ? -v : v;
    return 1;
}
