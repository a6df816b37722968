#!/usr/bin/env bash
# check-layers.sh BUILD_DIR: no layer reaches into one above it where it matters most: the
# backends (src/backends: interpreter, CPU, CUDA) and the jit (src/jit) never call a
# transformation (src/grad, src/vmap). Checked twice: no such #include in their sources,
# and no symbol defined by a transformation's objects among the symbols their objects use.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-build}" && pwd)"
status=0
if grep -rnE '#include "[^"]*(grad|vmap)/' "$src/src/backends" "$src/src/jit"; then
    echo "check-layers: the files above include a transformation's header"
    status=1
fi
objs="$build/CMakeFiles/jx_objects.dir/src"
[ -d "$objs/grad" ] || { echo "check-layers: no objects under $objs"; exit 1; }
defined=$(find "$objs/grad" "$objs/vmap" -name '*.o' -exec nm --defined-only -g {} + | awk 'NF == 3 { print $3 }' | sort -u)
for layer in backends jit; do
    used=$(find "$objs/$layer" -name '*.o' -exec nm -u {} + | awk '{ print $NF }' | sort -u)
    both=$(comm -12 <(echo "$defined") <(echo "$used"))
    if [ -n "$both" ]; then
        echo "check-layers: src/$layer calls into a transformation: $both"
        status=1
    fi
done
[ $status = 0 ] && echo "check-layers: src/backends and src/jit call no transformation"
exit $status
