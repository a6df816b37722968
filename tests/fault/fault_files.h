/* fault_files.h: the input files the fault suites read (tests/fault), written once at
 * their start: a scratch folder, a small COCO file and gzipped IDX labels. */
#ifndef JX_TEST_FAULT_FILES_H
#define JX_TEST_FAULT_FILES_H

#include <stddef.h>

/* Makes a fresh folder $TMPDIR/<name>_XXXXXX (TMPDIR default /tmp) into dir[n]; 0, or -1
 * with the reason printed. */
int jt_fault_tmpdir(char *dir, size_t n, const char *name);
/* Writes a COCO file: one 24x20 image, categories 1 and 3, a polygon, an RLE count list
 * and an RLE string. 0 or -1. */
int jt_fault_write_coco(const char *path);
/* Writes gzipped IDX labels: count bytes, label i = i * 7 % 10. 0 or -1. */
int jt_fault_write_idx(const char *path, int count);

#endif
