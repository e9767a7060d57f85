#include "bind_util.h"

namespace fusednet {

void bind_optim(py::module_& m) {}

}  // namespace fusednet
