"""peer_timing.py: the timing loop shared by the peer benchmarks (mlp_step_jax.py,
mlp_step_torch.py), imported from the scripts' own directory."""
import statistics
import time

WARMUP = 20


def median_ms(fn, steps):
    """Median and least time of fn() (which must block until its result is ready) over
    `steps` calls after WARMUP unmeasured ones, in ms."""
    t = []
    for r in range(WARMUP + steps):
        t0 = time.perf_counter()
        fn()
        if r >= WARMUP:
            t.append(time.perf_counter() - t0)
    return statistics.median(t) * 1e3, min(t) * 1e3
