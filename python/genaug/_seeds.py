"""Seeds derived from other seeds, for work split into independent parts (a dataset's blocks,
a generation job's chunks): each part's seed depends only on the numbers that name it."""

from __future__ import annotations

import numpy as np

# genaug takes seeds in [0, 2**63); staying below 2**62 leaves room for any derived use.
SEED_LIMIT = 2**62


def derived_seed(*parts: int) -> int:
    """A seed in ``[0, SEED_LIMIT)`` that depends only on ``parts`` (NumPy's ``SeedSequence``
    hashing, so nearby inputs give unrelated seeds)."""
    state = np.random.SeedSequence(list(parts)).generate_state(1, dtype=np.uint64)[0]
    return int(state) % SEED_LIMIT
