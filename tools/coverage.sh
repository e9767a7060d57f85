#!/usr/bin/env bash
# Line coverage of the test suite: builds fusednet._core with gcov counters (CMake option
# FUSEDNET_COVERAGE, CUDA off, incremental in build/coverage), stages it beside a copy of
# python/fusednet (the source tree is left alone), runs the suite under coverage.py, then prints
# the C++ (gcovr) and Python totals per area and fails under each area's floor
# (tools/coverage_report.py). Needs gcovr and coverage (pip). Arguments go to pytest; --uncovered
# in COVERAGE_REPORT_ARGS lists the lines no test runs.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${FUSEDNET_COVERAGE_BUILD_DIR:-build/coverage}
py=${PYTHON:-python3}

gen=()
if command -v ninja >/dev/null && [ ! -f "$build/CMakeCache.txt" ]; then gen=(-G Ninja); fi
cmake -S . -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DFUSEDNET_CUDA=OFF \
  -DFUSEDNET_COVERAGE=ON -DCMAKE_INTERPROCEDURAL_OPTIMIZATION=OFF \
  -DPython_EXECUTABLE="$(command -v "$py")" \
  -Dpybind11_DIR="$("$py" -m pybind11 --cmakedir)" >/dev/null
cmake --build "$build" --target _core -j "${JOBS:-2}"

stage=$PWD/$build/stage
rm -rf "$stage"
mkdir -p "$stage"
cp -R python/fusednet "$stage/"
find "$stage" \( -name '_core*.so' -o -name '_core*.pyd' -o -name __pycache__ \) -prune \
  -exec rm -rf {} +
cp "$build"/_core*.so "$stage/fusednet/"
find "$build" -name '*.gcda' -delete  # the counts of this run only

export PYTHONPATH=$stage
"$py" -c 'import fusednet, os; assert fusednet.__file__.startswith(os.environ["PYTHONPATH"])'
rc=0
# test_netcuda_mock.py runs an executable of its own build, which these counters do not see.
"$py" -m coverage run --data-file="$build/.coverage" --source="$stage/fusednet" \
  -m pytest -q -p no:cacheprovider --ignore=tests/test_netcuda_mock.py "$@" || rc=$?
"$py" -m coverage json -q --data-file="$build/.coverage" -o "$build/python.json"
# The gemm micro-kernel's inner lines run billions of times over the suite: real counts, not
# gcov's overflow bug that gcovr's suspicious-hits check is for.
"$py" -m gcovr -r . --object-directory "$build" --filter 'csrc/' -j "${JOBS:-2}" \
  --gcov-ignore-parse-errors=negative_hits.warn_once_per_file \
  --gcov-suspicious-hits-threshold 0 --json "$build/cpp.json" "$build"
"$py" tools/coverage_report.py --cpp "$build/cpp.json" --python "$build/python.json" \
  --stage "$stage" ${COVERAGE_REPORT_ARGS:-} || rc=$?
exit $rc
