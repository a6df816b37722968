"""mlp.py: common/mlp.h's initial weights for the Python references: a stack of dense
layers {name: {w, b}}, w tut.weights(seed + 1 + l) scaled by sqrt(2 / fan_in)
(sqrt(1 / fan_in) for the last layer; the scale rounded to float32), b zeros: the C
programs' numbers."""
import numpy as np

import tut


def init(names, widths, seed):
    last = len(names) - 1
    return {name: {"w": tut.weights(seed + 1 + l, widths[l], widths[l + 1],
                                    float(np.float32(np.sqrt((2.0 if l < last else 1.0) / widths[l])))),
                   "b": np.zeros(widths[l + 1], np.float32)} for l, name in enumerate(names)}


def forward(p, names, x):
    """NumPy: x through the dense layers names (relu between them, none after the last);
    returns the last layer's output and each layer's (input, pre-activation) for backward."""
    acts, last = [], len(names) - 1
    for l, name in enumerate(names):
        z = x @ p[name]["w"] + p[name]["b"]
        acts.append((x, z))
        x = np.maximum(z, 0) if l < last else z
    return x, acts


def backward(p, names, acts, dz):
    """NumPy: the gradients {name: {w, b}} of the layers forward ran, from d loss / d output."""
    g = {}
    for l in reversed(range(len(names))):
        h, z = acts[l]
        if l < len(names) - 1:
            dz = dz * (z > 0)
        g[names[l]] = {"w": h.T @ dz, "b": dz.sum(0)}
        dz = dz @ p[names[l]]["w"].T
    return g
