"""Sizes: requests whose result cannot fit in memory raise SizeError before allocating, `n` is
an integer (Python or NumPy) checked strictly, and a large sample keeps memory bounded."""

import json
import re

import genaug
import numpy as np
import pytest
from _helpers import child_json, run_child, tail

# Each case runs in one child process (an allocation of terabytes would abort it), which prints
# one JSON line per case as it goes: a crash then names the case it happened in.
HUGE_CASES = {
    "vae_sample": "vae.sample(10**10)",
    "vae_sample_2_62": "vae.sample(2**62)",
    "vae_sample_2_64": "vae.sample(2**64)",
    "vae_sample_numpy_int": "vae.sample(np.int64(10**12))",
    "cvae_sample": "cvae.sample(10**10, y=1)",
    "cvae_sample_seeded": "cvae.sample(10**10, y=1, seed=3)",
    "gan_sample": "gan.sample(10**10, y=0)",
    "vae_augment": "vae.augment(x, 10**12)",
    "cvae_augment_n": "cvae.augment(x, 10**12, labels=y)",
    "cvae_augment_strategy": "cvae.augment(x, labels=y, strategy={0: 10**10})",
    "cvae_augment_strategy_sum_overflows": (
        "cvae.augment(x, labels=y, strategy={0: 2**62, 1: 2**62, 2: 2**62})"
    ),
    "gan_augment_strategy": "gan.augment(x, labels=y, strategy={1: 10**10})",
}
# Networks too large to build: the constructor may refuse them (ParameterError), else fit must.
HUGE_NETS = {
    "vae_hidden": "genaug.VAE(hidden=(2**40,), device='cpu', seed=0)",
    "vae_latent": "genaug.VAE(latent_dim=2**62, hidden=(16,), device='cpu', seed=0)",
    "gan_hidden": "genaug.GAN(hidden=(2**40,), device='cpu', seed=0)",
    "gan_latent": "genaug.GAN(latent_dim=2**62, hidden=(16,), device='cpu', seed=0)",
}

CHILD = """
import resource

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

x, y = blobs()
small = dict(latent_dim=2, hidden=(16,), device="cpu", seed=0)
vae = genaug.VAE(**small).fit(x, epochs=1, progress=False)
cvae = genaug.VAE(**small).fit(x, y, epochs=1, progress=False)
gan = genaug.GAN(**small).fit(x, y, epochs=1, progress=False)
cases = json.loads(sys.argv[1])
nets = json.loads(sys.argv[2])

def report(name, stage, call):
    before, start = peak_mb(), time.perf_counter()
    try:
        result = call()
        error, message = None, repr(getattr(result, "shape", result))
    except BaseException as e:
        error, message = type(e).__name__, str(e)
    line = dict(case=name, stage=stage, error=error, message=message,
                seconds=time.perf_counter() - start, grew_mb=peak_mb() - before)
    print(json.dumps(line), flush=True)
    return error

for name, code in cases.items():
    report(name, "call", lambda: eval(code))
for name, code in nets.items():
    if report(name, "construct", lambda: eval(code)) is None:
        model = eval(code)
        report(name, "fit", lambda: model.fit(x, epochs=1, progress=False))
"""

# The requested size: a count of rows or bytes (plain, grouped or in e-notation), or in units.
NAMES_A_SIZE = re.compile(
    r"\d{10,}|\d{1,3}(?:[,_ ]\d{3}){3,}|\de\+?\d|\d(?:\.\d+)?\s*[KMGTPE]i?B\b|overflow",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def huge_results():
    proc = run_child(CHILD, 120, json.dumps(HUGE_CASES), json.dumps(HUGE_NETS))
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return {(r["case"], r["stage"]): r for r in lines}, proc


def check_size_error(result):
    assert result["error"] == "SizeError", result
    assert NAMES_A_SIZE.search(result["message"]), result["message"]
    # Raised before allocating: at once, and without touching much memory.
    assert result["seconds"] < 5, result
    assert result["grew_mb"] < 200, result


@pytest.mark.parametrize("case", sorted(HUGE_CASES))
def test_huge_requests_raise_size_error(huge_results, case):
    results, proc = huge_results
    result = results.get((case, "call"))
    assert result is not None, f"the child died before this case\n{tail(proc.stdout, proc.stderr)}"
    check_size_error(result)


@pytest.mark.parametrize("case", sorted(HUGE_NETS))
def test_huge_networks_are_refused(huge_results, case):
    results, proc = huge_results
    built = results.get((case, "construct"))
    assert built is not None, f"the child died before this case\n{tail(proc.stdout, proc.stderr)}"
    if built["error"] is not None:
        assert built["error"] in ("ParameterError", "SizeError"), built
        return
    fitted = results.get((case, "fit"))
    assert fitted is not None, f"the child died in fit\n{tail(proc.stdout, proc.stderr)}"
    check_size_error(fitted)


def test_the_child_survived_every_case(huge_results):
    results, proc = huge_results
    assert proc.returncode == 0, tail(proc.stdout, proc.stderr)


def test_size_error_is_a_genaug_memory_error():
    assert issubclass(genaug.SizeError, genaug.GenaugError)
    assert issubclass(genaug.SizeError, MemoryError)
    assert "SizeError" in genaug.__all__


@pytest.fixture
def models(blobs):
    x, y = blobs
    small = dict(latent_dim=2, hidden=(16,), device="cpu", seed=0)
    return {
        "vae": genaug.VAE(**small).fit(x, epochs=1, progress=False),
        "cvae": genaug.VAE(**small).fit(x, y, epochs=1, progress=False),
        "gan": genaug.GAN(**small).fit(x, epochs=1, progress=False),
    }


GOOD_N = [3, np.int8(3), np.uint8(3), np.int32(3), np.int64(3), np.uint64(3)]
BAD_N = [True, False, np.bool_(True), 3.0, 2.5, np.float64(3.0), "3", None, [3], b"3", 3 + 0j]


@pytest.mark.parametrize("n", GOOD_N, ids=repr)
def test_n_may_be_any_integer_type(models, blobs, n):
    x, y = blobs
    assert models["vae"].sample(n).shape == (3, 5)
    assert models["gan"].sample(n, seed=1).shape == (3, 5)
    assert models["cvae"].sample(n, y=2).shape == (3, 5)
    assert models["vae"].augment(x[:4], n).shape == (7, 5)
    x_aug, y_aug = models["cvae"].augment(x[:4], n, labels=y[:4])
    assert x_aug.shape == (7, 5) and y_aug.shape == (7,)


@pytest.mark.parametrize("n", BAD_N, ids=repr)
def test_n_of_another_type_is_a_parameter_error(models, blobs, n):
    x, _ = blobs
    with pytest.raises(genaug.ParameterError, match=r"\bn\b"):
        models["vae"].sample(n)
    with pytest.raises(genaug.ParameterError, match=r"\bn\b"):
        models["gan"].sample(n)
    if n is not None:  # augment(batch, None) is a conditional model's "balance"
        with pytest.raises(genaug.ParameterError, match=r"\bn\b"):
            models["vae"].augment(x[:4], n)


@pytest.mark.parametrize("n", [-1, np.int64(-1), -(2**63), -(2**70)], ids=repr)
def test_negative_n_is_a_parameter_error(models, blobs, n):
    x, y = blobs
    with pytest.raises(genaug.ParameterError):
        models["vae"].sample(n)
    with pytest.raises(genaug.ParameterError):
        models["cvae"].sample(n, y=0)
    with pytest.raises(genaug.ParameterError):
        models["vae"].augment(x[:4], n)
    with pytest.raises(genaug.ParameterError):
        models["cvae"].augment(x[:4], n, labels=y[:4])


def test_zero_rows(models, blobs):
    x, y = blobs
    for n in (0, np.int64(0)):
        out = models["vae"].sample(n)
        assert out.shape == (0, 5) and out.dtype == np.float64
        assert models["cvae"].sample(n, y=1).shape == (0, 5)
        assert models["gan"].sample(n).shape == (0, 5)
        np.testing.assert_array_equal(models["vae"].augment(x[:4], n), x[:4])
    images = np.random.default_rng(0).integers(0, 256, (8, 6, 3), dtype=np.uint8)
    seqs = genaug.VAE(latent_dim=2, hidden=(8,), device="cpu", seed=0).fit(
        images, epochs=1, progress=False
    )
    out = seqs.sample(0)
    assert out.shape == (0, 6, 3) and out.dtype == np.uint8


BOUNDED = """
import resource
from sklearn.datasets import load_digits

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

x, _ = load_digits(return_X_y=True)
vae = genaug.VAE(latent_dim=8, hidden=(64,), device="cpu", seed=0).fit(x, epochs=1, progress=False)
vae.sample(1000)
before = peak()
out = vae.sample(2_000_000)
after = peak()
print(json.dumps(dict(shape=out.shape, dtype=str(out.dtype), nbytes=out.nbytes,
                      grew=after - before, finite=bool(np.isfinite(out[::9973]).all()))))
"""


def test_large_sample_keeps_memory_bounded():
    result = child_json(BOUNDED, timeout=180)
    assert result["shape"] == [2_000_000, 64] and result["dtype"] == "float64"
    assert result["finite"]
    allowed = 2_000_000 * 64 * 8 + 256 * 2**20
    assert result["grew"] <= allowed, f"peak RSS grew by {result['grew'] / 2**20:.0f} MiB"
