#!/usr/bin/env bash
# bench.sh: times every tutorial three ways on this machine in one run -- the jx program,
# its numpy_ref.py and its jax_ref.py, with the same options (the tutorial's defaults, or
# the arguments in its bench.args) -- and writes examples/tutorials/RESULTS.md: per
# tutorial the seconds of the timed part (the "timed:" lines), the speed-ups jx/NumPy and
# jx/JAX, and the final metric of each (the "metric:" lines).
#
#   examples/tutorials/bench.sh [BUILD_DIR] [TUTORIAL_GLOB]    e.g. bench.sh build '1[23]_*'
#   THREADS=N (default 2): threads for all three (OpenBLAS, XLA, jx).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
glob=${2:-[0-9][0-9]_*}
threads=${THREADS:-2}
results=$here/RESULTS.md
export OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads
# XLA uses every core by default; one thread is the usual recipe below
[ "$threads" = 1 ] && export XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
export JAX_PLATFORMS=cpu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# seconds: the sum of a log's "timed: S s" lines; metric: its last "metric: NAME V" line
timed() { awk '/^timed: /{s += $2; n++} END {if (n) printf "%.3f", s; else printf "-"}' "$1"; }
metric() { awk '/^metric: /{m = $2 " " $3} END {print (m == "" ? "- -" : m)}' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "-" || b == "-" || a == 0) print "-"; else printf "%.2fx", b / a}'; }

{
  echo "# Tutorials: jx against NumPy and JAX"
  echo
  echo "Written by \`examples/tutorials/bench.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores"
  echo "($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $threads threads each;"
  echo "JAX $(python3 -c 'import jax; print(jax.__version__)' 2>/dev/null || echo absent),"
  echo "NumPy $(python3 -c 'import numpy; print(numpy.__version__)' 2>/dev/null || echo absent)."
  echo "Seconds are the timed part of each program (the same work in all three); a speed-up"
  echo "above 1 means jx is faster. The metric is each program's final one (same name)."
  echo
  echo "| tutorial | jx s | NumPy s | JAX s | jx vs NumPy | jx vs JAX | metric | jx | NumPy | JAX |"
  echo "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|"
} > "$tmp/results.md"

for dir in "$here"/$glob/; do
  name=$(basename "$dir")
  exe=$build/examples/tutorials/tut_$name
  [ -x "$exe" ] || { echo "bench.sh: $exe is not built: skipping $name" >&2; continue; }
  args=()
  [ -f "$dir/bench.args" ] && read -r -a args < "$dir/bench.args"
  echo "== $name ${args[*]}" >&2
  "$exe" --threads "$threads" --out "$tmp/out-$name" "${args[@]}" > "$tmp/jx.log" 2>&1 || echo "  jx failed" >&2
  for ref in numpy jax; do
    : > "$tmp/$ref.log"
    [ -f "$dir/${ref}_ref.py" ] && { python3 "$dir/${ref}_ref.py" --threads "$threads" --out "$tmp/out-$name-$ref" \
        "${args[@]}" > "$tmp/$ref.log" 2>&1 || echo "  $ref failed" >&2; }
  done
  tj=$(timed "$tmp/jx.log"); tn=$(timed "$tmp/numpy.log"); ta=$(timed "$tmp/jax.log")
  read -r mname mj < <(metric "$tmp/jx.log")
  read -r _ mn < <(metric "$tmp/numpy.log")
  read -r _ ma < <(metric "$tmp/jax.log")
  echo "  jx $tj s ($mname $mj), numpy $tn s ($mn), jax $ta s ($ma)" >&2
  echo "| $name | $tj | $tn | $ta | $(ratio "$tj" "$tn") | $(ratio "$tj" "$ta") | $mname | $mj | $mn | $ma |" >> "$tmp/results.md"
done
# a partial run (a glob) keeps the other tutorials' rows of the previous RESULTS.md, marked
# with * as measured in an earlier run
if [ "$glob" != "[0-9][0-9]_*" ] && [ -f "$results" ]; then
  grep '^| [0-9][0-9]_' "$results" | while read -r row; do
    n=$(echo "$row" | cut -d'|' -f2 | tr -d ' *')
    grep -q "^| $n |" "$tmp/results.md" || echo "$row" | sed "s/^| $n |/| $n * |/"
  done >> "$tmp/results.md"
  { head -n 11 "$tmp/results.md"; tail -n +12 "$tmp/results.md" | sort; echo
    echo "\* measured in an earlier run of bench.sh, under that run's conditions."; } > "$tmp/merged.md"
  mv "$tmp/merged.md" "$tmp/results.md"
fi
cp "$tmp/results.md" "$results"
echo "bench.sh: wrote $results" >&2
