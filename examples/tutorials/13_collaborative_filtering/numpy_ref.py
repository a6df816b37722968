"""13_collaborative_filtering in NumPy: the same model, batches and Adam (Optax's
formulas, on the whole tables as Optax applies them), the gradients written by hand and
scattered into the tables with np.add.at."""
import numpy as np

import data
import tut


def predict(p, mean, u, i):
    return mean + p["user.bias"][u, 0] + p["item.bias"][i, 0] + (p["user.emb"][u] * p["item.emb"][i]).sum(1)


def main():
    a = tut.parse("matrix factorisation (NumPy)", epochs=10, batch=1000, lr=0.01)
    (u, i, r), test, mean, p = data.problem(a)
    base, lam, b, nb = data.baseline(test, mean), np.float32(data.LAMBDA), a.batch, len(r) // a.batch
    mean = np.float32(mean)
    mu = {k: np.zeros_like(v) for k, v in p.items()}
    nu = {k: np.zeros_like(v) for k, v in p.items()}
    b1, b2, eps, lr, t = np.float32(0.9), np.float32(0.999), np.float32(1e-8), np.float32(a.lr), 0
    train_rmse, rmse = [], []
    with tut.timed("training"):
        for _ in range(a.epochs):
            sse = 0.0
            for s in range(0, nb * b, b):
                bu, bi, br = u[s:s + b], i[s:s + b], r[s:s + b]
                pu, qi = p["user.emb"][bu], p["item.emb"][bi]
                err = predict(p, mean, bu, bi) - br
                sse += float(np.sum(err * err))
                g = {k: np.zeros_like(v) for k, v in p.items()}
                e2 = (2 / np.float32(b)) * err
                np.add.at(g["user.emb"], bu, e2[:, None] * qi + (2 * lam / np.float32(b)) * pu)
                np.add.at(g["item.emb"], bi, e2[:, None] * pu + (2 * lam / np.float32(b)) * qi)
                np.add.at(g["user.bias"], (bu, 0), e2)
                np.add.at(g["item.bias"], (bi, 0), e2)
                t += 1
                for k in p:
                    mu[k] = b1 * mu[k] + (1 - b1) * g[k]
                    nu[k] = b2 * nu[k] + (1 - b2) * g[k] * g[k]
                    mhat, vhat = mu[k] / (1 - b1 ** t), nu[k] / (1 - b2 ** t)
                    p[k] = p[k] - lr * mhat / (np.sqrt(vhat) + eps)
            train_rmse.append(np.sqrt(sse / (nb * b)))
            err = predict(p, mean, test[0], test[1]) - test[2]
            rmse.append(float(np.sqrt(np.mean(err * err))))
    data.report(a, train_rmse, rmse, base)


main()
