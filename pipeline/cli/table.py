"""Terminal tables: columns padded to their widest cell, two spaces apart."""
from typing import List, Optional, Sequence


def format_table(
    headers: Optional[Sequence[str]], rows: Sequence[Sequence[object]], indent: int = 0
) -> List[str]:
    """The table's lines, without trailing spaces; `headers` None: no header line."""
    table = [[str(cell) for cell in row] for row in ([headers] if headers else []) + list(rows)]
    if not table:
        return []
    widths = [max(len(row[i]) for row in table if i < len(row)) for i in range(max(map(len, table)))]
    pad = " " * indent
    return [pad + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table]
