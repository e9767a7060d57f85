#!/usr/bin/env bash
# The op and model tests under AddressSanitizer + UndefinedBehaviorSanitizer: builds
# fusednet._core once more with -fsanitize=address,undefined (FUSEDNET_CUDA=OFF, its own build
# directory build/sanitize, incremental), stages it beside a copy of python/fusednet (the source
# tree is left alone, as tools/netcuda_mock/run_module.sh does) and runs pytest with libasan
# preloaded into the (uninstrumented) Python. Any report fails the run: ASan halts on its first
# error, and every UBSan check aborts (-fno-sanitize-recover=all). detect_leaks=0: CPython keeps
# its own allocations at exit, which are not leaks of ours. Arguments go to pytest instead of the
# default list of test files.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${FUSEDNET_SANITIZE_BUILD_DIR:-build/sanitize}
py=${PYTHON:-python3}
cxx=${CXX:-c++}
san="-fsanitize=address,undefined"
# RelWithDebInfo: the targets' own -O3, with symbols kept for the reports (pybind11 strips and
# links with LTO in Release, which would make the reports unreadable and the link slow).

gen=()
if command -v ninja >/dev/null && [ ! -f "$build/CMakeCache.txt" ]; then gen=(-G Ninja); fi
cmake -S . -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFUSEDNET_CUDA=OFF \
  -DCMAKE_CXX_COMPILER="$(command -v "$cxx")" \
  -DCMAKE_CXX_FLAGS="$san -fno-sanitize-recover=all -fno-omit-frame-pointer -g" \
  -DCMAKE_MODULE_LINKER_FLAGS="$san" -DCMAKE_SHARED_LINKER_FLAGS="$san" \
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

tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
  tests=(tests/test_activation.py tests/test_activation_device.py tests/test_gemm.py
    tests/test_gemm_cpu.py tests/test_loss.py tests/test_reduce.py tests/test_optim.py
    tests/test_threads.py tests/test_hostile.py tests/test_net.py tests/test_model.py
    tests/test_model_bad_inputs.py tests/test_model_callbacks.py tests/test_model_threads.py
    tests/test_divergence.py tests/test_tape.py tests/test_io.py tests/test_layers.py)
fi

asan=$("$cxx" -print-file-name=libasan.so)
[ -f "$asan" ] || { echo "sanitize.sh: libasan not found ($asan)" >&2; exit 1; }
export PYTHONPATH=$stage
# libstdc++ too: Python does not link it, and ASan's __cxa_throw interceptor needs it loaded when
# the runtime starts (otherwise the first C++ exception aborts in a CHECK).
export LD_PRELOAD="$asan $("$cxx" -print-file-name=libstdc++.so)"
export ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=1:detect_odr_violation=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# The staged module or nothing (an installed fusednet must not answer instead).
"$py" -c "import fusednet; assert fusednet.__file__.startswith('$stage'), fusednet.__file__"
exec "$py" -m pytest -q -p no:cacheprovider "${tests[@]}"
