//! `genaug.GAN`: the Python face of [`crate::gan::Gan`].

use super::params::{self, Constructor};
use super::shared::{entry, shared_methods, Shared, Wraps};
use crate::device::device_name;
use crate::gan::{Gan, GanConfig, GanLoss};
use crate::model::Model;
use crate::nets::Arch;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

/// A (conditional) generative adversarial network for tabular rows, images and sequences.
#[pyclass(name = "GAN", module = "genaug", frozen)]
pub struct PyGan {
    pub shared: Shared<Gan>,
}

shared_methods!(PyGan);

impl Wraps for PyGan {
    type Net = Gan;
}

impl Constructor for Gan {
    fn from_params(params: &Bound<'_, PyDict>) -> PyResult<Model<Gan>> {
        let read = params::Reader(params);
        let defaults = GanConfig::default();
        let config = GanConfig {
            latent_dim: read.opt_int("latent_dim")?.unwrap_or(defaults.latent_dim),
            hidden: read.opt_ints("hidden")?,
            loss: GanLoss::parse(&read.string("loss")?)?,
            arch: Arch::parse(&read.string("arch")?)?,
            n_critic: read.opt_positive("n_critic")?,
            gp_lambda: read.float("gp_lambda")?,
            lr: read.opt_float("lr")?,
            betas: read.opt_pair("betas")?,
        };
        config.validate()?;
        read.model(config)
    }

    fn params_of<'py>(py: Python<'py>, model: &Model<Gan>) -> PyResult<Bound<'py, PyDict>> {
        let c = &model.config;
        let betas = match c.betas {
            Some((a, b)) => PyTuple::new(py, [a, b])?.into_any().unbind(),
            None => py.None(),
        };
        params::dict_of(
            py,
            &[
                ("latent_dim", params::int(py, c.latent_dim)),
                ("hidden", params::opt_ints(py, c.hidden.as_deref())?),
                ("loss", params::string(c.loss.name())),
                ("arch", params::string(c.arch.name())),
                ("device", params::string(&device_name(model.device))),
                ("seed", params::seed_value(py, model.seed)),
                (
                    "n_critic",
                    c.n_critic
                        .map_or_else(|| py.None(), |n| params::int(py, n as i64)),
                ),
                ("gp_lambda", params::float(c.gp_lambda)),
                ("lr", params::opt_float(py, c.lr)),
                ("betas", betas),
            ],
        )
    }
}

impl PyGan {}

#[pymethods]
impl PyGan {
    #[new]
    #[pyo3(
        signature = (
            latent_dim=params::none(), hidden=params::none(), loss=params::string("bce"),
            arch=params::string("auto"), device=params::string("auto"), seed=params::none(),
            *, n_critic=params::none(), gp_lambda=params::float(10.0), lr=params::none(),
            betas=params::none()
        ),
        text_signature = "(latent_dim=None, hidden=None, loss='bce', arch='auto', device='auto', seed=None, *, n_critic=None, gp_lambda=10.0, lr=None, betas=None)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        latent_dim: Py<PyAny>,
        hidden: Py<PyAny>,
        loss: Py<PyAny>,
        arch: Py<PyAny>,
        device: Py<PyAny>,
        seed: Py<PyAny>,
        n_critic: Py<PyAny>,
        gp_lambda: Py<PyAny>,
        lr: Py<PyAny>,
        betas: Py<PyAny>,
    ) -> PyResult<Self> {
        entry(|| {
            let given = params::dict_of(
                py,
                &[
                    ("latent_dim", latent_dim),
                    ("hidden", hidden),
                    ("loss", loss),
                    ("arch", arch),
                    ("device", device),
                    ("seed", seed),
                    ("n_critic", n_critic),
                    ("gp_lambda", gp_lambda),
                    ("lr", lr),
                    ("betas", betas),
                ],
            )?;
            Ok(PyGan {
                shared: Shared::built(given)?,
            })
        })
    }

    /// The loss the model trains with: `"bce"` or `"wgan-gp"`.
    #[getter]
    fn loss(&self, py: Python<'_>) -> PyResult<&'static str> {
        entry(|| Ok(self.shared.status(py, |st| st.config.loss.name())))
    }
}
