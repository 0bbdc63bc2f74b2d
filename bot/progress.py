"""A small progress bar on stderr: redrawn in place on a terminal, one line per phase otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

_REDRAW_SECONDS = 0.1


class ProgressBar:
    """Call with (phase, done, total); a phase change finishes the previous phase's bar."""

    def __init__(self, labels: dict[str, str], stream: TextIO | None = None, width: int = 30):
        self.labels = labels
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._phase: str | None = None
        self._started = 0.0
        self._drawn = 0.0
        self._last = (0, None)  # type: tuple[int, int | None]

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        """Show `done` of `total` rows (total may be unknown) for `phase`."""
        now = time.monotonic()
        if phase != self._phase:
            self.finish()
            self._phase, self._started, self._drawn = phase, now, 0.0
        self._last = (done, total)
        if self.tty and now - self._drawn >= _REDRAW_SECONDS:
            self._drawn = now
            self.stream.write("\r" + self._line(now))
            self.stream.flush()

    def finish(self) -> None:
        """End the current phase's line."""
        if self._phase is None:
            return
        line = self._line(time.monotonic())
        self.stream.write(("\r" + line + "\n") if self.tty else (line + "\n"))
        self.stream.flush()
        self._phase = None

    def _line(self, now: float) -> str:
        done, total = self._last
        label = self.labels.get(self._phase or "", self._phase or "")
        elapsed = max(now - self._started, 1e-6)
        rate = f"{done / elapsed:,.0f} rows/s"
        if not total:
            return f"{label}: {done:,} rows  {rate}  {elapsed:.1f}s"
        shown = min(done, total)
        filled = int(self.width * shown / total)
        bar = "#" * filled + "-" * (self.width - filled)
        percent = 100 * shown // total
        return f"{label} [{bar}] {shown:,}/{total:,} {percent:3d}%  {rate}  {elapsed:.1f}s"
