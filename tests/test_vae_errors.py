"""Bad input raises a clear genaug exception, never a crash."""

import genaug
import numpy as np
import pytest


@pytest.fixture
def fitted(blobs):
    x, y = blobs
    return genaug.VAE(latent_dim=2, hidden=(16,), seed=0).fit(x, epochs=1)


@pytest.fixture
def conditional(blobs):
    x, y = blobs
    return genaug.VAE(latent_dim=2, hidden=(16,), seed=0).fit(x, y, epochs=1)


def test_nan_and_inf_in_training_data():
    x = np.ones((10, 3))
    x[4, 1] = np.nan
    with pytest.raises(genaug.DataError, match="row 4"):
        genaug.VAE().fit(x, epochs=1)
    x[4, 1] = np.inf
    with pytest.raises(ValueError, match="non-finite"):
        genaug.VAE().fit(x, epochs=1)


@pytest.mark.parametrize(
    "x", [np.ones(5), np.ones((2, 2, 2, 2, 2)), np.ones((0, 3)), np.float64(3.0)]
)
def test_wrong_rank_or_empty(x):
    with pytest.raises(genaug.ShapeError):
        genaug.VAE().fit(x, epochs=1)


def test_non_numeric_data():
    with pytest.raises(genaug.DataError, match="dtype"):
        genaug.VAE().fit(np.array([["a", "b"], ["c", "d"]]), epochs=1)
    with pytest.raises(genaug.DataError):
        genaug.VAE().fit([[1.0, 2.0], [3.0]], epochs=1)


def test_batch_with_other_feature_shape(fitted):
    with pytest.raises(genaug.ShapeError, match=r"\(N, 5\)"):
        fitted.augment(np.ones((3, 4)), 2)
    with pytest.raises(genaug.ShapeError):
        fitted.score(np.ones((3, 5, 1)))


def test_negative_n_and_bad_arguments(fitted):
    with pytest.raises(genaug.ParameterError, match="n must be >= 0"):
        fitted.sample(-1)
    with pytest.raises(ValueError):
        fitted.augment(np.ones((2, 5)), -3)
    with pytest.raises(genaug.ParameterError):
        genaug.VAE(arch="resnet")
    with pytest.raises(genaug.ParameterError):
        genaug.VAE(device="tpu")
    with pytest.raises(genaug.ParameterError):
        genaug.VAE(latent_dim=0)
    with pytest.raises(genaug.ParameterError):
        genaug.VAE().fit(np.ones((4, 2)), epochs=0)


def test_conv_arch_needs_images():
    with pytest.raises(genaug.ShapeError, match="conv"):
        genaug.VAE(arch="conv").fit(np.ones((4, 8)), epochs=1)


def test_labels_of_wrong_length_type_or_class(blobs, conditional):
    x, y = blobs
    with pytest.raises(genaug.LabelError, match="70 rows"):
        genaug.VAE().fit(x, y[:-1], epochs=1)
    with pytest.raises(genaug.LabelError, match="integer"):
        genaug.VAE().fit(x, y.astype(float), epochs=1)
    with pytest.raises(genaug.LabelError, match="unknown class 9"):
        conditional.sample(3, y=9)
    with pytest.raises(genaug.LabelError, match="unknown class 7"):
        conditional.augment(x[:3], labels=[0, 7, 1])
    with pytest.raises(genaug.LabelError):
        conditional.augment(x[:3], labels=[0, 1])
    with pytest.raises(genaug.LabelError, match="unknown class 5"):
        conditional.augment(x, labels=y, strategy={5: 100})
    with pytest.raises(genaug.ParameterError, match="already has"):
        conditional.augment(x, labels=y, strategy={0: 3})
    with pytest.raises(genaug.ParameterError):
        conditional.augment(x, labels=y, strategy="smote")
    with pytest.raises(genaug.LabelError, match="fitted with labels"):
        conditional.sample(3)


def test_unconditional_model_takes_no_labels(fitted):
    with pytest.raises(genaug.LabelError, match="without labels"):
        fitted.sample(3, y=1)


def test_use_before_fit():
    vae = genaug.VAE()
    for call in (
        lambda: vae.sample(3),
        lambda: vae.augment(np.ones((2, 2)), 1),
        lambda: vae.encode(np.ones((2, 2))),
        lambda: vae.score(np.ones((2, 2))),
    ):
        with pytest.raises(genaug.NotFittedError, match="fit"):
            call()
    assert vae.history == [] and not vae.is_fitted


def test_failed_fit_keeps_the_previous_model(fitted):
    before = fitted.sample(4, seed=1)
    with pytest.raises(genaug.DataError):
        fitted.fit(np.full((3, 5), np.nan), epochs=1)
    np.testing.assert_array_equal(fitted.sample(4, seed=1), before)


def test_callback_exception_propagates_unchanged(blobs):
    x, _ = blobs

    class Boom(Exception):
        pass

    def callback(stats):
        if stats["epoch"] == 2:
            raise Boom("stop here")

    vae = genaug.VAE(latent_dim=2, hidden=(16,))
    with pytest.raises(Boom, match="stop here"):
        vae.fit(x, epochs=5, callbacks=[callback])
    assert len(vae.history) == 2 and vae.sample(2).shape == (2, 5)
