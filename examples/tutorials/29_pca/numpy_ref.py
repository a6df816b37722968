"""29_pca in NumPy: the same covariance, its eigenvectors by np.linalg.eigh (LAPACK's
syevd, as jx_eigh), the test images projected onto the top k axes and rebuilt."""
import numpy as np

import data
import tut


def main():
    a = tut.parse("PCA by eigh of the covariance (NumPy)", epochs=0, batch=0, lr=0, extra=data.extra)
    x, xt = data.problem(a)
    with tut.timed("covariance, eigh, projection"):
        mean = x.mean(0)
        xc = x - mean
        w, v = np.linalg.eigh(xc.T @ xc / np.float32(len(x)))
        w, top = w[::-1], v[:, ::-1][:, :a.k].T
        tc = xt - mean
        z = tc @ top.T
        mse = np.mean((z @ top - tc) ** 2)
    data.report(a, w, mse)


main()
