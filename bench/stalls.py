"""The bare script's stalled epochs: idle seconds from the benchmark's CPU samples."""
import re
from typing import Dict, List, Tuple

# An epoch stalled when its process sat idle (under a tenth of a core) for
# this long in all: the tf.data autotune stall (docs/performance.md) idled
# the whole process for about 29 s. A machine running slowly is not idle.
STALL_IDLE_SECONDS = 5.0
IDLE_SHARE_OF_A_CORE = 0.1


def idle_seconds(samples: List[Tuple[float, float]], start: float, end: float) -> float:
    """Seconds in [start, end] the sampled process used under a tenth of a core."""
    return sum(
        t1 - t0 for (t0, c0), (t1, c1) in zip(samples, samples[1:])
        if start <= t0 and t1 <= end and c1 - c0 < IDLE_SHARE_OF_A_CORE * (t1 - t0)
    )


def bare_epochs(output: str, samples: List[Tuple[float, float]]) -> List[Dict[str, float]]:
    """The bare script's epochs: wall and CPU seconds, and idle seconds."""
    epochs = []
    for wall, cpu, end in re.findall(r"BENCH epoch wall=([0-9.]+) cpu=([0-9.]+) end=([0-9.]+)", output):
        wall, end = float(wall), float(end)
        epochs.append({"wall": wall, "cpu": float(cpu), "idle": idle_seconds(samples, end - wall, end)})
    return epochs
