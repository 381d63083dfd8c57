"""The README's "Run it on iExec" commands are exactly the ones the iExec lane runs.

Every command line of that section's ```bash blocks (trailing `# comment` removed) must be one the
lane runs (tests/iexec/commands.py), a line that needs a public network and says so, or shell
plumbing (export, make iexec-tools/build/push, cat); and every command the lane runs must be there.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.iexec import commands as C

README = Path(__file__).resolve().parent.parent / "README.md"
MARKER = "<!-- section: iexec (issue 5) -->"
PLUMBING = re.compile(r"^(export [A-Z_]+=|make (iexec-tools|build push)\b|cat )")


def section() -> str:
    text = README.read_text()
    start = text.index(MARKER)
    end = text.find("\n## ", start)
    return text[start : end if end != -1 else len(text)]


def command_lines() -> list[tuple[str, str]]:
    """(command, comment) of every line inside the section's bash blocks."""
    lines, inside = [], False
    for raw in section().splitlines():
        if raw.startswith("```"):
            inside = raw.strip() == "```bash"
            continue
        if not inside or not raw.strip() or raw.lstrip().startswith("#"):
            continue
        command, _, comment = raw.partition("  #")
        lines.append((command.strip(), comment.strip()))
    return lines


def test_every_tested_command_is_in_the_readme():
    commands = [c for c, _ in command_lines()]
    missing = [c for c in [*C.TESTED, *C.PUBLIC_ONLY] if c not in commands]
    assert not missing, f"README lacks these lines the tests run: {missing}"


def test_every_readme_command_is_tested_or_marked():
    for command, comment in command_lines():
        if command in C.TESTED or PLUMBING.match(command):
            continue
        assert command in C.PUBLIC_ONLY, f"README line not exercised by the iExec lane: {command!r}"
        assert "[public network]" in comment, f"{command!r} needs a public network: mark it"


def test_section_names_the_result_files_the_task_writes():
    from app.output import COCO_NAME, COMPUTED_NAME, RESULTS_NAME, TIMINGS_NAME

    text = section()
    for name in (COMPUTED_NAME, RESULTS_NAME, COCO_NAME, TIMINGS_NAME, "stdout.txt", "stderr.txt"):
        assert f"`{name}`" in text, name
