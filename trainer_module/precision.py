"""Which Keras dtype policy the Trainer computes in: float32, or
`mixed_bfloat16` (bfloat16 compute, float32 variables) on CPUs with bfloat16
units.

Without such units (AMX or AVX512-BF16) TensorFlow emulates bfloat16, slower
than float32, so `auto` picks it only where the CPU's flags show them. This
module imports no TensorFlow: the pipeline's configuration checks the setting
with it, and its choice is a pure function of the CPU's flags (tested with
made-up flag sets).
"""
from typing import Iterable, NamedTuple, Optional, Set

AUTO, FLOAT32, MIXED_BFLOAT16 = "auto", "float32", "mixed_bfloat16"
PRECISIONS = (AUTO, FLOAT32, MIXED_BFLOAT16)
# /proc/cpuinfo's names for the units oneDNN runs bfloat16 matmuls and
# convolutions on (Intel AMX since Sapphire Rapids, AVX512-BF16 since Cooper
# Lake and AMD Zen 4).
BF16_FLAGS = ("amx_bf16", "avx512_bf16")
CPUINFO = "/proc/cpuinfo"


class Choice(NamedTuple):
    setting: str  # what was asked for: one of PRECISIONS
    policy: str  # the Keras dtype policy used: FLOAT32 or MIXED_BFLOAT16
    reason: str

    def describe(self) -> str:
        return f"precision {self.policy} ({self.setting}: {self.reason})"


def cpu_flags(path: str = CPUINFO) -> Set[str]:
    """The first processor's feature flags (x86 `flags`, Arm `Features`);
    empty where the file is missing or names none."""
    try:
        with open(path) as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):
                    return set(value.split())
    except OSError:
        pass
    return set()


def choose(setting: str, flags: Optional[Iterable[str]] = None) -> Choice:
    """The policy for `setting`; `flags` (default: this CPU's) decide `auto`."""
    if setting not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {setting!r}")
    if setting == FLOAT32:
        return Choice(setting, FLOAT32, "as configured")
    if setting == MIXED_BFLOAT16:
        return Choice(setting, MIXED_BFLOAT16, "as configured")
    found = sorted(set(cpu_flags() if flags is None else flags) & set(BF16_FLAGS))
    if found:
        return Choice(setting, MIXED_BFLOAT16, f"the CPU has bfloat16 units: {', '.join(found)}")
    return Choice(
        setting, FLOAT32,
        f"the CPU has no bfloat16 units (none of {', '.join(BF16_FLAGS)}), "
        "so bfloat16 would be emulated",
    )
