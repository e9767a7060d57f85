"""A threadpoolctl controller for fusednet's own thread pool (threadpoolctl is optional).

threadpoolctl finds thread pools among the loaded shared libraries by file name and calls them
through ctypes; ``fusednet._core`` exports ``fusednet_get_num_threads`` and
``fusednet_set_num_threads`` (csrc/runtime/thread_pool_c_api.cpp) for it. Once registered (on
``import fusednet`` when threadpoolctl is importable, else never), ``threadpool_info()`` lists
``{"user_api": "fusednet", "internal_api": "fusednet", ...}`` and ``threadpool_limits(n)`` (what
scikit-learn uses against oversubscription) limits the pool, like ``fusednet.set_num_threads``.
"""

from __future__ import annotations

import importlib.util

_registered = False


def register(version: str) -> bool:
    """Registers the controller (reporting `version`) once; False when threadpoolctl is not
    installed."""
    global _registered
    if _registered:
        return True
    if importlib.util.find_spec("threadpoolctl") is None:
        return False
    import threadpoolctl

    if not hasattr(threadpoolctl, "register") or not hasattr(threadpoolctl, "LibController"):
        return False  # an older threadpoolctl, without the API for third-party pools

    class FusednetController(threadpoolctl.LibController):
        user_api = "fusednet"
        internal_api = "fusednet"
        filename_prefixes = ("_core",)
        # Other packages' modules are also named _core.*.so: only ours has these symbols.
        check_symbols = ("fusednet_get_num_threads", "fusednet_set_num_threads")

        def get_num_threads(self):
            get = getattr(self.dynlib, "fusednet_get_num_threads", None)
            return None if get is None else get()

        def set_num_threads(self, num_threads):
            set_ = getattr(self.dynlib, "fusednet_set_num_threads", None)
            return None if set_ is None else set_(int(num_threads))

        def get_version(self):
            return version

    threadpoolctl.register(FusednetController)
    _registered = True
    return True
