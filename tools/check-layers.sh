#!/usr/bin/env bash
# check-layers.sh BUILD_DIR: no layer reaches into one above it. The layers, bottom up:
# src/trace (the IR), src/backends (interpreter, CPU, CUDA), src/jit (fusion, the program,
# its executors), then the transformations src/grad and src/vmap. Checked here:
#  - the backends and the jit never call a transformation;
#  - the backends never call the jit (the program the jit builds and the executors run
#    is data defined below both, src/backends/prog.h);
#  - the jit reaches the CPU and CUDA backends through their tables alone
#    (jx__backend, src/backends/backend.h): no header of theirs, no other symbol.
# Each rule twice: no such #include in the sources, and no symbol defined by the upper
# layer's objects among the symbols the lower layer's objects use.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-build}" && pwd)"
objs="$build/CMakeFiles/jx_objects.dir/src"
[ -d "$objs/grad" ] || { echo "check-layers: no objects under $objs"; exit 1; }
status=0

# defined <dirs...>: the global symbols the objects under those dirs define
defined() { for d in "$@"; do find "$objs/$d" -name '*.o'; done | xargs nm --defined-only -g | awk 'NF == 3 { print $3 }' | sort -u; }
# used <find args...>: the undefined symbols of the objects found
used() { find "$@" -name '*.o' | xargs -r nm -u | awk '{ print $NF }' | sort -u; }

# rule <what> <defined symbols> <include pattern> <grep source args> -- <object find args>
rule() {
    local what=$1 def=$2 pattern=$3 dirs=$4
    shift 5
    if grep -rnE "#include \"[^\"]*($pattern)/" $dirs; then
        echo "check-layers: $what: the files above include such a header"
        status=1
    fi
    local both
    both=$(comm -12 <(echo "$def") <(used "$@"))
    if [ -n "$both" ]; then
        echo "check-layers: $what: $both"
        status=1
    fi
}

transformations=$(defined grad vmap)
jit=$(defined jit)
rule "src/backends or src/jit calls a transformation" "$transformations" "grad|vmap" \
    "$src/src/backends $src/src/jit" -- "$objs/backends" "$objs/jit"
rule "src/backends calls the jit" "$jit" "jit" "$src/src/backends" -- "$objs/backends"
backend_own=$(defined backends/cpu backends/cuda 2>/dev/null | grep -vxE "jx__(cpu|cuda)_backend" || true)
rule "src/jit calls a backend other than through its table" "$backend_own" "backends/cpu|backends/cuda" \
    "$src/src/jit" -- "$objs/jit"
[ $status = 0 ] && echo "check-layers: the backends and the jit call no transformation; the backends do not call the jit; the jit calls the backends through their tables"
exit $status
