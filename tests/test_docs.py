"""The documentation stays navigable: a short README whose first screen says
how to run and test, and no broken relative link or anchor in it or docs/.

Reads Markdown files only (no TensorFlow); the checks take well under a second.
"""
import re
import unicodedata
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
README = PROJECT_ROOT / "README.md"
DOCS = sorted((PROJECT_ROOT / "docs").glob("*.md"))

README_MAX_BYTES = 12_000
FIRST_SCREEN_LINES = 25

_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE_CODE = re.compile(r"(`+)(.+?)\1")
# [text](target) or [text](target "title"); not images' inner links, not code.
_LINK = re.compile(r"(?<!\\)\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # http:, https:, mailto:, ...


def _prose_lines(text):
    """The lines outside fenced code blocks, with their line numbers."""
    in_fence = False
    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if not in_fence:
            yield number, line


def _plain_heading_text(markdown):
    """What a heading renders to: code spans' contents, links' text, no emphasis markers."""
    text = _INLINE_CODE.sub(lambda m: m.group(2).strip(), markdown)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"(\*\*|__|\*)(?=\S)(.+?)(?<=\S)\1", r"\2", text)
    return text


def github_slug(heading):
    """GitHub's anchor for a heading (github-slugger): lowercase, punctuation
    and symbols dropped (letters, digits, marks, '-' and '_' kept), each
    space a '-'."""
    kept = []
    for ch in _plain_heading_text(heading).strip().lower():
        if ch == " ":
            kept.append("-")
        elif ch in "-_" or unicodedata.category(ch)[0] in "LNM":
            kept.append(ch)
    return "".join(kept)


def anchors(path):
    """Every heading anchor of a Markdown file, duplicates numbered as GitHub does."""
    seen = {}
    result = set()
    for _, line in _prose_lines(path.read_text(encoding="utf-8")):
        match = _HEADING.match(line)
        if not match:
            continue
        slug = github_slug(match.group(2))
        if slug in seen:
            seen[slug] += 1
            slug = f"{slug}-{seen[slug]}"
        else:
            seen[slug] = 0
        result.add(slug)
    return result


def relative_links(path):
    """(line number, target) of every relative link outside code."""
    for number, line in _prose_lines(path.read_text(encoding="utf-8")):
        line = _INLINE_CODE.sub("", line)
        for match in _LINK.finditer(line):
            target = match.group(1)
            if not _EXTERNAL.match(target):
                yield number, target


def test_slugs_follow_githubs_rules():
    assert github_slug("What runs") == "what-runs"
    assert github_slug("Distributed training: `--strategy`") == "distributed-training---strategy"
    assert github_slug("The benchmark's printed output") == "the-benchmarks-printed-output"
    assert github_slug("1. Build and push the image") == "1-build-and-push-the-image"
    assert github_slug("Kubeflow only (`compile`, `deploy`)") == "kubeflow-only-compile-deploy"
    assert github_slug("Runs, lineage, **predict**") == "runs-lineage-predict"
    assert github_slug("a → b ≥ c_d") == "a--b--c_d"


def test_readme_is_short():
    size = len(README.read_bytes())
    assert size <= README_MAX_BYTES, (
        f"README.md is {size} bytes (limit {README_MAX_BYTES}): move detail into docs/"
    )


def test_readme_first_screen_shows_how_to_run_and_test():
    first_screen = README.read_text(encoding="utf-8").splitlines()[:FIRST_SCREEN_LINES]
    commands = [line.split("#")[0].strip() for line in first_screen]
    assert "make run" in commands, "the first screen of README.md must show `make run`"
    assert "make test" in commands, "the first screen of README.md must show `make test`"


def test_there_are_docs():
    assert DOCS, "docs/*.md not found"


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_relative_links_resolve(path):
    broken = []
    for number, target in relative_links(path):
        file_part, _, anchor = target.partition("#")
        target_path = (path.parent / file_part).resolve() if file_part else path
        where = f"{path.relative_to(PROJECT_ROOT)}:{number}: {target}"
        if not target_path.exists():
            broken.append(f"{where}: no such file")
        elif anchor and target_path.suffix == ".md" and anchor not in anchors(target_path):
            broken.append(f"{where}: no heading with that anchor in {target_path.name}")
    assert not broken, "broken links:\n" + "\n".join(broken)
