#include "bind_util.h"

namespace fusednet {

void bind_cuda(py::module_& m) {}

}  // namespace fusednet
