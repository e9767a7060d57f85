#include "bind_util.h"

namespace fusednet {

void bind_activation(py::module_& m) {}

}  // namespace fusednet
