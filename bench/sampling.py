"""A process watched from a thread while it runs: the benchmarks' samplers.

`RssSampler` (bench/scale.py) keeps the RSS of a process and its children;
`CpuSampler` (bench/run.py) keeps its CPU seconds, to find idle stretches.
"""
import threading
import time
from typing import Dict, List, Tuple

import psutil


class Sampler(threading.Thread):
    """Calls `sample()` every `interval` s until `stop()` or the process ends."""

    def __init__(self, pid: int, interval: float):
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.interval = interval
        self._done = threading.Event()

    def sample(self) -> None:
        raise NotImplementedError

    def run(self):
        while not self._done.is_set():
            try:
                self.sample()
            except psutil.Error:  # the process has ended
                break
            self._done.wait(self.interval)

    def stop(self):
        self._done.set()
        self.join()


class RssSampler(Sampler):
    """The RSS of a process and of its descendants, summed."""

    def __init__(self, pid: int, interval: float = 0.2):
        super().__init__(pid, interval)
        self.samples: List[tuple] = []  # (epoch ms, main RSS, children's RSS summed)
        self.peak_main = 0
        self.peak_children = 0
        self.peak_per_child: Dict[int, tuple] = {}  # pid -> (peak RSS, command line)

    def sample(self) -> None:
        main = self.process.memory_info().rss
        children = 0
        for child in self.process.children(recursive=True):
            try:
                rss = child.memory_info().rss
                if rss > self.peak_per_child.get(child.pid, (0, ""))[0]:
                    self.peak_per_child[child.pid] = (rss, " ".join(child.cmdline())[:120])
                children += rss
            except psutil.Error:
                pass
        self.samples.append((time.time() * 1000, main, children))
        self.peak_main = max(self.peak_main, main)
        self.peak_children = max(self.peak_children, children)


class CpuSampler(Sampler):
    """A process's CPU seconds, user and system."""

    def __init__(self, pid: int, interval: float = 0.5):
        super().__init__(pid, interval)
        self.samples: List[Tuple[float, float]] = []  # (time.monotonic(), CPU seconds)

    def sample(self) -> None:
        times = self.process.cpu_times()
        self.samples.append((time.monotonic(), times.user + times.system))
