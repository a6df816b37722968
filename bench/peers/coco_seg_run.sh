#!/bin/sh
# coco_seg_run.sh: U-Net training throughput (images/s, batch 8) of jx, JAX and PyTorch on
# the same network, loss and optimizer (examples/coco_seg), side by side, at 128x128 and
# 256x256 (or the sizes given), one after the other with the same thread count.
#   bench/peers/coco_seg_run.sh [BUILD_DIR [STEPS [SIZE...]]]   (defaults: build 3 128 256)
# Threads: JX_NUM_THREADS for jx and PyTorch (default every core); JAX (XLA) uses every
# core. A peer that is not installed is skipped with a note. Builds nothing:
#   cmake --build build --target bench_coco_seg_step
set -u
build=${1:-build}
steps=${2:-3}
shift 2 2>/dev/null || shift $#
sizes=${*:-128 256}
here=$(dirname "$0")
bin=$build/bench/bench_coco_seg_step
[ -x "$bin" ] || { echo "coco_seg_run: $bin missing: cmake --build $build --target bench_coco_seg_step" >&2; exit 2; }
echo "U-Net width 16 depth 3 (482754 parameters), CE + dice, Adam; batch 8; $steps timed steps after the first; $(nproc) cores"
for s in $sizes; do
  "$bin" "$s" 8 "$steps" 16 3 "${JX_NUM_THREADS:-0}"
  if python3 -c "import jax, flax, optax" 2>/dev/null; then
    python3 "$here/coco_seg_jax.py" bench "$s" 8 "$steps" 2>&1 | grep '^jax '
  else
    echo "jax: not installed (pip install jax flax optax): skipped"
  fi
  if python3 -c "import torch" 2>/dev/null; then
    python3 "$here/coco_seg_torch.py" "$s" 8 "$steps" "${JX_NUM_THREADS:-0}" 2>/dev/null
  else
    echo "torch: not installed (apt-get install python3-torch): skipped"
  fi
done
