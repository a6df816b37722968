#!/usr/bin/env bash
# gpu-check.sh: everything jx measures on a GPU machine, in one go (made by
# tools/gpu-bundle.sh, run from the repository root there: bash .gpu/gpu-check.sh).
# Sections are independent and time-limited: the CUDA suites (each executable's result),
# the kernel benchmark (fused chain vs device copy bandwidth, reductions, compile times),
# the MNIST MLP step on cuda and on cpu, the peers' gpu_anchors.py (JAX, PyTorch), and
# the cuda/ copies of the trace/grad/vmap suites. Everything goes to $OUT (default
# ./gpu-out), at most 8 files (what the device tool brings back): log, results.txt (one
# line per suite), bench_cuda_kernels.txt, bench_mlp.txt, plan_mlp_cuda.txt, anchors.json,
# anchors.txt, suites.tar.gz (every suite's output).
set +e
export PYTHONUNBUFFERED=1
here=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/log") 2>&1
echo "== gpu-check $(date -u +%FT%TZ) on $(hostname)"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | head -3
work=$(mktemp -d)
tar -C "$work" -xJf "$here/bundle.tar.xz" || { echo "cannot unpack the bundle"; exit 1; }
B=$work/jx
S=$work/suites
mkdir -p "$S"
export LD_LIBRARY_PATH=$B/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
export JX_LIBDEVICE=$B/lib/libdevice.10.bc
[ -f /usr/local/cuda/nvvm/libdevice/libdevice.10.bc ] && export JX_LIBDEVICE=/usr/local/cuda/nvvm/libdevice/libdevice.10.bc
export JX_SOURCE_DIR=$PWD
echo "== ldd"; ldd "$B/lib/libjx.so.0" | grep -v "=> /lib\|linux-vdso\|ld-linux" ; ldd "$B/bin/cuda_test_cuda_run" | grep "not found"

# one suite: name, env, executable, timeout; appends "name result seconds" to results.txt
suite() {
    local name=$1 envs=$2 exe=$3 lim=$4 t0=$SECONDS
    local log="$S/${name//\//_}.txt"
    (cd tests && env $envs timeout "$lim" "$B/bin/$exe") > "$log" 2>&1
    local rc=$? r
    case $rc in 0) r=PASSED ;; 77) r=SKIPPED ;; 124) r=TIMEOUT ;; *) r="FAILED(rc=$rc)" ;; esac
    echo "$name $r $((SECONDS - t0))s" | tee -a "$OUT/results.txt"
    [ $rc = 0 ] || [ $rc = 77 ] || grep -B2 -A3 "FAIL\|differs\|failed" "$log" | head -30
}

echo "== CUDA suites"
suite cuda/test_cuda_run "" cuda_test_cuda_run 60
suite cuda/test_cuda_alloc "" cuda_test_cuda_alloc 30
suite cuda/test_cuda_ptx "" cuda_test_cuda_ptx 60
grep -h "PTX in\|asserts" "$S"/cuda_test_cuda_*.txt | head -20

echo "== kernel benchmark"
timeout 60 "$B/bin/bench_cuda_kernels" 2>&1 | tee "$OUT/bench_cuda_kernels.txt"
echo "== MNIST MLP step: cuda, then cpu"
JX_BENCH_DEVICE=cuda timeout 60 "$B/bin/bench_mlp_step" 100 128 2>&1 | tee "$OUT/bench_mlp.txt"
JX_NUM_THREADS=16 timeout 60 "$B/bin/bench_mlp_step" 100 128 2>&1 | tee -a "$OUT/bench_mlp.txt"
JX_BENCH_DEVICE=cuda JX_DUMP=plan timeout 30 "$B/bin/bench_mlp_step" 1 128 > "$OUT/plan_mlp_cuda.txt" 2>&1

echo "== gpu_anchors.py (JAX, PyTorch)"
if [ -f "$here/gpu_anchors.py" ]; then
    timeout 150 python3 "$here/gpu_anchors.py" "$OUT/anchors.json" > "$OUT/anchors.txt" 2>&1
    echo "anchors rc=$?"; grep "^\[" "$OUT/anchors.txt"
fi

echo "== cuda/ copies of the trace, grad and vmap suites (8 at a time)"
export -f suite; export B OUT S
ls "$B/bin" | grep -E '^(trace|grad|vmap)_test_' |
    xargs -P 8 -I{} bash -c 'n={}; suite "cuda/${n%%_test_*}/test_${n#*_test_}" JX_TEST_JIT=cuda "$n" 100'
tar -C "$work" -czf "$OUT/suites.tar.gz" suites
echo "== summary"; sort "$OUT/results.txt" | awk '{print $2}' | sort | uniq -c
grep -v PASSED "$OUT/results.txt"
echo "== done $(date -u +%FT%TZ)"
