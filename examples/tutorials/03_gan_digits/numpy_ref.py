"""03_gan_digits in NumPy: the same GAN, data, initial weights and Adam steps (b1 = 0.5),
both players' backward passes written by hand -- the generator's goes through the
discriminator to its images and through their sigmoid. The training codes come from
NumPy's generator (jx and JAX draw jax.random's threefry normals): the same
distribution, other numbers, so a GAN's chaotic training ends elsewhere and the score
agrees only roughly. The scored samples' codes are common/tut.py's, as in the others."""
import numpy as np

import data
import mlp
import tut
from optim import NumpyAdam


def sigmoid(v):
    return 0.5 * (1 + np.tanh(0.5 * v))


def softplus(v):
    return np.maximum(v, 0) + np.log1p(np.exp(-np.abs(v)))


def generate(gen, z):
    logits, acts = mlp.forward(gen, data.GEN, z)
    return sigmoid(logits), acts


def d_input_grad(dis, acts, dout):
    """d loss / d (the discriminator's input), from d loss / d its logit."""
    (_, z1), _ = acts
    return ((dout @ dis["dis2"]["w"].T) * (z1 > 0)) @ dis["dis1"]["w"].T


def add(a, b):
    return {k: add(a[k], b[k]) if isinstance(a[k], dict) else a[k] + b[k] for k in a}


def loss_and_grads(p, x, z):
    gen, dis, B = p["gen"], p["dis"], len(x)
    img, gacts = generate(gen, z)
    real, racts = mlp.forward(dis, data.DIS, x)
    fake, facts = mlp.forward(dis, data.DIS, img)
    # the discriminator: BCE(real, 1) + BCE(fake, 0) = softplus(-real) + softplus(fake)
    dloss = softplus(-real).mean() + softplus(fake).mean()
    gd = add(mlp.backward(dis, data.DIS, racts, (sigmoid(real) - 1) / B),
             mlp.backward(dis, data.DIS, facts, sigmoid(fake) / B))
    # the generator: BCE(fake, 1), back through the discriminator and the sigmoid
    dimg = d_input_grad(dis, facts, (sigmoid(fake) - 1) / B)
    gg = mlp.backward(gen, data.GEN, gacts, dimg * img * (1 - img))
    return dloss, {"gen": gg, "dis": gd}


def main():
    a = data.options("a GAN generating digits (NumPy, backprop by hand)")
    x, means, z, real = data.load(a)
    p = data.init_params(a.seed)
    opt, rng = NumpyAdam(p, a.lr, b1=0.5), np.random.default_rng(a.seed)
    steps, B, curve = len(x) // a.batch, a.batch, []
    with tut.timed("training"):
        for _ in range(a.epochs):
            for s in range(steps):
                loss, g = loss_and_grads(p, x[s * B:(s + 1) * B], rng.standard_normal((B, data.LATENT), np.float32))
                p = opt(p, g)
                curve.append(loss)
    img, _ = generate(p["gen"], z)
    data.report(a, steps, np.asarray(curve), data.score(img, means), real)


main()
