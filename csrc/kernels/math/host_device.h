// FN_HOST_DEVICE: marks a function of csrc/kernels/math/ as callable from host C++ and from CUDA
// kernels (nvcc), and is empty for the host compiler, so one definition serves both devices.
#pragma once

#if defined(__CUDACC__)
#define FN_HOST_DEVICE __host__ __device__
#else
#define FN_HOST_DEVICE
#endif
