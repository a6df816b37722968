"""coco_seg_torch.py: examples/coco_seg's U-Net training step in PyTorch (eager autograd),
for the throughput comparison of bench/peers/coco_seg_run.sh.

The same network, loss and optimizer as coco_seg_jax.py and jx/unet.h (width 16, depth 3,
two conv3x3-batchnorm-relu per level, max pool, 2x2 stride-2 transposed convolutions,
skip concatenation, 1x1 head; CE over labelled pixels + soft dice, label 255 ignored;
Adam), NCHW as PyTorch prefers, on a fixed synthetic batch.

  usage: python3 coco_seg_torch.py SIZE [BATCH [STEPS [THREADS]]]   (threads: default every core)
"""
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

IGNORE = 255


def block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout, momentum=0.1),
                         nn.ReLU(), nn.Conv2d(cout, cout, 3, padding=1, bias=False),
                         nn.BatchNorm2d(cout, momentum=0.1), nn.ReLU())


class UNet(nn.Module):
    def __init__(self, classes, width=16, depth=3):
        super().__init__()
        self.enc = nn.ModuleList(block(3 if i == 0 else width << (i - 1), width << i) for i in range(depth + 1))
        self.up = nn.ModuleList(nn.ConvTranspose2d(width << (i + 1), width << i, 2, stride=2) for i in range(depth))
        self.dec = nn.ModuleList(block(2 * (width << i), width << i) for i in range(depth))
        self.head = nn.Conv2d(width, classes, 1)
        self.depth = depth

    def forward(self, x):
        skips = []
        for i in range(self.depth):
            x = self.enc[i](x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.enc[self.depth](x)
        for i in reversed(range(self.depth)):
            x = self.dec[i](torch.cat([skips[i], self.up[i](x)], 1))
        return self.head(x)


def seg_loss(logits, labels):
    k = logits.shape[1]
    ce = F.cross_entropy(logits, labels, ignore_index=IGNORE)
    valid = (labels != IGNORE).unsqueeze(1).float()
    t = F.one_hot(torch.where(labels == IGNORE, 0, labels), k).permute(0, 3, 1, 2).float() * valid
    p = torch.softmax(logits, 1) * valid
    inter = (p * t).sum((2, 3))
    dice = 1 - (2 * inter + 1) / (p.sum((2, 3)) + t.sum((2, 3)) + 1)
    return ce + dice.mean()


def main():
    size = int(sys.argv[1])
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    torch.set_num_threads(int(sys.argv[4]) if len(sys.argv) > 4 and int(sys.argv[4]) > 0 else os.cpu_count())
    torch.manual_seed(0)
    model = UNet(2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(1)
    x = torch.rand((batch, 3, size, size), generator=g) * 2 - 1
    y = (torch.arange(size) > size // 2).long().view(1, size, 1).expand(batch, size, size).contiguous()

    def step():
        opt.zero_grad()
        loss = seg_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss

    t0 = time.perf_counter()
    step()
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = step()
    t = (time.perf_counter() - t0) / steps
    n = sum(p.numel() for p in model.parameters())
    print(f"torch unet width 16 depth 3, {size}x{size}, batch {batch}: first step {first:.2f} s, step {t:.3f} s, "
          f"{batch / t:.1f} images/s, {n} parameters, loss {float(loss):.4f}, {torch.get_num_threads()} threads")


if __name__ == "__main__":
    main()
