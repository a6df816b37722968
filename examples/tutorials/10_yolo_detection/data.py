"""The data, targets, initial parameters and scoring of 10_yolo_detection, as
yolo_detection.c makes them: generated scenes (common/vision.py), each cell's
objectness, box and class targets, He-scaled kernels (common/conv_np.py), and the
decoding of the grid into detections, NMS and mAP@0.5 (common/vision.py)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import conv_np  # noqa: E402
import numpy as np  # noqa: E402
import tut  # noqa: E402
import vision  # noqa: E402

S, G, RMIN, RMAX = 32, 4, 2, 4
CELL, OUT = S // G, 1 + 4 + vision.CLASSES
BOX_WEIGHT, MIN_SCORE = 1.0, 0.05
LAYERS = (("c1", 3, 1, 16), ("c2", 3, 16, 32), ("c3", 3, 128, 32), ("c4", 3, 128, 32), ("head", 1, 32, OUT))


def init(seed):
    """The parameters of the C program's init_params (HWIO kernels)."""
    return conv_np.init_convs(seed, LAYERS)


def options(about):
    a = tut.parse(about, epochs=10, batch=32, lr=3e-3)
    if a.quick:
        a.epochs, a.batch, a.limit = 4, 8, 512
    return a


def targets(cls, box):
    """(obj (N,G,G) f32, box targets (N,G,G,4): centre offset in the cell and size, in
    cells, cls (N,G,G) i32 0-based, 0 where empty) as make_targets in the C program."""
    obj = (cls > 0).astype(np.float32)
    gx = (np.arange(G, dtype=np.float32) * CELL)[None, None, :]
    gy = (np.arange(G, dtype=np.float32) * CELL)[None, :, None]
    t = np.stack([((box[..., 0] + box[..., 2]) / np.float32(2) - gx) / np.float32(CELL),
                  ((box[..., 1] + box[..., 3]) / np.float32(2) - gy) / np.float32(CELL),
                  (box[..., 2] - box[..., 0]) / np.float32(CELL), (box[..., 3] - box[..., 1]) / np.float32(CELL)], -1)
    return obj, (t * obj[..., None]).astype(np.float32), np.maximum(cls - 1, 0).astype(np.int32)


def problem(a):
    """(x (N,32,32,1), obj, box, cls, test scenes (image, cls, box), steps)."""
    n, nt = a.limit or 1024, 64 if a.quick else 256
    x, _, cls, box = vision.scenes(a.seed * 4 + 1, n, S, G, RMIN, RMAX)
    xt, _, clst, boxt = vision.scenes(a.seed * 4 + 3, nt, S, G, RMIN, RMAX)
    print(f"{n} training scenes of {S}x{S} ({G}x{G} cells), {a.epochs} epochs of {n // a.batch} steps, {nt} test scenes")
    return (x[..., None],) + targets(cls, box) + ((xt[..., None], clst, boxt), n // a.batch)


def decode(y):
    """The detections of the raw grid y (N,G,G,OUT), as the C program's decode."""
    y = y.astype(np.float64).reshape(-1, OUT)
    logits = y[:, 5:]
    k = logits.argmax(1)
    z = np.exp(logits - logits.max(1, keepdims=True)).sum(1)
    score = 1 / (1 + np.exp(-y[:, 0])) / z
    dets = []
    for i in np.nonzero(score.astype(np.float32) >= np.float32(MIN_SCORE))[0]:
        cx, cy = i % G * CELL + y[i, 1] * CELL, i // G % G * CELL + y[i, 2] * CELL
        w, h = y[i, 3] * CELL, y[i, 4] * CELL
        box = np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], np.float32)
        dets.append((int(i // (G * G)), int(k[i]), float(np.float32(score[i])), box))
    return dets


def report(y, test):
    _, cls, box = test
    dets = decode(y)
    kept = vision.nms(dets, 0.5)
    m, ap = vision.mean_ap(kept, cls, box, 0.5)
    print(f"test mAP@0.5 {100 * m:.2f}% over {len(cls)} scenes (AP square {100 * ap[0]:.1f}%, cross "
          f"{100 * ap[1]:.1f}%, triangle {100 * ap[2]:.1f}%); {len(dets)} detections above {MIN_SCORE:.2f}, "
          f"{len(kept)} after NMS")
    tut.metric("test_map50", m)


def epoch_line(e, loss):
    print(f"epoch {e + 1}: mean training loss {loss:.4f}")
