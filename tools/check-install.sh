#!/usr/bin/env bash
# check-install.sh BUILD_DIR: installs jx into a scratch prefix and builds a small
# consumer twice, once through find_package(jx) and once through pkg-config.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
prefix=$(mktemp -d)
work=$(mktemp -d)
trap 'rm -rf "$prefix" "$work"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
cat >"$work/main.c" <<'C'
#include <jx.h>
static void twice(jx_val *out, const jx_val *in, void *u) { (void)u; out[0] = jx_add(in[0], in[0]); }
int main(void) {
    jx_aval a = JX_AVAL(JX_F32, 3);
    jx_fn *f = jx_trace("twice", twice, NULL, 1, &a, 1);
    if (!f) return 1;
    jx_array *x = jx_array_full(JX_F32, JX_INTS(3), 2.0), *y = NULL;
    int ok = jx_eval(f, 1, &x, 1, &y) == JX_OK && jx_array_get(y, 2) == 4.0;
    jx_array_release(x); jx_array_release(y); jx_fn_release(f);
    return ok ? 0 : 1;
}
C
cat >"$work/CMakeLists.txt" <<'C'
cmake_minimum_required(VERSION 3.25)
project(consumer C)
find_package(jx REQUIRED)
add_executable(consumer main.c)
target_link_libraries(consumer PRIVATE jx::jx)
C
cmake -S "$work" -B "$work/b" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/b" >/dev/null
"$work/b/consumer"
echo "install: find_package(jx) consumer ok"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib/x86_64-linux-gnu/pkgconfig"
cc "$work/main.c" -o "$work/pc" $(pkg-config --cflags --libs jx)
LD_LIBRARY_PATH="$prefix/lib:$prefix/lib/x86_64-linux-gnu" "$work/pc"
echo "install: pkg-config consumer ok"
