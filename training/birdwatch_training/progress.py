"""A tiny progress bar (no dependency): redrawn with \\r on a terminal, silent otherwise."""
from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: int, desc: str = "", stream=None, width: int = 24):
        self.total, self.desc, self.width = max(int(total), 1), desc, width
        self.stream = stream or sys.stderr
        self.live = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.n, self.start, self.last = 0, time.time(), 0.0
        self.postfix = ""

    def update(self, n: int = 1, **postfix):
        self.n += n
        if postfix:
            self.postfix = " ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in postfix.items())
        now = time.time()
        if self.live and (now - self.last > 0.1 or self.n >= self.total):
            self.last = now
            frac = min(self.n / self.total, 1.0)
            bar = "#" * int(frac * self.width) + "." * (self.width - int(frac * self.width))
            self.stream.write(f"\r{self.desc} [{bar}] {self.n}/{self.total} {now - self.start:5.1f}s "
                              f"{self.postfix}\x1b[K")
            self.stream.flush()

    def close(self):
        if self.live:
            self.stream.write("\r\x1b[K")
            self.stream.flush()

    @property
    def elapsed(self) -> float:
        return time.time() - self.start
