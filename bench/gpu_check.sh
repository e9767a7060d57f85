#!/usr/bin/env bash
# One-shot GPU check for fusednet's CUDA backend (issue 5).
#
#   bench/gpu_check.sh [--dry-run] OUTDIR
#
# Needs: an NVIDIA GPU + driver, the CUDA toolkit (nvcc), and python with pybind11,
# scikit-build-core, numpy, pytest installed (PyTorch optional). Uses NO network.
# Steps: environment -> build (pip install --no-build-isolation, FUSEDNET_CUDA=ON) -> import ->
# tests (pytest tests/test_cuda.py tests/test_net_cuda.py) -> bench (bench/gpu_bench.py) -> tests_tf32
# (tests/test_cuda_gemm_tf32.py, not fatal) -> report.
# Writes OUTDIR/report.txt and OUTDIR/report.json (+ logs); stops at the first failure, naming the
# step. Budget: under 6 minutes on an H100/H200.
# --dry-run prints the steps without running them (checks the script itself; no GPU needed).
# Environment: PYTHON (default python3), JOBS (build jobs, default nproc), PIP_ARGS (extra pip
# install flags, e.g. --user or --break-system-packages where the environment needs them).
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

report() { echo "$*" | tee -a "$OUT/report.txt"; }
on_exit() {
  local rc=$?
  if [[ $rc -ne 0 ]]; then
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
  timeout "$limit" "$@" > >(tee "$OUT/$log") 2>&1
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
run 120 pytest.log "$PY" -m pytest -q -p no:cacheprovider tests/test_cuda.py tests/test_net_cuda.py \
  --junitxml="$OUT/pytest.xml"
(( DRY )) || report "tests: $(tail -1 "$OUT/pytest.log")"

step "bench"
(cd "$OUT" && run 120 bench.log "$PY" "$REPO/bench/gpu_bench.py" --out "$OUT")

step "tests_tf32"
# TF32 kernels v1/v2 on every edge case (tests/test_cuda_gemm_tf32.py). Not fatal, and after the
# bench, so a v2 problem never costs the numbers. FUSEDNET_GEMM_TF32_KERNEL=1 runs everything on v1.
if run 150 pytest_tf32.log "$PY" -m pytest -q -p no:cacheprovider tests/test_cuda_gemm_tf32.py \
    --junitxml="$OUT/pytest_tf32.xml"; then :; fi
(( DRY )) || report "tests tf32: $(tail -1 "$OUT/pytest_tf32.log")"

step "report"
if (( DRY )); then
  echo "dry run: all steps listed; nothing was run"
else
  report "gpu_check: OK in $(( $(date +%s) - T0 )) s"
  echo "report: $OUT/report.txt, $OUT/report.json"
fi
