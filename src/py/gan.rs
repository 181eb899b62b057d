//! `genaug.GAN`: the Python face of [`crate::gan::Gan`].

use super::convert::{read_opt_int, read_opt_ints};
use super::shared::{check_seed, entry, shared_methods, Shared};
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
    pub fn from_model(model: Model<Gan>) -> crate::error::Result<Self> {
        Ok(PyGan {
            shared: Shared::new(model)?,
        })
    }
}

#[pymethods]
impl PyGan {
    #[new]
    #[pyo3(signature = (
        latent_dim=None, hidden=None, loss="bce", arch="auto", device="auto", seed=None,
        *, n_critic=None, gp_lambda=10.0, lr=None, betas=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        latent_dim: Option<&Bound<'_, PyAny>>,
        hidden: Option<&Bound<'_, PyAny>>,
        loss: &str,
        arch: &str,
        device: &str,
        seed: Option<&Bound<'_, PyAny>>,
        n_critic: Option<&Bound<'_, PyAny>>,
        gp_lambda: f64,
        lr: Option<f64>,
        betas: Option<(f64, f64)>,
    ) -> PyResult<Self> {
        entry(|| {
            let defaults = GanConfig::default();
            let seed = read_opt_int(seed, "seed")?.unwrap_or(0);
            let n_critic = read_opt_int(n_critic, "n_critic")?
                .map(|n| {
                    usize::try_from(n).map_err(|_| {
                        crate::error::Error::Parameter(format!(
                            "n_critic must be at least 1, got {n}"
                        ))
                    })
                })
                .transpose()?;
            let config = GanConfig {
                latent_dim: read_opt_int(latent_dim, "latent_dim")?.unwrap_or(defaults.latent_dim),
                hidden: read_opt_ints(hidden, "hidden")?.unwrap_or(defaults.hidden),
                loss: GanLoss::parse(loss)?,
                arch: Arch::parse(arch)?,
                n_critic,
                gp_lambda,
                lr,
                betas,
            };
            config.validate()?;
            let seed = check_seed(Some(seed))?.unwrap_or_default();
            Ok(PyGan::from_model(Model::new(
                config,
                parse_device(device)?,
                seed,
            ))?)
        })
    }

    /// The loss the model trains with: `"bce"` or `"wgan-gp"`.
    #[getter]
    fn loss(&self, py: Python<'_>) -> PyResult<&'static str> {
        entry(|| Ok(self.shared.status(py, |st| st.config.loss.name())))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        entry(|| {
            let (c, fitted) = self.shared.status(py, |st| (st.config.clone(), st.fitted));
            Ok(format!(
                "GAN(latent_dim={}, hidden={:?}, loss={:?}, arch={:?}, n_critic={}, lr={:?}, fitted={})",
                c.latent_dim,
                c.hidden,
                c.loss.name(),
                format!("{:?}", c.arch).to_lowercase(),
                c.n_critic(),
                c.lr(),
                if fitted { "True" } else { "False" }
            ))
        })
    }
}
