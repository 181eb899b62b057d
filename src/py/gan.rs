//! `genaug.GAN`: the Python face of [`crate::gan::Gan`].

use super::shared::{check_seed, shared_methods, Shared};
use crate::device::parse_device;
use crate::gan::{Gan, GanConfig, GanLoss};
use crate::model::Model;
use crate::nets::Arch;
use pyo3::prelude::*;

/// A (conditional) generative adversarial network for tabular rows, images and sequences.
#[pyclass(name = "GAN", module = "genaug", frozen)]
pub struct PyGan {
    pub shared: Shared<Gan>,
}

shared_methods!(PyGan);

impl PyGan {
    pub fn from_model(model: Model<Gan>) -> Self {
        PyGan {
            shared: Shared::new(model),
        }
    }
}

#[pymethods]
impl PyGan {
    #[new]
    #[pyo3(signature = (
        latent_dim=64, hidden=vec![256, 256], loss="bce", arch="auto", device="auto", seed=0,
        *, n_critic=None, gp_lambda=10.0, lr=None, betas=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        latent_dim: i64,
        hidden: Vec<i64>,
        loss: &str,
        arch: &str,
        device: &str,
        seed: i64,
        n_critic: Option<i64>,
        gp_lambda: f64,
        lr: Option<f64>,
        betas: Option<(f64, f64)>,
    ) -> PyResult<Self> {
        let n_critic = n_critic
            .map(|n| {
                usize::try_from(n).map_err(|_| {
                    crate::error::Error::Parameter(format!("n_critic must be at least 1, got {n}"))
                })
            })
            .transpose()?;
        let config = GanConfig {
            latent_dim,
            hidden,
            loss: GanLoss::parse(loss)?,
            arch: Arch::parse(arch)?,
            n_critic,
            gp_lambda,
            lr,
            betas,
        };
        config.validate()?;
        let seed = check_seed(Some(seed))?.unwrap_or(0);
        Ok(PyGan::from_model(Model::new(
            config,
            parse_device(device)?,
            seed,
        )))
    }

    /// The loss the model trains with: `"bce"` or `"wgan-gp"`.
    #[getter]
    fn loss(&self, py: Python<'_>) -> PyResult<&'static str> {
        self.shared.with(py, |m| Ok(m.config.loss.name()))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        self.shared.with(py, |m| {
            let c = &m.config;
            Ok(format!(
                "GAN(latent_dim={}, hidden={:?}, loss={:?}, arch={:?}, n_critic={}, lr={:?}, fitted={})",
                c.latent_dim,
                c.hidden,
                c.loss.name(),
                format!("{:?}", c.arch).to_lowercase(),
                c.n_critic(),
                c.lr(),
                if m.fitted.is_some() { "True" } else { "False" }
            ))
        })
    }
}
