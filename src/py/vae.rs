//! `genaug.VAE`: the Python face of [`crate::vae::Vae`].

use super::convert::{
    read_array, read_opt_int, read_opt_ints, repr_optional, write_floats, ArraySink,
};
use super::frame;
use super::shared::{check_seed, entry, shared_methods, Shared};
use crate::data::Array;
use crate::device::parse_device;
use crate::handle::Access;
use crate::inference;
use crate::model::Model;
use crate::nets::Arch;
use crate::vae::{Vae, VaeConfig};
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

/// A (conditional) variational autoencoder for tabular rows, images and sequences.
#[pyclass(name = "VAE", module = "genaug", frozen)]
pub struct PyVae {
    pub shared: Shared<Vae>,
}

shared_methods!(PyVae);

impl PyVae {
    pub fn from_model(model: Model<Vae>) -> crate::error::Result<Self> {
        Ok(PyVae {
            shared: Shared::new(model)?,
        })
    }

    /// Copies `x` (rows, or latent codes when `codes`) and the labels out of Python: `y`, or
    /// for a model fitted on a frame with a label column, that column of `x`.
    fn inputs(
        &self,
        py: Python<'_>,
        x: &Bound<'_, PyAny>,
        y: Option<&Bound<'_, PyAny>>,
        codes: bool,
    ) -> PyResult<(Array, Option<Vec<i64>>)> {
        let frame = self.shared.frame(py);
        let (rows, column_labels) = if codes {
            (read_array(py, x, "z")?.0, None)
        } else {
            frame::read_rows(py, x, frame.as_deref(), "x", "error")?
        };
        let y = match (&frame, y.filter(|y| !y.is_none())) {
            (Some(frame), Some(y)) => Some(frame::call(py, "label_codes", frame, y)?),
            (_, y) => y.cloned(),
        };
        let labels = match y {
            Some(y) => Some(super::convert::read_labels(py, &y, "y")?.0),
            None => column_labels,
        };
        Ok((rows, labels))
    }

    /// Rows in, rows out in the training data's form, written chunk by chunk (a frame for a
    /// model fitted on one, with the label column from `labels`).
    fn rows_out<'py>(
        &self,
        py: Python<'py>,
        labels: Option<&[i64]>,
        f: impl FnOnce(&Model<Vae>, &mut dyn crate::augment::Sink) -> crate::error::Result<()> + Send,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut sink = ArraySink::new();
        let outcome = py.detach(|| self.shared_handle_read(|m| f(m, &mut sink)));
        let rows = sink.finish(py, outcome)?;
        match self.shared.frame(py) {
            Some(frame) => {
                let labels = labels.map(|l| PyArray1::from_slice(py, l).into_any());
                frame::to_frame(py, rows, &frame, labels)
            }
            None => Ok(rows),
        }
    }

    fn shared_handle_read<R>(
        &self,
        f: impl FnOnce(&Model<Vae>) -> crate::error::Result<R>,
    ) -> crate::error::Result<R> {
        self.shared.handle().with(Access::Read, |m| f(m))
    }
}

#[pymethods]
impl PyVae {
    #[new]
    #[pyo3(signature = (latent_dim=None, hidden=None, beta=1.0, arch="auto", device="auto", seed=None, *, free_bits=None))]
    fn new(
        latent_dim: Option<&Bound<'_, PyAny>>,
        hidden: Option<&Bound<'_, PyAny>>,
        beta: f64,
        arch: &str,
        device: &str,
        seed: Option<&Bound<'_, PyAny>>,
        free_bits: Option<f64>,
    ) -> PyResult<Self> {
        entry(|| {
            let defaults = VaeConfig::default();
            let seed = read_opt_int(seed, "seed")?.unwrap_or(0);
            let config = VaeConfig {
                latent_dim: read_opt_int(latent_dim, "latent_dim")?.unwrap_or(defaults.latent_dim),
                hidden: read_opt_ints(hidden, "hidden")?,
                beta,
                arch: Arch::parse(arch)?,
                free_bits,
            };
            config.validate()?;
            let seed = check_seed(Some(seed))?.unwrap_or_default();
            Ok(PyVae::from_model(Model::new(
                config,
                parse_device(device)?,
                seed,
            ))?)
        })
    }

    /// Posterior mean and log-variance of each row, `(N, latent_dim)` float32 each.
    #[pyo3(signature = (x, y=None))]
    fn encode<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        y: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        entry(|| {
            let (rows, labels) = self.inputs(py, x, y, false)?;
            let (mean, logvar, latent) = py.detach(|| {
                self.shared_handle_read(|m| {
                    let (mean, logvar) = inference::encode(m, &rows, labels.as_deref())?;
                    Ok((mean, logvar, m.fitted()?.net.latent_dim() as usize))
                })
            })?;
            let shape = vec![rows.rows(), latent];
            PyTuple::new(
                py,
                [
                    write_floats(py, mean, shape.clone())?,
                    write_floats(py, logvar, shape)?,
                ],
            )
        })
    }

    /// Decodes latent codes `z` `(N, latent_dim)` into samples in the training data's form.
    #[pyo3(signature = (z, y=None))]
    fn decode<'py>(
        &self,
        py: Python<'py>,
        z: &Bound<'py, PyAny>,
        y: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        entry(|| {
            let (codes, labels) = self.inputs(py, z, y, true)?;
            self.rows_out(py, labels.as_deref(), |m, sink| {
                inference::decode(m, &codes, labels.as_deref(), sink)
            })
        })
    }

    /// Each row passed through the encoder's mean and the decoder.
    #[pyo3(signature = (x, y=None))]
    fn reconstruct<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        y: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        entry(|| {
            let (rows, labels) = self.inputs(py, x, y, false)?;
            self.rows_out(py, labels.as_deref(), |m, sink| {
                inference::reconstruct(m, &rows, labels.as_deref(), sink)
            })
        })
    }

    /// Per-row anomaly score: the negative ELBO (reconstruction + beta * KL, in nats, on the
    /// model's unit scale, the reconstruction measured from its best possible value) at the
    /// posterior mean of the row clipped to the training range, plus a cost for each feature
    /// beyond that range. Higher is more anomalous.
    #[pyo3(signature = (x, y=None))]
    fn score<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        y: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        entry(|| {
            let (rows, labels) = self.inputs(py, x, y, false)?;
            let scores = py.detach(|| {
                self.shared_handle_read(|m| inference::score(m, &rows, labels.as_deref()))
            })?;
            Ok(PyArray1::from_vec(py, scores).into_any())
        })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        entry(|| {
            let (c, fitted) = self.shared.status(py, |st| (st.config.clone(), st.fitted));
            Ok(format!(
                "VAE(latent_dim={}, hidden={}, beta={:?}, free_bits={}, arch={:?}, fitted={})",
                c.latent_dim,
                repr_optional(&c.hidden),
                c.beta,
                repr_optional(&c.free_bits),
                format!("{:?}", c.arch).to_lowercase(),
                if fitted { "True" } else { "False" }
            ))
        })
    }
}
