//! `genaug.VAE`: the Python face of [`crate::vae::Vae`].

use super::convert::{read_array, read_opt_int, write_floats, ArraySink};
use super::frame;
use super::params::{self, Constructor};
use super::shared::{check_seed, entry, shared_methods, Shared, Wraps};
use crate::data::Array;
use crate::device::device_name;
use crate::error::Error;
use crate::handle::Access;
use crate::impute::{self, Fill};
use crate::inference;
use crate::model::Model;
use crate::nets::Arch;
use crate::seed::derive;
use crate::vae::{Vae, VaeConfig, DEFAULT_CONTAMINATION, LIKELIHOOD_SAMPLES};
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

/// A (conditional) variational autoencoder for tabular rows, images and sequences.
#[pyclass(name = "VAE", module = "genaug", frozen)]
pub struct PyVae {
    pub shared: Shared<Vae>,
}

shared_methods!(PyVae);

impl Wraps for PyVae {
    type Net = Vae;
}

impl Constructor for Vae {
    fn from_params(params: &Bound<'_, PyDict>) -> PyResult<Model<Vae>> {
        let read = params::Reader(params);
        let config = VaeConfig {
            latent_dim: read
                .opt_int("latent_dim")?
                .unwrap_or(VaeConfig::default().latent_dim),
            hidden: read.opt_ints("hidden")?,
            beta: read.float("beta")?,
            arch: Arch::parse(&read.string("arch")?)?,
            free_bits: read.opt_float("free_bits")?,
            contamination: read.float("contamination")?,
        };
        config.validate()?;
        read.model(config)
    }

    fn params_of<'py>(py: Python<'py>, model: &Model<Vae>) -> PyResult<Bound<'py, PyDict>> {
        let c = &model.config;
        params::dict_of(
            py,
            &[
                ("latent_dim", params::int(py, c.latent_dim)),
                ("hidden", params::opt_ints(py, c.hidden.as_deref())?),
                ("beta", params::float(c.beta)),
                ("arch", params::string(c.arch.name())),
                ("device", params::string(&device_name(model.device))),
                ("seed", params::seed_value(py, model.seed)),
                ("free_bits", params::opt_float(py, c.free_bits)),
                ("contamination", params::float(c.contamination)),
            ],
        )
    }
}

impl PyVae {
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
        let classes = self.shared.status(py, |st| st.classes.clone());
        let (rows, column_labels) = if codes {
            (read_array(py, x, "z")?.0, None)
        } else {
            frame::read_rows(py, x, frame.as_deref(), "x", "error", Some(classes.clone()))?
        };
        let y = y.filter(|y| !y.is_none());
        let y = match &frame {
            Some(frame) if y.is_some() || column_labels.is_none() => {
                frame::label_codes(py, frame, y, classes)?
            }
            _ => y.cloned(),
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

    /// One value per row of `x`, computed by `f` with the GIL released, as a NumPy vector.
    fn per_row<'py, T: numpy::Element + Send>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        y: Option<&Bound<'py, PyAny>>,
        f: impl FnOnce(&Model<Vae>, &Array, Option<&[i64]>) -> crate::error::Result<Vec<T>> + Send,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (rows, labels) = self.inputs(py, x, y, false)?;
        let values = py.detach(|| self.shared_handle_read(|m| f(m, &rows, labels.as_deref())))?;
        Ok(PyArray1::from_vec(py, values).into_any())
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
    #[allow(clippy::too_many_arguments)]
    #[pyo3(
        signature = (latent_dim=params::none(), hidden=params::none(), beta=params::float(1.0), arch=params::string("auto"), device=params::string("auto"), seed=params::none(), *, free_bits=params::none(), contamination=params::float(DEFAULT_CONTAMINATION)),
        text_signature = "(latent_dim=None, hidden=None, beta=1.0, arch='auto', device='auto', seed=None, *, free_bits=None, contamination=0.1)"
    )]
    fn new(
        py: Python<'_>,
        latent_dim: Py<PyAny>,
        hidden: Py<PyAny>,
        beta: Py<PyAny>,
        arch: Py<PyAny>,
        device: Py<PyAny>,
        seed: Py<PyAny>,
        free_bits: Py<PyAny>,
        contamination: Py<PyAny>,
    ) -> PyResult<Self> {
        entry(|| {
            let given = params::dict_of(
                py,
                &[
                    ("latent_dim", latent_dim),
                    ("hidden", hidden),
                    ("beta", beta),
                    ("arch", arch),
                    ("device", device),
                    ("seed", seed),
                    ("free_bits", free_bits),
                    ("contamination", contamination),
                ],
            )?;
            Ok(PyVae {
                shared: Shared::built(given)?,
            })
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
        entry(|| self.per_row(py, x, y, inference::score))
    }

    /// Per-row anomaly scores, higher for more normal rows (scikit-learn's `score_samples`):
    /// the importance-weighted estimate of each row's log-likelihood with `k` latent draws.
    #[pyo3(signature = (x, y=None, *, k=LIKELIHOOD_SAMPLES))]
    fn score_samples<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        y: Option<&Bound<'py, PyAny>>,
        k: i64,
    ) -> PyResult<Bound<'py, PyAny>> {
        entry(|| self.per_row(py, x, y, |m, x, l| inference::score_samples(m, x, l, k)))
    }

    /// `score_samples(x) - offset_`: negative for the rows `predict` calls outliers.
    #[pyo3(signature = (x, y=None, *, k=LIKELIHOOD_SAMPLES))]
    fn decision_function<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        y: Option<&Bound<'py, PyAny>>,
        k: i64,
    ) -> PyResult<Bound<'py, PyAny>> {
        entry(|| self.per_row(py, x, y, |m, x, l| inference::decision_function(m, x, l, k)))
    }

    /// `x` with its gaps (NaN entries, missing cells) filled, observed values kept; with
    /// `n_draws`, that many random imputations, stacked (a list of frames for a frame).
    #[pyo3(signature = (x, y=None, *, n_draws=None, seed=None))]
    fn impute<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        y: Option<&Bound<'py, PyAny>>,
        n_draws: Option<i64>,
        seed: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        entry(|| {
            let seed = check_seed(read_opt_int(seed, "seed")?)?.unwrap_or(0);
            let fills = match n_draws {
                None => vec![Fill::Expected],
                Some(n) if n >= 1 => (0..n as u64).map(|i| Fill::Draw(derive(seed, i))).collect(),
                Some(n) => {
                    return Err(Error::Parameter(format!("n_draws must be >= 1, got {n}")).into())
                }
            };
            let (rows, labels) = self.inputs(py, x, y, false)?;
            let frame = self.shared.frame(py).is_some();
            let numpy = py.import("numpy")?;
            let original = if frame {
                x.clone()
            } else {
                numpy.call_method1("asarray", (x,))?
            };
            let mut out = Vec::with_capacity(fills.len());
            for fill in fills {
                let imputed = self.rows_out(py, labels.as_deref(), |m, sink| {
                    impute::impute(m, &rows, labels.as_deref(), fill, sink)
                })?;
                out.push(if frame {
                    frame::fill_gaps(py, &original, &imputed)?
                } else {
                    let gaps = numpy.call_method1("isnan", (&original,))?;
                    let dtype = imputed.getattr("dtype")?;
                    numpy
                        .call_method1("where", (gaps, &imputed, &original))?
                        .call_method1("astype", (dtype,))?
                });
            }
            match (n_draws, frame) {
                (None, _) => Ok(out.remove(0)),
                (Some(_), true) => Ok(pyo3::types::PyList::new(py, out)?.into_any()),
                (Some(_), false) => numpy.call_method1("stack", (out,)),
            }
        })
    }

    /// +1 for inliers and -1 for outliers, int64.
    #[pyo3(signature = (x, y=None, *, k=LIKELIHOOD_SAMPLES))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        y: Option<&Bound<'py, PyAny>>,
        k: i64,
    ) -> PyResult<Bound<'py, PyAny>> {
        entry(|| self.per_row(py, x, y, |m, x, l| inference::predict(m, x, l, k)))
    }

    /// The outlier threshold on `score_samples` that fit set: the `contamination` quantile of
    /// the training rows' scores.
    #[getter]
    fn offset_(&self, py: Python<'_>) -> PyResult<f64> {
        entry(|| Ok(py.detach(|| self.shared_handle_read(inference::offset))?))
    }
}
