"""docs/writing-a-protocol.md runs as written: its commands in a fresh folder, in order, its
Python snippets there, every file it shows equals what `ppsim new protocol` wrote, and
every output it shows (a ``text output`` block) is what the commands before it printed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "writing-a-protocol.md"
FENCE = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", re.M | re.S)


def blocks() -> list[tuple[str, dict[str, str], str]]:
    """(language, options such as file=PATH, notest or output, text) of every fenced block."""
    out = []
    for lang, info, body in FENCE.findall(GUIDE.read_text()):
        options = dict(o.partition("=")[::2] for o in info.split())
        out.append((lang, options, body))
    return out


def _run(command: list[str] | str, cwd: Path) -> str:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "COLUMNS": "100"}
    proc = subprocess.run(command, shell=isinstance(command, str), cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (command, proc.stdout[-3000:], proc.stderr[-3000:])
    return proc.stdout


def _words(line: str) -> str:
    """A line of terminal output without its table's spacing."""
    return " ".join(line.split())


def test_the_guide_runs_as_written(tmp_path):
    cwd, ran, files, snippets, shown = tmp_path, [], 0, 0, 0
    printed: set[str] = set()  # the lines the last block of commands printed
    for lang, options, body in blocks():
        if lang == "sh" and "notest" not in options:
            printed = set()
            for line in filter(None, (raw.strip() for raw in body.splitlines())):
                if line.startswith("cd "):
                    cwd = cwd / line[3:]
                else:
                    ran.append((line, _run(line, cwd)))
                    printed |= {_words(out) for out in ran[-1][1].splitlines()}
        elif "output" in options:
            missing = [line for line in body.splitlines() if _words(line) not in printed]
            assert missing == [], "the guide shows output its commands no longer print"
            shown += 1
        elif "file" in options:
            assert (cwd / options["file"]).read_text() == body, options["file"]
            files += 1
        elif lang == "python":
            assert _run([sys.executable, "-c", body], cwd).split() == ["True", "2"]
            snippets += 1
    commands = [line for line, _ in ran]
    assert commands[0] == "ppsim new protocol dot_product" and "pytest" in commands
    assert files == 5 and snippets == 2 and shown == 1
    out = dict(ran)
    assert "ok=True" in out["ppsim run dot_product.toml"]
    assert "6 runs (6 ran now" in out["ppsim run sweep.toml --jobs 2"]
    assert re.search(r"\d+ passed", out["pytest"]) and "failed" not in out["pytest"]


def test_only_the_install_is_left_to_the_reader():
    """The one command the guide does not run is the install, which `make` does for the
    example package (examples/dot_product, the same files)."""
    skipped = [body.strip() for lang, options, body in blocks() if "notest" in options]
    assert skipped == ["pip install -e ."]
