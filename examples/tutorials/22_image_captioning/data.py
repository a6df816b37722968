"""The images, captions and initial weights of 22_image_captioning, as scenes.c and
image_captioning.c make them: two shapes (square, cross, ring) of four colours in two of
the four 8x8 cells of a 16x16 RGB image, jittered in their cell, with Gaussian noise; the
caption names the left one first ("a red square left of a blue ring"), or, when they share
a column, the upper one ("a green cross above a yellow ring")."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import numpy as np  # noqa: E402
import tut  # noqa: E402

S, L, E, H = 16, 9, 16, 64           # image side, caption positions, embedding, GRU units
PAD, BOS, EOS = 0, 1, 2
WORDS = ["<pad>", "<bos>", "<eos>", "a", "left", "of", "above", "red", "green", "blue", "yellow",
         "square", "cross", "ring"]
V = len(WORDS)
RGB = np.array([[1, 0.1, 0.1], [0.1, 0.9, 0.1], [0.2, 0.3, 1], [1, 0.9, 0.1]], np.float32)
DRAWS = 10                            # uniforms per image


def _shape(k):
    m = np.zeros((5, 5), np.float32)
    if k == 0:
        m[:] = 1
    elif k == 1:
        m[2, :] = m[:, 2] = 1
    else:
        m[[0, 4], :] = m[:, [0, 4]] = 1
    return m


def scenes(seed, n):
    """(images (n,S,S,3) f32, captions (n,L) i32: the words then <eos>, padded with 0)."""
    u = tut.uniform(seed, n * DRAWS).astype(np.float64).reshape(n, DRAWS)
    img = (0.1 * tut.normal(seed + 1, n * S * S * 3).astype(np.float64)).astype(np.float32).reshape(n, S, S, 3)
    cap = np.zeros((n, L), np.int32)
    for i in range(n):
        d = u[i]
        c1 = int(d[0] * 4)
        c2 = int(d[1] * 3)
        c2 += c2 >= c1
        obj = []
        for j, c in enumerate((c1, c2)):
            col, shp = int(d[2 + j] * 4), int(d[4 + j] * 3)
            y, x = 8 * (c // 2) + int(d[6 + 2 * j] * 4), 8 * (c % 2) + int(d[7 + 2 * j] * 4)
            img[i, y:y + 5, x:x + 5] += _shape(shp)[:, :, None] * RGB[col]
            obj.append((c, col, shp))
        (ca, cola, sa), (cb, colb, sb) = obj
        if ca % 2 != cb % 2:
            rel, first = [4, 5], ca % 2 < cb % 2
        else:
            rel, first = [6], ca < cb
        (_, col1, s1), (_, col2, s2) = obj if first else obj[::-1]
        words = [3, 7 + col1, 11 + s1] + rel + [3, 7 + col2, 11 + s2, EOS]
        cap[i, :len(words)] = words
    return img.astype(np.float32), cap


def text(words):
    return " ".join(WORDS[w] for w in words if w > EOS)


def options(about):
    return tut.parse(about, epochs=10, batch=64, lr=3e-3,
                     extra=lambda p: p.add_argument("--train", type=int, default=8192))


def problem(a):
    """(train (images, captions), test (...), steps per epoch); --quick as the C program."""
    if a.quick:
        a.epochs, a.train = 3, 8192
    return scenes(a.seed + 1, a.train), scenes(a.seed + 101, 512), a.train // a.batch


def teacher(cap):
    """Decoder inputs under teacher forcing: <bos> then the caption shifted right."""
    return np.concatenate([np.full((len(cap), 1), BOS, np.int32), cap[:, :-1]], 1)


def init(seed):
    """{conv1 (4*4*3,16) -> (4,4,3,16), conv2 (2*2*16,32), enc (128,H), embed (V,E), gru {wi, bi, wh},
    out_w (H,V) and biases} as image_captioning.c's."""
    z = lambda n: np.zeros(n, np.float32)  # noqa: E731
    return {"conv1": tut.weights(seed + 10, 48, 16, np.sqrt(2 / 48)), "conv1_b": z(16),
            "conv2": tut.weights(seed + 11, 64, 32, np.sqrt(2 / 64)), "conv2_b": z(32),
            "enc": tut.weights(seed + 12, 128, H, 1 / np.sqrt(128)), "enc_b": z(H),
            "embed": tut.weights(seed + 13, V, E, 1.0),
            "gru": {"wi": tut.weights(seed + 14, E, 3 * H, 1 / np.sqrt(E)), "bi": z(3 * H),
                    "wh": tut.weights(seed + 15, H, 3 * H, 1 / np.sqrt(H))},
            "out_w": tut.weights(seed + 16, H, V, 1 / np.sqrt(H)), "out_b": z(V)}


def report(decoded, cap):
    """decoded (n,L) greedy word ids -> exact caption accuracy."""
    ok = [text(d[:list(d).index(EOS)] if EOS in list(d) else d) == text(c) for d, c in zip(decoded, cap)]
    words = np.mean([np.array_equal(d[:5], c[:5]) for d, c in zip(decoded, cap)])
    acc = float(np.mean(ok))
    print(f"test exact caption accuracy {100 * acc:.2f}% of {len(cap)} images (first five words right: {100 * words:.1f}%)")
    print(f"e.g. \"{text(decoded[0])}\" for \"{text(cap[0])}\"")
    tut.metric("caption_accuracy", acc)
