/* unet_units.h: neurons' study of a COCO U-Net's bottleneck (neurons --unet CKPT): the
 * per-class activation statistics of the bottleneck's units on the val split. */
#ifndef JX_EXAMPLES_UNET_UNITS_H
#define JX_EXAMPLES_UNET_UNITS_H

typedef struct unet_units_opts {
    const char *ckpt;       /* a coco_seg checkpoint */
    const char *data;       /* the COCO folder (val2017 is read) */
    const char *categories; /* the checkpoint's --categories, comma-separated */
    long size;              /* the input side (coco_seg's --size) */
    long topk;              /* units listed per class */
    const char *out;        /* where unet_selectivity.png goes; NULL: no picture */
    int threads;
} unet_units_opts;

/* Runs the study and prints it. Each bottleneck cell (a 2^depth x 2^depth patch of the
 * input) takes the class most of its labelled pixels have; a unit's class mean is its
 * mean activation over the cells of that class. 0, or -1 after a message on stderr. */
int unet_units(const unet_units_opts *o);

#endif
