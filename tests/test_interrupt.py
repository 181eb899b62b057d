"""A real SIGINT during fit: KeyboardInterrupt soon after, the model usable at its last epoch."""

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
    print("interrupted", len(vae.history), vae.sample(3).shape, flush=True)
    sys.exit(0)
sys.exit(1)
"""


def test_sigint_stops_fit_and_keeps_the_model():
    child = subprocess.Popen(
        [sys.executable, "-c", TRAIN_UNTIL_INTERRUPTED],
        stdout=subprocess.PIPE,
        text=True,
        # A shell may start children with SIGINT ignored; Python then installs no handler.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "training"
    sent = time.monotonic()
    child.send_signal(signal.SIGINT)
    out, _ = child.communicate(timeout=60)
    elapsed = time.monotonic() - sent
    assert child.returncode == 0, out
    word, epochs, shape = out.split(" ", 2)
    assert word == "interrupted" and int(epochs) >= 2 and shape.strip() == "(3, 64)"
    assert elapsed < 10
