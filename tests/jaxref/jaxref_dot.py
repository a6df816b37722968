"""jaxref_dot.py: JAX's values for tests/jaxref/test_jaxref_dot.c (protocol in
jaxref_run.py): dot_general with batch dims, matmul and einsum."""
from jaxref_run import run  # first: it configures jax (x64, cpu, op by op)

import jax.numpy as jnp
from jax import lax


def dot(lc, rc, lb, rb):
    return lambda x, y: lax.dot_general(x, y, ((lc, rc), (lb, rb)))


def einsum(spec):
    return lambda *xs: jnp.einsum(spec, *xs)


OPS = {
    "dot_batch0": dot((2,), (1,), (0,), (0,)),
    "dot_batch_mid": dot((2,), (0,), (1,), (1,)),
    "dot_two_contract": dot((1, 2), (0, 1), (), ()),
    "dot_two_batch": dot((3,), (2,), (0, 1), (0, 1)),
    "dot_outer": dot((), (), (), ()),
    "matmul_bcast": jnp.matmul, "matmul_vec_mat": jnp.matmul, "matmul_mat_vec": jnp.matmul,
    "einsum_bmm": einsum("bij,bjk->bik"), "einsum_attn": einsum("bhqd,bhkd->bhqk"),
    "einsum_dot": einsum("ij,ij->"), "einsum_trace": einsum("ii->"), "einsum_diag": einsum("bii->bi"),
    "einsum_ellipsis": einsum("...ij,jk->...ik"), "einsum_perm_sum": einsum("ijk->kj"),
    "einsum_chain3": einsum("ij,jk,kl->il"), "einsum_implicit": einsum("ij,jk"),
}

run(OPS)
