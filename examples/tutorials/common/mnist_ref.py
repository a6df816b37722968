"""mnist_ref.py: what the MNIST tutorials' Python references share with the C programs'
common/mnist_feed.h: the options with a tutorial's defaults and its --quick sizes, and
the images tut_mnist_open picks (the first --limit training images; the test images,
1,000 with --quick, a multiple of the evaluation batch)."""
import tut


def options(about, epochs, batch, lr, limit, quick, extra=None):
    """quick: the (epochs, batch, limit) of a --quick run."""
    a = tut.parse(about, epochs=epochs, batch=batch, lr=lr, extra=extra)
    a.limit = a.limit or limit
    if a.quick:
        a.epochs, a.batch, a.limit = quick
    return a


def load(a, eval_batch=1000):
    """(x, y, xt, yt): images (N,784) f32 in [0, 1] and labels i32."""
    tx, ty, vx, vy = tut.load_mnist(a.data)
    ntest = min(len(vy), 1000) if a.quick else len(vy)
    ntest -= ntest % eval_batch
    return tx[:a.limit].reshape(-1, 784), ty[:a.limit], vx[:ntest].reshape(-1, 784), vy[:ntest]
