"""Every Python block of the README runs, in order and in one namespace, as a reader pasting
them into one session would run them: the README cannot drift from the code."""

import re
from pathlib import Path

import pytest

README = Path(__file__).parent.parent / "README.md"


def python_blocks() -> list[tuple[int, str]]:
    text = README.read_text()
    return [
        (text[: m.start()].count("\n") + 2, m.group(1))
        for m in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M)
    ]


def test_readme_has_python_blocks():
    assert len(python_blocks()) >= 6


@pytest.mark.filterwarnings("ignore")
def test_readme_python_blocks_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the blocks save checkpoints and figures
    namespace: dict = {"__name__": "__readme__"}
    for line, code in python_blocks():
        # The file name and line make a failure's traceback point into the README.
        exec(compile(code, f"README.md (block at line {line})", "exec"), namespace)
    assert (tmp_path / "figures" / "losses.png").stat().st_size > 0
