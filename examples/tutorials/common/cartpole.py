"""cartpole.py: common/cartpole.h in Python doubles (Gymnasium's CartPole-v1 constants
and Euler step), for the references of the tutorials that balance a pole."""
import math

MAX_STEPS = 500


class CartPole:
    def __init__(self, u):
        self.s = [(float(v) - 0.5) * 0.1 for v in u]
        self.steps = 0

    def step(self, action):
        g, mc, mp, ln, tau = 9.8, 1.0, 0.1, 0.5, 0.02
        total, pml = mc + mp, mp * ln
        x, xd, th, thd = self.s
        force, ct, st = (10.0 if action else -10.0), math.cos(th), math.sin(th)
        temp = (force + pml * thd * thd * st) / total
        thacc = (g * st - ct * temp) / (ln * (4.0 / 3.0 - mp * ct * ct / total))
        xacc = temp - pml * thacc * ct / total
        self.s = [x + tau * xd, xd + tau * xacc, th + tau * thd, thd + tau * thacc]
        self.steps += 1
        term = abs(self.s[0]) > 2.4 or abs(self.s[2]) > 12 * 2 * 3.141592653589793 / 360
        return term or self.steps >= MAX_STEPS, term
