/* unit_stats.h: what neurons reports about a layer's units from their per-class mean
 * activations, for both of its studies (the MNIST CNN's layers and the COCO U-Net's
 * bottleneck): the class-selectivity index, dead units, and the unit x class heat map. */
#ifndef JX_EXAMPLES_UNIT_STATS_H
#define JX_EXAMPLES_UNIT_STATS_H

#include <stdint.h>

/* One unit's selectivity (max class mean - mean of the others) / (max + mean of the
 * others), 0 when both are 0, from its nc class means; *pref (may be NULL) gets the
 * class of the max. */
double unit_selectivity(const double *mean, int nc, int *pref);
/* 1 when no class mean is positive (a relu unit never active on these inputs). */
int unit_dead(const double *mean, int nc);
/* The class x unit heat map of mean (units rows of nc class means) as a PNG at path:
 * each unit scaled to its maximum, units ordered by preferred class then selectivity,
 * dead units last. 0, or -1 with jx_errmsg() set. */
int unit_heatmap(const char *path, const char *title, const double *mean, int64_t units, int nc,
                 const char *const *class_names);

#endif
