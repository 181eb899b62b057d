"""Defaults: the training budget behind `epochs=None`, `fit_params_`, and the TrainingWarning
that training gone wrong raises."""

import json
import math
import pickle
import warnings

import genaug
import numpy as np
import pytest
from _helpers import with_metadata

SMALL = dict(hidden=(8,), device="cpu", seed=0)


@pytest.fixture(scope="module")
def many_rows():
    # 64,000 rows: 1,000 batches of 64 per epoch, so a budget is a few epochs. 40 values per
    # row: wider than the narrow profile's.
    return np.random.default_rng(0).random((64_000, 40))


def four_blobs(rows_each=160):
    rng = np.random.default_rng(0)
    centres = [(0, 0), (4, 0), (0, 4), (4, 4)]
    return np.concatenate([rng.normal(c, 0.3, (rows_each, 2)) for c in centres])


def stop_after(epochs):
    return lambda stats: stats["epoch"] < epochs


def test_without_epochs_the_vae_trains_its_step_budget(many_rows):
    vae = genaug.VAE(latent_dim=2, **SMALL).fit(many_rows, progress=False)
    params = vae.fit_params_
    assert params["epochs_from"] == "budget"
    assert params["batch_size"] == 64 and params["batches_per_epoch"] == 1000
    assert params["epochs"] == math.ceil(params["target_steps"] / 1000)
    assert len(vae.history) == params["epochs"]
    assert params["target_steps"] <= params["steps"] < params["target_steps"] + 1000
    # Its last quarter trains at a fifth of the rate: a twin given the same epochs (one rate
    # throughout) matches it epoch for epoch until then, and not after.
    decay = params["lr_decay_epoch"]
    assert decay == math.ceil(params["epochs"] * 0.75) + 1 <= params["epochs"]
    twin = genaug.VAE(latent_dim=2, **SMALL).fit(many_rows, epochs=params["epochs"], progress=False)
    losses = [h["loss"] for h in vae.history]
    twin_losses = [h["loss"] for h in twin.history]
    assert losses[: decay - 1] == twin_losses[: decay - 1]
    assert losses[decay - 1] != twin_losses[decay - 1]


def test_narrow_unit_rows_take_a_smaller_network_and_half_the_steps(many_rows):
    wide = genaug.VAE(latent_dim=2, seed=0).fit(
        many_rows[:6400], callbacks=stop_after(1), progress=False
    )
    assert wide.fit_params_["target_steps"] == 6000
    assert wide.layers_ == [[40, 256, 256, 4], [2, 256, 256, 40]]
    narrow = genaug.VAE(latent_dim=2, seed=0).fit(
        many_rows[:6400, :32], callbacks=stop_after(1), progress=False
    )
    assert narrow.fit_params_["target_steps"] == 3000
    assert narrow.layers_ == [[32, 128, 128, 4], [2, 128, 128, 32]]
    assert narrow.get_params()["hidden"] is None


def test_the_bce_gan_takes_a_smaller_network_on_narrow_unit_rows(many_rows):
    narrow = many_rows[:640, :32]
    bce = genaug.GAN(seed=0).fit(narrow, epochs=1, progress=False)
    assert bce.layers_ == [[64, 128, 128, 32], [64, 128, 128, 1], [64, 128, 128, 32]]
    assert bce.get_params()["hidden"] is None and "64-128-128-32" in repr(bce)
    wgan = genaug.GAN(loss="wgan-gp", seed=0).fit(narrow, epochs=1, progress=False)
    assert wgan.layers_[0] == [64, 256, 256, 32]
    wide = genaug.GAN(seed=0).fit(many_rows[:640], epochs=1, progress=False)
    assert wide.layers_[0] == [64, 256, 256, 40]
    given = genaug.GAN(hidden=(16,), seed=0).fit(narrow, epochs=1, progress=False)
    assert given.layers_[0] == [64, 16, 32] and given.get_params()["hidden"] == (16,)


def test_a_table_trains_on_larger_batches_and_at_least_thirty_passes(many_rows):
    # One discrete column makes the rows a table: 125 batches of 512 per epoch, so the 500-step
    # budget alone would be 4 epochs.
    table = np.column_stack([many_rows[:, 0], many_rows[:, 1] > 0.5])
    vae = genaug.VAE(latent_dim=2, device="cpu", seed=0)
    vae.fit(table, discrete_columns=[1], callbacks=stop_after(1), progress=False)
    params = vae.fit_params_
    assert (params["batch_size"], params["batches_per_epoch"]) == (512, 125)
    assert (params["target_steps"], params["epochs"]) == (500, 30)
    assert params["lr_decay_epoch"] == 24
    # The table profile's widths, chosen at fit: the parameters stay as given.
    assert vae.layers_ == [[3, 128, 128, 4], [2, 128, 128, 3]]
    assert vae.get_params()["hidden"] is None and vae.get_params()["free_bits"] is None
    # The same numbers as a plain array keep the array profile; a given batch size wins.
    array = genaug.VAE(latent_dim=2, **SMALL).fit(many_rows[:640], epochs=1, progress=False)
    assert array.fit_params_["batch_size"] == 64
    vae.fit(table[:640], discrete_columns=[1], epochs=1, batch_size=32, progress=False)
    assert vae.fit_params_["batch_size"] == 32


def test_the_wgan_budget_counts_generator_steps(many_rows):
    gan = genaug.GAN(latent_dim=2, loss="wgan-gp", **SMALL)
    with warnings.catch_warnings():
        # One epoch in, the generator is still bunched up.
        warnings.simplefilter("ignore", genaug.TrainingWarning)
        gan.fit(many_rows, callbacks=stop_after(1), progress=False)
    params = gan.fit_params_
    # Two critic minibatches per generator step: twice the epochs of one step per batch.
    assert params["batches_per_step"] == 2
    assert params["epochs"] == math.ceil(params["target_steps"] * 2 / 1000)
    assert len(gan.history) == 1


def test_given_epochs_win_and_fit_params_follow_the_model(many_rows, tmp_path):
    x = many_rows[:640]
    vae = genaug.VAE(latent_dim=2, **SMALL)
    with pytest.raises(genaug.NotFittedError, match="fit_params_"):
        _ = vae.fit_params_
    assert not hasattr(vae, "fit_params_")
    vae.fit(x, epochs=3, batch_size=32, progress=False)
    assert vae.fit_params_ == {
        "epochs": 3,
        "epochs_from": "given",
        "batch_size": 32,
        "rows": 640,
        "batches_per_epoch": 20,
        "batches_per_step": 1,
        "target_steps": vae.fit_params_["target_steps"],
        "steps": 60,
        "lr_decay_epoch": None,
    }
    vae.save(tmp_path / "vae.safetensors")
    assert genaug.load(tmp_path / "vae.safetensors").fit_params_ == vae.fit_params_
    assert pickle.loads(pickle.dumps(vae)).fit_params_ == vae.fit_params_


def test_resuming_without_epochs_finishes_the_budget(many_rows, tmp_path):
    vae = genaug.VAE(latent_dim=2, **SMALL)
    vae.fit(many_rows, callbacks=stop_after(2), progress=False)
    planned = vae.fit_params_["epochs"]
    assert len(vae.history) == 2 < planned
    vae.save(tmp_path / "half.safetensors")
    vae.fit(many_rows, resume=True, progress=False)
    assert len(vae.history) == planned
    assert vae.fit_params_["epochs_from"] == "budget"
    # Through a checkpoint alike, and identically.
    loaded = genaug.load(tmp_path / "half.safetensors").fit(many_rows, resume=True, progress=False)
    assert [h["loss"] for h in loaded.history] == [h["loss"] for h in vae.history]
    # Both are the run that never stopped, the last quarter's lowered rate included.
    whole = genaug.VAE(latent_dim=2, **SMALL).fit(many_rows, progress=False)
    assert vae.fit_params_["lr_decay_epoch"] == whole.fit_params_["lr_decay_epoch"] > 2
    assert [h["loss"] for h in vae.history] == [h["loss"] for h in whole.history]

    # A checkpoint whose schedule could not come from its plan is refused.
    def decay_past_the_plan(metadata: dict[str, str]) -> None:
        params = json.loads(metadata["fit_params"])
        params["lr_decay_epoch"] = params["epochs"] + 1
        metadata["fit_params"] = json.dumps(params)

    with pytest.raises(genaug.CheckpointError, match="fit_params"):
        genaug.from_bytes(with_metadata(whole.to_bytes(), decay_past_the_plan))


def test_posterior_collapse_warns_once_naming_epoch_and_kl():
    x = four_blobs()
    vae = genaug.VAE(latent_dim=2, beta=50.0, free_bits=0.0, **SMALL)
    with pytest.warns(genaug.TrainingWarning, match=r"epoch \d+: posterior collapse") as caught:
        vae.fit(x, epochs=100, progress=False)
    collapse = [w for w in caught if issubclass(w.category, genaug.TrainingWarning)]
    assert len(collapse) == 1
    assert "KL term is 0.0" in str(collapse[0].message)
    assert issubclass(genaug.TrainingWarning, UserWarning)


def test_mode_collapse_warns_once_naming_epoch_and_diversity():
    x = four_blobs()
    # A learning rate far too high with a heavy first moment: the generator collapses.
    gan = genaug.GAN(latent_dim=4, hidden=(32, 32), lr=1e-2, betas=(0.9, 0.999), device="cpu")
    with pytest.warns(genaug.TrainingWarning, match=r"epoch \d+: mode collapse") as caught:
        gan.fit(x, epochs=60, progress=False)
    assert len([w for w in caught if issubclass(w.category, genaug.TrainingWarning)]) == 1
    assert "diversity 0." in str(caught[0].message)


def test_warnings_as_errors_stop_training_keeping_the_epochs_done():
    x = four_blobs()
    vae = genaug.VAE(latent_dim=2, beta=50.0, free_bits=0.0, **SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("error", genaug.TrainingWarning)
        with pytest.raises(genaug.TrainingWarning):
            vae.fit(x, epochs=100, progress=False)
    assert vae.is_fitted and 0 < len(vae.history) < 100


def test_short_fits_are_not_judged():
    x = four_blobs()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        genaug.VAE(latent_dim=2, beta=50.0, free_bits=0.0, **SMALL).fit(x, epochs=5, progress=False)


def test_the_default_vae_does_not_warn_on_a_real_table():
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vae = genaug.VAE(device="cpu", seed=0).fit(x, y, progress=False)
    assert vae.fit_params_["epochs_from"] == "budget"
    assert vae.history[-1]["kl"] > 1.0


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["bce", "wgan-gp"])
def test_default_gans_do_not_warn_on_a_small_table(loss):
    from sklearn.datasets import load_wine

    x, y = load_wine(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gan = genaug.GAN(loss=loss, device="cpu", seed=0).fit(x, y, progress=False)
    assert gan.history[-1]["diversity"] > 0.7
