"""save/load: one safetensors file that reproduces the model exactly."""

import copy
import copyreg
import json
import pickle
import struct

import genaug
import numpy as np
import pytest


@pytest.fixture
def cvae(blobs):
    x, y = blobs
    # On the CPU wherever the tests run: these check exact reproduction on one device.
    model = genaug.VAE(latent_dim=3, hidden=(32,), device="cpu", seed=5)
    return model.fit(x, y, epochs=5, batch_size=16)


def test_round_trip_reproduces_samples(cvae, tmp_path, blobs):
    x, y = blobs
    path = tmp_path / "model.safetensors"
    cvae.save(path)
    loaded = genaug.load(str(path))
    assert isinstance(loaded, genaug.VAE)
    assert loaded.classes_ == cvae.classes_ and loaded.device == "cpu"
    assert loaded.history == cvae.history
    np.testing.assert_array_equal(loaded.sample(9, y=1, seed=4), cvae.sample(9, y=1, seed=4))
    # The unseeded stream continues where the saved model's would.
    np.testing.assert_array_equal(loaded.sample(5, y=0), cvae.sample(5, y=0))
    np.testing.assert_array_equal(loaded.score(x, y), cvae.score(x, y))


def test_a_vae_saved_before_the_latent_prior_samples_from_the_standard_normal(cvae, blobs):
    """Checkpoint versions 1-3 stored no latent prior: such a VAE loads and draws its codes
    from N(0, I), as it did; fitting it again fits its prior."""
    from _checkpoint_fuzzer import join, split

    x, y = blobs
    metadata, tensors = split(cvae.to_bytes())
    assert metadata["version"] == "4"
    prior = {name: t for name, t in tensors.items() if ".latent_prior." in name}
    assert sorted(prior) == ["net.latent_prior.mean", "net.latent_prior.scale"]
    dtype, shape, raw = prior["net.latent_prior.mean"]
    assert dtype == "F32" and shape == [3, 3] and np.frombuffer(raw, np.float32).any()
    without = {name: t for name, t in tensors.items() if name not in prior}
    old = genaug.from_bytes(join(dict(metadata, version="3"), without))
    standard = dict(
        tensors,
        **{
            "net.latent_prior.mean": ("F32", [3, 3], np.zeros((3, 3), np.float32).tobytes()),
            "net.latent_prior.scale": (
                "F32",
                [3, 3, 3],
                np.broadcast_to(np.eye(3, dtype=np.float32), (3, 3, 3)).tobytes(),
            ),
        },
    )
    np.testing.assert_array_equal(
        old.sample(50, y=1, seed=3),
        genaug.from_bytes(join(metadata, standard)).sample(50, y=1, seed=3),
    )
    assert not np.array_equal(old.sample(50, y=1, seed=3), cvae.sample(50, y=1, seed=3))
    np.testing.assert_array_equal(old.score(x, y), cvae.score(x, y))
    # Version 4 without its prior is refused.
    with pytest.raises(genaug.CheckpointError, match="latent_prior"):
        genaug.from_bytes(join(metadata, without))
    old.fit(x, y, epochs=6, resume=True, batch_size=16)
    _, refitted = split(old.to_bytes())
    assert np.frombuffer(refitted["net.latent_prior.mean"][2], np.float32).any()


def test_file_is_plain_safetensors_with_metadata(cvae, tmp_path):
    path = tmp_path / "model.safetensors"
    cvae.save(path)
    raw = path.read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + header_len])
    meta = header["__metadata__"]
    assert meta["format"] == "genaug" and meta["model"] == "VAE"
    assert json.loads(meta["config"])["latent_dim"] == 3
    assert any(name.startswith("net.") for name in header)


def test_unfitted_model_round_trips(tmp_path):
    path = tmp_path / "blank.safetensors"
    genaug.VAE(latent_dim=5).save(path)
    loaded = genaug.load(path)
    assert loaded.latent_dim == 5 and not loaded.is_fitted


def test_missing_truncated_and_foreign_files(cvae, tmp_path):
    with pytest.raises(genaug.CheckpointError, match="no checkpoint"):
        genaug.load(tmp_path / "absent.safetensors")
    path = tmp_path / "model.safetensors"
    cvae.save(path)
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(genaug.CheckpointError, match="truncated or corrupt"):
        genaug.load(truncated)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\xff" * 64)
    with pytest.raises(genaug.CheckpointError):
        genaug.load(garbage)
    header = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    foreign = tmp_path / "foreign.safetensors"
    foreign.write_bytes(struct.pack("<Q", len(header)) + header + b"\0\0\0\0")
    with pytest.raises(genaug.CheckpointError, match="not a genaug checkpoint"):
        genaug.load(foreign)


def test_failed_save_keeps_the_existing_file(cvae, tmp_path):
    path = tmp_path / "model.safetensors"
    cvae.save(path)
    before = path.read_bytes()
    with pytest.raises(genaug.CheckpointError):
        cvae.save(tmp_path / "no-such-dir" / "model.safetensors")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]


def test_the_same_model_gives_the_same_bytes(cvae):
    data = cvae.to_bytes()
    assert cvae.to_bytes() == data
    assert genaug.from_bytes(data).to_bytes() == data
    assert pickle.loads(pickle.dumps(cvae)).to_bytes() == data


def test_pickle_and_deepcopy(cvae):
    for clone in (pickle.loads(pickle.dumps(cvae)), copy.deepcopy(cvae)):
        np.testing.assert_array_equal(clone.sample(4, y=2, seed=1), cvae.sample(4, y=2, seed=1))


def test_load_onto_a_named_device(cvae, tmp_path, blobs):
    path = tmp_path / "m.safetensors"
    cvae.save(path)
    on_cpu = genaug.load(path, device="cpu")
    assert on_cpu.device == "cpu"
    np.testing.assert_array_equal(on_cpu.sample(4, y=1, seed=2), cvae.sample(4, y=1, seed=2))
    auto = genaug.from_bytes(cvae.to_bytes(), "auto")
    assert auto.device == ("cuda:0" if genaug.cuda_is_available() else "cpu")
    resumed = genaug.from_bytes(cvae.to_bytes(), device="cpu")
    resumed.fit(*blobs, epochs=6, batch_size=16, resume=True)
    assert len(resumed.history) == 6
    with pytest.raises(genaug.ParameterError, match="unknown device"):
        genaug.from_bytes(cvae.to_bytes(), device="gpu")
    if not genaug.cuda_is_available():
        with pytest.raises(genaug.DeviceError, match="CUDA device"):
            genaug.load(path, device="cuda")


def test_to_moves_a_model_and_keeps_what_resuming_needs(cvae, blobs):
    x, y = blobs
    twin = copy.deepcopy(cvae)
    assert cvae.to("cpu") is cvae and cvae.device == "cpu"
    assert cvae.get_params()["device"] == "cpu"
    # Weights, seed stream, history and optimiser state move with it: resuming matches a twin
    # that never moved.
    np.testing.assert_array_equal(cvae.sample(4, y=1, seed=3), twin.sample(4, y=1, seed=3))
    for model in (cvae, twin):
        model.fit(x, y, epochs=7, batch_size=16, resume=True)
    untimed = [
        [{k: v for k, v in e.items() if k != "seconds"} for e in m.history] for m in (cvae, twin)
    ]
    assert untimed[0] == untimed[1] and len(untimed[0]) == 7
    np.testing.assert_array_equal(cvae.sample(4, y=1, seed=3), twin.sample(4, y=1, seed=3))
    unfitted = genaug.GAN(hidden=(8,), device="auto").to("cpu")
    assert unfitted.device == "cpu" and not unfitted.is_fitted
    with pytest.raises(genaug.ParameterError, match="unknown device"):
        cvae.to("gpu")
    if not genaug.cuda_is_available():
        with pytest.raises(genaug.DeviceError, match="CUDA device"):
            cvae.to("cuda")
        assert cvae.device == "cpu" and cvae.get_params()["device"] == "cpu"


def test_a_pickled_model_keeps_its_device_or_falls_back_to_the_cpu(cvae):
    reducer, (data, device) = copyreg.dispatch_table[genaug.VAE](cvae)
    assert device == "cpu"
    # As unpickled in a process without the device it was pickled on.
    moved = reducer(data, "cuda:7")
    assert moved.device == "cpu"
    np.testing.assert_array_equal(moved.sample(4, y=0, seed=1), cvae.sample(4, y=0, seed=1))
