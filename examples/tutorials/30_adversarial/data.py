"""The data, initial weights, attack settings and report of 30_adversarial, as
adversarial.c has them: the first --limit training images in the file's order, both
networks starting from common/mlp.py's weights, the test set in batches of 1,000."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import numpy as np  # noqa: E402
import mlp  # noqa: E402
import mnist_ref  # noqa: E402
import tut  # noqa: E402

NAMES, WIDTHS = ("fc1", "fc2", "fc3"), (784, 128, 128, 10)
EPS, TRAIN_PGD_STEPS, TRAIN_ALPHA, TEST_PGD_STEPS, TEST_ALPHA = 0.1, 3, 0.05, 10, 0.025
EVAL_BATCH = 1000


def options(about):
    return mnist_ref.options(about, 3, 128, 1e-3, 20000, (5, 50, 1000))


def load(a):
    return mnist_ref.load(a, EVAL_BATCH)


def init_params(seed):
    return mlp.init(NAMES, WIDTHS, seed)


def report_epoch(what, e, losses):
    print(f"epoch {e + 1}: mean loss ({what.split(' (')[0]}) {np.mean(losses):.4f}")


def report(ntest, acc):
    print(f"\ntest accuracy on {ntest} images (eps {EPS:.2f})   clean    FGSM    PGD-{TEST_PGD_STEPS}")
    for m, name in enumerate(("standard model", "adversarially trained model")):
        print(f"  {name:31s} {100 * acc[m][0]:6.2f}% {100 * acc[m][1]:6.2f}% {100 * acc[m][2]:6.2f}%")
    tut.metric("pgd_accuracy_standard", acc[0][2])
    tut.metric("pgd_accuracy_adv_trained", acc[1][2])
