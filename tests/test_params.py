"""scikit-learn's parameter protocol on the models (get_params, set_params, clone), the fitted
attributes, and what repr and _repr_html_ say."""

import inspect
import pickle

import genaug
import numpy as np
import pytest
from sklearn.base import clone


@pytest.mark.parametrize("cls", [genaug.VAE, genaug.GAN])
def test_defaults_match_the_signature(cls):
    defaults = {n: p.default for n, p in inspect.signature(cls).parameters.items()}
    assert cls().get_params() == defaults


def test_get_params_returns_what_was_given():
    hidden = (32, 16)
    model = genaug.GAN(latent_dim=5, hidden=hidden, loss="wgan-gp", seed=7, betas=(0.5, 0.9))
    params = model.get_params(deep=True)
    assert params["hidden"] is hidden
    assert params["latent_dim"] == 5 and params["loss"] == "wgan-gp" and params["seed"] == 7
    assert params["betas"] == (0.5, 0.9) and params["n_critic"] is None
    params["latent_dim"] = 99  # a copy: changing it changes nothing
    assert model.get_params()["latent_dim"] == 5


@pytest.mark.parametrize(
    "model",
    [genaug.VAE(latent_dim=3, beta=0.5, hidden=[8]), genaug.GAN(gp_lambda=5.0, lr=1e-3)],
)
def test_clone_gives_an_unfitted_model_with_the_same_parameters(model, blobs):
    x, y = blobs
    model.fit(x, y, epochs=2, progress=False)
    copy = clone(model)
    assert type(copy) is type(model) and not copy.is_fitted
    assert copy.get_params() == model.get_params()


def test_set_params_rebuilds_an_unfitted_model(blobs):
    x, y = blobs
    model = genaug.VAE(latent_dim=2, seed=1).fit(x, y, epochs=2, progress=False)
    assert model.set_params(latent_dim=4, hidden=(16,)) is model
    assert not model.is_fitted and model.history == [] and model.classes_ is None
    assert model.get_params()["latent_dim"] == 4 and model.get_params()["seed"] == 1
    model.fit(x, y, epochs=2, progress=False)
    assert model.encode(x, y)[0].shape == (len(x), 4)
    assert model.layers_[0][1:] == [16, 8]  # encoder: input, 16, then mean and log-variance


def test_set_params_rejects_unknown_names_and_bad_values_and_changes_nothing(blobs):
    x, y = blobs
    model = genaug.GAN(latent_dim=3).fit(x, y, epochs=1, progress=False)
    with pytest.raises(genaug.ParameterError, match="invalid parameter epochs for GAN"):
        model.set_params(epochs=3)
    with pytest.raises(genaug.ParameterError, match="loss"):
        model.set_params(loss="hinge")
    with pytest.raises(genaug.ParameterError, match="gp_lambda must be a number"):
        model.set_params(gp_lambda="big")
    assert model.is_fitted and model.get_params()["loss"] == "bce"


def test_loaded_and_unpickled_models_report_their_parameters(blobs, tmp_path):
    x, y = blobs
    model = genaug.VAE(latent_dim=3, hidden=(16, 8), beta=2.0, device="cpu", seed=5)
    model.fit(x, y, epochs=1, progress=False)
    model.save(tmp_path / "m.safetensors")
    for loaded in [genaug.load(tmp_path / "m.safetensors"), pickle.loads(pickle.dumps(model))]:
        params = loaded.get_params()
        assert params["latent_dim"] == 3 and params["hidden"] == (16, 8)
        assert params["beta"] == 2.0 and params["seed"] == 5 and params["device"] == "cpu"
        assert clone(loaded).get_params() == params


def test_fitted_attributes(blobs):
    x, y = blobs
    model = genaug.VAE(latent_dim=2, hidden=(8,))
    for name in ["n_features_in_", "sample_shape_", "dtype_", "arch_", "layers_"]:
        with pytest.raises(genaug.NotFittedError, match=name):
            getattr(model, name)
    model.fit(x.astype(np.float32), y, epochs=1, progress=False)
    assert model.n_features_in_ == 5 and model.sample_shape_ == (5,)
    assert model.dtype_ == "float32" and model.arch_ == "mlp"
    # Encoder: 5 values + 3 one-hot classes in, 2 * latent out; decoder: latent + classes in.
    assert model.layers_ == [[8, 8, 4], [5, 8, 5]]
    # GAN: generator, discriminator (each row beside its batch's means, then the classes) and
    # the generator's average.
    gan = genaug.GAN(latent_dim=2, hidden=(8,)).fit(x, y, epochs=1, progress=False)
    assert gan.layers_ == [[5, 8, 5], [13, 8, 1], [5, 8, 5]]
    images = np.random.default_rng(0).integers(0, 255, (32, 16, 16), dtype=np.uint8)
    conv = genaug.GAN(latent_dim=4).fit(images, epochs=1, progress=False)
    assert conv.arch_ == "conv" and conv.sample_shape_ == (16, 16) and conv.dtype_ == "uint8"


def test_repr_says_what_the_model_is(blobs):
    x, y = blobs
    model = genaug.VAE(latent_dim=2, hidden=(8,))
    assert repr(model) == "VAE(latent_dim=2, hidden=(8,))"
    model.fit(x, y, epochs=3, progress=False)
    text = repr(model)
    assert text.startswith("VAE(latent_dim=2, hidden=(8,))\n")
    facts = ["3 epochs", "70 rows of shape (5,), float64", "classes: [0, 1, 2]", "mlp"]
    for fact in [*facts, f"device: {model.device}"]:
        assert fact in text
    html = model._repr_html_()
    assert html.startswith("<div>") and "<table>" in html and "70 rows of shape (5,)" in html
    assert "fitted</th><td style='text-align:left'>no" in genaug.GAN()._repr_html_()


def test_set_params_with_nothing_new_keeps_the_fitted_model(blobs):
    x, y = blobs
    model = genaug.VAE(latent_dim=2).fit(x, y, epochs=1, progress=False)
    assert model.set_params() is model and model.is_fitted
    model.set_params(latent_dim=model.get_params()["latent_dim"])
    assert model.is_fitted


def test_set_params_is_refused_while_the_model_is_being_fitted(blobs):
    x, y = blobs
    model = genaug.VAE(latent_dim=2)
    refused = []

    def callback(stats):
        try:
            model.set_params(latent_dim=3)
        except genaug.ModelBusyError as err:
            refused.append(str(err))

    model.fit(x, y, epochs=2, callbacks=[callback], progress=False)
    assert len(refused) == 2 and "set_params only after fit returns" in refused[0]
    assert model.is_fitted and model.get_params()["latent_dim"] == 2


def test_an_unfitted_model_pickles_as_its_parameters():
    model = genaug.GAN(hidden=[8], device="auto")
    copy = pickle.loads(pickle.dumps(model))
    assert copy.get_params() == model.get_params()
    assert copy.get_params()["device"] == "auto" and copy.get_params()["seed"] is None
