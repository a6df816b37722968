#!/usr/bin/env bash
# valgrind.sh BUILD_DIR: runs a subset of the test executables under valgrind memcheck;
# fails on any error or leak (definite, indirect or possible). "Still reachable" blocks are
# not counted: libLLVM's static constructors allocate at load time and keep that memory to
# the end in every program linking jx. Two jit suites run here too (the executor, the
# buffer plan and kernels); the rest are left to ASan/LSan, which runs LLVM much faster.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
status=0
for t in trace_test_core trace_test_elementwise trace_test_movement trace_test_control \
         trace_test_text trace_test_passes grad_test_grad_core vmap_test_vmap_core \
         vmap_test_vmap_control data_test_idx data_test_batches jit_test_jit_api jit_test_jit_control cuda_test_cuda_alloc \
         cuda_test_cuda_graph cuda_test_cuda_upload cuda_test_cuda_precision \
         cuda_test_cuda_control cuda_test_cuda_conv cuda_test_cuda_epilogue; do
  exe="$build/tests/$t"
  [ -x "$exe" ] || { echo "valgrind: $t not built, skipped"; continue; }
  if (cd tests && valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
        --show-leak-kinds=definite,indirect,possible "../$exe" >/tmp/jx-valgrind-$t.log 2>&1); then
    echo "valgrind: $t clean"
  else
    echo "valgrind: $t FAILED"; tail -40 /tmp/jx-valgrind-$t.log; status=1
  fi
done
exit $status
