//! `genaug.VAE`: the Python face of [`crate::vae::Vae`].

use super::convert::{read_array, write_array, write_floats};
use super::shared::{check_seed, shared_methods, Shared};
use crate::data::{tensor_values, Array};
use crate::device::parse_device;
use crate::model::Model;
use crate::nets::Arch;
use crate::vae::{Vae, VaeConfig};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

/// A (conditional) variational autoencoder for tabular rows, images and sequences.
#[pyclass(name = "VAE", module = "genaug", frozen)]
pub struct PyVae {
    pub shared: Shared<Vae>,
}

shared_methods!(PyVae);

impl PyVae {
    pub fn from_model(model: Model<Vae>) -> Self {
        PyVae {
            shared: Shared::new(model),
        }
    }

    /// Copies `x` and the optional labels `y` out of Python.
    fn inputs(
        &self,
        py: Python<'_>,
        x: &Bound<'_, PyAny>,
        y: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<(Array, Option<Vec<i64>>)> {
        let (rows, _) = read_array(py, x, "x")?;
        let labels = y
            .map(|y| super::convert::read_labels(py, y, "y"))
            .transpose()?
            .map(|(l, _)| l);
        Ok((rows, labels))
    }
}

#[pymethods]
impl PyVae {
    #[new]
    #[pyo3(signature = (latent_dim=16, hidden=vec![256, 256], beta=1.0, arch="auto", device="auto", seed=0))]
    fn new(
        latent_dim: i64,
        hidden: Vec<i64>,
        beta: f64,
        arch: &str,
        device: &str,
        seed: i64,
    ) -> PyResult<Self> {
        let config = VaeConfig {
            latent_dim,
            hidden,
            beta,
            arch: Arch::parse(arch)?,
        };
        config.validate()?;
        let seed = check_seed(Some(seed))?.unwrap_or(0);
        Ok(PyVae::from_model(Model::new(
            config,
            parse_device(device)?,
            seed,
        )))
    }

    /// Posterior mean and log-variance of each row, `(N, latent_dim)` float32 each.
    #[pyo3(signature = (x, y=None))]
    fn encode<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        y: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let (rows, labels) = self.inputs(py, x, y)?;
        let (mean, logvar, shape) = self.shared.with(py, |m| {
            let unit = m.to_unit(&rows, "x")?;
            let classes = m.encode_labels(labels.as_deref(), rows.rows())?;
            let _guard = tch::no_grad_guard();
            let (mean, logvar) = m.fitted()?.net.encode(&unit, classes.as_ref(), false)?;
            let shape = vec![rows.rows(), m.fitted()?.net.latent_dim() as usize];
            Ok((tensor_values(&mean)?, tensor_values(&logvar)?, shape))
        })?;
        PyTuple::new(
            py,
            [
                write_floats(py, mean, shape.clone())?,
                write_floats(py, logvar, shape)?,
            ],
        )
    }

    /// Decodes latent codes `z` `(N, latent_dim)` into samples in the training data's form.
    #[pyo3(signature = (z, y=None))]
    fn decode<'py>(
        &self,
        py: Python<'py>,
        z: &Bound<'py, PyAny>,
        y: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (codes, labels) = self.inputs(py, z, y)?;
        let (array, spec) = self.shared.with(py, |m| {
            let net = &m.fitted()?.net;
            codes.validate_like(&[net.latent_dim() as usize], "z")?;
            let classes = m.encode_labels(labels.as_deref(), codes.rows())?;
            let _guard = tch::no_grad_guard();
            let z = codes.to_tensor(m.device)?;
            let unit = net
                .decode_logits(&z, classes.as_ref(), false)?
                .f_sigmoid()?;
            Ok((m.from_unit(&unit)?, m.fitted()?.spec.clone()))
        })?;
        write_array(py, array, &spec)
    }

    /// Each row passed through the encoder's mean and the decoder.
    #[pyo3(signature = (x, y=None))]
    fn reconstruct<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        y: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (rows, labels) = self.inputs(py, x, y)?;
        let (array, spec) = self.shared.with(py, |m| {
            let unit = m.to_unit(&rows, "x")?;
            let classes = m.encode_labels(labels.as_deref(), rows.rows())?;
            let _guard = tch::no_grad_guard();
            let net = &m.fitted()?.net;
            let (mean, _) = net.encode(&unit, classes.as_ref(), false)?;
            let out = net
                .decode_logits(&mean, classes.as_ref(), false)?
                .f_sigmoid()?;
            Ok((m.from_unit(&out)?, m.fitted()?.spec.clone()))
        })?;
        write_array(py, array, &spec)
    }

    /// Per-row anomaly score: the negative ELBO (reconstruction + beta * KL, in nats, on the
    /// model's unit scale, the reconstruction measured from its best possible value) at the
    /// posterior mean. Higher is more anomalous.
    #[pyo3(signature = (x, y=None))]
    fn score<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        y: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (rows, labels) = self.inputs(py, x, y)?;
        let scores = self.shared.with(py, |m| {
            let unit = m.to_unit(&rows, "x")?;
            let classes = m.encode_labels(labels.as_deref(), rows.rows())?;
            let _guard = tch::no_grad_guard();
            tensor_values(&m.fitted()?.net.negative_elbo(&unit, classes.as_ref())?)
        })?;
        let n = scores.len();
        write_floats(py, scores, vec![n])?.call_method1("astype", ("float64",))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        self.shared.with(py, |m| {
            let c = &m.config;
            Ok(format!(
                "VAE(latent_dim={}, hidden={:?}, beta={:?}, arch={:?}, fitted={})",
                c.latent_dim,
                c.hidden,
                c.beta,
                format!("{:?}", c.arch).to_lowercase(),
                if m.fitted.is_some() { "True" } else { "False" }
            ))
        })
    }
}
