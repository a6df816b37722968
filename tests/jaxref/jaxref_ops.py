"""jaxref_ops.py: JAX's values for tests/jaxref/test_jaxref_ops.c (protocol in
jaxref_run.py): binary ops, reductions, composites, cumulative ops and linear algebra,
each a function F of n arrays with one output."""
from jaxref_run import run  # first: it configures jax (x64, cpu, op by op)

import jax
import jax.numpy as jnp
from jax import lax
from jax.scipy import special


def eye_like(x, c):
    return x + c * jnp.eye(x.shape[-1], dtype=x.dtype)


def sym(x):
    return (x + jnp.swapaxes(x, -1, -2)) / 2


OPS = {
    # binary, numpy broadcasting
    "add": jnp.add, "sub": jnp.subtract, "mul": jnp.multiply, "div": jnp.divide,
    "pow": jnp.power, "max": jnp.maximum, "min": jnp.minimum, "atan2": jnp.arctan2,
    "rem": lax.rem, "logaddexp": jnp.logaddexp,
    # reductions
    "sum_ax1": lambda x: jnp.sum(x, axis=1), "sum_all": jnp.sum,
    "prod_ax0": lambda x: jnp.prod(x, axis=0), "prod_ax1": lambda x: jnp.prod(x, axis=1),
    "max_ax1": lambda x: jnp.max(x, axis=1), "min_ax0": lambda x: jnp.min(x, axis=0),
    "mean_ax1": lambda x: jnp.mean(x, axis=1), "var_ax1": lambda x: jnp.var(x, axis=1),
    "argmax_ax1": lambda x: jnp.argmax(x, axis=1), "argmin_ax0": lambda x: jnp.argmin(x, axis=0),
    "logsumexp_ax1": lambda x: special.logsumexp(x, axis=1),
    # composites and special functions
    "softmax_ax1": lambda x: jax.nn.softmax(x, axis=1),
    "log_softmax_ax1": lambda x: jax.nn.log_softmax(x, axis=1),
    "softplus": jax.nn.softplus, "gelu": lambda x: jax.nn.gelu(x, approximate=True),
    "gelu_exact": lambda x: jax.nn.gelu(x, approximate=False), "sigmoid": jax.nn.sigmoid,
    "erf": special.erf, "erfc": special.erfc, "lgamma": special.gammaln, "digamma": special.digamma,
    "tan": jnp.tan, "asin": jnp.arcsin, "acos": jnp.arccos, "atan": jnp.arctan,
    "sinh": jnp.sinh, "cosh": jnp.cosh, "asinh": jnp.arcsinh, "acosh": jnp.arccosh,
    "atanh": jnp.arctanh,
    # cumulative
    "cumsum_ax1": lambda x: lax.cumsum(x, axis=1), "cumsum_rev0": lambda x: lax.cumsum(x, axis=0, reverse=True),
    "cumprod_ax1": lambda x: lax.cumprod(x, axis=1), "cummax_ax1": lambda x: lax.cummax(x, axis=1),
    "cummin_ax0": lambda x: lax.cummin(x, axis=0),
    # linear algebra (inputs made well conditioned or symmetric inside F, the same in C)
    "cholesky": lambda x: jnp.linalg.cholesky(x @ jnp.swapaxes(x, -1, -2) + 3 * jnp.eye(x.shape[-1], dtype=x.dtype)),
    "trisolve": lambda a, b: lax.linalg.triangular_solve(eye_like(a, 3), b, left_side=True, lower=True),
    "solve": lambda a, b: jnp.linalg.solve(eye_like(a, 3), b),
    "inv": lambda a: jnp.linalg.inv(eye_like(a, 3)),
    "logabsdet": lambda a: jnp.linalg.slogdet(eye_like(a, 3))[1],
    "eigh_w": lambda x: jnp.linalg.eigh(sym(x))[0],
    "eigh_v2": lambda x: jnp.linalg.eigh(sym(x))[1] ** 2,
    "qr_q": lambda x: jnp.linalg.qr(x)[0], "qr_r": lambda x: jnp.linalg.qr(x)[1],
    "lu": lambda x: lax.linalg.lu(x)[0],
    "svd_s": lambda x: jnp.linalg.svd(x, compute_uv=False),
    "svd_u2": lambda x: jnp.linalg.svd(x, full_matrices=False)[0] ** 2,
    "svd_vt2": lambda x: jnp.linalg.svd(x, full_matrices=False)[2] ** 2,
}


run(OPS)
