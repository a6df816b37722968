"""cnn_step_torch.py: bench/cnn_step.c's workload in PyTorch (eager), to compare jx's jit
with it on the training step of examples/mnist_cnn.c.

The network of examples/common/cnn_seq.c in NCHW, PyTorch's native layout:
conv3x3(32, pad 1, no bias) - BatchNorm2d - relu - max_pool 2, conv3x3(64) - BatchNorm2d -
relu - max_pool 2, Linear(128) - relu - Dropout(0.5) - Linear(10), f32; batch norm in
training mode (momentum 0.1 in PyTorch's convention = 0.9 in Flax's, eps 1e-5), the mean
softmax cross-entropy on integer labels, Adam (0.9, 0.999, 1e-8) at 1e-3 with the
trainer's cosine decay to 1e-5 over 10 epochs of 60,000 images (CosineAnnealingLR, stepped
every step). Prints `torch <figure> <value>` lines as mlp_step_torch.py (threads,
step_ms, step_min_ms, predict_ms).

  usage: python3 cnn_step_torch.py [steps] [batch] [threads]   (threads 0: torch's default)
"""
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from peer_timing import median_ms, torch_setup

LR, EPOCHS, TRAIN_IMAGES = 1e-3, 10, 60000


def make_model():
    torch.manual_seed(42)
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32, momentum=0.1), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64, momentum=0.1), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(7 * 7 * 64, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))


def main():
    steps, batch = torch_setup(torch, 100)
    g = torch.Generator().manual_seed(42)
    x = torch.rand(batch, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (batch,), generator=g)
    model = make_model()
    opt = torch.optim.Adam(model.parameters(), lr=LR, betas=(0.9, 0.999), eps=1e-8)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, EPOCHS * math.ceil(TRAIN_IMAGES / batch), LR / 100)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        sched.step()
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
