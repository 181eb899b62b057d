"""Runs the hypothesis properties of tests/property/props_api.py, each in a child pytest, so
that a crash in genaug fails that property's test instead of killing the suite."""

import sys

import pytest
from _helpers import TESTS, run_command, tail

PROPERTIES = [
    "test_sample",
    "test_augment_unconditional",
    "test_augment_with_labels",
    "test_score_encode_reconstruct",
    "test_fit",
    "test_network_sizes",
    "test_integer_arguments_beyond_64_bits_or_not_integers",
    "test_from_bytes_of_random_bytes",
]


@pytest.mark.parametrize("name", PROPERTIES)
def test_property(name):
    target = f"{TESTS / 'property' / 'props_api.py'}::{name}"
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", target]
    proc = run_command(cmd, timeout=240)
    assert proc.returncode == 0, tail(proc.stdout, proc.stderr, chars=8000)
    assert "1 passed" in proc.stdout
