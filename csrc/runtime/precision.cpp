#include "runtime/precision.h"

#include <atomic>

namespace fusednet {

namespace {
std::atomic<bool> g_matmul_precision_high{false};
}  // namespace

void set_float32_matmul_precision_high(bool high) { g_matmul_precision_high = high; }
bool float32_matmul_precision_high() { return g_matmul_precision_high; }

}  // namespace fusednet
