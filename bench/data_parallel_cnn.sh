#!/usr/bin/env bash
# data_parallel_cnn.sh: the MNIST CNN trainer (examples/mnist_cnn.c) data parallel three
# ways on the same global batch and seed, side by side: 1 process x 2 threads (one
# device), 2 processes x 1 thread (mpirun, one device each), and 2 CPU devices x 1 thread
# in one process (pmap). Prints the epoch time, the time per step and the final loss and
# accuracy of each. It builds nothing: cmake --build build --target mnist_cnn first.
#   bench/data_parallel_cnn.sh [build-dir] [images] [epochs]
set -euo pipefail
build=${1:-build} n=${2:-1024} epochs=${3:-2} batch=64
data=$(dirname "$0")/../../shared/data/mnist
[ -e "$data/train-labels-idx1-ubyte.gz" ] || data=/usr/share/datasets/fashion-mnist
args="--data $data --limit $n --test-limit 1000 --batch $batch --epochs $epochs --schedule constant"
cnn=$build/examples/mnist_cnn
mpirun=(mpirun -np 2 --oversubscribe --allow-run-as-root --mca btl self,vader,tcp)
steps=$(( (n + batch - 1) / batch ))
run() { # label, command...
  local label=$1; shift
  local out; out=$("$@" | tr '\r' '\n')
  local last; last=$(grep -o "epoch $epochs: .*" <<<"$out" | tail -1)
  local per; per=$(grep -o '[0-9.]* s per epoch' <<<"$out" | awk '{print $1}')
  [ -n "$per" ] || per=$(grep -o "epoch $epochs: [0-9.]* s" <<<"$out" | awk '{print $3}')
  printf '%-34s %8.2f s/epoch %8.1f ms/step   %s\n' "$label" "$per" "$(awk -v p="$per" -v s="$steps" 'BEGIN{print 1000*p/s}')" \
    "${last#*s, }"
}
echo "mnist_cnn: $n images, batch $batch (global), $epochs epochs, $(nproc) cores"
run "1 process x 2 threads"          "$cnn" $args --threads 2
if command -v mpirun >/dev/null; then
  run "2 processes x 1 thread (mpirun)" "${mpirun[@]}" "$cnn" $args --threads 1
else
  echo "2 processes x 1 thread (mpirun)    skipped: no mpirun"
fi
run "2 CPU devices x 1 thread (pmap)" "$cnn" $args --threads 1 --devices 2
