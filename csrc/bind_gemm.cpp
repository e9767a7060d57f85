#include "bind_util.h"

namespace fusednet {

void bind_gemm(py::module_& m) {}

}  // namespace fusednet
