#include "bind_util.h"

namespace fusednet {

void bind_net(py::module_& m) {}

}  // namespace fusednet
