#!/usr/bin/env bash
# One-shot GPU check for fusednet's CUDA backend (issue 5).
#
#   bench/gpu_check.sh [--dry-run] OUTDIR
#
# Needs: an NVIDIA GPU + driver, the CUDA toolkit (nvcc), and python with pybind11,
# scikit-build-core, numpy, pytest installed (PyTorch optional). Uses NO network.
# Steps: environment -> build (pip install --no-build-isolation, FUSEDNET_CUDA=ON) -> import ->
# tests (every test marked `cuda`: the device="cuda" cases of the family tests, test_net.py's GPU
# tests, test_backends.py; but the TF32 kernels) -> bench (bench/gpu_bench.py) ->
# tests_tf32 (the TF32 tests of tests/test_gemm_cuda.py) -> sanitize (bench/gpu_sanitize.py under
# compute-sanitizer memcheck and racecheck) -> report.
# Writes OUTDIR/report.txt and OUTDIR/report.json (+ logs). A failure up to import stops the run
# at once, naming the step; from the tests on, each step runs under its own time limit whatever
# the earlier ones gave (one run on a GPU is scarce: a failing test must not cost the figures),
# and the run ends with exit status 1 naming every failed step. Budget: under 6 minutes on an
# H100/H200.
# --dry-run prints the steps without running them (checks the script itself; no GPU needed).
# Environment: PYTHON (default python3), JOBS (build jobs, default nproc), PIP_ARGS (extra pip
# install flags, e.g. --user or --break-system-packages where the environment needs them),
# SANITIZE=0 skips the compute-sanitizer step.
set -euo pipefail

DRY=0
if [[ "${1:-}" == "--dry-run" ]]; then
  DRY=1
  shift
fi
if [[ $# -ne 1 ]]; then
  echo "usage: $0 [--dry-run] OUTDIR" >&2
  exit 2
fi

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
PY=${PYTHON:-python3}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 4)}
STEP="setup"
T0=$(date +%s)
FAILED=()
FINISHED=0

report() { echo "$*" | tee -a "$OUT/report.txt"; }
on_exit() {
  local rc=$?
  if [[ $rc -ne 0 ]] && (( ! FINISHED )); then
    report "gpu_check: FAILED at step '$STEP' (exit $rc) after $(( $(date +%s) - T0 )) s; logs in $OUT"
  fi
}
trap on_exit EXIT

step() {
  STEP=$1
  echo "=== step: $1"
}
# run LIMIT_S LOG CMD...: runs CMD (or prints it with --dry-run) under a time limit, logging.
run() {
  local limit=$1 log=$2
  shift 2
  if (( DRY )); then
    echo "  would run (limit ${limit}s, log $log): $*"
    return 0
  fi
  # A pipeline (not a process substitution): the log is complete when run returns, and with
  # pipefail the status is the command's.
  timeout "$limit" "$@" 2>&1 | tee "$OUT/$log"
}
# attempt LIMIT LOG CMD...: run, but a failure only marks the current step as failed.
attempt() {
  run "$@" || {
    local rc=$?
    FAILED+=("$STEP")
    report "$STEP: FAILED (exit $rc$( ((rc == 124)) && echo ": over its ${1} s limit")); log $OUT/$2"
    return 0
  }
}

: > "$OUT/report.txt"
cd "$REPO"

step "environment"
if (( ! DRY )); then
  command -v nvidia-smi >/dev/null || { echo "nvidia-smi not found: no NVIDIA driver here"; exit 1; }
  command -v nvcc >/dev/null || { echo "nvcc not found: install the CUDA toolkit"; exit 1; }
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
  nvcc --version | tail -1
  "$PY" -c "import pybind11, scikit_build_core, numpy, pytest; print('python deps ok')"
  report "gpu: $(head -1 "$OUT/gpu.txt"); $(nvcc --version | tail -1)"
fi

step "build"
BUILD_T0=$(date +%s)
# A system Python marked externally managed (PEP 668) refuses pip outside a venv.
if (( ! DRY )) && [[ -z "${PIP_ARGS:-}" ]] && "$PY" -c '
import os, sys, sysconfig
managed = os.path.exists(os.path.join(sysconfig.get_paths()["stdlib"], "EXTERNALLY-MANAGED"))
sys.exit(0 if managed and sys.prefix == sys.base_prefix else 1)'; then
  PIP_ARGS=--break-system-packages
  echo "externally managed python: installing with $PIP_ARGS"
fi
export FUSEDNET_CUDA=ON CMAKE_BUILD_PARALLEL_LEVEL=$JOBS
# shellcheck disable=SC2086  # PIP_ARGS is a list of flags
run 200 build.log "$PY" -m pip install --no-build-isolation --no-deps --no-index -v ${PIP_ARGS:-} .
(( DRY )) || report "build: $(( $(date +%s) - BUILD_T0 )) s (FUSEDNET_CUDA=ON, $JOBS jobs)"

step "import"
# Run from OUTDIR so the installed package is imported, not the source tree.
(cd "$OUT" && run 30 import.log "$PY" -c "
import json, fusednet
b = fusednet.backends()
print(json.dumps(b['cuda'], indent=1))
assert b['cuda']['compiled'], 'fusednet was installed without CUDA'
assert b['cuda']['available'], 'CUDA not available: ' + b['cuda']['reason']
")

step "tests"
# The family tests run every op on each device (the `device` fixture); conftest.py marks the
# CUDA cases `cuda` (so are test_net.py's GPU tests and test_backends.py): select those.
attempt 120 pytest.log "$PY" -m pytest -q -p no:cacheprovider tests -m cuda -k "not tf32" \
  --junitxml="$OUT/pytest.xml"
(( DRY )) || report "tests: $(tail -1 "$OUT/pytest.log")"

step "bench"
cd "$OUT"  # not a subshell: attempt records failures in this shell
attempt 120 bench.log "$PY" "$REPO/bench/gpu_bench.py" --out "$OUT"
cd "$REPO"

step "tests_tf32"
# TF32 kernels v1/v2 on every edge case (tests/test_gemm_cuda.py).
# FUSEDNET_GEMM_TF32_KERNEL=1 runs everything (tests and bench) on v1.
attempt 150 pytest_tf32.log "$PY" -m pytest -q -p no:cacheprovider tests/test_gemm_cuda.py -k tf32 \
  --junitxml="$OUT/pytest_tf32.xml"
(( DRY )) || report "tests tf32: $(tail -1 "$OUT/pytest_tf32.log")"

step "sanitize"
# Every kernel family once more, on small odd shapes, under compute-sanitizer: out-of-bounds and
# uninitialised accesses (memcheck) and shared-memory races in the GEMM kernels (racecheck).
SANITIZER=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)
if [[ "${SANITIZE:-1}" == 0 ]]; then
  report "sanitize: skipped (SANITIZE=0)"
elif [[ -z "$SANITIZER" ]] && (( ! DRY )); then
  report "sanitize: skipped (compute-sanitizer not found)"
else
  SAN=(${SANITIZER:-compute-sanitizer} --error-exitcode 3 --print-limit 20)
  attempt 90 memcheck.log "${SAN[@]}" --tool memcheck "$PY" "$REPO/bench/gpu_sanitize.py" all
  attempt 60 racecheck.log "${SAN[@]}" --tool racecheck "$PY" "$REPO/bench/gpu_sanitize.py" \
    gemm_small
  (( DRY )) || report "sanitize: memcheck: $(tail -1 "$OUT/memcheck.log"); racecheck: $(tail -1 "$OUT/racecheck.log")"
fi

step "report"
FINISHED=1
if (( DRY )); then
  echo "dry run: all steps listed; nothing was run"
elif (( ${#FAILED[@]} )); then
  report "gpu_check: FAILED steps: ${FAILED[*]} ($(( $(date +%s) - T0 )) s); logs in $OUT"
  exit 1
else
  report "gpu_check: OK in $(( $(date +%s) - T0 )) s"
  echo "report: $OUT/report.txt, $OUT/report.json"
fi
