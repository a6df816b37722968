/* unit_stats.c: selectivity and the heat map of units' class means (unit_stats.h). */
#include "unit_stats.h"

#include <jx/nn.h>
#include <math.h>
#include <stdlib.h>

double unit_selectivity(const double *mean, int nc, int *pref) {
    int best = 0;
    double sum = 0;
    for (int c = 0; c < nc; c++) {
        sum += mean[c];
        if (mean[c] > mean[best]) best = c;
    }
    double mx = mean[best], rest = nc > 1 ? (sum - mx) / (nc - 1) : 0;
    if (pref) *pref = best;
    return mx + rest > 0 ? (mx - rest) / (mx + rest) : 0;
}

int unit_dead(const double *mean, int nc) {
    for (int c = 0; c < nc; c++)
        if (mean[c] > 0) return 0;
    return 1;
}

int unit_heatmap(const char *path, const char *title, const double *mean, int64_t units, int nc,
                 const char *const *class_names) {
    double *heat = malloc((size_t)nc * (size_t)units * sizeof *heat);
    int64_t *order = malloc((size_t)units * sizeof *order);
    int rc = -1;
    if (!heat || !order) {
        jx_error_at(JX_HERE, JX_ERR_NOMEM, "unit_heatmap", "out of memory");
        goto done;
    }
    for (int64_t u = 0; u < units; u++) order[u] = u;
    for (int64_t i = 1; i < units; i++) /* insertion sort: preferred class, then selectivity */
        for (int64_t j = i; j > 0; j--) {
            int pa, pb;
            double sa = unit_selectivity(mean + order[j - 1] * nc, nc, &pa);
            double sb = unit_selectivity(mean + order[j] * nc, nc, &pb);
            if (unit_dead(mean + order[j - 1] * nc, nc)) pa = nc;
            if (unit_dead(mean + order[j] * nc, nc)) pb = nc;
            if (pa < pb || (pa == pb && sa >= sb)) break;
            int64_t t = order[j];
            order[j] = order[j - 1], order[j - 1] = t;
        }
    for (int64_t k = 0; k < units; k++) {
        const double *m = mean + order[k] * nc;
        double mx = 0;
        for (int c = 0; c < nc; c++) mx = fmax(mx, m[c]);
        for (int c = 0; c < nc; c++) heat[c * units + k] = mx > 0 ? m[c] / mx : 0;
    }
    rc = jx_plot_heatmap(path, title, nc, (int)units, heat, class_names, NULL, units > 64 ? 10 : 14) == JX_OK ? 0 : -1;
done:
    free(heat), free(order);
    return rc;
}
