"""The series, windows and initial parameters of 07_lstm_forecasting, as
lstm_forecasting.c draws them."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import numpy as np  # noqa: E402
import tut  # noqa: E402

T, H = 32, 32


def problem(a):
    """(train x (N,T,1), train y (N,1), test x, test y, steps per epoch); a.length and
    a.epochs set for --quick as the C program does."""
    if a.quick:
        a.epochs, a.length = 3, 1024
    n = a.length
    t = np.arange(n, dtype=np.float64)
    s = (np.sin(0.07 * t) + 0.5 * np.sin(0.021 * t + 1) + 0.1 * tut.normal(a.seed + 1, n)).astype(np.float32)
    ntrain = int((n - T) * 0.8)
    idx = np.arange(n - T)[:, None] + np.arange(T)[None, :]
    x, y = s[idx][..., None], s[T:][:, None]
    return x[:ntrain], y[:ntrain], x[ntrain:], y[ntrain:], ntrain // a.batch


def init(seed):
    """{lstm: {wi (1,4H), wh (H,4H), b}, head: {w (H,1), b}} as the C program's param()."""
    return {
        "wi": tut.weights(seed + 10, 1, 4 * H, 1.0),
        "wh": tut.weights(seed + 11, H, 4 * H, 1 / np.sqrt(H)),
        "b": np.zeros(4 * H, np.float32),
        "hw": tut.weights(seed + 12, H, 1, 1 / np.sqrt(H)),
        "hb": np.zeros(1, np.float32),
    }


def options(about):
    return tut.parse(about, epochs=10, batch=64, lr=3e-3,
                     extra=lambda p: p.add_argument("--length", type=int, default=4096))


def report(pred, x, y):
    rmse = float(np.sqrt(np.mean((pred - y) ** 2)))
    base = float(np.sqrt(np.mean((x[:, -1] - y) ** 2)))
    print(f"test RMSE {rmse:.4f} (persistence baseline {base:.4f}) over {len(y)} windows")
    tut.metric("test_rmse", rmse)
