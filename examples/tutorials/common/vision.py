"""vision.py: common/vision.h for the Python references: the generated scenes of shapes
(the same pixels, masks and boxes as vis_scenes_make), IoU, NMS and mAP."""
import numpy as np

import tut

CLASSES = 3  # square, cross, triangle
NAMES = ("square", "cross", "triangle")


def _inside(k, dx, dy, r):
    if k == 0:
        return np.ones_like(dx, bool)
    if k == 1:
        return (3 * np.abs(dx) <= r) | (3 * np.abs(dy) <= r)  # a plus sign
    return 2 * np.abs(dx) <= dy + r


def scenes(seed, n, side, grid, rmin, rmax):
    """(image f32 (n,side,side), mask i32 (n,side,side), cls i32 (n,grid,grid), box f32
    (n,grid,grid,4)) as vis_scenes_make draws them."""
    cells, c = n * grid * grid, side // grid
    u = tut.uniform(seed, 6 * cells).reshape(cells, 6)
    noise = tut.normal(seed + 1, n * side * side).reshape(n, side, side)
    image = np.zeros((n, side, side), np.float32)
    mask = np.zeros((n, side, side), np.int32)
    cls = np.zeros(cells, np.int32)
    box = np.zeros((cells, 4), np.float32)
    uu = u.astype(np.float64)
    k_all = np.floor(uu[:, 1] * CLASSES).astype(int)
    r_all = rmin + np.floor(uu[:, 2] * (rmax - rmin + 1)).astype(int)
    oy, ox = np.floor(uu[:, 3] * c).astype(int), np.floor(uu[:, 4] * c).astype(int)
    bright = np.float32(0.5) + np.float32(0.5) * u[:, 5]
    for i in np.nonzero(u[:, 0] < np.float32(0.5))[0]:
        img, gy, gx = i // (grid * grid), i // grid % grid, i % grid
        k, r = k_all[i], r_all[i]
        cy, cx = gy * c + oy[i], gx * c + ox[i]
        cls[i] = k + 1
        box[i] = (cx - r, cy - r, cx + r + 1, cy + r + 1)
        dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
        y, x = cy + dy, cx + dx
        ok = (y >= 0) & (x >= 0) & (y < side) & (x < side) & _inside(k, dx, dy, r)
        mask[img, y[ok], x[ok]] = k + 1
        image[img, y[ok], x[ok]] = bright[i]
    image = image + np.float32(0.1) * noise
    return image, mask, cls.reshape(n, grid, grid), box.reshape(n, grid, grid, 4)


def iou(a, b):
    a, b = [float(v) for v in a], [float(v) for v in b]  # in double, as vision.c
    w, h = min(a[2], b[2]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[1], b[1])
    inter = w * h if w > 0 and h > 0 else 0.0
    uni = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / uni if uni > 0 else 0.0


def nms(dets, thresh):
    """dets: list of (img, cls, score, box (4 floats)); vis_nms's result, in its order."""
    dets = sorted(dets, key=lambda d: (d[0], d[1], -d[2], tuple(d[3])))
    kept, first = [], 0
    for d in dets:
        if kept and (kept[-1][0], kept[-1][1]) != (d[0], d[1]):
            first = len(kept)
        if all(iou(k[3], d[3]) <= thresh for k in kept[first:]):
            kept.append(d)
    return kept


def mean_ap(dets, cls, box, thresh=0.5):
    """(mAP, [AP per class]) of dets (as nms's) against the true cls and box (as
    scenes'), as vis_map computes it."""
    dets = sorted(dets, key=lambda d: (-d[2], d[0], d[1], tuple(d[3])))
    aps = []
    for k in range(CLASSES):
        npos = int((cls == k + 1).sum())
        used = np.zeros(cls.shape, bool)
        tp = []
        for img, c, _, b in dets:
            if c != k:
                continue
            best, bi = None, thresh
            for gy, gx in zip(*np.nonzero((cls[img] == k + 1) & ~used[img])):
                v = iou(b, box[img, gy, gx])
                if v >= bi:
                    bi, best = v, (gy, gx)
            if best is not None:
                used[img][best] = True
            tp.append(best is not None)
        if npos == 0 or not tp:
            aps.append(0.0)
            continue
        tp = np.array(tp, float)
        prec = np.cumsum(tp) / np.arange(1, len(tp) + 1)
        prec = np.maximum.accumulate(prec[::-1])[::-1]
        aps.append(float((prec * tp).sum() / npos))
    return sum(aps) / CLASSES, aps
