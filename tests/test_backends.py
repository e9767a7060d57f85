import subprocess
import sys

import pytest

import fusednet as fnet


def test_backends_shape():
    b = fnet.backends()
    assert b["cpu"]["isa"] in ("generic", "avx2", "avx512")
    assert b["cpu"]["threads"] >= 1
    cuda = b["cuda"]
    assert isinstance(cuda["compiled"], bool) and isinstance(cuda["available"], bool)
    if not cuda["available"]:
        assert cuda["reason"].split(":")[0] in ("not compiled", "no driver", "driver too old",
                                                 "no device")


def test_import_does_not_touch_cuda():
    # With CUDA compiled in, import alone must not load the driver library.
    code = ("import fusednet, sys\n"
            "maps = open('/proc/self/maps').read() if sys.platform.startswith('linux') else ''\n"
            "print('libcuda.so' in maps)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_set_num_threads_roundtrip(threads):
    threads(1)
    assert fnet.get_num_threads() == 1
    threads(2)
    assert fnet.get_num_threads() == 2


@pytest.mark.parametrize("bad, exc", [(0, ValueError), (-3, ValueError), (1.5, TypeError),
                                      ("2", TypeError), (True, TypeError)])
def test_set_num_threads_rejects(bad, exc):
    with pytest.raises(exc, match="n: expected"):
        fnet.set_num_threads(bad)


def test_set_cpu_isa_rejects_unknown():
    with pytest.raises(ValueError, match="isa: expected one of"):
        fnet._core.set_cpu_isa("sse9")
