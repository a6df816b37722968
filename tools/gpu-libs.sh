#!/usr/bin/env bash
# gpu-libs.sh: copies the shared libraries that the given programs and libraries load
# (ldd's whole closure) into LIBDIR, so that they run where only glibc and the CUDA
# driver are installed. glibc's own libraries (libc, libm, libdl, libpthread, librt,
# libresolv, the loader) stay the machine's; libstdc++, libgcc_s, libz and libtinfo go
# to LIBDIR/fallback, to be used only where the machine lacks them (gpu-check.sh), since
# torch and JAX there need the machine's newer copies. CUDA's libraries are never
# copied (jx opens them with dlopen). Fails when ldd cannot find a library here.
#   usage: tools/gpu-libs.sh LIBDIR FILE...
set -euo pipefail
libdir=${1:?usage: gpu-libs.sh LIBDIR FILE...}
shift
mkdir -p "$libdir/fallback"
missing=$(ldd "$@" 2>/dev/null | grep "not found" | sort -u || true)
[ -z "$missing" ] || { echo "gpu-libs.sh: libraries not found here:"; echo "$missing"; exit 1; }
ldd "$@" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | sort -u |
while read -r name path; do
    case $name in
    libc.so.*|libm.so.*|libdl.so.*|libpthread.so.*|librt.so.*|libresolv.so.*|ld-linux*|libmvec.so.*) ;;
    libcuda.so*|libcublas*|libcudart*|libnvrtc*|libnvJitLink*|libcudnn*) ;;
    libjx.so*) ;;
    libstdc++.so.*|libgcc_s.so.*|libz.so.*|libtinfo.so.*) cp -L "$path" "$libdir/fallback/$name" ;;
    *) cp -L "$path" "$libdir/$name" ;;
    esac
done
echo "gpu-libs.sh: $(ls "$libdir" | grep -c '\.so') libraries, $(ls "$libdir/fallback" | wc -l) fallbacks in $libdir"
