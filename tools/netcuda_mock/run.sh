#!/usr/bin/env bash
# Runs a CUDA Net (csrc/net/ with FUSEDNET_WITH_CUDA) on host stand-ins of the CUDA launchers
# against a CPU Net (no GPU needed). Needs the CPU kernel objects of a dev build
# (tools/dev_build.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
obj=build/dev/CMakeFiles/_core.dir/csrc
out=${TMPDIR:-/tmp}/netcuda_mock_$$
g++ -std=c++17 -O1 -g -DFUSEDNET_WITH_CUDA=1 -Icsrc -o "$out" \
  tools/netcuda_mock/main.cpp tools/netcuda_mock/mock_cuda.cpp csrc/net/*.cpp \
  $obj/runtime/isa.cpp.o $obj/runtime/thread_pool.cpp.o $obj/runtime/precision.cpp.o \
  $obj/kernels/cpu/*.o -pthread
"$out"
rm -f "$out"
