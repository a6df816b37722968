/* lex.h: the lexical layer of the IR text form, shared by print.c (which writes it) and
 * parse.c (which reads it): tokens, reserved words, and exact number text. */
#ifndef JX_LEX_H
#define JX_LEX_H

#include "ir.h"

typedef enum jx__tkind {
    JX__T_EOF,
    JX__T_WORD,  /* -?[A-Za-z_][A-Za-z0-9_]*, and nan(0x...) as one word */
    JX__T_NUM,   /* -?[0-9]+(.[0-9]*)?([eE][+-]?[0-9]+)? */
    JX__T_PUNCT, /* one of { } ( ) [ ] , : = . */
    JX__T_STR,   /* "..." with escapes \" \\ \xHH (a string attribute) */
    JX__T_BAD    /* any other character */
} jx__tkind;

typedef struct jx__tok {
    jx__tkind kind;
    const char *s;
    size_t n;
} jx__tok;

/* The token at p, after blanks and '#' comments. Nothing is consumed: the caller goes on
 * from tok.s + tok.n. */
jx__tok jx__lex(const char *p);
/* Whether t is exactly the word or punctuation s. */
bool jx__tok_is(jx__tok t, const char *s);
/* Words that no variable may be named: lambda let in true false inf nan. */
bool jx__word_reserved(const char *s, size_t n);
/* The dtype named by s[0..n), or -1. */
int jx__dtype_lookup(const char *s, size_t n);

/* The text of a STR token decoded (quotes removed, escapes replaced), malloc'd; NULL on
 * a bad escape (an unknown one, or \x00) or out of memory (*bad tells which). */
char *jx__str_decode(const char *s, size_t n, bool *bad);
/* Whether byte c is written escaped inside a string (quote, backslash, control bytes). */
static inline bool jx__str_escaped(unsigned char c) { return c < 0x20 || c == 0x7f || c == '"' || c == '\\'; }

/* Integer text (a NUM token without '.' or exponent): sign and magnitude; false on bad
 * syntax or a magnitude beyond 64 bits. */
bool jx__int_parse(const char *s, size_t n, bool *neg, uint64_t *mag);

/* Reals are handled in their storage format: the bits of an f16, bf16, f32 or f64. */
/* Parses a NUM token or inf, -inf, nan, -nan, nan(0x<bits>) into dtype t (rounding to
 * nearest); false on bad syntax or a payload that is not a NaN of t. */
bool jx__real_parse(jx_dtype t, const char *s, size_t n, uint64_t *bits);
/* The shortest text that jx__real_parse reads back to the same bits. mark: make it
 * look like a float (a '.' or exponent), for places where an int could also stand. */
void jx__real_format(jx_dtype t, uint64_t bits, bool mark, char *buf, size_t cap);
double jx__real_value(jx_dtype t, uint64_t bits); /* exact */
uint64_t jx__real_bits(jx_dtype t, double v);     /* rounds v into t */

#endif /* JX_LEX_H */
