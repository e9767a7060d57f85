"""A reader-writer lock for the Python side of a model (``CudaNet``'s host mirrors), with the
semantics of the C++ one in csrc/bind/bind_net.cpp: readers (predict, evaluate) run at once; a
writer (training, updates, the explicit loop) waits for the running readers, and new readers wait
for a waiting writer (so a fit is not starved by a stream of predictions). The thread holding the
write lock may read (a fit's callback predicting) but not write again (RuntimeError)."""

from __future__ import annotations

import contextlib
import threading


class RWLock:
    def __init__(self):
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writers_waiting = 0
        self._writer = None  # the ident of the thread holding the write lock

    @contextlib.contextmanager
    def reading(self):
        """Yields True when this thread holds the write lock (a nested read)."""
        me = threading.get_ident()
        with self._cond:
            nested = self._writer == me
            if not nested:
                while self._writer is not None or self._writers_waiting:
                    self._cond.wait()
                self._readers += 1
        try:
            yield nested
        finally:
            if not nested:
                with self._cond:
                    self._readers -= 1
                    if not self._readers:
                        self._cond.notify_all()

    @contextlib.contextmanager
    def writing(self):
        me = threading.get_ident()
        with self._cond:
            if self._writer == me:
                raise RuntimeError(
                    "this model is being trained or updated by this very thread (a callback of "
                    "fit?); it cannot be changed from inside that call"
                )
            self._writers_waiting += 1
            try:
                while self._writer is not None or self._readers:
                    self._cond.wait()
            finally:
                self._writers_waiting -= 1
            self._writer = me
        try:
            yield
        finally:
            with self._cond:
                self._writer = None
                self._cond.notify_all()
