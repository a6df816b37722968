"""12_kmeans in NumPy: the same images, initial centroids and Lloyd iterations (nearest
centroid by |c|^2 - 2 x.c + |x|^2, centroids moved to their images' mean, an empty
cluster keeping its centroid)."""
import numpy as np

import data
import tut


def nearest(x, xx, c):
    d = xx[:, None] - 2 * (x @ c.T) + (c * c).sum(1)[None, :]
    a = d.argmin(1)
    return a, np.maximum(d[np.arange(len(x)), a], 0)


def main():
    a = tut.parse("k-means clustering by Lloyd's algorithm (NumPy)", epochs=50, batch=0, lr=0, extra=data.extra)
    x, y, xt, yt, c = data.problem(a)
    k = a.k
    with tut.timed("Lloyd iterations"):
        xx = (x * x).sum(1)
        for _ in range(a.epochs):
            assign, dist = nearest(x, xx, c)
            inertia = dist.sum()
            onehot = (assign[:, None] == np.arange(k)[None, :]).astype(np.float32)
            counts = onehot.sum(0)
            sums = onehot.T @ x
            c = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], c)
    data.report(a, inertia, x, y, xt, yt, nearest(x, xx, c)[0], nearest(xt, (xt * xt).sum(1), c)[0])


main()
