"""glyphs.py: common/glyphs.h's generated glyphs for the Python references: the same
classes (strokes with integer endpoints) and the same instances, pixel for pixel."""
import numpy as np

import tut

STROKES, SEG, SIDE, POINTS = 3, 12, 28, 29


def classes(seed, n):
    """(n, 12) int: glyph_classes's strokes, x0 y0 x1 y1 per stroke."""
    return 4 + (tut.uniform(seed, n * SEG).astype(np.float64) * 20).astype(np.int64).reshape(n, SEG)


def draw(img, seg, dx, dy, value=1.0):
    """glyph_draw on img (..., h, w) for strokes seg (..., 4 * strokes) moved by dx, dy
    (arrays broadcasting to seg's leading shape): in place."""
    h, w = img.shape[-2:]
    lead = seg.shape[:-1]
    s = seg.reshape(lead + (-1, 4))
    x0, y0 = np.maximum(s[..., 0] + dx[..., None], 0), np.maximum(s[..., 1] + dy[..., None], 0)
    x1, y1 = np.maximum(s[..., 2] + dx[..., None], 0), np.maximum(s[..., 3] + dy[..., None], 0)
    k = np.arange(POINTS)
    x = (x0[..., None] * (POINTS - 1 - k) + x1[..., None] * k) // (POINTS - 1)
    y = (y0[..., None] * (POINTS - 1 - k) + y1[..., None] * k) // (POINTS - 1)
    flat = img.reshape((-1, h, w))
    which = np.broadcast_to(np.arange(flat.shape[0]).reshape(lead + (1, 1)), x.shape)
    for oy in (0, 1):
        for ox in (0, 1):
            px, py = x + ox, y + oy
            ok = (px < w) & (py < h)
            flat[which[ok], py[ok], px[ok]] = value


def instances(seed, seg, per):
    """(n * per, 28, 28) float32: glyph_instances's images, class-major."""
    n = len(seg)
    u = (tut.uniform(seed, n * per * (SEG + 2)).astype(np.float64) * 5).astype(np.int64).reshape(n * per, SEG + 2) - 2
    moved = np.repeat(seg, per, axis=0) + u[:, :SEG]
    img = np.zeros((n * per, SIDE, SIDE), np.float32)
    draw(img, moved, u[:, SEG], u[:, SEG + 1])
    return img
