"""The notebooks run top to bottom in a Jupyter kernel, as a new user would run them, and show
what they say they show."""

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"


def run(name, tmp_path):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells), "commit notebooks cleared"
    NotebookClient(notebook, timeout=600, resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [out for cell in notebook.cells for out in cell.get("outputs", [])]
    text = "".join(out.get("text", "") for out in outputs)
    images = sum("image/png" in out.get("data", {}) for out in outputs)
    html = "".join(out.get("data", {}).get("text/html", "") for out in outputs)
    return outputs, text, images, html


def accuracies(text):
    found = dict(re.findall(r"balanced accuracy (with|without) genaug: +([0-9.]+)", text))
    return float(found["without"]), float(found["with"])


def test_quickstart_notebook(tmp_path):
    outputs, text, images, _ = run("quickstart.ipynb", tmp_path)
    assert images == 3, "the loss curves, the sample grid and the class counts"
    assert "interrupted after 8 epochs" in text
    assert "identical histories over" in text
    assert (tmp_path / "digits-vae.safetensors").exists()
    widget = "application/vnd.jupyter.widget-view+json"
    widgets = [out for out in outputs if widget in out.get("data", {})]
    assert widgets, "the progress bar should render as a widget"
    without, with_genaug = accuracies(text)
    assert with_genaug > without + 0.03


@pytest.mark.filterwarnings("ignore")
def test_tabular_notebook(tmp_path):
    _, text, images, html = run("tabular.ipynb", tmp_path)
    assert images == 3, "the loss curves, real against generated rows, and the class counts"
    assert "7000 rows of a DataFrame with columns student, balance, income" in html
    assert "cross-validated balanced accuracy" in text
    without, with_genaug = accuracies(text)
    assert with_genaug > without + 0.1
