//! The thin PyO3 layer: Python classes over the pure-Rust models.

pub(crate) mod convert;
pub(crate) mod frame;
pub mod gan;
pub mod metrics;
mod monitor;
mod params;
mod shared;
pub mod vae;

use crate::checkpoint;
use crate::device::parse_device;
use crate::error::Error;
use pyo3::prelude::*;
use shared::entry;
use std::path::PathBuf;

/// A model object of the class a checkpoint names, on `device`.
fn model_from(
    py: Python<'_>,
    checkpoint: checkpoint::Checkpoint,
    device: tch::Device,
) -> PyResult<Py<PyAny>> {
    match checkpoint.kind() {
        "VAE" => {
            let model = py.detach(move || checkpoint::restore(&checkpoint, device))?;
            let shared = shared::Shared::loaded(py, model)?;
            Ok(Py::new(py, vae::PyVae { shared })?.into_any())
        }
        "GAN" => {
            let model = py.detach(move || checkpoint::restore(&checkpoint, device))?;
            let shared = shared::Shared::loaded(py, model)?;
            Ok(Py::new(py, gan::PyGan { shared })?.into_any())
        }
        other => Err(Error::Checkpoint(format!(
            "checkpoint holds an unknown model class {other:?}"
        ))
        .into()),
    }
}

/// Loads a model saved with `model.save(path)` onto `device` (default the CPU).
#[pyfunction]
#[pyo3(signature = (path, device = "cpu"))]
pub fn load(py: Python<'_>, path: PathBuf, device: &str) -> PyResult<Py<PyAny>> {
    entry(|| {
        let device = parse_device(device)?;
        let checkpoint = py.detach(|| checkpoint::read(&path))?;
        model_from(py, checkpoint, device)
    })
}

/// Rebuilds a model from `model.to_bytes()` on `device` (default the CPU).
#[pyfunction]
#[pyo3(signature = (data, device = "cpu"))]
pub fn from_bytes(py: Python<'_>, data: &Bound<'_, PyAny>, device: &str) -> PyResult<Py<PyAny>> {
    entry(|| {
        let device = parse_device(device)?;
        let data: Vec<u8> = data.extract().map_err(|_| {
            Error::Checkpoint("from_bytes takes the bytes of a genaug checkpoint".into())
        })?;
        let checkpoint = py.detach(|| checkpoint::from_bytes(&data, "the checkpoint bytes"))?;
        model_from(py, checkpoint, device)
    })
}

/// Whether libtorch, as genaug sees it, has a usable CUDA device.
#[pyfunction]
pub fn cuda_is_available() -> bool {
    tch::Cuda::is_available()
}

/// `os.register_at_fork(before=...)`: waits until no thread is inside a model's status lock.
#[pyfunction]
pub fn _before_fork(py: Python<'_>) {
    py.detach(crate::handle::before_fork)
}

/// `os.register_at_fork(after_in_parent=...)`.
#[pyfunction]
pub fn _after_fork() {
    crate::handle::after_fork()
}

/// `os.register_at_fork(after_in_child=...)`, told whether torch had started CUDA before the
/// fork.
#[pyfunction]
pub fn _after_fork_in_child(torch_started_cuda: bool) {
    crate::handle::after_fork();
    crate::device::after_fork_in_child(torch_started_cuda)
}
