#!/usr/bin/env bash
# gpu-bundle.sh: builds the relocatable copy of jx for a GPU machine that has glibc, the
# CUDA driver and toolkit and nothing else of ours (no LLVM 14, OpenBLAS, CUnit, yajl,
# turbojpeg, libpng, cairo...): a JX_STATIC_DEPS build (one libjx.so with LLVM and
# OpenBLAS inside, small test, bench and trainer executables next to it), every other
# shared library they load except glibc's own copied into jx/lib (libstdc++, libgcc_s,
# libz and libtinfo into jx/lib/fallback, used there only when the machine lacks them,
# so that Python's torch and JAX keep the machine's newer ones), libdevice, and MNIST
# (for the trainers' one-epoch runs), packed into DEST/bundle.tar.xz with gpu-check.sh
# and the peers' gpu_anchors.py beside it.
#   usage: tools/gpu-bundle.sh DEST [BUILD_DIR]   (then, there: bash DEST/gpu-check.sh)
set -euo pipefail
dest=${1:?usage: gpu-bundle.sh DEST [BUILD_DIR]}
build=${2:-build-static}
src=$(cd "$(dirname "$0")/.." && pwd)
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DJX_STATIC_DEPS=ON -DJX_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/jx/bin" "$stage/jx/lib/fallback" "$stage/jx/data"
cp -L "$build"/libjx.so.0 "$stage/jx/lib/"
# (not the suites that load the fake driver: they name a library of this machine's build)
for t in "$build"/tests/{trace,grad,vmap,cuda}_test_*; do
  [ -x "$t" ] && ! grep -q libjxfakecuda "$t" && cp "$t" "$stage/jx/bin/"
done
cp "$build"/bench/bench_cuda_kernels "$build"/bench/bench_mlp_step "$build"/bench/bench_cnn_step "$stage/jx/bin/"
cp "$build"/examples/mnist_mlp "$build"/examples/mnist_cnn "$stage/jx/bin/"
strip --strip-unneeded "$stage"/jx/lib/libjx.so.0 "$stage"/jx/bin/*

# Every library the bundle's programs load (ldd: the whole closure), except glibc's.
"$src/tools/gpu-libs.sh" "$stage/jx/lib" "$stage"/jx/lib/libjx.so.0 "$stage"/jx/bin/*

cp /usr/local/cuda/nvvm/libdevice/libdevice.10.bc "$stage/jx/lib/"
mnist="$src/../shared/data/mnist"
[ -d "$mnist" ] && cp -r "$mnist" "$stage/jx/data/"
mkdir -p "$dest"
tar -C "$stage" -cJf "$dest/bundle.tar.xz" jx
cp "$src/tools/gpu-check.sh" "$dest/"
peers="$src/../shared/peers/gpu_anchors.py"
[ -f "$peers" ] && cp "$peers" "$dest/"
ls -la "$dest"
