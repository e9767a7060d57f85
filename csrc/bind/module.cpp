// The private extension fusednet._core: registered from one file per layer or op family
// (bind_<family>.cpp), each family binding its CPU and CUDA entry points side by side.
// Boring on purpose: check, release the GIL, call.
#include <pybind11/pybind11.h>

#include "bind/util.h"

namespace py = pybind11;
using namespace fusednet;

PYBIND11_MODULE(_core, m) {
  m.doc() = "fusednet private extension: CPU and CUDA kernels";

  bind_types(m);  // first: the other bindings take these enums
  bind_dlpack(m);  // before the ops: their arguments may be DLPackArray
  bind_runtime(m);
  bind_gemm(m);
  bind_bf16(m);
  bind_activation(m);
  bind_reduce(m);
  bind_norm(m);
  bind_loss(m);
  bind_optim(m);
  bind_metric(m);
  bind_net(m);
  bind_dist(m);
}
