/* text_data.c: see text_data.h. */
#define _POSIX_C_SOURCE 200809L /* strdup, getline */
#include "text_data.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int word_char(int ch) { return isalnum(ch) || ch == '\'' || ch >= 0x80; /* UTF-8 letters stay in words */ }

int text_tokenise(const char *text, char *out, size_t n) {
    size_t k = 0;
    int tokens = 0;
    if (n == 0) return 0;
    for (const unsigned char *p = (const unsigned char *)text; *p;) {
        if (isspace(*p) || (!isprint(*p) && *p < 0x80)) {
            p++;
            continue;
        }
        if (tokens > 0 && k + 1 < n) out[k++] = ' ';
        if (word_char(*p))
            while (*p && word_char(*p)) {
                if (k + 1 < n) out[k++] = (char)tolower(*p);
                p++;
            }
        else if (k + 1 < n) out[k++] = (char)*p++;
        else p++;
        tokens++;
    }
    out[k] = 0;
    return tokens;
}

int text_read_tsv(sent_corpus *c, const char *path, long limit, char *msg, size_t n) {
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(msg, n, "%s: %s", path, strerror(errno));
        return -1;
    }
    *c = (sent_corpus){0};
    int64_t cap = 0;
    char *line = NULL, *tok = NULL;
    size_t len = 0;
    long lineno = 0;
    int status = 0;
    while (getline(&line, &len, f) >= 0 && (limit <= 0 || c->n < limit)) {
        lineno++;
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0]) continue; /* blank lines */
        if ((line[0] != '0' && line[0] != '1') || line[1] != '\t') {
            snprintf(msg, n, "%s:%ld: wants a label 0 or 1, a tab, then the text", path, lineno);
            status = -1;
            break;
        }
        if (c->n == cap) {
            cap = cap * 2 + 256;
            char **t = realloc(c->text, sizeof(char *) * (size_t)cap);
            int32_t *l = t ? realloc(c->label, sizeof(int32_t) * (size_t)cap) : NULL;
            if (t) c->text = t;
            if (l) c->label = l;
            if (!t || !l) { status = -2; break; }
        }
        size_t m = strlen(line) * 2 + 2; /* at most a space before each character */
        char *t = realloc(tok, m);
        if (!t) { status = -2; break; }
        tok = t;
        text_tokenise(line + 2, tok, m);
        if (!(c->text[c->n] = strdup(tok))) { status = -2; break; }
        c->label[c->n++] = line[0] - '0';
    }
    if (status == -2) snprintf(msg, n, "%s: out of memory after %ld lines", path, lineno);
    if (status == 0 && c->n == 0) snprintf(msg, n, "%s: no reviews", path), status = -1;
    free(line), free(tok), fclose(f);
    if (status) sent_corpus_free(c);
    return status ? -1 : 0;
}
