#!/usr/bin/env python3
"""gen_coco_expected.py: the masks pycocotools makes for coco-tiny, for tests/data/test_coco_masks.c.

For each annotation:  ann <id> <area> <fnv1a64 of annToMask, row-major> <annToRLE counts string>
For each image:       img <id> <h> <w> <fnv1a64 of the semantic mask> then <value>:<pixels> for
                      every value of the semantic mask (the rule of include/jx/coco.h: crowds 255 first, then instances by
                      decreasing area, ties by increasing id, each painting its category id).
usage: tests/data/gen_coco_expected.py [COCO_DIR] > tests/data/coco_tiny_<split>.expected
(run from the repository root; COCO_DIR defaults to ../shared/data/coco-tiny)
"""
import contextlib
import sys
import numpy as np
from pycocotools.coco import COCO
from pycocotools import mask as mu


def fnv1a64(b):
    h = 0xCBF29CE484222325
    for x in b:
        h = ((h ^ x) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def fnv_mask(m):
    return fnv1a64(np.ascontiguousarray(m, dtype=np.uint8).tobytes())


def counts_str(rle):
    c = rle["counts"]
    return c.decode() if isinstance(c, bytes) else c


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/coco-tiny"
    split = sys.argv[2] if len(sys.argv) > 2 else "train2017"
    with contextlib.redirect_stdout(sys.stderr):
        coco = COCO(f"{root}/annotations/instances_{split}.json")
    out = sys.stdout
    for img in coco.dataset["images"]:
        h, w = img["height"], img["width"]
        anns = coco.imgToAnns[img["id"]]
        for a in anns:
            rle = coco.annToRLE(a)
            if isinstance(rle["counts"], list):  # uncompressed RLE as stored: compress it
                rle = mu.frPyObjects(rle, h, w)
            m = coco.annToMask(a)
            out.write("ann %d %d %016x %s\n" % (a["id"], int(mu.area(rle)), fnv_mask(m), counts_str(rle)))
        sem = np.zeros((h, w), np.uint8)
        for a in anns:
            if a["iscrowd"]:
                sem[coco.annToMask(a) == 1] = 255
        for a in sorted((a for a in anns if not a["iscrowd"]), key=lambda a: (-a["area"], a["id"])):
            sem[coco.annToMask(a) == 1] = a["category_id"]
        vals, cnt = np.unique(sem, return_counts=True)
        parts = ["%d:%d" % (v, c) for v, c in zip(vals, cnt)]
        out.write("img %d %d %d %016x %s\n" % (img["id"], h, w, fnv_mask(sem), " ".join(parts)))


main()
