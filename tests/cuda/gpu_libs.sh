#!/usr/bin/env bash
# gpu_libs.sh: tools/gpu-libs.sh copies the closure of the given files' libraries: with
# LD_LIBRARY_PATH naming only the copy (and its fallback folder), ldd resolves every
# library except glibc's into the copy, and nothing is "not found"; glibc's own are
# never copied.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
"$here/tools/gpu-libs.sh" "$d/lib" "$@" || { echo "FAIL: gpu-libs.sh failed"; exit 1; }
fail=0
for f in "$@"; do
    out=$(LD_LIBRARY_PATH="$d/lib:$d/lib/fallback" ldd "$f")
    if grep -q "not found" <<<"$out"; then echo "FAIL: $f: $out"; fail=1; fi
    # every resolved library outside the copy must be glibc's
    bad=$(awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' <<<"$out" | grep -v " $d/lib" |
          grep -Ev '^(libc|libm|libdl|libpthread|librt|libresolv|libmvec)\.so|^libjx\.so' || true)
    if [ -n "$bad" ]; then echo "FAIL: $f loads from outside the copy:"; echo "$bad"; fail=1; fi
done
for g in libc.so.6 libm.so.6; do
    [ ! -e "$d/lib/$g" ] && [ ! -e "$d/lib/fallback/$g" ] || { echo "FAIL: glibc's $g was copied"; fail=1; }
done
n=$(ls "$d/lib" | grep -c '\.so' || true)
[ "$n" -gt 0 ] || { echo "FAIL: nothing copied"; fail=1; }
[ $fail = 0 ] && echo "gpu_libs: $n libraries copied, all resolve there"
exit $fail
