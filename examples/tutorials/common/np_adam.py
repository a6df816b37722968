"""np_adam.py: Adam for the NumPy references, with optax.adam's formulas and order of
operations, so that a NumPy program follows the same trajectory as jx_optim_adam and
optax (to float32 rounding). Parameters are nested dicts of float32 arrays."""
import numpy as np


class Adam:
    def __init__(self, params, lr, b1=0.9, b2=0.999, eps=1e-8):
        zeros = lambda t: {k: zeros(v) if isinstance(v, dict) else np.zeros_like(v) for k, v in t.items()}
        self.lr, self.b1, self.b2, self.eps, self.t = lr, b1, b2, eps, 0
        self.mu, self.nu = zeros(params), zeros(params)

    def update(self, params, grads):
        """One step: params updated in place from grads (a dict of params' structure)."""
        self.t += 1
        self._update(params, grads, self.mu, self.nu)

    def _update(self, p, g, mu, nu):
        b1, b2 = self.b1, self.b2
        for k in p:
            if isinstance(p[k], dict):
                self._update(p[k], g[k], mu[k], nu[k])
                continue
            mu[k] = b1 * mu[k] + (1 - b1) * g[k]
            nu[k] = b2 * nu[k] + (1 - b2) * g[k] ** 2
            p[k] = p[k] - self.lr * (mu[k] / (1 - b1 ** self.t)) / (np.sqrt(nu[k] / (1 - b2 ** self.t)) + self.eps)
