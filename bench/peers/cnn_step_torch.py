"""cnn_step_torch.py: bench/cnn_step.c's workload in PyTorch (eager), to compare jx's jit
with it on convolutions.

The model of bench/cnn_step.c (examples/mnist_cnn.c without dropout) in NCHW, PyTorch's
native layout: conv3x3(32, pad 1, no bias) - BatchNorm2d - relu - max_pool 2,
conv3x3(64) - BatchNorm2d - relu - max_pool 2, Linear(128) - relu - Linear(10), mean
softmax cross-entropy, SGD 0.1, batch norm in training mode (momentum 0.1 in PyTorch's
convention = 0.9 in Flax's), f32. Prints `torch <figure> <value>` lines as
mlp_step_torch.py (threads, step_ms, step_min_ms, predict_ms).

  usage: python3 cnn_step_torch.py [steps] [batch] [threads]   (threads 0: torch's default)
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from peer_timing import median_ms, torch_setup


def make_model():
    torch.manual_seed(42)
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32, momentum=0.1), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64, momentum=0.1), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(7 * 7 * 64, 128), nn.ReLU(), nn.Linear(128, 10))


def main():
    steps, batch = torch_setup(torch, 100)
    g = torch.Generator().manual_seed(42)
    x = torch.rand(batch, 1, 28, 28, generator=g)
    y = F.one_hot(torch.randint(0, 10, (batch,), generator=g), 10).float()
    model = make_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = -(F.log_softmax(model(x), dim=-1) * y).sum(dim=1).mean()
        loss.backward()
        opt.step()
        return loss.item()

    model.train()
    med, least = median_ms(step, steps)
    print(f"torch step_ms {med:.4f}")
    print(f"torch step_min_ms {least:.4f}")
    sys.stdout.flush()
    model.eval()
    with torch.no_grad():
        med, _ = median_ms(lambda: F.log_softmax(model(x), dim=-1), steps)
    print(f"torch predict_ms {med:.4f}")


if __name__ == "__main__":
    main()
