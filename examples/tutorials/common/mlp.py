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
