/* text_data.h: the first steps of text_classify: the reviews (generated, or read from
 * tab-separated files) and the tokeniser that turns raw text into the space-separated
 * lowercase tokens that the vocabulary (examples/tutorials/common/sentiment.h) counts. */
#ifndef JX_TEXT_DATA_H
#define JX_TEXT_DATA_H

#include <stddef.h>

#include "sentiment.h"

/* Writes text's tokens to out (n bytes, truncated), one space between them: letters,
 * digits and apostrophes make up words, lowercased; any other visible character is a
 * token of its own ("Great, fun!" -> "great , fun !"). Returns the number of tokens. */
int text_tokenise(const char *text, char *out, size_t n);

/* Reads path, one review per line: a label 0 (negative) or 1 (positive), a tab, the raw
 * text (tokenised with text_tokenise). limit > 0 keeps the first limit reviews. Returns
 * 0, or -1 with msg (n bytes) set to "PATH: No such file or directory" or
 * "PATH:LINE: wants a label 0 or 1, a tab, then the text" (c then needs no free). */
int text_read_tsv(sent_corpus *c, const char *path, long limit, char *msg, size_t n);

#endif
