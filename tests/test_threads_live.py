"""A model being fitted on one thread stays usable from others: its properties answer at once,
`sample` returns the last completed epoch's rows without waiting for the fit, and a fit callback
may sample its own model (but not fit, save or serialise it)."""

import threading
import time

import genaug
import numpy as np
import pytest
from _helpers import child_json, fail_at


def small(kind="vae", seed=0):
    cls = genaug.VAE if kind == "vae" else genaug.GAN
    return cls(latent_dim=2, hidden=(16,), device="cpu", seed=seed)


def timed(call):
    start = time.perf_counter()
    value = call()
    return time.perf_counter() - start, value


class SlowFit:
    """Fits `model` on a daemon thread, calling `on_epoch` and then sleeping `pause` s after each
    epoch, until the block ends; entering waits for the first epoch."""

    def __init__(self, model, x, y=None, *, epochs=100, pause=0.05, on_epoch=None):
        self.model, self.errors = model, []
        self.first_epoch, self.stop = threading.Event(), threading.Event()

        def callback(stats):
            if on_epoch is not None:
                on_epoch(stats)
            self.first_epoch.set()
            time.sleep(pause)
            return not self.stop.is_set()

        def train():
            try:
                model.fit(x, y, epochs=epochs, callbacks=callback, progress=False)
            except BaseException as e:  # checked on exit
                self.errors.append(e)
            finally:
                self.first_epoch.set()

        self.thread = threading.Thread(target=train, daemon=True)

    def __enter__(self):
        self.thread.start()
        assert self.first_epoch.wait(30)
        return self

    @property
    def running(self):
        return self.thread.is_alive()

    def wait_for(self, event, timeout=30):
        """Waits for `event`, giving up early if the fit ends first."""
        deadline = time.monotonic() + timeout
        while not event.wait(0.05) and self.running and time.monotonic() < deadline:
            pass
        return event.is_set()

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive(), "the fit did not stop"
        assert not self.errors, self.errors


@pytest.mark.parametrize("kind", ["vae", "gan"])
def test_properties_answer_at_once_during_a_fit(blobs, kind):
    x, y = blobs
    model = small(kind)
    getters = {
        "history": lambda: model.history,
        "is_fitted": lambda: model.is_fitted,
        "device": lambda: model.device,
        "repr": lambda: repr(model),
        "classes_": lambda: model.classes_,
        "latent_dim": lambda: model.latent_dim,
    }
    with SlowFit(model, x, y, epochs=100) as fit:
        values = {}
        for name, get in getters.items():
            seconds, values[name] = timed(get)
            assert seconds < 0.5, f"{name} waited {seconds:.2f} s for the fit"
        assert fit.running
    assert len(values["history"]) >= 1 and "epoch" in values["history"][0]
    assert values["is_fitted"] is True
    assert values["device"] == "cpu"
    assert kind.upper() in values["repr"]
    assert values["classes_"] == [0, 1, 2] and values["latent_dim"] == 2


@pytest.mark.parametrize("kind", ["vae", "gan"])
def test_sample_during_a_fit_returns_at_once_with_a_completed_epochs_weights(blobs, kind):
    x, _ = blobs
    model = small(kind)
    per_epoch = []  # what the model gave, from its own callback, after each epoch
    with SlowFit(
        model, x, epochs=100, on_epoch=lambda s: per_epoch.append(model.sample(4, seed=1))
    ):
        taken = []
        for _ in range(5):
            seconds, out = timed(lambda: model.sample(4, seed=1))
            assert seconds < 0.5, f"sample waited {seconds:.2f} s for the fit"
            taken.append(out)
            time.sleep(0.1)
    assert len(per_epoch) >= 5
    for out in taken:
        assert out.shape == (4, 5)
        assert any(np.array_equal(out, done) for done in per_epoch)


def test_sample_while_a_callback_pauses_gives_that_epochs_rows(blobs):
    x, y = blobs
    vae = small()
    seen, at_epoch_3, resume = {}, threading.Event(), threading.Event()

    def pause_at_3(stats):
        seen[stats["epoch"]] = vae.sample(4, y=1, seed=1)
        if stats["epoch"] == 3:
            at_epoch_3.set()
            resume.wait(10)

    with SlowFit(vae, x, y, epochs=5, pause=0, on_epoch=pause_at_3) as fit:
        assert fit.wait_for(at_epoch_3), f"the fit ended first: {fit.errors}"
        seconds, out = timed(lambda: vae.sample(4, y=1, seed=1))
        resume.set()
    assert seconds < 0.5
    np.testing.assert_array_equal(out, seen[3])
    assert not np.array_equal(seen[2], seen[3])


@pytest.mark.parametrize("kind", ["vae", "gan"])
def test_a_callback_may_sample_its_own_model(blobs, kind):
    x, y = blobs
    model = small(kind)
    seen = []
    model.fit(
        x,
        y,
        epochs=3,
        callbacks=lambda stats: seen.append(model.sample(4, y=2, seed=1)),
        progress=False,
    )
    assert [s.shape for s in seen] == [(4, 5)] * 3
    # Each callback saw the epoch just completed: the last one sees the final weights. A VAE
    # fits the latent prior `sample` draws from when its fit ends, so its callbacks decode
    # N(0, I) draws, as a fit that an error ended after the last epoch does.
    final = model
    if kind == "vae":
        final = small(kind)
        with pytest.raises(RuntimeError, match="stop"):
            final.fit(x, y, epochs=3, callbacks=fail_at(3), progress=False)
        assert not np.array_equal(seen[-1], model.sample(4, y=2, seed=1))
    np.testing.assert_array_equal(seen[-1], final.sample(4, y=2, seed=1))
    assert not np.array_equal(seen[0], seen[-1])


@pytest.mark.parametrize("call", ["fit", "fit_resume", "save", "to_bytes"])
def test_a_callback_cannot_fit_save_or_serialise_its_own_model(blobs, tmp_path, call):
    x, y = blobs
    vae = small()
    calls = {
        "fit": lambda: vae.fit(x, y, epochs=1, progress=False),
        "fit_resume": lambda: vae.fit(x, y, epochs=9, resume=True, progress=False),
        "save": lambda: vae.save(tmp_path / "busy.safetensors"),
        "to_bytes": lambda: vae.to_bytes(),
    }

    def at_epoch_2(stats):
        if stats["epoch"] == 2:
            calls[call]()

    with pytest.raises(genaug.ModelBusyError):
        vae.fit(x, y, epochs=5, callbacks=at_epoch_2, progress=False)
    assert len(vae.history) == 2
    assert vae.sample(3, y=0).shape == (3, 5)
    assert not (tmp_path / "busy.safetensors").exists()


# Run in a child: if the two fits deadlock, their threads cannot be ended.
CROSSED = """
import threading

x, y = blobs()
a = genaug.VAE(latent_dim=2, hidden=(16,), device="cpu", seed=0).fit(x, y, epochs=1, progress=False)
b = genaug.VAE(latent_dim=2, hidden=(16,), device="cpu", seed=1).fit(x, y, epochs=1, progress=False)
outcomes, errors = {"a": [], "b": []}, []

def train(me, model, other):
    def callback(stats):
        try:
            outcomes[me].append(list(other.sample(2, y=0).shape))
        except genaug.ModelBusyError:
            outcomes[me].append("busy")
        time.sleep(0.002)

    try:
        model.fit(x, y, epochs=30, callbacks=callback, progress=False)
    except BaseException as e:
        errors.append(f"{me}: {type(e).__name__}: {e}")

threads = [
    threading.Thread(target=train, args=("a", a, b), daemon=True),
    threading.Thread(target=train, args=("b", b, a), daemon=True),
]
for t in threads:
    t.start()
deadline = time.monotonic() + 20
for t in threads:
    t.join(max(0.0, deadline - time.monotonic()))
alive = [t.is_alive() for t in threads]
print(json.dumps(dict(alive=alive, errors=errors, outcomes=outcomes)), flush=True)
os._exit(0)
"""


def test_two_fits_whose_callbacks_sample_each_others_model():
    result = child_json(CROSSED, timeout=60)
    assert result["alive"] == [False, False], "the two fits deadlocked"
    assert result["errors"] == []
    for outcomes in result["outcomes"].values():
        assert len(outcomes) == 30
        assert all(o in ([2, 5], "busy") for o in outcomes), outcomes
