/* einsum.c: jnp.einsum over the primitives. The subscripts are parsed into one label per
 * operand dim ("..." becomes fresh labels, aligned to the right); labels found in one
 * operand only and not in the output are summed out first; then the operands are
 * contracted left to right with dot_general (a label shared by both sides is a batch dim
 * when the output or a later operand still needs it, else contracted); a final
 * transpose puts the output's order. A label repeated within one operand takes its
 * diagonal first. Every error quotes the subscripts. */
#include <string.h>

#include "ops_util.h"

#define MAX_OPS 16
#define NLETTER 52 /* a-z, A-Z; labels from 52 are the ellipsis dims */
#define MAX_LABEL (NLETTER + JX_MAX_RANK)

typedef struct term {
    int n;                  /* labels (dims) */
    int lab[JX_MAX_RANK];
    bool ellipsis;
} term;

static int letter(char c) {
    if (c >= 'a' && c <= 'z') return c - 'a';
    if (c >= 'A' && c <= 'Z') return 26 + c - 'A';
    return -1;
}

static char label_char(int l) { return l < 26 ? (char)('a' + l) : l < NLETTER ? (char)('A' + l - 26) : '.'; }

typedef struct ctx {
    jx_loc loc;
    const char *sub;
} ctx;

#define FAIL(c, ...) jx__ops_fail((c)->loc, JX_ERR_ARG, "einsum", __VA_ARGS__)

/* Parses one term from s[0..len) into t; *ell gets how many dims "..." stands for, once
 * rank is known (rank < 0: the output, which takes E ellipsis dims). False on a bad
 * character, two ellipses or too many dims. */
static bool parse_term(const char *s, int len, int rank, int E, term *t, const char **why) {
    int letters = 0, dots = 0;
    for (int i = 0; i < len; i++) {
        if (s[i] == ' ') continue;
        if (s[i] == '.') {
            if (i + 2 >= len || s[i + 1] != '.' || s[i + 2] != '.' || dots) {
                *why = "a '.' that is not one '...'";
                return false;
            }
            dots = 1;
            i += 2;
        } else if (letter(s[i]) >= 0) {
            letters++;
        } else {
            *why = "a character that is not a letter";
            return false;
        }
    }
    int e = rank < 0 ? (dots ? E : 0) : rank - letters;
    if (rank >= 0 && (dots ? e < 0 : e != 0)) {
        *why = "subscripts that do not match the operand's rank";
        return false;
    }
    if (letters + e > JX_MAX_RANK) {
        *why = "too many dims";
        return false;
    }
    t->n = 0;
    t->ellipsis = dots;
    for (int i = 0; i < len; i++) {
        if (s[i] == ' ') continue;
        if (s[i] == '.') {
            for (int k = 0; k < e; k++) t->lab[t->n++] = NLETTER + (E - e) + k; /* right-aligned */
            i += 2;
        } else {
            t->lab[t->n++] = letter(s[i]);
        }
    }
    return true;
}

static int find(const term *t, int l) {
    for (int i = 0; i < t->n; i++)
        if (t->lab[i] == l) return i;
    return -1;
}

/* The labels (and sizes) of t as "ij" for messages. */
static const char *term_str(const term *t, char *buf) {
    int k = 0;
    for (int i = 0; i < t->n; i++) buf[k++] = label_char(t->lab[i]);
    buf[k] = 0;
    return buf;
}

/* x with every label repeated in t reduced to its diagonal (jnp.einsum("ii->i")): x times
 * the mask "index i == index j" summed over j, until no label repeats. */
static jx_val diagonals(ctx *c, jx_val x, term *t) {
    for (int i = 0; i < t->n; i++)
        for (int j = i + 1; j < t->n; j++) {
            if (t->lab[j] != t->lab[i]) continue;
            jx_aval a = jx__val_aval(x);
            jx_ints shape = {a.shape, a.rank};
            jx_val eq = jx_eq_at(c->loc, jx_iota_at(c->loc, JX_I32, shape, i), jx_iota_at(c->loc, JX_I32, shape, j));
            x = jx_reduce_sum_at(c->loc, jx_mul_at(c->loc, x, jx_convert_at(c->loc, eq, a.dtype)), JX_INTS(j));
            for (int k = j; k + 1 < t->n; k++) t->lab[k] = t->lab[k + 1];
            t->n--;
            j--;
        }
    return x;
}

/* Sums out the dims of x (labels t) whose label `keep` says is not needed. */
static jx_val sum_unneeded(ctx *c, jx_val x, term *t, const bool *keep) {
    int64_t axes[JX_MAX_RANK];
    int na = 0, m = 0;
    for (int i = 0; i < t->n; i++) {
        if (!keep[t->lab[i]]) axes[na++] = i;
        else t->lab[m++] = t->lab[i];
    }
    t->n = m;
    return na ? jx_reduce_sum_at(c->loc, x, (jx_ints){axes, na}) : x;
}

jx_val jx_einsum_at(jx_loc loc, const char *subscripts, int n, const jx_val *xs) {
    ctx cx = {loc, subscripts ? subscripts : "(null)"}, *c = &cx;
    if (!subscripts || n < 1 || n > MAX_OPS || !xs)
        return FAIL(c, "'%s': wants subscripts and 1 to %d operands, got %d", c->sub, MAX_OPS, n);
    const char *arrow = strstr(subscripts, "->");
    size_t inlen = arrow ? (size_t)(arrow - subscripts) : strlen(subscripts);
    /* split the inputs at commas */
    const char *start[MAX_OPS + 1];
    int len[MAX_OPS + 1], nt = 0;
    const char *p = subscripts;
    for (size_t i = 0; i <= inlen; i++)
        if (i == inlen || subscripts[i] == ',') {
            if (nt == MAX_OPS) return FAIL(c, "'%s': more than %d terms", c->sub, MAX_OPS);
            start[nt] = p;
            len[nt++] = (int)(subscripts + i - p);
            p = subscripts + i + 1;
        }
    if (nt != n) return FAIL(c, "'%s' names %d operands, got %d", c->sub, nt, n);
    term t[MAX_OPS], out;
    jx_aval av[MAX_OPS];
    int64_t size[MAX_LABEL];
    int count[MAX_LABEL] = {0}, E = 0;
    for (int l = 0; l < MAX_LABEL; l++) size[l] = -1;
    for (int k = 0; k < n; k++) {
        if (!jx__ops_aval(loc, "einsum", xs[k], &av[k])) return jx__ops_invalid();
        int letters = 0;
        for (int i = 0; i < len[k]; i++) letters += letter(start[k][i]) >= 0;
        if (av[k].rank - letters > E) E = av[k].rank - letters;
    }
    for (int k = 0; k < n; k++) {
        const char *why = "";
        if (!parse_term(start[k], len[k], av[k].rank, E, &t[k], &why))
            return FAIL(c, "'%s': operand %d (%s, term '%.*s') has %s", c->sub, k, jx__avs(&av[k]), len[k], start[k], why);
        for (int i = 0; i < t[k].n; i++) {
            int l = t[k].lab[i];
            if (size[l] >= 0 && size[l] != av[k].shape[i]) {
                if (l >= NLETTER)
                    return FAIL(c, "'%s': the '...' dims of operand %d (%s) differ from another operand's (size %lld)",
                                c->sub, k, jx__avs(&av[k]), (long long)size[l]);
                return FAIL(c, "'%s': label '%c' has size %lld in operand %d (%s) and %lld before", c->sub,
                            label_char(l), (long long)av[k].shape[i], k, jx__avs(&av[k]), (long long)size[l]);
            }
            size[l] = av[k].shape[i];
            count[l]++;
        }
    }
    if (arrow) {
        const char *why = "";
        if (!parse_term(arrow + 2, (int)strlen(arrow + 2), -1, E, &out, &why))
            return FAIL(c, "'%s': the output '%s' has %s", c->sub, arrow + 2, why);
        for (int i = 0; i < out.n; i++) {
            int l = out.lab[i];
            if (find(&out, l) != i) return FAIL(c, "'%s': label '%c' repeats in the output", c->sub, label_char(l));
            if (!count[l]) {
                if (l >= NLETTER) return FAIL(c, "'%s': the output has '...' but no operand does", c->sub);
                return FAIL(c, "'%s': output label '%c' is in no operand", c->sub, label_char(l));
            }
        }
        for (int l = NLETTER; l < NLETTER + E; l++)
            if (count[l] && find(&out, l) < 0)
                return FAIL(c, "'%s': operands have '...' dims but the output has no '...'", c->sub);
    } else { /* numpy's implicit output: the '...' dims, then the labels seen once, sorted */
        out.n = 0;
        for (int l = NLETTER; l < NLETTER + E; l++) out.lab[out.n++] = l;
        for (int l = 0; l < NLETTER; l++)
            if (count[l] == 1) out.lab[out.n++] = l;
    }
    /* needed[l] after operand k: in the output or in an operand after k */
    bool in_out[MAX_LABEL] = {false};
    for (int i = 0; i < out.n; i++) in_out[out.lab[i]] = true;
    int later[MAX_OPS][MAX_LABEL];
    memset(later, 0, sizeof later);
    for (int k = n - 2; k >= 0; k--) {
        memcpy(later[k], later[k + 1], sizeof later[k]);
        for (int i = 0; i < t[k + 1].n; i++) later[k][t[k + 1].lab[i]] = 1;
    }
    /* sum out what only one operand has */
    jx_val v[MAX_OPS];
    for (int k = 0; k < n; k++) {
        bool keep[MAX_LABEL];
        for (int l = 0; l < MAX_LABEL; l++) keep[l] = in_out[l] || count[l] > 1;
        v[k] = sum_unneeded(c, diagonals(c, xs[k], &t[k]), &t[k], keep);
    }
    jx_val acc = v[0];
    term cur = t[0];
    for (int k = 1; k < n; k++) {
        const term *nx = &t[k];
        int64_t lc[JX_MAX_RANK], rc[JX_MAX_RANK], lb[JX_MAX_RANK], rb[JX_MAX_RANK];
        int nc = 0, nb = 0;
        term res = {0};
        for (int i = 0; i < cur.n; i++) {
            int l = cur.lab[i], j = find(nx, l);
            if (j < 0) continue;
            if (in_out[l] || (k < n - 1 && later[k][l])) {
                lb[nb] = i, rb[nb++] = j;
                res.lab[res.n++] = l;
            } else {
                lc[nc] = i, rc[nc++] = j;
            }
        }
        for (int i = 0; i < cur.n; i++)
            if (find(nx, cur.lab[i]) < 0) res.lab[res.n++] = cur.lab[i];
        for (int j = 0; j < nx->n; j++)
            if (find(&cur, nx->lab[j]) < 0) res.lab[res.n++] = nx->lab[j];
        if (res.n > JX_MAX_RANK) return FAIL(c, "'%s': an intermediate has more than %d dims", c->sub, JX_MAX_RANK);
        acc = jx_dot_general_at(loc, acc, v[k], (jx_ints){lc, nc}, (jx_ints){rc, nc}, (jx_ints){lb, nb},
                                (jx_ints){rb, nb});
        cur = res;
    }
    /* labels left that the output does not want (a batch label of the last pair) */
    bool keep[MAX_LABEL];
    for (int l = 0; l < MAX_LABEL; l++) keep[l] = in_out[l];
    acc = sum_unneeded(c, acc, &cur, keep);
    int64_t perm[JX_MAX_RANK];
    char b1[JX_MAX_RANK + 1];
    if (cur.n != out.n) return FAIL(c, "'%s': internal: result labels %s", c->sub, term_str(&cur, b1));
    for (int i = 0; i < out.n; i++) perm[i] = find(&cur, out.lab[i]);
    return jx_transpose_at(loc, acc, (jx_ints){perm, out.n});
}
