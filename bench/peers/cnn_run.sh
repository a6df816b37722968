#!/usr/bin/env bash
# cnn_run.sh: examples/mnist_cnn's training step in jx, JAX (Flax + Optax) and PyTorch on
# this CPU with the same thread count, side by side: the median step in ms, the epoch
# (469 steps of 128) it implies, and the ratios jx/JAX and jx/torch (below 1: jx is
# faster). jx's figure is the trainer's own epoch line over STEPS batches of MNIST (so it
# includes making the batches, as a real epoch does); the peers time their jitted /
# eager step on one batch. A peer that is not installed is skipped with a message.
#
#   usage: bench/peers/cnn_run.sh [build-dir]   (default: $BUILD, else ./build)
#   env:   THREADS (default every core), STEPS (50), DATA (../shared/data/mnist)
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-${BUILD:-$root/build}}
threads=${THREADS:-$(nproc)}
steps=${STEPS:-50}
data=${DATA:-$root/../shared/data/mnist}
export JX_NUM_THREADS=$threads OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads
pin=()
if [ "$threads" -lt "$(nproc)" ]; then pin=(taskset -c "0-$((threads - 1))"); fi
echo "threads $threads, steps $steps, batch 128"
jx=-1 jax=-1 torch=-1
if [ -x "$build/examples/mnist_cnn" ]; then
    line=$("${pin[@]}" "$build/examples/mnist_cnn" --data "$data" --limit $((steps * 128)) --batch 128 --epochs 1 \
           --test-limit 500 --threads "$threads" | grep '^epoch 1:')
    secs=$(echo "$line" | sed -n 's/^epoch 1: \([0-9.]*\) s.*/\1/p')
    [ -n "$secs" ] && jx=$(awk "BEGIN { print $secs * 1000 / $steps }")
else
    echo "jx: $build/examples/mnist_cnn not found; build it"
fi
if python3 -c "import jax, flax, optax" >/dev/null 2>&1; then
    jax=$("${pin[@]}" python3 "$here/cnn_step_jax.py" "$steps" 128 2>/dev/null | sed -n 's/^jax step_ms //p')
else echo "jax: jax, flax or optax not installed; skipped"; fi
if python3 -c "import torch" >/dev/null 2>&1; then
    torch=$("${pin[@]}" python3 "$here/cnn_step_torch.py" "$steps" 128 2>/dev/null | sed -n 's/^torch step_ms //p')
else echo "torch: not installed (apt-get install python3-torch); skipped"; fi
awk -v j="${jx:--1}" -v x="${jax:--1}" -v t="${torch:--1}" 'BEGIN {
    printf "%-22s %10s %10s %10s %9s %9s\n", "", "jx", "jax", "torch", "jx/jax", "jx/torch"
    printf "%-22s %10.2f %10.2f %10.2f %9s %9s\n", "step (ms, median)", j, x, t,
           (j > 0 && x > 0) ? sprintf("%.3g", j / x) : "-", (j > 0 && t > 0) ? sprintf("%.3g", j / t) : "-"
    printf "%-22s %10.1f %10.1f %10.1f\n", "epoch of 60000 (s)", j * 469 / 1000, x * 469 / 1000, t * 469 / 1000
}'
