"""fit(validation=, patience=): held-out loss in the history, stopping, best weights restored."""

import genaug
import numpy as np
import pytest
from _helpers import fail_at


def small_vae(**kwargs):
    return genaug.VAE(latent_dim=2, hidden=(64, 64), seed=0, **kwargs)


def overfit(x, y, **kwargs):
    # A wide net and a large step on 70 rows: the held-out loss soon stops improving.
    return small_vae().fit(x, y, epochs=300, batch_size=16, lr=1e-2, progress=False, **kwargs)


def test_validation_fraction_records_val_loss(blobs):
    x, y = blobs
    vae = small_vae().fit(x, y, epochs=4, validation=0.2, progress=False)
    assert [("val_loss" in stats) for stats in vae.history] == [True] * 4
    assert all(np.isfinite(stats["val_loss"]) and stats["val_loss"] > 0 for stats in vae.history)
    plain = small_vae().fit(x, y, epochs=4, progress=False)
    assert all("val_loss" not in stats for stats in plain.history)


def test_numpy_scalar_fraction_is_a_fraction(blobs):
    # Fractions often come out of NumPy (a config array, np.float32 hyperparameters).
    x, y = blobs

    def val_losses(fraction):
        vae = small_vae().fit(x, y, epochs=3, validation=fraction, progress=False)
        return [stats["val_loss"] for stats in vae.history]

    expected = val_losses(0.25)
    assert val_losses(np.float32(0.25)) == val_losses(np.float64(0.25)) == expected


def test_patience_stops_and_restores_the_best_epoch(blobs):
    x, y = blobs
    stopped = overfit(x, y, validation=0.3, patience=3)
    losses = [stats["val_loss"] for stats in stopped.history]
    best = int(np.argmin(losses)) + 1
    assert len(losses) < 300
    assert len(losses) == best + 3
    # The same run cut at the best epoch has the weights the stopped model was restored to.
    at_best = small_vae().fit(
        x, y, epochs=best, batch_size=16, lr=1e-2, validation=0.3, progress=False
    )
    assert [s["val_loss"] for s in at_best.history] == losses[:best]
    assert np.array_equal(stopped.sample(20, y=1, seed=4), at_best.sample(20, y=1, seed=4))

    # The same run with an error after its last epoch keeps that epoch's weights instead.
    last = small_vae()
    with pytest.raises(RuntimeError, match="stop"):
        last.fit(
            x,
            y,
            epochs=300,
            batch_size=16,
            lr=1e-2,
            validation=0.3,
            callbacks=fail_at(len(losses)),
            progress=False,
        )
    assert [s["val_loss"] for s in last.history] == losses
    assert not np.array_equal(stopped.sample(20, y=1, seed=4), last.sample(20, y=1, seed=4))


def test_validation_rows_of_their_own(blobs):
    x, y = blobs
    held = np.r_[0:8, 40:44, 60:62]
    vae = small_vae().fit(x, y, epochs=3, validation=(x[held], y[held]), progress=False)
    assert len(vae.history) == 3 and "val_loss" in vae.history[-1]
    unconditional = small_vae().fit(x, epochs=3, validation=x[held], progress=False)
    assert "val_loss" in unconditional.history[-1]


@pytest.mark.parametrize("loss", ["bce", "wgan-gp"])
def test_gan_val_loss_is_the_held_out_mmd(blobs, loss):
    x, y = blobs
    gan = genaug.GAN(latent_dim=4, hidden=(32, 32), loss=loss, seed=2, lr=2e-3, device="cpu")
    gan.fit(x, y, epochs=200, batch_size=16, validation=0.2, progress=False)
    val = [stats["val_loss"] for stats in gan.history]
    assert all(v >= 0 for v in val)
    # The first epochs' generator (an average of few steps) is still near its initial weights.
    assert min(val[-10:]) < 0.5 * max(val[:5])


def test_bad_validation_arguments(blobs):
    x, y = blobs
    vae = small_vae()
    with pytest.raises(genaug.ParameterError, match="validation="):
        vae.fit(x, y, epochs=2, patience=2, progress=False)
    with pytest.raises(genaug.ParameterError, match="fraction"):
        vae.fit(x, y, epochs=2, validation=1.5, progress=False)
    with pytest.raises(genaug.ParameterError, match="holds out no rows"):
        vae.fit(x[:5], epochs=2, validation=0.05, progress=False)
    with pytest.raises(genaug.ParameterError, match="patience"):
        vae.fit(x, y, epochs=2, validation=0.2, patience=0, progress=False)
    with pytest.raises(genaug.ShapeError, match="validation x"):
        vae.fit(x, y, epochs=2, validation=(x[:5, :3], y[:5]), progress=False)
    with pytest.raises(genaug.LabelError, match="unknown class 7"):
        vae.fit(x, y, epochs=2, validation=(x[:2], [0, 7]), progress=False)
    with pytest.raises(genaug.LabelError, match="fitted with labels"):
        vae.fit(x, y, epochs=2, validation=(x[:2], None), progress=False)
    with pytest.raises(genaug.DataError, match="validation x"):
        vae.fit(x, y, epochs=2, validation=(np.full((2, 5), np.nan), [0, 1]), progress=False)
    assert not vae.is_fitted
    # Rejected fits leave the seed stream alone: the next fit is that of a fresh model.
    vae.fit(x, y, epochs=2, progress=False)
    fresh = small_vae().fit(x, y, epochs=2, progress=False)
    assert np.array_equal(vae.sample(5, y=0), fresh.sample(5, y=0))
