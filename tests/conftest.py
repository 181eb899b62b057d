import os

# libtorch's thread pool on a small shared machine is slower than one thread, and one thread
# makes CPU results reproducible.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture
def blobs() -> tuple[np.ndarray, np.ndarray]:
    """Three well-separated classes of 5-feature float64 rows, 40 + 20 + 10 rows."""
    rng = np.random.default_rng(0)
    centres = np.array([[0.0] * 5, [5.0] * 5, [-5.0, 5.0, -5.0, 5.0, -5.0]])
    y = np.repeat([0, 1, 2], [40, 20, 10])
    x = centres[y] + rng.normal(scale=0.5, size=(len(y), 5))
    return x, y


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: long-running test (deselect with -m 'not slow')")
