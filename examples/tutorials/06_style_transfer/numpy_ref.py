"""06_style_transfer in NumPy: the same feature network, pre-training and image
optimisation, every backward pass written by hand -- 3x3 convolutions as im2col and a
matrix product (their gradient: the product's transposes and col2im), average pooling,
the Gram matrices -- once to the weights, once to the pixels."""
import numpy as np

import data
import tut
from optim import NumpyAdam, NumpyTrainer


def im2col(x):
    """(B,H,W,C) -> (B,H,W,9C): the 3x3 neighbourhoods (SAME padding), ordered as the
    HWIO kernel reshaped to (9C, O)."""
    _, h, w, _ = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    return np.concatenate([xp[:, ky:ky + h, kx:kx + w, :] for ky in range(3) for kx in range(3)], axis=3)


def col2im(d, c):
    """The gradient of im2col: (B,H,W,9C) back onto (B,H,W,C)."""
    b, h, w, _ = d.shape
    dp = np.zeros((b, h + 2, w + 2, c), d.dtype)
    for k in range(9):
        ky, kx = divmod(k, 3)
        dp[:, ky:ky + h, kx:kx + w, :] += d[..., k * c:(k + 1) * c]
    return dp[:, 1:-1, 1:-1, :]


def conv(x, q):
    cols = im2col(x)
    z = cols @ q["w"].reshape(-1, q["w"].shape[-1]) + q["b"]
    return np.maximum(z, 0), (cols, z)


def conv_back(q, cache, df, c):
    """(d input, {w, b}) from d output for conv(x, q) with c input channels."""
    cols, z = cache
    dz = df * (z > 0)
    o = dz.shape[-1]
    g = {"w": (cols.reshape(-1, 9 * c).T @ dz.reshape(-1, o)).reshape(q["w"].shape), "b": dz.sum((0, 1, 2))}
    return col2im(dz @ q["w"].reshape(-1, o).T, c), g


def pool(x):
    b, h, w, c = x.shape
    return x.reshape(b, h // 2, 2, w // 2, 2, c).mean((2, 4))


def unpool(d):
    return np.repeat(np.repeat(d, 2, axis=1), 2, axis=2) / 4


def features(p, x):
    f1, k1 = conv(x, p["c1"])
    f2, k2 = conv(pool(f1), p["c2"])
    return f1, f2, (k1, k2)


def ce_grads(p, x, y):
    f1, f2, (k1, k2) = features(p, x)
    h = pool(f2).reshape(len(x), -1)
    logits = h @ p["fc"]["w"] + p["fc"]["b"]
    logits = logits - logits.max(1, keepdims=True)
    lp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    loss = -lp[np.arange(len(y)), y].mean()
    dl = np.exp(lp)
    dl[np.arange(len(y)), y] -= 1
    dl /= len(y)
    g = {"fc": {"w": h.T @ dl, "b": dl.sum(0)}}
    df2 = unpool((dl @ p["fc"]["w"].T).reshape(pool(f2).shape))
    dp1, g["c2"] = conv_back(p["c2"], k2, df2, data.C1)
    _, g["c1"] = conv_back(p["c1"], k1, unpool(dp1), 1)
    return loss, g


def gram(f):
    f = f.reshape(-1, f.shape[-1])
    return f.T @ f / len(f)


def gram_back(f, g, target):
    """d mean((gram(f) - target)^2) / d f."""
    fm = f.reshape(-1, f.shape[-1])
    dg = 2 * (g - target) / g.size
    return (fm @ (dg + dg.T) / len(fm)).reshape(f.shape)


def losses(p, img, t):
    f1, f2, caches = features(p, img)
    g1, g2 = gram(f1), gram(f2)
    content = np.mean((f2 - t["f2"]) ** 2)
    style = np.mean((g1 - t["g1"]) ** 2) + np.mean((g2 - t["g2"]) ** 2)
    return content, style, (f1, f2, g1, g2, caches)


def image_grads(p, img, t):
    content, style, (f1, f2, g1, g2, (k1, k2)) = losses(p, img, t)
    df2 = 2 * (f2 - t["f2"]) / f2.size + data.STYLE_W * gram_back(f2, g2, t["g2"])
    dp1, _ = conv_back(p["c2"], k2, df2, data.C1)
    df1 = unpool(dp1) + data.STYLE_W * gram_back(f1, g1, t["g1"])
    dimg, _ = conv_back(p["c1"], k1, df1, 1)
    return content + data.STYLE_W * style, dimg


def main():
    a = data.options("neural style transfer on a digit with a pre-trained small CNN (NumPy, backprop by hand)")
    x, y, content, style = data.load(a)
    p = data.pretrain(a, NumpyTrainer(data.init_params(a.seed), data.PRE_LR, ce_grads, x, y), len(x))
    fs, fc = features(p, style), features(p, content)
    target = {"f2": fc[1], "g1": gram(fs[0]), "g2": gram(fs[1])}
    img = {"img": content.copy()}
    adam = NumpyAdam(img, a.lr)
    with tut.timed("style transfer"):
        for e in range(a.epochs):
            tot = 0.0
            for _ in range(data.STEPS):
                loss, g = image_grads(p, img["img"], target)
                img = adam(img, {"img": g})
                tot += float(loss) / data.STEPS
            data.style_line(e, tot)
    c0, s0, _ = losses(p, content, target)
    c, s, _ = losses(p, img["img"], target)
    data.report(c0, s0, c, s)


main()
