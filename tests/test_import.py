import subprocess
import sys

import genaug
import torch

# The extension finds libtorch by its own RUNPATH: loading it alone, before anything has
# imported torch, must work.
LOAD_EXTENSION_ALONE = """
import importlib.machinery, importlib.util, pathlib, sys
package = pathlib.Path(importlib.util.find_spec("genaug").origin).parent
path = next(package.glob("_core*.so"))
loader = importlib.machinery.ExtensionFileLoader("genaug._core", str(path))
spec = importlib.util.spec_from_file_location("genaug._core", path, loader=loader)
core = importlib.util.module_from_spec(spec)
loader.exec_module(core)
assert "torch" not in sys.modules
print(core.VAE.__name__)
"""


def test_extension_loads_without_torch_imported():
    result = subprocess.run(
        [sys.executable, "-c", LOAD_EXTENSION_ALONE], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "VAE"


def test_import_in_fresh_interpreter():
    code = "import genaug; print(genaug.VAE(latent_dim=3).latent_dim)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3"


def test_public_api():
    for name in genaug.__all__:
        assert hasattr(genaug, name), name
    assert issubclass(genaug.ShapeError, ValueError)
    assert issubclass(genaug.ShapeError, genaug.GenaugError)
    assert issubclass(genaug.NotFittedError, genaug.GenaugError)
    assert issubclass(genaug.TrainingDivergedError, RuntimeError)


def test_cuda_view_matches_torch():
    assert genaug.cuda_is_available() == torch.cuda.is_available()
