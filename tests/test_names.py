"""foundation/names.py: the names that cross layers, defined there and only there."""
import ast
import subprocess
import sys
from pathlib import Path

from foundation import names

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("foundation", "trainer_module", "components", "pipeline", "system", "bench")


def _string_constants(tree: ast.Module):
    """(line, name, value) of each module-level `NAME = "text"`, and of each
    string in a module-level tuple of them."""
    for node in tree.body:
        if not isinstance(node, ast.Assign):
            continue
        target = ", ".join(t.id for t in node.targets if isinstance(t, ast.Name))
        values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
        for value in values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                yield node.lineno, target, value.value


def test_no_module_defines_a_name_of_its_own_for_what_names_defines():
    defined = {value: name for name, value in vars(names).items() if name.isupper() and isinstance(value, str)}
    again = []
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            if path == ROOT / "foundation" / "names.py":
                continue
            for line, target, value in _string_constants(ast.parse(path.read_text())):
                if value in defined:
                    again.append(f"{path.relative_to(ROOT)}:{line} {target} = {value!r}: use names.{defined[value]}")
    assert not again, "\n".join(again)


def test_the_names_load_nothing():
    code = ("import sys; before = set(sys.modules); from foundation import names; "
            "assert not {m for m in set(sys.modules) - before if not m.startswith('foundation')}, "
            "sorted(set(sys.modules) - before)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
