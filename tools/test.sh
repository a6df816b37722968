#!/usr/bin/env bash
# test.sh: the project's test command (README's second line; .ci/run calls it).
# 1. installs the dependencies, 2. builds warning-clean and runs every CTest suite,
# 3. rebuilds with clang, AddressSanitizer and UndefinedBehaviorSanitizer and runs them again
# (there tests/fault makes the Nth allocation fail for a sample of N in several programs),
# 4. builds every libFuzzer target with clang and runs each briefly on its corpus (a crash
# fails), 5. runs tests/thread under ThreadSanitizer, 6. runs a subset under valgrind
# memcheck (zero errors, zero leaks), 7. checks that an installed jx is usable through
# find_package(jx) and pkg-config.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

./tools/install-deps.sh

echo "== build and test (RelWithDebInfo, -Werror)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJX_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== AddressSanitizer + UndefinedBehaviorSanitizer (clang, -Werror: the second compiler)"
# (with the allocation-failure hooks compiled in: they stay off except in tests/fault)
CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DJX_SANITIZE=address,undefined \
      -DJX_WERROR=ON -DJX_FAULT_INJECT=ON >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS=suppressions=$PWD/tools/lsan.supp \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs"

echo "== fuzz targets (clang, libFuzzer + ASan/UBSan): each runs JX_FUZZ_SECONDS on its corpus"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJX_FUZZ=ON -DJX_WERROR=ON \
      -DJX_BUILD_EXAMPLES=OFF -DJX_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz -j"$jobs" --target jx_fuzz
ctest --test-dir build-fuzz -L fuzz --output-on-failure -j"$jobs"

echo "== ThreadSanitizer (clang): the concurrency jx.h promises (tests/thread), the batch iterator's prefetch thread, pmap's device threads, the jit's compile threads"
CC=clang cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJX_SANITIZE=thread -DJX_WERROR=ON \
      -DJX_BUILD_EXAMPLES=OFF -DJX_BUILD_BENCH=OFF >/dev/null
cmake --build build-tsan -j"$jobs" --target thread_test_threads data_test_batches pmap_test_pmap_collective \
      pmap_test_pmap_compose pmap_test_pmap_devices jit_test_jit_compile_parts
export TSAN_OPTIONS="halt_on_error=1 suppressions=$PWD/tools/tsan.supp"
ctest --test-dir build-tsan -R '^(thread/|data/test_batches$|pmap/test_pmap_(collective|compose|devices)$|jit/test_jit_compile_parts$)' \
      --output-on-failure
if grep -q '^JX_MPI:BOOL=ON' build-tsan/CMakeCache.txt; then
  # across processes; shared memory only (Open MPI's tcp component reports its own lock order)
  cmake --build build-tsan -j"$jobs" --target mpi_collectives mpi_permute
  for t in mpi_collectives mpi_permute; do
    mpirun -np 2 --oversubscribe --allow-run-as-root --mca btl self,vader "build-tsan/tests/$t"
  done
fi

echo "== valgrind memcheck"
./tools/valgrind.sh build

echo "== install and consume"
./tools/check-install.sh build
echo "test.sh: all checks passed"
