#include "bind_util.h"

namespace fusednet {

void bind_loss(py::module_& m) {}

}  // namespace fusednet
