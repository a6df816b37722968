"""mlp_step_torch.py: bench/mlp_step.c's workload in PyTorch, to compare jx's jit with it.

The MNIST MLP training step of examples/mnist_mlp.c (784-512-512-10, relu, log_softmax
cross-entropy, SGD step 0.1, batch 128, f32): forward, backward and an in-place update.
Prints lines `torch <figure> <value>` with the names bench_mlp_step uses:
  threads            torch.get_num_threads() after torch.set_num_threads(threads)
  step_ms, step_min_ms, predict_ms   eager mode, as bench_mlp_step
  compile_ms, compiled_step_ms       torch.compile of the step (first call; then the median),
                                     when torch has torch.compile (2.0 on) and it works;
                                     otherwise one line `torch note ...` says why not

  usage: python3 mlp_step_torch.py [steps] [batch] [threads]   (threads 0: torch's default)
"""
import sys
import time

import torch
import torch.nn.functional as F
from peer_timing import median_ms, torch_setup

SIZES = [784, 512, 512, 10]
LR = 0.1


def make_inputs(batch):
    g = torch.Generator().manual_seed(42)
    params = []
    for m, n in zip(SIZES[:-1], SIZES[1:]):
        params.append((torch.rand(m, n, generator=g) * 0.02 - 0.01).requires_grad_())
        params.append((torch.rand(n, generator=g) * 0.02 - 0.01).requires_grad_())
    x = torch.rand(batch, 784, generator=g)
    y = F.one_hot(torch.randint(0, 10, (batch,), generator=g), 10).float()
    return params, x, y


def predict(params, x):
    h = x
    for i in range(0, len(params) - 2, 2):
        h = torch.relu(h @ params[i] + params[i + 1])
    return F.log_softmax(h @ params[-2] + params[-1], dim=-1)


def step(params, x, y):
    """One SGD step in place on params (leaf tensors); returns the loss."""
    loss = -(predict(params, x) * y).sum(dim=1).mean()
    grads = torch.autograd.grad(loss, params)
    with torch.no_grad():
        for p, g in zip(params, grads):
            p.sub_(LR * g)
    return loss.detach()


def try_compile(params, x, y, steps):
    """torch.compile's figures, or a note saying why there are none."""
    if not hasattr(torch, "compile"):
        print(f"torch note torch.compile needs torch 2.0 (this is {torch.__version__}); skipped")
        return
    try:
        cstep = torch.compile(step)
        t0 = time.perf_counter()
        cstep(params, x, y)
        print(f"torch compile_ms {(time.perf_counter() - t0) * 1e3:.3f}")
        med, _ = median_ms(lambda: cstep(params, x, y), steps)
        print(f"torch compiled_step_ms {med:.4f}")
    except Exception as e:  # a missing compiler toolchain and the like: report, go on
        print(f"torch note torch.compile failed ({type(e).__name__}); skipped")


def main():
    steps, batch = torch_setup(torch, 200)
    params, x, y = make_inputs(batch)
    med, least = median_ms(lambda: step(params, x, y), steps)
    print(f"torch step_ms {med:.4f}")
    print(f"torch step_min_ms {least:.4f}")
    sys.stdout.flush()
    with torch.no_grad():
        med, _ = median_ms(lambda: predict(params, x), steps)
    print(f"torch predict_ms {med:.4f}")
    sys.stdout.flush()
    try_compile(params, x, y, steps)


if __name__ == "__main__":
    main()
