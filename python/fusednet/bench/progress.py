"""What the bench is doing while a group runs (its table comes when the group ends). On a
terminal one line, overwritten in place (the case, then what of it is warming up or timed) and
erased before the table; otherwise a plain line per case and nothing else, so logs stay clean."""

from __future__ import annotations

import shutil

WIDTH = 120


class Progress:
    def __init__(self, stream):
        self.stream = stream  # None: silent
        self.tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)())
        self._shown = False

    def _width(self) -> int:
        return min(WIDTH, shutil.get_terminal_size((WIDTH, 24)).columns - 1)

    def _overwrite(self, text: str) -> None:
        self.stream.write("\r\033[K" + text[: self._width()])
        self.stream.flush()
        self._shown = True

    def case(self, text: str) -> None:
        """A case starts."""
        if self.stream is None:
            return
        if self.tty:
            self._overwrite(text)
        else:
            self.stream.write(text[:WIDTH] + "\n")
            self.stream.flush()

    def detail(self, text: str) -> None:
        """A step inside a case: on a terminal only."""
        if self.tty:
            self._overwrite(text)

    def clear(self) -> None:
        if self.tty and self._shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._shown = False
