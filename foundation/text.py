"""How the project words its results, on the terminal and on the report page:
tables, numbers, percentages, the Evaluator's verdict and the serving check's.

One place, so that `run`'s closing lines, `runs show`, `report`, the
ServingCheck's own line and the HTML page say the same thing the same way.
Pure functions of plain values; imports nothing.
"""
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

MISSING = "-"  # what a value that was not measured is shown as


def table(rows: Sequence[Sequence[object]], headers: Optional[Sequence[str]] = None, indent: int = 0) -> list:
    """The lines of a table: columns padded to their widest cell, two spaces
    apart, no trailing spaces; `headers` None: no header line."""
    cells = [[str(cell) for cell in row] for row in ([headers] if headers else []) + list(rows)]
    if not cells:
        return []
    widths = [max(len(row[i]) for row in cells if i < len(row)) for i in range(max(map(len, cells)))]
    pad = " " * indent
    return [pad + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in cells]


def pct(value: Optional[float], digits: int = 2) -> str:
    """0.9937 -> '99.37%'."""
    return MISSING if value is None else f"{value:.{digits}%}"


def number(value: Optional[float], signed: bool = False, digits: int = 4) -> str:
    """0.98 -> '0.9800'; signed: '+0.0012', for a change."""
    if value is None:
        return MISSING
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


# A failed check, for `verdict`: (digit, or None for the whole eval set;
# the check's short name, e.g. "accuracy change"; its condition, e.g.
# ">= 0.965"; the line that gives its value, e.g. "digit 3
# sparse_categorical_accuracy 0.9530, needs >= 0.965").
FailedCheck = Tuple[Optional[int], str, str, str]


def _digits(digits: Sequence[int]) -> str:
    return ("digit " if len(digits) == 1 else "digits ") + ", ".join(map(str, sorted(digits)))


def verdict(blessed: bool, failed: Sequence[FailedCheck] = (), note: str = "") -> List[str]:
    """The Evaluator's verdict: a short first line ('blessed: ...', or 'not
    blessed: failed ' and each failed check with its bar, the digits that
    failed one check together), then, not blessed, one indented line per
    failed check with its value. `note`: said after a blessing."""
    if blessed:
        return ["blessed: every threshold passed" + (f" ({note})" if note else "")]
    if not failed:
        return ["not blessed: TFMA's validation failed with no threshold named"]
    groups: Dict[Tuple[str, str], List[Optional[int]]] = {}
    for digit, check, condition, _ in failed:
        groups.setdefault((check, condition), []).append(digit)
    named = []
    for (check, condition), digits in groups.items():
        if None in digits:
            named.append(f"{check} {condition}")
        per_digit = [d for d in digits if d is not None]
        if per_digit:
            named.append(f"{_digits(per_digit)} {check} {condition}")
    return ["not blessed: failed " + "; ".join(named)] + ["  " + detail for *_, detail in failed]


def serving_verdict(blessed: bool, reasons: Union[str, Sequence[str]] = (),
                    p99_ms: Optional[Mapping[Union[int, str], float]] = None) -> str:
    """'serving check: passed (p99 batch 1 7.2 ms, batch 32 29.6 ms)', or
    'serving check: refused: <every reason>'. p99_ms: the worst p99 latency
    per batch size, over the signatures."""
    if not blessed:
        given = reasons if isinstance(reasons, str) else "; ".join(reasons)
        return "serving check: refused: " + (given or "no reason recorded")
    figures = ", ".join(f"batch {size} {ms:.1f} ms"
                        for size, ms in sorted((p99_ms or {}).items(), key=lambda item: int(item[0])))
    return "serving check: passed" + (f" (p99 {figures})" if figures else "")


def sentence(line: str) -> str:
    """The line with a capital first letter, for a line of its own."""
    return line[:1].upper() + line[1:]
