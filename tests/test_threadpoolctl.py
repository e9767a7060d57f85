"""threadpoolctl sees fusednet's thread pool (python/fusednet/_threadpoolctl.py): threadpool_info()
lists it and threadpool_limits(n) limits it, as scikit-learn uses them against oversubscription."""

import subprocess
import sys

import pytest

import fusednet as fnet

threadpoolctl = pytest.importorskip("threadpoolctl", reason="threadpoolctl is optional")


def ours(info):
    return [lib for lib in info if lib["user_api"] == "fusednet"]


def test_threadpool_info_lists_the_pool(threads):
    threads(3)
    libs = ours(threadpoolctl.threadpool_info())
    assert len(libs) == 1, libs
    lib = libs[0]
    assert lib["internal_api"] == "fusednet" and lib["num_threads"] == 3
    assert lib["version"] == fnet.__version__
    assert "_core" in lib["filepath"]


def test_threadpool_limits_limits_the_pool_and_restores_it(threads):
    threads(2)
    with threadpoolctl.threadpool_limits(limits=1):
        assert fnet.get_num_threads() == 1
        assert ours(threadpoolctl.threadpool_info())[0]["num_threads"] == 1
    assert fnet.get_num_threads() == 2
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):  # another API: untouched
        assert fnet.get_num_threads() == 2
    with threadpoolctl.threadpool_limits(limits=4, user_api="fusednet"):
        assert fnet.get_num_threads() == 4
    assert fnet.get_num_threads() == 2


def test_threadpool_controller_limits_by_user_api(threads):
    threads(2)
    controller = threadpoolctl.ThreadpoolController()
    with controller.limit(limits=1, user_api="fusednet"):
        assert fnet.get_num_threads() == 1
    assert fnet.get_num_threads() == 2


def test_registered_on_import_in_a_fresh_process():
    """Importing fusednet is enough; threadpoolctl imported first or after both work."""
    code = (
        "import threadpoolctl, fusednet\n"
        "libs = [l for l in threadpoolctl.threadpool_info() if l['user_api'] == 'fusednet']\n"
        "assert len(libs) == 1, libs\n"
        "with threadpoolctl.threadpool_limits(1): assert fusednet.get_num_threads() == 1\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_c_entry_points_clamp_counts_below_one(threads):
    """threadpoolctl calls these through ctypes: no exception may cross the C boundary."""
    import ctypes

    lib = ctypes.CDLL(fnet._core.__file__)
    lib.fusednet_set_num_threads(0)
    assert fnet.get_num_threads() == 1 == lib.fusednet_get_num_threads()
    lib.fusednet_set_num_threads(3)
    assert fnet.get_num_threads() == 3
