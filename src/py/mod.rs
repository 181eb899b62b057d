//! The thin PyO3 layer: Python classes over the pure-Rust models.

mod convert;
pub mod gan;
mod monitor;
mod shared;
pub mod vae;

use crate::checkpoint;
use crate::error::Error;
use pyo3::prelude::*;
use std::path::PathBuf;

/// A model object of the class a checkpoint names.
fn model_from(py: Python<'_>, checkpoint: checkpoint::Checkpoint) -> PyResult<Py<PyAny>> {
    match checkpoint.kind() {
        "VAE" => {
            let model = py.detach(move || checkpoint::restore(&checkpoint))?;
            Ok(Py::new(py, vae::PyVae::from_model(model))?.into_any())
        }
        "GAN" => {
            let model = py.detach(move || checkpoint::restore(&checkpoint))?;
            Ok(Py::new(py, gan::PyGan::from_model(model))?.into_any())
        }
        other => Err(Error::Checkpoint(format!(
            "checkpoint holds an unknown model class {other:?}"
        ))
        .into()),
    }
}

/// Loads a model saved with `model.save(path)`, on the CPU.
#[pyfunction]
pub fn load(py: Python<'_>, path: PathBuf) -> PyResult<Py<PyAny>> {
    let checkpoint = py.detach(|| checkpoint::read(&path))?;
    model_from(py, checkpoint)
}

/// Rebuilds a model from `model.to_bytes()`.
#[pyfunction]
pub fn from_bytes(py: Python<'_>, data: Vec<u8>) -> PyResult<Py<PyAny>> {
    let checkpoint = py.detach(|| checkpoint::from_bytes(&data, "the checkpoint bytes"))?;
    model_from(py, checkpoint)
}

/// Whether libtorch, as genaug sees it, has a usable CUDA device.
#[pyfunction]
pub fn cuda_is_available() -> bool {
    tch::Cuda::is_available()
}
