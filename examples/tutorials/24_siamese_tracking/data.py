"""The videos, training triplets, initial weights and tracker of 24_siamese_tracking, as
siamese_tracking.c and video.c make them (the same pixels from common/tut.py's uniforms
and common/glyphs.py's strokes); the references differ only in the embedding."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import numpy as np  # noqa: E402
import glyphs  # noqa: E402
import tut  # noqa: E402

SIDE, PATCH, FRAMES, OBJECTS, CLUTTER = 48, 16, 24, 3, 6
RANGE, C1, C2, EMB, R, STEPS, TRIPLET_U = SIDE - PATCH, 16, 32, 32, 4, 200, 8
CAND, FLAT = (2 * R + 1) ** 2, 3 * 3 * C2
OBJ_U, CLUTTER_AT, WOBBLE_AT = glyphs.SEG + 4, OBJECTS * (glyphs.SEG + 4), OBJECTS * (glyphs.SEG + 4) + 4 * CLUTTER
NOISE_AT = WOBBLE_AT + FRAMES * OBJECTS * glyphs.SEG
PER_VIDEO = NOISE_AT + FRAMES * SIDE * SIDE


def options(about):
    a = tut.parse(about, epochs=5, batch=32, lr=3e-3,
                  extra=lambda p: p.add_argument("--test-videos", type=int, default=32))
    a.limit = a.limit or 64
    if a.quick:
        a.epochs = 1
    return a


def fl(u, k):
    """floor(k u) computed as the C programs do (in double)."""
    return (np.asarray(u).astype(np.float64) * k).astype(np.int64)


def videos(n, seed):
    """(frames (n, FRAMES, SIDE, SIDE) f32, pos (n, FRAMES, OBJECTS, 2) int: each object's
    box corner, x then y), drawn as video.c draws them."""
    frames = np.zeros((n, FRAMES, SIDE, SIDE), np.float32)
    pos = np.zeros((n, FRAMES, OBJECTS, 2), np.int64)
    zero = np.zeros(FRAMES, np.int64)
    for i in range(n):
        u = tut.uniform(seed + i, PER_VIDEO)
        obj = u[:CLUTTER_AT].reshape(OBJECTS, OBJ_U)
        seg, at, vel = 2 + fl(obj[:, :12], 12), fl(obj[:, 12:14], RANGE + 1), fl(obj[:, 14:16], 5) - 2
        wobble = fl(u[WOBBLE_AT:NOISE_AT], 3).reshape(FRAMES, OBJECTS, glyphs.SEG) - 1
        for t in range(FRAMES):
            if t > 0:
                vel = np.where((at + vel < 0) | (at + vel > RANGE), -vel, vel)
                at = at + vel
            pos[i, t] = at
        f = frames[i]
        f[:] = u[NOISE_AT:].reshape(FRAMES, SIDE, SIDE) * np.float32(0.3)
        glyphs.draw(f, np.broadcast_to(fl(u[CLUTTER_AT:WOBBLE_AT], SIDE), (FRAMES, 4 * CLUTTER)), zero, zero, 0.5)
        for k in reversed(range(OBJECTS)):
            glyphs.draw(f, seg[k] + wobble[:, k], pos[i, :, k, 0], pos[i, :, k, 1], 1.0)
    return frames, pos


def crop(frames, v, t, at):
    """Patches (len(v), 16, 16, 1): frame t[j] of video v[j] at corner at[j] (x, y)."""
    r = np.arange(PATCH)
    return frames[v[:, None, None], t[:, None, None], at[:, 1, None, None] + r[None, :, None],
                  at[:, 0, None, None] + r[None, None, :]][..., None]


class Triplets:
    """The training triplets as siamese_tracking.c's triplet_batch draws them: batch(step)
    -> (anchors, positives, negatives), each (batch, 16, 16, 1)."""

    def __init__(self, a, frames, pos):
        self.frames, self.pos, self.n = frames, pos, len(frames)
        self.u = tut.uniform(a.seed + 5, a.epochs * STEPS * a.batch * TRIPLET_U).reshape(-1, a.batch, TRIPLET_U)

    def batch(self, step):
        w = self.u[step]
        v, t = fl(w[:, 0], self.n), fl(w[:, 1], FRAMES - 3)
        t2 = t + 1 + fl(w[:, 2], 3)
        d0, d1 = (4 + fl(w[:, 3], 5)) * np.where(fl(w[:, 4], 2) == 1, 1, -1), fl(w[:, 5], 17) - 8
        swap = fl(w[:, 6], 2) == 1
        d = np.stack([np.where(swap, d1, d0), np.where(swap, d0, d1)], axis=1)
        pa, pp, k = self.pos[v, t, 0], self.pos[v, t2, 0], fl(w[:, 7], 3)
        n = pp + d
        n = np.where((n < 0) | (n > RANGE), pp - d, n)
        n = np.where((k > 0)[:, None], self.pos[v, t2, k], n)
        return crop(self.frames, v, t, pa), crop(self.frames, v, t2, pp), crop(self.frames, v, t2, n)


def init_params(seed):
    def w(s, r, c, gain):
        return tut.weights(seed + s, r, c, float(np.float32(np.sqrt(gain / r))))
    return {"conv1": {"w": w(1, 16, C1, 2), "b": np.zeros(C1, np.float32)},
            "conv2": {"w": w(2, 9 * C1, C2, 2), "b": np.zeros(C2, np.float32)},
            "dense": {"w": w(3, FLAT, EMB, 1), "b": np.zeros(EMB, np.float32)}}


def track(frames, pos, dist):
    """Tracks object 0 of every video from its frame-0 box, as track_all does: dist(cand
    (V*81,16,16,1), tmpl (V,16,16,1)) -> (V, 81) squared embedding distances. Returns
    (mean IoU, success share) over frames 1.."""
    V = len(frames)
    vids, c = np.arange(V), np.arange(CAND)
    off = np.stack([c % (2 * R + 1) - R, c // (2 * R + 1) - R], axis=1)
    tmpl = crop(frames, vids, np.zeros(V, np.int64), pos[:, 0, 0])
    at, ious = pos[:, 0, 0], []
    for t in range(1, FRAMES):
        cand = np.clip(at[:, None, :] + off, 0, RANGE)
        d = np.asarray(dist(crop(frames, np.repeat(vids, CAND), np.full(V * CAND, t), cand.reshape(-1, 2)), tmpl))
        at = cand[vids, d.argmin(1)]
        inter = np.prod(np.maximum(PATCH - np.abs(at - pos[:, t, 0]), 0), axis=1).astype(np.float64)
        ious.append(inter / (2.0 * PATCH * PATCH - inter))
    ious = np.concatenate(ious)
    return ious.mean(), (ious >= 0.5).mean()


def report(a, curve, before, after):
    for e in range(a.epochs):
        print(f"epoch {e + 1}: mean triplet loss {np.mean(curve[e * STEPS:(e + 1) * STEPS]):.4f}")
    print(f"held-out videos: mean IoU {after[0]:.3f}, success (IoU >= 0.5) {100 * after[1]:.1f}% of "
          f"{a.test_videos * (FRAMES - 1)} frames (untrained embedding: IoU {before[0]:.3f}, success "
          f"{100 * before[1]:.1f}%)")
    tut.metric("mean_iou", after[0])


def load(a):
    """(training frames, pos), (test frames, pos)."""
    return videos(a.limit, a.seed + 10000), videos(a.test_videos, a.seed + 20000)
