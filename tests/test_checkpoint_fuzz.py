"""Checkpoints are untrusted input: every mutation of a checkpoint's bytes either loads (and
then samples or raises a GenaugError) or raises CheckpointError, and the mutations that break
the format (a field or tensor removed, a tensor added, reshaped or retyped, a foreign version or
model kind, an impossible network) raise CheckpointError. The fuzzing runs in a child process
(_checkpoint_fuzzer.py), so a crash fails the test instead of killing pytest."""

import json
import os
import sys

import genaug
import numpy as np
import pytest
from _helpers import TESTS, run_command, tail

FAST = ["vae-mlp", "vae-conv-labels", "gan-mlp-labels", "gan-conv", "vae-unfitted", "gan-unfitted"]
SLOW = ["vae-mlp-labels", "vae-conv", "gan-mlp", "gan-conv-labels"]


@pytest.mark.parametrize("variant", FAST + [pytest.param(v, marks=pytest.mark.slow) for v in SLOW])
def test_mutated_checkpoints_load_or_raise_checkpoint_error(variant):
    proc = run_command([sys.executable, str(TESTS / "_checkpoint_fuzzer.py"), variant], 300)
    assert proc.returncode == 0, tail(proc.stdout, proc.stderr)
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["control"] in ("loaded", "loaded unfitted")
    assert summary["bad"] == [], "\n".join(summary["bad"][:40])
    assert summary["misses"] == {}, "targeted mutations that did not raise CheckpointError:\n" + (
        "\n".join(f"{k}: {v}" for k, v in summary["misses"].items())
    )
    assert summary["counts"]["CheckpointError"] > 100


@pytest.fixture
def saved(blobs, tmp_path):
    x, y = blobs
    vae = genaug.VAE(latent_dim=2, hidden=(16,), device="cpu", seed=0)
    path = tmp_path / "model.safetensors"
    vae.fit(x, y, epochs=1, progress=False).save(path)
    return path


def test_load_a_directory(tmp_path):
    with pytest.raises(genaug.CheckpointError):
        genaug.load(tmp_path)


def test_load_a_missing_path(tmp_path):
    with pytest.raises(genaug.CheckpointError):
        genaug.load(tmp_path / "absent" / "model.safetensors")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads anything")
def test_load_without_read_permission(saved):
    saved.chmod(0)
    try:
        with pytest.raises(genaug.CheckpointError):
            genaug.load(saved)
    finally:
        saved.chmod(0o644)


@pytest.mark.parametrize("keep", [0, 4, 8, 100, -1])
def test_load_a_truncated_file(saved, keep):
    blob = saved.read_bytes()
    saved.write_bytes(blob[:keep] if keep >= 0 else blob[:-1])
    with pytest.raises(genaug.CheckpointError):
        genaug.load(saved)


def test_load_an_intact_file_still_works(saved, blobs):
    model = genaug.load(saved)
    assert model.sample(3, y=1).shape == (3, 5)
    assert isinstance(model.sample(3, y=np.int64(2)), np.ndarray)
