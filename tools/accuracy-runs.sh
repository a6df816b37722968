#!/bin/sh
# accuracy-runs.sh: the accuracy targets, run in full (10 epochs each; tens of
# minutes on 16 cores, too long for CI): mnist_mlp on MNIST (>= 98.0%), mnist_cnn on
# MNIST (>= 99.2%) and on Fashion-MNIST (>= 91%), with the trainers' default recipes.
# Writes each run's log, checkpoints, CSV and curves under OUT and prints a table of the
# final test accuracies against the targets; exits 1 when one misses its target.
#
#   usage: tools/accuracy-runs.sh [BUILD_DIR [MNIST_DIR [FASHION_DIR [OUT]]]]
#   (defaults: build, ../shared/data/mnist, /usr/share/datasets/fashion-mnist, accuracy-runs)
set -u
build=${1:-build}
mnist=${2:-../shared/data/mnist}
fashion=${3:-/usr/share/datasets/fashion-mnist}
out=${4:-accuracy-runs}
mkdir -p "$out" || exit 1
status=0
printf '%-10s %-14s %10s %8s  %s\n' trainer data accuracy target result > "$out/summary.txt"
run() { # run PROG DATA_NAME DATA_DIR TARGET
    prog=$1 name=$2 dir=$3 target=$4
    if [ ! -f "$dir/t10k-labels-idx1-ubyte.gz" ] && [ ! -f "$dir/t10k-labels-idx1-ubyte" ]; then
        printf '%-10s %-14s %10s %8s  %s\n' "$prog" "$name" - "$target" "skipped: no data in $dir" >> "$out/summary.txt"
        return
    fi
    d="$out/$prog-$name"
    rm -rf "$d" && mkdir -p "$d"
    echo "== $prog on $name ($dir): $d/log.txt"
    "$build/examples/$prog" --data "$dir" --epochs 10 --out "$d" > "$d/log.txt" 2>&1
    rc=$?
    acc=$(sed -n 's/^epoch 10: .*test accuracy \([0-9.]*\)%.*/\1/p' "$d/log.txt" | tail -n 1)
    grep '^epoch [0-9]*:' "$d/log.txt"
    if [ $rc -ne 0 ] || [ -z "$acc" ]; then
        result="FAILED (exit $rc, see $d/log.txt)"; status=1; acc=-
    elif awk "BEGIN { exit !($acc >= $target) }"; then
        result=reached
    else
        result=MISSED; status=1
    fi
    printf '%-10s %-14s %9s%% %7s%%  %s\n' "$prog" "$name" "$acc" "$target" "$result" >> "$out/summary.txt"
}
run mnist_mlp mnist "$mnist" 98.0
run mnist_cnn mnist "$mnist" 99.2
run mnist_cnn fashion-mnist "$fashion" 91.0
run mnist_mlp fashion-mnist "$fashion" 0
echo
cat "$out/summary.txt"
exit $status
