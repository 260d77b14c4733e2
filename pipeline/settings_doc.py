"""The settings tables of docs/configuration.md, made from the settings'
declarations (foundation/settings.py), so the docs say what the code takes.

    .venv/bin/python -m pipeline.settings_doc      # rewrites the tables in place

Each table sits between `<!-- settings: GROUP -->` and `<!-- /settings -->`;
tests/test_settings.py fails when one differs from what this makes.
"""
import os
import re
from typing import Dict, List

from foundation import settings
from pipeline import config as config_lib

DOC = os.path.join(config_lib.PROJECT_ROOT, "docs", "configuration.md")
HEADER = ["| setting | flag | environment | takes | default |", "| --- | --- | --- | --- | --- |"]
_TABLE = re.compile(r"(<!-- settings: (?P<group>[a-z ]+) -->\n)(?P<rows>.*?)(<!-- /settings -->)", re.S)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _flag(name: str, field) -> str:
    flag = config_lib.flag_name(name)
    if settings.kind_of(field) == "bool":
        return f"`{flag}`, `--no-{flag[2:]}`"
    return f"`{flag}`"


def _takes(field) -> str:
    rule = settings.rule_of(field)
    if rule.choices:
        return ", ".join(f"`{choice}`" for choice in rule.choices)
    return settings.allowed(field)


def _setting(field) -> str:
    rule = settings.rule_of(field)
    if not rule.see:
        return rule.help
    page = rule.see.split("#")[0]
    return f"{rule.help} ([{page[:-3].replace('-', ' ')}]({rule.see}))"


def rows(group: str) -> List[str]:
    """The table of one group of settings (settings.GROUPS), header first."""
    lines = list(HEADER)
    for name, field in config_lib.fields().items():
        if settings.rule_of(field).group == group:
            cells = [_setting(field), _flag(name, field), f"`{config_lib.env_name(name)}`",
                     _takes(field), settings.default_text(field)]
            lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return lines


def tables(text: str) -> Dict[str, List[str]]:
    """The settings tables a document holds, by group."""
    return {m.group("group"): m.group("rows").splitlines() for m in _TABLE.finditer(text)}


def rewrite(text: str) -> str:
    """The document with every settings table made afresh."""
    return _TABLE.sub(lambda m: m.group(1) + "\n".join(rows(m.group("group"))) + "\n" + m.group(4), text)


def main() -> None:
    with open(DOC) as f:
        text = f.read()
    with open(DOC, "w") as f:
        f.write(rewrite(text))
    print(f"{DOC}: settings tables written from the declarations")


if __name__ == "__main__":
    from pipeline.process import boundary

    boundary.run_entry(main)
