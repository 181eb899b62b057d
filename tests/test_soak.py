"""Soak: 200 cycles of fit, sample, save, load and pickle in one process do not leak memory."""

import pytest
from _helpers import child_json

SOAK = """
import pickle, tempfile

def resident():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

x, y = blobs()
folder = tempfile.mkdtemp()
path = os.path.join(folder, "model.safetensors")
after = {}
for cycle in range(1, 201):
    cls = genaug.VAE if cycle % 2 else genaug.GAN
    model = cls(latent_dim=2, hidden=(16,), device="cpu", seed=cycle)
    model.fit(x, y, epochs=2, progress=False)
    assert model.sample(50, y=1).shape == (50, 5)
    x_aug, _ = model.augment(x, labels=y, strategy="balance")
    model.save(path)
    loaded = genaug.load(path)
    clone = pickle.loads(pickle.dumps(loaded))
    again = genaug.from_bytes(clone.to_bytes(include_optimizer=False))
    assert again.sample(3, y=0, seed=1).shape == (3, 5)
    if cycle in (20, 200):
        after[cycle] = resident()
os.remove(path)
os.rmdir(folder)
print(json.dumps(after))
"""


@pytest.mark.slow
def test_two_hundred_cycles_do_not_grow_memory():
    after = child_json(SOAK, timeout=600)
    warm, end = after["20"], after["200"]
    assert end < 1.10 * warm, (
        f"resident memory grew from {warm / 2**20:.0f} MiB to {end / 2**20:.0f} MiB"
    )
