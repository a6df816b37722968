/* fuzz_parse.c: libFuzzer target for the IR text form. Any input must either fail to
 * parse cleanly or parse to a function whose printed text parses back and prints
 * identically; anything else (a crash, a leak, a mismatch) is a bug in jx. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jx.h"

static void bug(const char *what, const char *text) {
    fprintf(stderr, "fuzz_parse: %s\n%s\n--- error: %s\n", what, text ? text : "(null)", jx_errmsg());
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    jx_fn *f = jx_fn_parse(text);
    free(text);
    if (!f) {
        if (!jx_errmsg()[0]) bug("parse failed without a message", NULL);
        return 0;
    }
    char *s1 = jx_fn_to_string(f);
    if (!s1) bug("a parsed function does not print", NULL);
    jx_fn *g = jx_fn_parse(s1);
    if (!g) bug("the printed text does not parse back", s1);
    char *s2 = jx_fn_to_string(g);
    if (!s2 || strcmp(s1, s2) != 0) {
        fprintf(stderr, "second print:\n%s\n", s2 ? s2 : "(null)");
        bug("print(parse(print(f))) differs from print(f)", s1);
    }
    free(s1);
    free(s2);
    jx_fn_release(g);
    jx_fn_release(f);
    return 0;
}
