#!/usr/bin/env bash
# gpu-bundle.sh: builds the relocatable copy of jx for a GPU machine that has the CUDA
# toolkit but no LLVM 14, OpenBLAS or CUnit (JX_STATIC_DEPS: one libjx.so with LLVM and
# OpenBLAS inside, small test and bench executables next to it), and packs it with
# tools/gpu-check.sh, libdevice and the peers' gpu_anchors.py into DEST/bundle.tar.xz.
#   usage: tools/gpu-bundle.sh DEST [BUILD_DIR]   (then, there: bash DEST/gpu-check.sh)
set -euo pipefail
dest=${1:?usage: gpu-bundle.sh DEST [BUILD_DIR]}
build=${2:-build-static}
src=$(cd "$(dirname "$0")/.." && pwd)
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DJX_STATIC_DEPS=ON -DJX_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j"$(nproc)"
stage=$(mktemp -d)
mkdir -p "$stage/jx/bin" "$stage/jx/lib"
cp -L "$build"/libjx.so.0 "$stage/jx/lib/"
for t in "$build"/tests/{trace,grad,vmap,cuda}_test_*; do [ -x "$t" ] && cp "$t" "$stage/jx/bin/"; done
cp "$build"/bench/bench_cuda_kernels "$build"/bench/bench_mlp_step "$stage/jx/bin/"
strip --strip-unneeded "$stage"/jx/lib/* "$stage"/jx/bin/*
cp /usr/local/cuda/nvvm/libdevice/libdevice.10.bc "$stage/jx/lib/"
mkdir -p "$dest"
tar -C "$stage" -cJf "$dest/bundle.tar.xz" jx
cp "$src/tools/gpu-check.sh" "$dest/"
peers="$src/../shared/peers/gpu_anchors.py"
[ -f "$peers" ] && cp "$peers" "$dest/"
rm -rf "$stage"
ls -la "$dest"
