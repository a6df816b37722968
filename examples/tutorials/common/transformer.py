"""transformer.py: common/transformer.h's pre-LayerNorm Transformer block for the Python
references of tutorials 05 and 16: the same initial parameters (nested dicts with the C
tree's names), the block in NumPy with its backward pass by hand, and in JAX.

    x = x + mha(ln1(x), ln1(x), mask)       self-attention
    x = x + mha(ln2(x), mem, mem_mask)      cross-attention (decoder blocks only)
    x = x + w2 relu(w1 ln3(x) + b1) + b2    the MLP

Masks are boolean, broadcastable to (B, H, Tq, Tk), true where a query may attend."""
import numpy as np

import tut

EPS = 1e-5
LOWEST = np.finfo(np.float32).min  # masked logits, as Flax and jx_nn_attention


def kernel(seed, r, c):
    """transformer.h's tfm_kernel: (r, c) normal / sqrt(r)."""
    return tut.weights(seed, r, c, 1 / np.sqrt(r))


def ln_init(d):
    return {"scale": np.ones(d, np.float32), "bias": np.zeros(d, np.float32)}


def _mha_init(d, h, seed):
    k = d // h
    p = {w: kernel(seed + i, d, d).reshape(d, h, k) for i, w in enumerate(("wq", "wk", "wv"))}
    p.update({b: np.zeros((h, k), np.float32) for b in ("bq", "bk", "bv")})
    p["wo"], p["bo"] = kernel(seed + 3, d, d).reshape(h, k, d), np.zeros(d, np.float32)
    return p


def block_init(d, heads, ff, cross, seed):
    """transformer.h's tfm_block_init: the same numbers."""
    p = {"ln1": ln_init(d), "attn": _mha_init(d, heads, seed)}
    if cross:
        p["ln2"], p["cross"] = ln_init(d), _mha_init(d, heads, seed + 4)
    p["ln3"] = ln_init(d)
    p["mlp"] = {"w1": kernel(seed + 8, d, ff), "b1": np.zeros(ff, np.float32),
                "w2": kernel(seed + 9, ff, d), "b2": np.zeros(d, np.float32)}
    return p


def stack_init(p, prefix, layers, d, heads, ff, cross, seed):
    """tfm_stack_init: adds prefix0.. prefix{layers-1} and prefix_ln to p."""
    for l in range(layers):
        p[f"{prefix}{l}"] = block_init(d, heads, ff, cross, seed + 16 * l)
    p[f"{prefix}_ln"] = ln_init(d)


def positions(t, d):
    """tfm_positions: the sinusoidal code (t, d), computed in double."""
    pos = np.arange(t, dtype=np.float64)[:, None] / 10000.0 ** (np.arange(0, d, 2, dtype=np.float64) / d)[None, :]
    out = np.empty((t, d), np.float64)
    out[:, 0::2], out[:, 1::2] = np.sin(pos), np.cos(pos[:, :d // 2])
    return out.astype(np.float32)


def causal_mask(t):
    return np.tril(np.ones((t, t), bool))


# ---------------------------------------------------------------- NumPy, forward and backward

def ln_fwd(p, x):
    mu = x.mean(-1, keepdims=True)
    xc = x - mu
    rstd = 1 / np.sqrt((xc * xc).mean(-1, keepdims=True) + EPS)
    xh = xc * rstd
    return xh * p["scale"] + p["bias"], (xh, rstd)


def ln_bwd(p, cache, dy):
    xh, rstd = cache
    axes = tuple(range(dy.ndim - 1))
    g = {"scale": (dy * xh).sum(axes), "bias": dy.sum(axes)}
    dxh = dy * p["scale"]
    dx = rstd * (dxh - dxh.mean(-1, keepdims=True) - xh * (dxh * xh).mean(-1, keepdims=True))
    return dx, g


def _proj(x, w, b):
    """x (B,T,D) @ w (D,H,K) + b  ->  (B,H,T,K)."""
    bt, t, d = x.shape
    h, k = w.shape[1:]
    return (x.reshape(-1, d) @ w.reshape(d, h * k) + b.reshape(-1)).reshape(bt, t, h, k).transpose(0, 2, 1, 3)


def mha_fwd(p, xq, xkv, mask):
    q, k, v = _proj(xq, p["wq"], p["bq"]), _proj(xkv, p["wk"], p["bk"]), _proj(xkv, p["wv"], p["bv"])
    s = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(q.shape[-1]))
    if mask is not None:
        s = np.where(mask, s, LOWEST)
    a = np.exp(s - s.max(-1, keepdims=True))
    a /= a.sum(-1, keepdims=True)
    o = (a @ v).transpose(0, 2, 1, 3)  # (B,Tq,H,K)
    b, t, h, kk = o.shape
    y = o.reshape(b * t, h * kk) @ p["wo"].reshape(h * kk, -1) + p["bo"]
    return y.reshape(b, t, -1), (xq, xkv, q, k, v, a, o)


def _proj_bwd(x, w, dz):
    """Gradients of _proj from dz (B,H,T,K): (dx, dw, db)."""
    d = x.shape[-1]
    h, k = w.shape[1:]
    dz = dz.transpose(0, 2, 1, 3).reshape(-1, h * k)
    x2 = x.reshape(-1, d)
    return (dz @ w.reshape(d, h * k).T).reshape(x.shape), (x2.T @ dz).reshape(d, h, k), dz.sum(0).reshape(h, k)


def mha_bwd(p, cache, dy):
    """(dxq, dxkv, grads); for self-attention add dxq and dxkv."""
    xq, xkv, q, k, v, a, o = cache
    b, t, h, kk = o.shape
    dy2 = dy.reshape(b * t, -1)
    g = {"wo": (o.reshape(b * t, h * kk).T @ dy2).reshape(h, kk, -1), "bo": dy2.sum(0)}
    do = (dy2 @ p["wo"].reshape(h * kk, -1).T).reshape(b, t, h, kk).transpose(0, 2, 1, 3)
    da = do @ v.transpose(0, 1, 3, 2)
    dv = a.transpose(0, 1, 3, 2) @ do
    ds = a * (da - (da * a).sum(-1, keepdims=True)) / np.float32(np.sqrt(kk))
    dq, dk = ds @ k, ds.transpose(0, 1, 3, 2) @ q
    dxq, g["wq"], g["bq"] = _proj_bwd(xq, p["wq"], dq)
    dxk, g["wk"], g["bk"] = _proj_bwd(xkv, p["wk"], dk)
    dxv, g["wv"], g["bv"] = _proj_bwd(xkv, p["wv"], dv)
    return dxq, dxk + dxv, g


def block_fwd(p, x, mask, mem=None, mem_mask=None):
    c = {}
    h, c["ln1"] = ln_fwd(p["ln1"], x)
    y, c["attn"] = mha_fwd(p["attn"], h, h, mask)
    x = x + y
    if mem is not None:
        h, c["ln2"] = ln_fwd(p["ln2"], x)
        y, c["cross"] = mha_fwd(p["cross"], h, mem, mem_mask)
        x = x + y
    h, c["ln3"] = ln_fwd(p["ln3"], x)
    m = p["mlp"]
    z = h @ m["w1"] + m["b1"]
    r = np.maximum(z, 0)
    c["mlp"] = (h, z, r)
    return x + r @ m["w2"] + m["b2"], c


def block_bwd(p, c, dx):
    """(d input, d mem or None, grads) from d output."""
    m, (h, z, r) = p["mlp"], c["mlp"]
    d = h.shape[-1]
    dx2 = dx.reshape(-1, d)
    g = {"mlp": {"w2": r.reshape(-1, r.shape[-1]).T @ dx2, "b2": dx2.sum(0)}}
    dz = (dx @ m["w2"].T) * (z > 0)
    dz2 = dz.reshape(-1, dz.shape[-1])
    g["mlp"]["w1"], g["mlp"]["b1"] = h.reshape(-1, d).T @ dz2, dz2.sum(0)
    dh, g["ln3"] = ln_bwd(p["ln3"], c["ln3"], dz @ m["w1"].T)
    dx = dx + dh
    dmem = None
    if "cross" in c:
        dhq, dmem, g["cross"] = mha_bwd(p["cross"], c["cross"], dx)
        dh, g["ln2"] = ln_bwd(p["ln2"], c["ln2"], dhq)
        dx = dx + dh
    dq, dkv, g["attn"] = mha_bwd(p["attn"], c["attn"], dx)
    dh, g["ln1"] = ln_bwd(p["ln1"], c["ln1"], dq + dkv)
    return dx + dh, dmem, g


def stack_fwd(p, prefix, layers, x, mask, mem=None, mem_mask=None):
    """tfm_stack in NumPy: (output, cache)."""
    caches = []
    for l in range(layers):
        x, c = block_fwd(p[f"{prefix}{l}"], x, mask, mem, mem_mask)
        caches.append(c)
    y, cl = ln_fwd(p[f"{prefix}_ln"], x)
    return y, (caches, cl)


def stack_bwd(p, prefix, layers, cache, dy, g):
    """Backward of stack_fwd: puts the stack's gradients into g; returns (d input, d mem
    summed over the blocks, or None)."""
    caches, cl = cache
    dx, g[f"{prefix}_ln"] = ln_bwd(p[f"{prefix}_ln"], cl, dy)
    dmem = None
    for l in reversed(range(layers)):
        dx, dm, g[f"{prefix}{l}"] = block_bwd(p[f"{prefix}{l}"], caches[l], dx)
        if dm is not None:
            dmem = dm if dmem is None else dmem + dm
    return dx, dmem


def ce_fwd_bwd(logits, labels, ignore=None):
    """Mean softmax cross-entropy over the labels not equal to ignore, and its gradient
    with respect to logits (jx_loss_softmax_ce_int_mean)."""
    z = logits - logits.max(-1, keepdims=True)
    lse = np.log(np.exp(z).sum(-1, keepdims=True))
    logp = z - lse
    keep = np.ones(labels.shape, bool) if ignore is None else labels != ignore
    n = max(int(keep.sum()), 1)
    picked = np.take_along_axis(logp, labels[..., None], -1)[..., 0]
    d = np.exp(logp)
    np.put_along_axis(d, labels[..., None], np.take_along_axis(d, labels[..., None], -1) - 1, -1)
    d *= (keep / np.float32(n))[..., None].astype(np.float32)
    return float(-(picked * keep).sum() / n), d


# ---------------------------------------------------------------- JAX

def jax_ln(p, x):
    import jax.numpy as jnp
    mu = x.mean(-1, keepdims=True)
    var = jnp.square(x - mu).mean(-1, keepdims=True)
    return (x - mu) / jnp.sqrt(var + EPS) * p["scale"] + p["bias"]


def jax_mha(p, xq, xkv, mask):
    import jax
    import jax.numpy as jnp
    q = jnp.einsum("btd,dhk->bhtk", xq, p["wq"]) + p["bq"][None, :, None, :]
    k = jnp.einsum("btd,dhk->bhtk", xkv, p["wk"]) + p["bk"][None, :, None, :]
    v = jnp.einsum("btd,dhk->bhtk", xkv, p["wv"]) + p["bv"][None, :, None, :]
    s = q @ jnp.swapaxes(k, -1, -2) / jnp.sqrt(jnp.float32(q.shape[-1]))
    if mask is not None:
        s = jnp.where(mask, s, LOWEST)
    o = jax.nn.softmax(s, -1) @ v
    return jnp.einsum("bhtk,hkd->btd", o, p["wo"]) + p["bo"]


def jax_block(p, x, mask, mem=None, mem_mask=None):
    import jax.numpy as jnp
    h = jax_ln(p["ln1"], x)
    x = x + jax_mha(p["attn"], h, h, mask)
    if mem is not None:
        x = x + jax_mha(p["cross"], jax_ln(p["ln2"], x), mem, mem_mask)
    m = p["mlp"]
    return x + jnp.maximum(jax_ln(p["ln3"], x) @ m["w1"] + m["b1"], 0) @ m["w2"] + m["b2"]


def jax_stack(p, prefix, layers, x, mask, mem=None, mem_mask=None):
    """tfm_stack in JAX."""
    for l in range(layers):
        x = jax_block(p[f"{prefix}{l}"], x, mask, mem, mem_mask)
    return jax_ln(p[f"{prefix}_ln"], x)
