"""Runs the hypothesis properties of tests/property/props_api.py in a child pytest, so that a
crash in genaug fails these tests instead of killing the suite; one test here per property."""

import sys
import xml.etree.ElementTree as ET

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


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """{property: None if it passed, else its failure report}, and the child's output."""
    report = tmp_path_factory.mktemp("properties") / "report.xml"
    module = TESTS / "property" / "props_api.py"
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}"]
    proc = run_command([*cmd, str(module)], timeout=300)
    results = {}
    if report.exists():
        for case in ET.parse(report).iter("testcase"):
            problems = [case.find(tag) for tag in ("failure", "error", "skipped")]
            text = "\n".join(
                f"{p.get('message', '')}\n{p.text or ''}" for p in problems if p is not None
            )
            results[case.get("name")] = text or None
    return results, proc


@pytest.mark.parametrize("name", PROPERTIES)
def test_property(outcomes, name):
    results, proc = outcomes
    assert name in results, f"the property run crashed\n{tail(proc.stdout, proc.stderr)}"
    assert results[name] is None, results[name][-8000:]


def test_every_property_ran(outcomes):
    results, proc = outcomes
    assert sorted(results) == sorted(PROPERTIES), tail(proc.stdout, proc.stderr)
