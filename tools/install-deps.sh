#!/usr/bin/env bash
# install-deps.sh: installs what building and testing jx needs, from Debian's packages.
# Idempotent: does nothing when everything is already there. Needs root (or sudo).
set -euo pipefail
pkgs=(build-essential clang libclang-rt-14-dev cmake pkg-config libcunit1-dev valgrind
      llvm-14-dev libopenblas-dev zlib1g-dev libcairo2-dev dataset-fashion-mnist
      libyajl-dev libturbojpeg0-dev libpng-dev libdnnl-dev libsleef-dev
      libopenmpi-dev openmpi-bin)
pkgs+=(doxygen) # the API reference: cmake --build build --target docs
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# Python peers for the differential suites: tests/jaxref (JAX on the CPU) and the checkpoint
# interop suite (safetensors, numpy), and optax for the tutorials' jax_ref.py programs
# (examples/tutorials/bench.sh). Best effort: without them those suites report skipped.
if command -v python3 >/dev/null && ! python3 -c "import jax, safetensors, numpy, optax" >/dev/null 2>&1; then
  python3 -m pip install -q jax safetensors numpy optax ||
    echo "install-deps: pip could not install jax, safetensors, numpy, optax: their suites will be skipped"
fi
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
