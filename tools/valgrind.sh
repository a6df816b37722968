#!/usr/bin/env bash
# valgrind.sh BUILD_DIR: runs a subset of the test executables under valgrind memcheck;
# fails on any error or leak. The jit suites are left to ASan/LSan: LLVM keeps static state
# reachable at exit, which memcheck would count.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
status=0
for t in trace_test_core trace_test_elementwise trace_test_movement trace_test_control \
         trace_test_text trace_test_passes grad_test_grad_core vmap_test_vmap_core \
         vmap_test_vmap_control examples_test_idx; do
  exe="$build/tests/$t"
  [ -x "$exe" ] || { echo "valgrind: $t not built, skipped"; continue; }
  if (cd tests && valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=all \
        --show-leak-kinds=all "../$exe" >/tmp/jx-valgrind-$t.log 2>&1); then
    echo "valgrind: $t clean"
  else
    echo "valgrind: $t FAILED"; tail -40 /tmp/jx-valgrind-$t.log; status=1
  fi
done
exit $status
