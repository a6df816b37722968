"""peer_timing.py: the timing loop shared by the peer benchmarks (mlp_step_jax.py,
mlp_step_torch.py), imported from the scripts' own directory."""
import sys
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


def torch_setup(torch, default_steps):
    """argv's [steps] [batch] [threads] for a PyTorch peer: sets the thread count (0: torch's
    default), prints version, threads and batch as `torch <name> <value>`, returns
    (steps, batch)."""
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else default_steps
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    if threads > 0:
        torch.set_num_threads(threads)
    print(f"torch version {torch.__version__}")
    print(f"torch threads {torch.get_num_threads()}")
    print(f"torch batch {batch}")
    return steps, batch
