#!/usr/bin/env python3
"""gen_ref.py: reference vectors for tests/nn/test_nn_layers.c and test_nn_losses.c.

For every case it draws inputs from a fixed numpy seed, computes the outputs with JAX and
Flax (Flax's own modules where the layer exists there, with our fused parameter layouts
mapped onto Flax's), a random cotangent per output, and the gradient of
L = sum_k sum(out_k * ct_k) with jax.grad, all in float64 (jax_enable_x64). Dropout's
mask is drawn with jax.random.bernoulli under JAX's default configuration (x64 off), the
configuration jx's dropout reproduces bit for bit.

Run:  python3 tests/nn/ref/gen_ref.py > tests/nn/ref/layers_ref.h
"""
import sys

import numpy as np
import jax
import jax.numpy as jnp
import flax
import flax.linen as nn
import optax

rng = np.random.default_rng(20261204)
CASES = []

# ---------------------------------------------------------------- dropout (x64 off)
jax.config.update("jax_enable_x64", False)
assert jax.config.jax_threefry_partitionable
DROP = []
for name, seed, rate, shape in [("dropout", 42, 0.3, (3, 50)), ("dropout_split", 7, 0.5, (2, 4, 9))]:
    key = jax.random.split(jax.random.PRNGKey(seed))[1] if name == "dropout_split" else jax.random.PRNGKey(seed)
    keep = np.asarray(jax.random.bernoulli(key, 1.0 - rate, shape))
    DROP.append((name, np.asarray(jax.random.key_data(key)), rate, shape, keep))
jax.config.update("jax_enable_x64", True)


def r(*shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, size=shape).astype(np.float64)


def case(name, inputs, fn, nonfloat=()):
    """inputs: list of (name, array); fn(*inputs) -> tuple of outputs."""
    arrs = [np.asarray(a) for _, a in inputs]
    outs = fn(*[jnp.asarray(a) for a in arrs])
    if not isinstance(outs, tuple):
        outs = (outs,)
    outs = [np.asarray(o, dtype=np.float64) for o in outs]
    cts = [rng.uniform(-1, 1, size=o.shape) for o in outs]
    fidx = [i for i, a in enumerate(arrs) if a.dtype == np.float64]

    def loss(*fl):
        full = list(jnp.asarray(a) for a in arrs)
        for i, v in zip(fidx, fl):
            full[i] = v
        o = fn(*full)
        if not isinstance(o, tuple):
            o = (o,)
        return sum(jnp.sum(a * c) for a, c in zip(o, cts))

    grads = jax.grad(loss, argnums=tuple(range(len(fidx))))(*[jnp.asarray(arrs[i]) for i in fidx]) if fidx else ()
    g = [None] * len(arrs)
    for i, v in zip(fidx, grads):
        g[i] = np.asarray(v)
    CASES.append((name, [(n, a) for (n, _), a in zip(inputs, arrs)], outs, cts, g))


# ---------------------------------------------------------------- dense and conv
def flax_apply(module, params):
    return lambda x: module.apply({"params": params}, x)


x, w, b = r(2, 3, 4), r(4, 5), r(5)
case("dense", [("x", x), ("w", w), ("b", b)],
     lambda x, w, b: nn.Dense(5).apply({"params": {"kernel": w, "bias": b}}, x))


def conv_case(name, xs, ws, bias, **kw):
    x, w = r(*xs), r(*ws)
    feats = ws[3]
    if bias:
        b = r(feats)
        case(name, [("x", x), ("w", w), ("b", b)],
             lambda x, w, b: nn.Conv(feats, ws[:2], **kw).apply({"params": {"kernel": w, "bias": b}}, x))
    else:
        case(name, [("x", x), ("w", w)],
             lambda x, w: nn.Conv(feats, ws[:2], use_bias=False, **kw).apply({"params": {"kernel": w}}, x))


conv_case("conv2d_same_stride", (2, 5, 6, 3), (3, 3, 3, 4), True, strides=(2, 1), padding="SAME")
conv_case("conv2d_dilated_explicit", (1, 6, 6, 2), (2, 3, 2, 3), True, padding=((1, 0), (2, 1)),
          kernel_dilation=(2, 1))
conv_case("conv2d_groups_valid", (2, 5, 5, 4), (3, 3, 2, 6), False, padding="VALID", feature_group_count=2)


def convt_case(name, xs, ws, **kw):
    x, w, b = r(*xs), r(*ws), r(ws[3])
    case(name, [("x", x), ("w", w), ("b", b)],
         lambda x, w, b: nn.ConvTranspose(ws[3], ws[:2], **kw).apply({"params": {"kernel": w, "bias": b}}, x))


convt_case("conv_transpose_same", (1, 3, 4, 2), (3, 3, 2, 3), strides=(2, 2), padding="SAME")
convt_case("conv_transpose_valid", (2, 3, 3, 2), (3, 2, 2, 2), strides=(2, 2), padding="VALID")
convt_case("conv_transpose_explicit", (1, 4, 3, 2), (3, 2, 2, 2), strides=(1, 2), padding=((1, 2), (0, 1)),
           kernel_dilation=(2, 1))

# ---------------------------------------------------------------- pooling
x = r(2, 5, 6, 3)
case("max_pool_same", [("x", x)], lambda x: nn.max_pool(x, (2, 3), strides=(2, 2), padding="SAME"))
x = r(1, 4, 4, 2)
case("max_pool_valid", [("x", x)], lambda x: nn.max_pool(x, (2, 2), strides=(2, 2), padding="VALID"))
x = r(2, 5, 5, 2)
case("avg_pool_same_incl", [("x", x)], lambda x: nn.avg_pool(x, (3, 3), strides=(2, 2), padding="SAME"))
case("avg_pool_same_excl", [("x", x)],
     lambda x: nn.avg_pool(x, (3, 3), strides=(2, 2), padding="SAME", count_include_pad=False))

# ---------------------------------------------------------------- normalisation
x, s, b, m, v = r(4, 3, 3, 5), r(5, lo=0.5, hi=1.5), r(5), r(5), r(5, lo=0.5, hi=2.0)


def bn_train(x, s, b, m, v):
    y, upd = nn.BatchNorm(use_running_average=False, momentum=0.9, epsilon=1e-5).apply(
        {"params": {"scale": s, "bias": b}, "batch_stats": {"mean": m, "var": v}}, x, mutable=["batch_stats"])
    return y, upd["batch_stats"]["mean"], upd["batch_stats"]["var"]


case("batch_norm_train", [("x", x), ("scale", s), ("bias", b), ("mean", m), ("var", v)], bn_train)
x = r(3, 4)
s, b, m, v = r(4, lo=0.5, hi=1.5), r(4), r(4), r(4, lo=0.5, hi=2.0)
case("batch_norm_eval", [("x", x), ("scale", s), ("bias", b), ("mean", m), ("var", v)],
     lambda x, s, b, m, v: nn.BatchNorm(use_running_average=True, epsilon=1e-5).apply(
         {"params": {"scale": s, "bias": b}, "batch_stats": {"mean": m, "var": v}}, x))
x, s, b = r(2, 3, 6), r(6, lo=0.5, hi=1.5), r(6)
case("layer_norm", [("x", x), ("scale", s), ("bias", b)],
     lambda x, s, b: nn.LayerNorm(epsilon=1e-6).apply({"params": {"scale": s, "bias": b}}, x))
x = r(2, 4, 3, 6)
case("group_norm", [("x", x), ("scale", s), ("bias", b)],
     lambda x, s, b: nn.GroupNorm(num_groups=3, epsilon=1e-6).apply({"params": {"scale": s, "bias": b}}, x))

# ---------------------------------------------------------------- dropout, embedding, resize
for name, key, rate, shape, keep in DROP:
    x = r(*shape)
    case(name, [("x", x), ("key", key.astype(np.uint32))],
         lambda x, key, keep=keep, rate=rate: jnp.where(keep, x / (1.0 - rate), 0.0))

table, ids = r(7, 4), np.array([[0, 3, 6], [3, 3, 1]], dtype=np.int32)
case("embedding", [("table", table), ("ids", ids)],
     lambda t, i: nn.Embed(7, 4).apply({"params": {"embedding": t}}, i))


def resize_ref(shape_in, oh, ow, method):
    """jx's weight-matrix form of jax.image.resize, checked against it."""
    def f(x):
        y = jax.image.resize(x, (shape_in[0], oh, ow, shape_in[3]), method)
        return y
    return f


for name, shape, oh, ow, method in [("resize_nearest_up", (1, 3, 4, 2), 6, 8, "nearest"),
                                    ("resize_nearest_down", (1, 5, 7, 2), 3, 4, "nearest"),
                                    ("resize_bilinear_up", (1, 3, 4, 2), 7, 9, "bilinear"),
                                    ("resize_bilinear_down", (2, 8, 6, 1), 3, 4, "bilinear")]:
    case(name, [("x", r(*shape))], resize_ref(shape, oh, ow, method))

# ---------------------------------------------------------------- recurrent
B, I, H = 2, 3, 4


def split(w, n):
    return [w[..., k * H:(k + 1) * H] for k in range(n)]


def lstm_flax(x, c, h, wi, wh, b):
    wis, whs, bs = split(wi, 4), split(wh, 4), split(b, 4)
    p = {}
    for k, g in enumerate("ifgo"):
        p["i" + g] = {"kernel": wis[k]}
        p["h" + g] = {"kernel": whs[k], "bias": bs[k]}
    (c2, h2), _ = nn.LSTMCell(H).apply({"params": p}, (c, h), x)
    return c2, h2


def gru_flax(x, h, wi, bi, wh, bh):
    """Flax's GRUCell has a recurrent bias on n only: bh's r and z parts are added to bi's."""
    wis, bis, whs, bhs = split(wi, 3), split(bi, 3), split(wh, 3), split(bh, 3)
    p = {}
    for k, g in enumerate("rzn"):
        p["i" + g] = {"kernel": wis[k], "bias": bis[k] + (bhs[k] if g != "n" else 0)}
        p["h" + g] = {"kernel": whs[k]}
    p["hn"]["bias"] = bhs[2]
    h2, _ = nn.GRUCell(H).apply({"params": p}, h, x)
    return h2


x, c, h = r(B, I), r(B, H), r(B, H)
wi, wh, b = r(I, 4 * H), r(H, 4 * H), r(4 * H)
case("lstm_cell", [("x", x), ("c", c), ("h", h), ("wi", wi), ("wh", wh), ("b", b)], lstm_flax)
wi3, bi3, wh3, bh3 = r(I, 3 * H), r(3 * H), r(H, 3 * H), r(3 * H)
case("gru_cell", [("x", x), ("h", h), ("wi", wi3), ("bi", bi3), ("wh", wh3), ("bh", bh3)], gru_flax)

T = 5
xs = r(B, T, I)


def rnn(cell_fn, carry, xs, reverse):
    steps = range(T - 1, -1, -1) if reverse else range(T)
    ys = [None] * T
    for t in steps:
        carry, y = cell_fn(carry, xs[:, t])
        ys[t] = y
    return jnp.stack(ys, axis=1), carry


def lstm_rnn(xs, c, h, wi, wh, b):
    ys, (c2, h2) = rnn(lambda ch, x: ((lambda cc, hh: ((cc, hh), hh))(*lstm_flax(x, ch[0], ch[1], wi, wh, b))),
                       (c, h), xs, False)
    return ys, c2, h2


def gru_rnn(xs, h, wi, bi, wh, bh):
    ys, h2 = rnn(lambda hh, x: (lambda n: (n, n))(gru_flax(x, hh, wi, bi, wh, bh)), h, xs, True)
    return ys, h2


case("rnn_lstm", [("x", xs), ("c", c), ("h", h), ("wi", wi), ("wh", wh), ("b", b)], lstm_rnn)
case("rnn_gru_reverse", [("x", xs), ("h", h), ("wi", wi3), ("bi", bi3), ("wh", wh3), ("bh", bh3)], gru_rnn)
# flax's own RNN over the LSTM cell agrees with the loop above
_p = {}
for k, g in enumerate("ifgo"):
    _p["i" + g] = {"kernel": split(wi, 4)[k]}
    _p["h" + g] = {"kernel": split(wh, 4)[k], "bias": split(b, 4)[k]}
_ys = nn.RNN(nn.LSTMCell(H)).apply({"params": {"cell": _p}}, xs, initial_carry=(c, h))
assert np.allclose(_ys, lstm_rnn(xs, c, h, wi, wh, b)[0], atol=1e-12)

# ---------------------------------------------------------------- attention
q, k, v = r(2, 3, 2, 4), r(2, 5, 2, 4), r(2, 5, 2, 3)
mask = rng.uniform(size=(2, 1, 3, 5)) < 0.6
mask[..., 0] = True
case("attention_mask", [("q", q), ("k", k), ("v", v), ("mask", mask)],
     lambda q, k, v, m: nn.dot_product_attention(q, k, v, mask=m))


def mha_params(E, Hh, D, F):
    return {"query": {"kernel": r(E, Hh, D), "bias": r(Hh, D)}, "key": {"kernel": r(E, Hh, D), "bias": r(Hh, D)},
            "value": {"kernel": r(E, Hh, D), "bias": r(Hh, D)}, "out": {"kernel": r(Hh, D, F), "bias": r(F)}}


def mha_case(name, xq, xkv, p, mask):
    names = [("wq", "query", "kernel"), ("bq", "query", "bias"), ("wk", "key", "kernel"), ("bk", "key", "bias"),
             ("wv", "value", "kernel"), ("bv", "value", "bias"), ("wo", "out", "kernel"), ("bo", "out", "bias")]
    ins = [("xq", xq), ("xkv", xkv)] + [(n, p[a][b]) for n, a, b in names]

    def f(xq, xkv, *ws):
        pp = {a: {} for _, a, _ in names}
        for (n, a, b), w in zip(names, ws):
            pp[a][b] = w
        mod = nn.MultiHeadDotProductAttention(num_heads=2, qkv_features=6, out_features=5)
        return mod.apply({"params": pp}, xq, xkv, mask=mask)
    case(name, ins, f)


mha_case("mha_cross", r(2, 3, 6), r(2, 4, 6), mha_params(6, 2, 3, 5), None)
x = r(2, 4, 6)
mha_case("mha_self_causal", x, x, mha_params(6, 2, 3, 5), nn.make_causal_mask(np.zeros((2, 4))))

# ---------------------------------------------------------------- losses
logits = r(4, 5, lo=-3, hi=3)
logits[0, 1], logits[1, 2], logits[2, 0], logits[3, 4] = 1000.0, -1000.0, 1000.0, -1000.0
labels = np.array([1, 2, 3, 4], dtype=np.int32)
case("ce_int_extreme", [("logits", logits), ("labels", labels)],
     lambda l, y: optax.softmax_cross_entropy_with_integer_labels(l, y))
logits = r(2, 3, 4, lo=-3, hi=3)
logits[0, 0, 0] = 1000.0
labels = np.array([[0, 255, 2], [3, 1, 255]], dtype=np.int32)


def ce_ignore_mean(l, y):
    valid = y != 255
    per = optax.softmax_cross_entropy_with_integer_labels(l, jnp.where(valid, y, 0))
    return jnp.sum(jnp.where(valid, per, 0.0)) / jnp.sum(valid)


case("ce_int_ignore_mean", [("logits", logits), ("labels", labels)], ce_ignore_mean)
case("ce_int_ignore", [("logits", logits), ("labels", labels)],
     lambda l, y: jnp.where(y != 255, optax.softmax_cross_entropy_with_integer_labels(l, jnp.where(y != 255, y, 0)), 0.0))
logits = r(3, 4, lo=-3, hi=3)
logits[0, 0], logits[2, 3] = -1000.0, 1000.0
onehot = np.eye(4)[[0, 2, 1]]
case("ce_smoothed", [("logits", logits), ("targets", onehot)],
     lambda l, t: optax.softmax_cross_entropy(l, optax.smooth_labels(t, 0.1)))
logits = np.array([1000.0, -1000.0, 0.3, -2.0, 1000.0, -1000.0, 5.0, 0.0])
lab = np.array([1.0, 0.0, 0.25, 1.0, 0.0, 1.0, 0.5, 0.7])
case("sigmoid_bce_extreme", [("logits", logits), ("labels", lab)], optax.sigmoid_binary_cross_entropy)
p, t = r(2, 5, lo=-3, hi=3), r(2, 5, lo=-3, hi=3)
case("squared_error", [("pred", p), ("target", t)], optax.squared_error)
case("abs_error", [("pred", p), ("target", t)], lambda p, t: jnp.abs(p - t))
case("huber", [("pred", p), ("target", t)], lambda p, t: optax.huber_loss(p, t, delta=1.0))
logits = r(2, 4, 4, 3, lo=-4, hi=4)
logits[0, 0, 0, 0] = 1000.0
logits[1, 2, 3, 1] = -1000.0
tg = np.eye(3)[rng.integers(0, 3, size=(2, 4, 4))]


def dice(l, t, sigmoid):
    p = jax.nn.sigmoid(l) if sigmoid else jax.nn.softmax(l, axis=-1)
    inter = jnp.sum(p * t, axis=(1, 2))
    return 1 - (2 * inter + 1.0) / (jnp.sum(p, axis=(1, 2)) + jnp.sum(t, axis=(1, 2)) + 1.0)


case("dice_softmax", [("logits", logits), ("targets", tg)], lambda l, t: dice(l, t, False))
case("dice_sigmoid", [("logits", logits), ("targets", tg)], lambda l, t: dice(l, t, True))


# ---------------------------------------------------------------- later additions
case("upsample_bilinear", [("x", r(1, 3, 3, 2))], lambda x: jax.image.resize(x, (1, 6, 6, 2), "bilinear"))
conv_case("conv2d_same_dilated_strided", (1, 7, 7, 2), (3, 3, 2, 2), True, strides=(2, 2), padding="SAME",
          kernel_dilation=(2, 2))


# ---------------------------------------------------------------- softplus and logaddexp (core composites)
# JAX's custom jvp: exp(x - out), so 1/2 at x == 0 and at ties, 1 at large x, exp(x) at very negative x.
x = np.array([-1000.0, -100.0, -30.0, -1.0, -1e-9, 0.0, 1e-9, 0.5, 1.0, 30.0, 100.0, 1000.0])
case("softplus", [("x", x)], jax.nn.softplus)
a, b = r(3, 4, lo=-3, hi=3), r(4, lo=-3, hi=3)
a[0] = b                    # ties: derivative 1/2 to each side
a[1, 0], a[2, 1] = 800.0, -800.0
case("logaddexp", [("x1", a), ("x2", b)], jnp.logaddexp)

# ---------------------------------------------------------------- output
def kind(a):
    return {np.float64: "f", np.int32: "i", np.uint32: "u", np.bool_: "b"}[a.dtype.type]


def emit():
    w = sys.stdout.write
    w("/* layers_ref.h: generated by gen_ref.py (do not edit) with jax %s, flax %s, optax %s, numpy %s;\n"
      " * x64 on for the values, JAX's default configuration (x64 off, threefry partitionable) for the\n"
      " * dropout masks. */\n" % (jax.__version__, flax.__version__, optax.__version__, np.__version__))
    w('#include "ref.h"\n\n')
    n = [0]

    def arr(a):
        a = np.asarray(a)
        if a.size == 0:
            return "NULL"
        n[0] += 1
        vals = ", ".join(repr(float(v)) for v in a.astype(np.float64).ravel())
        w("static const double jt_ref_%d[] = {%s};\n" % (n[0], vals))
        return "jt_ref_%d" % n[0]

    entries = []
    for name, ins, outs, cts, grads in CASES:
        def desc(nm, a, k=None):
            shape = ", ".join(str(d) for d in a.shape) or "0"
            return '{"%s", \'%s\', %d, {%s}, %s}' % (nm, k or kind(a), a.ndim, shape, arr(a))
        din = [desc(nm, a) for nm, a in ins]
        dout = [desc("out%d" % i, o) for i, o in enumerate(outs)]
        dct = [desc("ct%d" % i, c) for i, c in enumerate(cts)]
        dg = [desc("d_" + nm, g) if g is not None else '{"d_%s", \'i\', -1, {0}, NULL}' % nm
              for (nm, _), g in zip(ins, grads)]
        entries.append('    {"%s", %d, %d,\n     {%s},\n     {%s},\n     {%s},\n     {%s}}' % (
            name, len(ins), len(outs), ", ".join(din), ", ".join(dout), ", ".join(dct), ", ".join(dg)))
    w("\nstatic const jt_ref_case jt_ref_cases[] = {\n%s,\n};\n" % ",\n".join(entries))
    w("#define JT_REF_NCASES %d\n" % len(CASES))


emit()
