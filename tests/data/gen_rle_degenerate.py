#!/usr/bin/env python3
"""gen_rle_degenerate.py: pycocotools' RLE of degenerate polygons, for test_coco_masks.c.
Each line: <h> <w> <kind> <numbers...> = <area> <counts string>, kind "poly" (frPoly of one
polygon, what frPyObjects does for polygons of more than 4 numbers) or "box" (frBbox).
usage: tests/data/gen_rle_degenerate.py > tests/data/rle_degenerate.expected
"""
import numpy as np
from pycocotools import _mask, mask as mu

cases = [
    (10, 12, "poly", [3, 3, 3, 3, 3, 3]),                    # one point thrice: zero area
    (10, 12, "poly", [1, 1, 8, 8, 4.5, 4.5]),                # collinear: zero area
    (10, 12, "poly", [0, 0, 12, 0, 12, 10, 0, 10]),          # the whole image, on its borders
    (10, 12, "poly", [-5, -5, 20, -5, 20, 20, -5, 20]),      # larger than the image
    (10, 12, "poly", [20, 20, 30, 20, 30, 30]),              # entirely outside
    (10, 12, "poly", [-9, 2, -1, 2, -1, 6]),                 # outside on the left
    (10, 12, "poly", [0, 0, 1, 0, 0, 1]),                    # a corner triangle
    (10, 12, "poly", [11.5, 9.5, 12, 9.5, 12, 10]),          # the far corner, sub-pixel
    (10, 12, "poly", [2.2, 2.2, 2.4, 2.2, 2.3, 2.4]),        # inside one pixel
    (10, 12, "poly", [0.5, 0.5, 5.5, 0.5, 5.5, 5.5, 0.5, 5.5]),  # on pixel centres
    (10, 12, "poly", [1, 1, 9, 1, 1, 8, 9, 8]),              # self-intersecting bow tie
    (10, 12, "poly", [2, 2, 9, 3]),                          # two points
    (10, 12, "poly", [4, 4]),                                # one point
    (10, 12, "poly", [-0.3, 4.7, 11.9, -0.2, 12.4, 10.6]),   # crossing every border
    (1, 1, "poly", [0, 0, 1, 0, 1, 1, 0, 1]),                # a 1x1 image
    (7, 5, "box", [1, 2, 3, 4]),                             # a box
    (7, 5, "box", [-1, -1, 10, 10]),                         # a box over the borders
    (7, 5, "box", [2.25, 1.75, 0, 3]),                       # a box of zero width
]
for h, w, kind, xs in cases:
    if kind == "poly":
        r = _mask.frPoly([xs], h, w)[0]
    else:
        r = mu.frPyObjects(np.array([xs], dtype=np.double), h, w)[0]
    print(h, w, kind, " ".join(repr(float(x)) for x in xs), "=", int(mu.area(r)), r["counts"].decode())
