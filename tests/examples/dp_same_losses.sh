#!/bin/sh
# dp_same_losses.sh BIN DIR LAUNCH ARGS...: data parallelism changes nothing but rounding.
# Runs the trainer BIN with ARGS on one device, then data parallel (LAUNCH "devices":
# --devices 2 in one process; anything else: the command that starts 2 processes, e.g.
# "mpirun -np 2 ..."), each with --out under DIR, and compares their metrics CSVs epoch by
# epoch: the train losses must agree within 1e-5 (f32 rounding: the global batch's sums
# are grouped per device) and the test accuracies within 0.1 points (docs/pmap.md).
set -u
bin=$1 d=$2 launch=$3
shift 3
rm -rf "$d" && mkdir -p "$d/one" "$d/par" || exit 1
"$bin" "$@" --out "$d/one" > "$d/one.log" 2>&1 || { cat "$d/one.log"; echo "the single-device run failed"; exit 1; }
if [ "$launch" = devices ]; then
    "$bin" "$@" --devices 2 --out "$d/par" > "$d/par.log" 2>&1
else
    $launch "$bin" "$@" --out "$d/par" > "$d/par.log" 2>&1
fi || { cat "$d/par.log"; echo "the data-parallel run failed"; exit 1; }
prog=$(basename "$bin")
paste -d, "$d/one/${prog}_metrics.csv" "$d/par/${prog}_metrics.csv" | awk -F, '
    NR == 1 { print "epoch  loss (1 device)  loss (2 devices)  accuracy (1)  accuracy (2)"; next }
    function abs(x) { return x < 0 ? -x : x }
    {
        printf "%5d  %15s  %16s  %12s  %12s\n", $1, $2, $5, $3, $6
        if ($1 != $4 || abs($2 - $5) > 1e-5 || abs($3 - $6) > 0.1) bad = 1
        n++
    }
    END { if (n < 1 || bad) { print "the data-parallel run differs"; exit 1 } print "same-losses" }'
