"""The training progress bar (tqdm's ``auto`` bar: a widget in Jupyter, text in a terminal)."""

from __future__ import annotations

import sys
from typing import Any


def _interactive() -> bool:
    if "ipykernel" in sys.modules:
        return True
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def progress_bar(total: int, done: int, progress: bool | None, desc: str) -> Any | None:
    """A bar over ``total`` epochs with ``done`` already trained, or ``None`` when ``progress``
    is false (``None``: shown only when running interactively)."""
    if progress is None:
        progress = _interactive()
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=done, desc=desc, unit="epoch", leave=True)
