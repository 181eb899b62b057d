"""A real SIGINT during fit: KeyboardInterrupt soon after, the model usable at its last epoch,
and fit(resume=True) continuing as if training had never stopped."""

import signal
import subprocess
import sys
import time

TRAIN_UNTIL_INTERRUPTED = """
import sys
import numpy as np
import genaug
x = np.random.default_rng(0).random((4000, 64))
vae = genaug.VAE(seed=0)
def announce(stats):
    if stats["epoch"] == 2:
        print("training", flush=True)
try:
    vae.fit(x, epochs=10_000, progress=False, callbacks=[announce])
except KeyboardInterrupt:
    done = len(vae.history)
    print("interrupted", done, vae.sample(3).shape, flush=True)
    vae.fit(x, epochs=done + 2, progress=False, resume=True)
    unbroken = genaug.VAE(seed=0).fit(x, epochs=done + 2, progress=False)
    same = [s["loss"] for s in vae.history] == [s["loss"] for s in unbroken.history]
    print("resumed", same, np.array_equal(vae.sample(5, seed=1), unbroken.sample(5, seed=1)))
    sys.exit(0)
sys.exit(1)
"""


def interrupt(script: str, ready: str, timeout: float) -> tuple[str, float, str]:
    """Runs `script` in a child, sends it SIGINT once it prints `ready`, and returns the line
    it prints next, the seconds until that line, and the rest of its output (it must exit 0)."""
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        # A shell may start children with SIGINT ignored; Python then installs no handler.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == ready
    sent = time.monotonic()
    child.send_signal(signal.SIGINT)
    interrupted = child.stdout.readline()
    elapsed = time.monotonic() - sent
    out, _ = child.communicate(timeout=timeout)
    assert child.returncode == 0, interrupted + out
    return interrupted, elapsed, out


def test_sigint_stops_fit_and_keeps_the_model():
    interrupted, elapsed, out = interrupt(TRAIN_UNTIL_INTERRUPTED, "training", timeout=120)
    word, epochs, shape = interrupted.split(" ", 2)
    assert word == "interrupted" and int(epochs) >= 2 and shape.strip() == "(3, 64)"
    # Signals are checked every 0.1 s between minibatches; generous for a busy machine.
    assert elapsed < 5
    assert out.split() == ["resumed", "True", "True"]


# One epoch, then the fit's end work: the outlier threshold scores the training rows, here with
# a 4,000-way one-hot column, many seconds of decoding.
INTERRUPTED_AT_THE_END = """
import sys, warnings
import numpy as np, pandas as pd
import genaug
warnings.simplefilter("ignore", genaug.DataWarning)
rng = np.random.default_rng(0)
frame = pd.DataFrame({"id": [f"row {i}" for i in range(4000)], "v": rng.normal(size=4000)})
vae = genaug.VAE(seed=0)
def announce(stats):
    print("ending", flush=True)
try:
    vae.fit(frame, epochs=1, progress=False, callbacks=[announce])
except KeyboardInterrupt:
    try:
        vae.predict(frame.head(3))
    except genaug.NotFittedError:
        print("interrupted", len(vae.history), vae.sample(3).shape, flush=True)
    vae.fit(frame, epochs=1, progress=False, resume=True)
    print("resumed", len(vae.history), vae.predict(frame.head(3)).shape, flush=True)
    sys.exit(0)
sys.exit(1)
"""


def test_sigint_stops_the_end_of_fit_and_resume_finishes_it():
    interrupted, elapsed, out = interrupt(INTERRUPTED_AT_THE_END, "ending", timeout=300)
    # Without a check between its chunks the end work runs on for about 18.5 s on 2 cores.
    assert interrupted.split() == ["interrupted", "1", "(3,", "2)"] and elapsed < 5
    assert out.split() == ["resumed", "1", "(3,)"]
