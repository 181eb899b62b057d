"""Helpers for tests that run code in a child Python process, so that a crash or a hang fails
one test instead of killing or hanging the whole suite."""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parent

# Run before every child script: one libtorch thread, and the conftest's `blobs` data.
PRELUDE = """\
import os
os.environ.setdefault("OMP_NUM_THREADS", "1")
import torch
torch.set_num_threads(1)
import json, sys, time
import numpy as np
import genaug


def blobs():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0] * 5, [5.0] * 5, [-5.0, 5.0, -5.0, 5.0, -5.0]])
    y = np.repeat([0, 1, 2], [40, 20, 10])
    x = centres[y] + rng.normal(scale=0.5, size=(len(y), 5))
    return x, y

"""


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS), env.get("PYTHONPATH")]))
    return env


def run_command(cmd: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Runs `cmd` in its own process group; on timeout kills the group (forked grandchildren
    included) and fails the test."""
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"child process timed out after {timeout} s\n{tail(out, err)}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def run_child(script: str, timeout: float = 60, *args: str) -> subprocess.CompletedProcess[str]:
    """Runs `script` (dedented, after PRELUDE) with `python -c`; `args` become sys.argv[1:]."""
    code = PRELUDE + textwrap.dedent(script)
    return run_command([sys.executable, "-c", code, *args], timeout)


def tail(out: str, err: str, chars: int = 4000) -> str:
    return f"--- stdout ---\n{out[-chars:]}\n--- stderr ---\n{err[-chars:]}"


def child_json(script: str, timeout: float = 60, *args: str) -> Any:
    """Runs `script` in a child, asserts that it exited 0, and returns the JSON value printed on
    its last line of output."""
    proc = run_child(script, timeout, *args)
    assert proc.returncode == 0, f"child exited {proc.returncode}\n{tail(proc.stdout, proc.stderr)}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def with_metadata(blob: bytes, change: Callable[[dict[str, str]], None]) -> bytes:
    """A checkpoint's safetensors bytes with `change` applied to its metadata in place."""
    (size,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + size])
    change(header["__metadata__"])
    encoded = json.dumps(header).encode()
    return struct.pack("<Q", len(encoded)) + encoded + blob[8 + size :]


def fail_at(epoch: int):
    """A fit callback that raises RuntimeError("stop") after `epoch` completes."""

    def callback(stats: dict) -> None:
        if stats["epoch"] == epoch:
            raise RuntimeError("stop")

    return callback
