// The pool's thread count as plain C symbols, exported from the module so that threadpoolctl (which
// finds libraries among the loaded shared objects and calls them through ctypes) can read and limit
// it: python/fusednet/_threadpoolctl.py registers the controller. threadpoolctl also checks these
// names to tell our _core apart from other libraries' modules of the same file name.
#include "runtime/thread_pool.h"

#if defined(_WIN32)
#define FUSEDNET_C_EXPORT extern "C" __declspec(dllexport)
#else
#define FUSEDNET_C_EXPORT extern "C" __attribute__((visibility("default")))
#endif

FUSEDNET_C_EXPORT int fusednet_get_num_threads(void) { return fusednet::num_threads(); }

// Values below 1 mean 1: an exception must not cross the C boundary.
FUSEDNET_C_EXPORT void fusednet_set_num_threads(int n) { fusednet::set_num_threads(n < 1 ? 1 : n); }
