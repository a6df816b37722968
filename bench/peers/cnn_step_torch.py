"""cnn_step_torch.py: examples/mnist_cnn.c's training step in PyTorch (eager), the same
model and recipe as cnn_step_jax.py (NCHW, torch's layout; BatchNorm momentum 0.1 is
torch's name for the same 0.9/0.1 average). Prints `torch step_ms` and `torch
step_min_ms`.

  usage: python3 cnn_step_torch.py [steps] [batch]   (threads: see bench/peers/run.sh)
"""
import os
import sys

import torch
from peer_timing import median_ms


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", os.cpu_count())))
    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32, eps=1e-5, momentum=0.1), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64, eps=1e-5, momentum=0.1), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(7 * 7 * 64, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(batch, 1, 28, 28)
    y = torch.randint(0, 10, (batch,))
    lossf = nn.CrossEntropyLoss()

    def one():
        opt.zero_grad(set_to_none=True)
        loss = lossf(model(x), y)
        loss.backward()
        opt.step()
        loss.item()

    med, least = median_ms(one, steps)
    print(f"torch step_ms {med:.3f}")
    print(f"torch step_min_ms {least:.3f}")


if __name__ == "__main__":
    main()
