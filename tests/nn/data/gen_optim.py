"""gen_optim.py: writes optim_vectors.h, Optax's trajectories on a fixed quadratic and its
schedules' values, for tests/nn/test_optim.c. Run from this folder: python3 gen_optim.py"""
import jax, jax.numpy as jnp, numpy as np, optax

A = {"b": jnp.array([1.0, 4.0], jnp.float32), "w": jnp.array([2.0, 0.5, 3.0], jnp.float32)}
T = {"b": jnp.array([-1.0, 2.0], jnp.float32), "w": jnp.array([1.0, -2.0, 0.5], jnp.float32)}
P0 = {"b": jnp.array([0.5, 0.0], jnp.float32), "w": jnp.array([0.0, 1.0, -1.0], jnp.float32)}

def loss(p):
    return sum(0.5 * jnp.sum(A[k] * (p[k] - T[k]) ** 2) for k in p)

def trajectory(opt, steps=10):
    p, s, out = P0, opt.init(P0), []
    for _ in range(steps):
        g = jax.grad(loss)(p)
        u, s = opt.update(g, s, p)
        p = optax.apply_updates(p, u)
        out.append(np.concatenate([np.asarray(p["w"]), np.asarray(p["b"])]))  # jx order: w then b
    return np.stack(out)

wc = optax.warmup_cosine_decay_schedule(0.0, 0.2, 3, 10, 0.02)
cases = {
    "sgd": optax.sgd(0.1),
    "momentum": optax.sgd(0.1, momentum=0.9),
    "nesterov": optax.sgd(0.1, momentum=0.9, nesterov=True),
    "adam": optax.adam(0.1),
    "adamw": optax.adamw(0.1, weight_decay=0.5, mask={"w": True, "b": False}),
    "rmsprop": optax.rmsprop(0.05),
    "clip_sgd": optax.chain(optax.clip_by_global_norm(0.5), optax.sgd(0.1)),
    "adam_cosine": optax.adam(wc),
    "multisteps": optax.MultiSteps(optax.sgd(0.1, momentum=0.9), every_k_schedule=3),
}
lines = []
def emit(name, a):
    a = np.asarray(a, np.float64).ravel()
    lines.append(f"static const double {name}[{len(a)}] = {{" + ", ".join(repr(float(v)) for v in a) + "};")
for name, opt in cases.items():
    emit("traj_" + name, trajectory(opt))
steps = np.arange(0, 30)
emit("sched_exp", [optax.exponential_decay(1.0, 5, 0.5)(s) for s in steps])
emit("sched_exp_stair", [optax.exponential_decay(1.0, 5, 0.5, staircase=True)(s) for s in steps])
emit("sched_cosine", [optax.warmup_cosine_decay_schedule(0.0, 1.0, 5, 20, 0.1)(s) for s in steps])
emit("sched_piecewise", [optax.piecewise_constant_schedule(1.0, {5: 0.5, 10: 0.1})(s) for s in steps])
head = (f"/* optim_vectors.h: made by gen_optim.py with optax {optax.__version__}, jax {jax.__version__}, "
        f"f32 (jax_enable_x64={jax.config.jax_enable_x64}).\n"
        " * Trajectories: 10 steps x 5 parameters (w[0..3), b[0..2)) on\n"
        " * loss = sum 0.5 A (p - T)^2, A = {w: 2 0.5 3, b: 1 4}, T = {w: 1 -2 0.5, b: -1 2},\n"
        " * from p0 = {w: 0 1 -1, b: 0.5 0}. Schedules: values at steps 0..29. */")
open("optim_vectors.h", "w").write(head + "\n" + "\n".join(lines) + "\n")
