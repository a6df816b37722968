#!/usr/bin/env bash
# gpu-check.sh: everything jx checks and measures on a GPU machine, in one command (made
# by tools/gpu-bundle.sh; there: bash .gpu/gpu-check.sh, from the repository root).
# Sections, most valuable first, each time-limited, all within 380 s (later sections get
# what is left, and one that cannot start in time is reported as skipped):
#   1. the CUDA suites (device arrays, run, allocator, PTX)
#   2. bench_cuda_kernels (fused chain vs copy bandwidth, reductions, compile times) and
#      bench_mlp_step on cuda (device-resident, pipelined, host arrays; with and without
#      CUDA graphs) and on the cpu, bench_cnn_step on cuda (bench_cnn.txt)
#   3. mnist_mlp --device cuda, one epoch, and mnist_cnn --device cuda, one epoch on the
#      first 2048 images (convolutions on cuDNN where it is found), on MNIST (JX_MNIST, else
#      ../shared/data/mnist or shared/data/mnist, else the bundle's copy)
#   4. the cuda/ copies of the trace, grad and vmap suites (8 at a time, 130 s at most)
#   5. ../shared/peers/gpu_anchors.py (JAX, PyTorch on the same GPU), when present, alone
#      on the GPU so its figures are not disturbed
# Everything goes to $OUT (default ./gpu-out): log, results.txt (one line per suite or
# program), bench_cuda_kernels.txt, bench_mlp.txt, bench_cnn.txt, anchors.json, anchors.txt,
# trainers.txt, suites.tar.gz (every suite's output); the summary ends the log.
set +e
export PYTHONUNBUFFERED=1
here=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$PWD/gpu-out}
TOTAL=${JX_GPU_CHECK_SECONDS:-380}
DEADLINE=$(($(date +%s) + TOTAL))
mkdir -p "$OUT"
exec > >(tee -a "$OUT/log") 2>&1
echo "== gpu-check $(date -u +%FT%TZ) on $(hostname), at most ${TOTAL}s"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | head -3
work=$(mktemp -d)
tar -C "$work" -xJf "$here/bundle.tar.xz" || { echo "cannot unpack the bundle"; exit 1; }
B=$work/jx
S=$work/suites
mkdir -p "$S"
: > "$OUT/results.txt"

# The bundle's libraries for jx's programs only (python keeps the machine's); a
# fallback (libstdc++, libgcc_s, libz, libtinfo) only where the machine lacks it.
fb=$work/fallback
mkdir -p "$fb"
for l in "$B"/lib/fallback/*; do
    [ -e "$l" ] || continue
    { ldconfig -p || /sbin/ldconfig -p; } 2>/dev/null | grep -qF "$(basename "$l") (" || ln -s "$l" "$fb/"
done
JXLIB=$B/lib:$fb:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
export JX_LIBDEVICE=$B/lib/libdevice.10.bc
[ -f /usr/local/cuda/nvvm/libdevice/libdevice.10.bc ] && export JX_LIBDEVICE=/usr/local/cuda/nvvm/libdevice/libdevice.10.bc
export JX_SOURCE_DIR=$PWD
# cuDNN (dlopened by jx's convolutions): the machine's, else the copy PyTorch's wheels bring
if ! { ldconfig -p || /sbin/ldconfig -p; } 2>/dev/null | grep -q 'libcudnn.so.9 ' &&
   [ ! -e /usr/local/cuda/lib64/libcudnn.so.9 ]; then
    c=$(python3 -c 'import nvidia.cudnn, os; print(os.path.join(list(nvidia.cudnn.__path__)[0], "lib"))' 2>/dev/null)
    [ -n "$c" ] && [ -e "$c/libcudnn.so.9" ] && JXLIB=$JXLIB:$c && export JX_CUDNN=$c/libcudnn.so.9
fi
echo "== cuDNN: ${JX_CUDNN:-libcudnn.so.9 from the library path}"
echo "== libraries the bundle does not carry"
LD_LIBRARY_PATH=$JXLIB ldd "$B/lib/libjx.so.0" "$B/bin/mnist_mlp" | grep -v "=> $B/lib\|linux-vdso\|ld-linux\|^/" |
    awk '{print $1, $3}' | sort -u
LD_LIBRARY_PATH=$JXLIB ldd "$B/bin/cuda_test_cuda_run" "$B/bin/mnist_mlp" | grep "not found"

mnist=${JX_MNIST:-}
for d in "$PWD/../shared/data/mnist" "$PWD/shared/data/mnist" "$B/data/mnist"; do
    [ -z "$mnist" ] && [ -f "$d/train-images-idx3-ubyte.gz" ] && mnist=$d
done
anchors=""
for p in "$PWD/../shared/peers/gpu_anchors.py" "$PWD/shared/peers/gpu_anchors.py" "$here/gpu_anchors.py"; do
    [ -z "$anchors" ] && [ -f "$p" ] && anchors=$p
done

# left: seconds of the budget left (from the clock: the parallel suites run in child
# shells); lim N: N, or what is left if less (0: no time)
left() { echo $((DEADLINE - $(date +%s))); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo $((l > 5 ? l : 0)) || echo "$1"; }
# note name result seconds
note() { echo "$1 $2 $3s" | tee -a "$OUT/results.txt"; }
# run a jx program: name, timeout, then the command (its output appended to $S/name.txt)
jxrun() {
    local name=$1 t; t=$(lim "$2"); shift 2
    local log="$S/${name//\//_}.txt" t0=$SECONDS
    if [ "$t" = 0 ]; then note "$name" "SKIPPED(no-time)" 0; return 124; fi
    (cd "$JX_SOURCE_DIR/tests" 2>/dev/null || cd "$work"; LD_LIBRARY_PATH=$JXLIB timeout "$t" "$@") >> "$log" 2>&1
    local rc=$? r
    case $rc in 0) r=PASSED ;; 77) r=SKIPPED ;; 124) r=TIMEOUT ;; *) r="FAILED(rc=$rc)" ;; esac
    note "$name" "$r" $((SECONDS - t0))
    [ $rc = 0 ] || [ $rc = 77 ] || grep -B2 -A3 "FAIL\|differs\|failed\|rror" "$log" | head -30
    return $rc
}
export -f jxrun note lim left
export B S OUT JXLIB DEADLINE work

echo "== 1. CUDA suites"
for t in cuda_array cuda_run cuda_alloc cuda_ptx; do jxrun "cuda/test_$t" 60 "$B/bin/cuda_test_$t"; done
grep -h "PTX in\|asserts" "$S"/cuda_test_cuda_*.txt | head -20

echo "== 2. benchmarks"
jxrun bench/cuda_kernels 60 "$B/bin/bench_cuda_kernels"; cat "$S/bench_cuda_kernels.txt" > "$OUT/bench_cuda_kernels.txt"
cat "$OUT/bench_cuda_kernels.txt"
jxrun bench/mlp_step_cuda 60 env JX_BENCH_DEVICE=cuda "$B/bin/bench_mlp_step" 200 128
# the same step without CUDA graphs (a launch per kernel and GEMM), to compare
jxrun bench/mlp_step_cuda_nograph 40 env JX_BENCH_DEVICE=cuda JX_CUDA_GRAPHS=0 "$B/bin/bench_mlp_step" 200 128
# and without cuBLASLt's bias and bias-gradient epilogues (their kernels back)
jxrun bench/mlp_step_cuda_noepi 40 env JX_BENCH_DEVICE=cuda JX_CUDA_EPILOGUES=0 "$B/bin/bench_mlp_step" 200 128
jxrun bench/mlp_step_cpu 40 env JX_NUM_THREADS=16 "$B/bin/bench_mlp_step" 100 128
{ cat "$S"/bench_mlp_step_cuda.txt; sed 's/^jx /jx_nograph /' "$S"/bench_mlp_step_cuda_nograph.txt
  sed 's/^jx /jx_noepilogue /' "$S"/bench_mlp_step_cuda_noepi.txt
  cat "$S"/bench_mlp_step_cpu.txt; } > "$OUT/bench_mlp.txt"
cat "$OUT/bench_mlp.txt"
jxrun bench/mlp_plan 20 env JX_BENCH_DEVICE=cuda JX_DUMP=plan "$B/bin/bench_mlp_step" 1 128
echo "MLP step plan (on cuda, LOOP steps with a kernel and DOT run on the device; a note says why not):"
grep "^  step [0-9]" "$S/bench_mlp_plan.txt" | head -40
# the CNN step (mnist_cnn's network, batch 128): convs on cuDNN, pooling in loop kernels
jxrun bench/cnn_step_cuda 60 env JX_BENCH_DEVICE=cuda "$B/bin/bench_cnn_step" 100 128 2
cat "$S/bench_cnn_step_cuda.txt" > "$OUT/bench_cnn.txt"; cat "$OUT/bench_cnn.txt"

echo "== 3. trainers on the GPU ($mnist)"
if [ -n "$mnist" ]; then
    jxrun trainers/mnist_mlp_cuda 60 "$B/bin/mnist_mlp" --device cuda --data "$mnist" --epochs 1
    jxrun trainers/mnist_cnn_cuda 60 "$B/bin/mnist_cnn" --device cuda --data "$mnist" --epochs 1 --limit 2048 --test-limit 1000
    cat "$S"/trainers_mnist_*_cuda.txt 2>/dev/null | grep -v "^\s*$" | grep -iv "step [0-9]*/" > "$OUT/trainers.txt"
    grep -i "compiled\|epoch\|accuracy\|error\|cuda" "$OUT/trainers.txt" | head -20
else echo "no MNIST found"; fi

echo "== 4. cuda/ copies of the trace, grad and vmap suites (8 at a time)"
# at most 130 s, so that the anchors keep their time; each suite's limit shrinks to
# what is left, and those that cannot start are noted as such
all_deadline=$DEADLINE
export DEADLINE=$(($(date +%s) + $(lim 130)))
ls "$B/bin" | grep -E '^(trace|grad|vmap)_test_' |
    xargs -P 8 -I{} bash -c 'n={}; jxrun "cuda/${n%%_test_*}/test_${n#*_test_}" 100 env JX_TEST_JIT=cuda "$B/bin/$n"' 
ls "$B/bin" | grep -E '^(trace|grad|vmap)_test_' | while read -r n; do
    name="cuda/${n%%_test_*}/test_${n#*_test_}"
    grep -q "^$name " "$OUT/results.txt" || note "$name" "SKIPPED(no-time)" 0
done
export DEADLINE=$all_deadline

echo "== 5. gpu_anchors.py (JAX, PyTorch)"
if [ -n "$anchors" ]; then
    t=$(lim 150) t0=$SECONDS
    if [ "$t" != 0 ]; then
        timeout "$t" python3 "$anchors" "$OUT/anchors.json" > "$OUT/anchors.txt" 2>&1
        rc=$?; note peers/gpu_anchors "$([ $rc = 0 ] && echo PASSED || echo "FAILED(rc=$rc)")" $((SECONDS - t0))
        grep "^\[" "$OUT/anchors.txt"
    else note peers/gpu_anchors "SKIPPED(no-time)" 0; fi
else echo "no gpu_anchors.py found"; fi

tar -C "$work" -czf "$OUT/suites.tar.gz" suites

echo "== summary ($SECONDS s)"
awk '{print $2}' "$OUT/results.txt" | sed 's/(.*//' | sort | uniq -c
grep -v " PASSED \| SKIPPED(no-time) " "$OUT/results.txt"
grep -h "step_ms\|step_pipelined_ms\|step_host_ms\|chain8_GBps\|copy_GBps\|compile_ms" "$OUT/bench_mlp.txt" "$OUT/bench_cnn.txt" "$OUT/bench_cuda_kernels.txt" 2>/dev/null
[ -f "$OUT/anchors.json" ] && python3 -c "
import json; a = json.load(open('$OUT/anchors.json'))
for k, v in a.items():
    if 'mlp' in k and not k.endswith('_error'): print('anchor', k, v)" 2>/dev/null | head -12
grep -h "test accuracy" "$OUT/trainers.txt" 2>/dev/null | tail -2
echo "== done $(date -u +%FT%TZ)"
rm -rf "$work"
