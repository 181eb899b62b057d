//! What every Python model class does, written once over any [`Network`]: inputs are copied
//! out of Python first, then the work runs on the model's [`Handle`] with the GIL released, and
//! every entry point runs under [`entry`], so that a bug that panics surfaces as a
//! `GenaugError`.

use super::convert::{read_count, read_labels, read_opt_int, write_labels, ArraySink};
use super::frame::{self, ColumnArgs};
use super::monitor::{stats_dict, PyMonitor};
use super::params::{Constructor, Params};
use crate::augment::{self, Request, Strategy};
use crate::checkpoint;
use crate::data::DataSpec;
use crate::error::{Error, Result};
use crate::handle::{Access, Handle, Status};
use crate::model::{Holdout, Layout, Model, Network, SampleLabels};
use crate::train::FitOptions;
use numpy::PyArrayMethods;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

pub struct Shared<N: Network> {
    handle: Handle<N>,
    params: Params,
}

/// Runs a Python entry point, turning a panic into a `GenaugError` ("internal error: ...")
/// instead of an abort or a `PanicException`.
pub fn entry<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into());
        Err(Error::Internal(message).into())
    })
}

/// Runs core work with the GIL released.
pub fn detached<T: Send>(py: Python<'_>, f: impl FnOnce() -> Result<T> + Send) -> PyResult<T> {
    py.detach(f).map_err(PyErr::from)
}

pub fn check_count(n: i64, what: &str) -> Result<usize> {
    usize::try_from(n).map_err(|_| Error::Parameter(format!("{what} must be >= 0, got {n}")))
}

/// The `fit` keywords that say how long and how to train.
pub fn fit_options(
    epochs: Option<i64>,
    batch_size: Option<i64>,
    lr: Option<f64>,
    patience: Option<i64>,
    resume: bool,
) -> Result<FitOptions> {
    Ok(FitOptions {
        epochs: epochs.map(|e| check_count(e, "epochs")).transpose()?,
        batch_size: batch_size
            .map(|b| check_count(b, "batch_size"))
            .transpose()?,
        patience: patience.map(|p| check_count(p, "patience")).transpose()?,
        lr,
        resume,
    })
}

pub fn check_seed(seed: Option<i64>) -> Result<Option<u64>> {
    seed.map(|s| {
        u64::try_from(s).map_err(|_| Error::Parameter(format!("seed must be >= 0, got {s}")))
    })
    .transpose()
}

/// `y` for sampling: one class for all rows, or one label per row.
enum SampleY {
    None,
    All(i64),
    Each(Vec<i64>),
    /// Whole rows of a table conditioned on its column: the labels as the core draws them.
    InTrainingShares,
}

impl SampleY {
    fn read(py: Python<'_>, y: Option<&Bound<'_, PyAny>>) -> PyResult<SampleY> {
        let Some(y) = y else { return Ok(SampleY::None) };
        if y.is_none() {
            return Ok(SampleY::None);
        }
        let ndim: usize = py.import("numpy")?.call_method1("ndim", (y,))?.extract()?;
        if ndim == 0 {
            let one = PyList::new(py, [y])?;
            let (label, _) = read_labels(py, one.as_any(), "y")?;
            return Ok(SampleY::All(label[0]));
        }
        Ok(SampleY::Each(read_labels(py, y, "y")?.0))
    }

    /// The label of each of `n` rows, as a NumPy vector (`None` without labels).
    fn codes<'py>(&self, py: Python<'py>, n: usize) -> PyResult<Option<Bound<'py, PyAny>>> {
        let codes = match self {
            SampleY::None | SampleY::InTrainingShares => return Ok(None),
            SampleY::All(label) => vec![*label; n],
            SampleY::Each(labels) => labels.clone(),
        };
        Ok(Some(numpy::PyArray1::from_vec(py, codes).into_any()))
    }

    fn labels(&self) -> SampleLabels<'_> {
        match self {
            SampleY::None => SampleLabels::None,
            SampleY::All(label) => SampleLabels::All(*label),
            SampleY::Each(labels) => SampleLabels::Each(labels),
            SampleY::InTrainingShares => SampleLabels::InTrainingShares,
        }
    }
}

impl<N: Network> Shared<N> {
    /// The model and the parameters that built it.
    fn new(model: Model<N>, params: Bound<'_, PyDict>) -> Result<Self> {
        Ok(Shared {
            handle: Handle::new(model)?,
            params: Params::new(params),
        })
    }

    /// A new model built from the constructor's parameters, kept as given.
    pub fn built(params: Bound<'_, PyDict>) -> PyResult<Self>
    where
        N: Constructor,
    {
        let model = N::from_params(&params)?;
        Ok(Self::new(model, params)?)
    }

    /// A loaded model, with the parameters its config and seed stand for.
    pub fn loaded(py: Python<'_>, model: Model<N>) -> PyResult<Self>
    where
        N: Constructor,
    {
        let params = N::params_of(py, &model)?;
        Ok(Self::new(model, params)?)
    }

    pub fn get_params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.params.get(py)
    }

    /// Replaces the model with a new, unfitted one built from the parameters with `updates`;
    /// updates that change nothing (the very objects already set) leave the model as it is.
    pub fn set_params(&self, py: Python<'_>, updates: Option<&Bound<'_, PyDict>>) -> PyResult<()>
    where
        N: Constructor,
    {
        let Some(params) = self.params.merged(py, N::KIND, updates)? else {
            return Ok(());
        };
        let model = N::from_params(&params)?;
        let params = params.unbind();
        detached(py, || {
            self.handle.replace(model, || self.params.replace(params))
        })
    }

    /// Moves the model to `device` by way of its checkpoint (weights, optimiser state, history,
    /// seed stream: all that `fit(resume=True)` continues from) and sets its `device` parameter.
    pub fn to(&self, py: Python<'_>, device: &str) -> PyResult<()>
    where
        N: Constructor,
    {
        let target = crate::device::parse_device(device)?;
        let updates = PyDict::new(py);
        updates.set_item("device", device)?;
        let params = self
            .params
            .merged(py, N::KIND, Some(&updates))?
            .map(Bound::unbind);
        detached(py, || {
            self.handle.rebuild(
                |model| {
                    let bytes = checkpoint::to_bytes(model, true)?;
                    checkpoint::restore(&checkpoint::from_bytes(&bytes, "the model")?, target)
                },
                || {
                    if let Some(params) = params {
                        self.params.replace(params);
                    }
                },
            )
        })
    }

    /// Runs `f` on the model with the GIL released; calls from other threads wait their turn,
    /// and reads during a fit use its last completed epoch.
    pub fn with<R: Send>(
        &self,
        py: Python<'_>,
        access: Access,
        f: impl FnOnce(&mut Model<N>) -> Result<R> + Send,
    ) -> PyResult<R> {
        detached(py, || self.handle.with(access, f))
    }

    pub fn handle(&self) -> &Handle<N> {
        &self.handle
    }

    /// Reads the status record, which answers at once even while a fit runs. Without the GIL:
    /// a fork in progress holds every status lock until it is done, and it needs the GIL.
    pub fn status<R: Send>(&self, py: Python<'_>, f: impl FnOnce(&Status<N>) -> R + Send) -> R {
        py.detach(|| self.handle.status(|st| f(st)))
    }

    /// The frame spec of a model fitted on a DataFrame.
    pub fn frame(&self, py: Python<'_>) -> Option<String> {
        self.status(py, |st| st.frame.clone())
    }

    #[allow(clippy::too_many_arguments)]
    pub fn fit(
        &self,
        py: Python<'_>,
        x: &Bound<'_, PyAny>,
        y: Option<&Bound<'_, PyAny>>,
        columns: ColumnArgs<'_, '_>,
        options: FitOptions,
        validation: Option<&Bound<'_, PyAny>>,
        callbacks: Option<&Bound<'_, PyAny>>,
        progress: Option<bool>,
    ) -> PyResult<()> {
        let stored = if options.resume { self.frame(py) } else { None };
        let input = frame::read_fit(py, x, y, &columns, stored.as_deref())?;
        let frame = input.columns.frame.clone();
        let holdout = validation
            .map(|v| read_holdout(py, v, frame.as_deref()))
            .transpose()?
            .flatten();
        let callbacks: Vec<Py<PyAny>> = match callbacks {
            None => Vec::new(),
            Some(c) if c.is_callable() => vec![c.clone().unbind()],
            Some(c) => c
                .try_iter()?
                .map(|c| c.map(Bound::unbind))
                .collect::<PyResult<_>>()?,
        };
        let mut monitor = PyMonitor::new(callbacks, progress, N::KIND);
        let outcome = py.detach(|| {
            self.handle.fit(&mut monitor, |model, monitor, publish| {
                model.fit(
                    input.data,
                    input.spec,
                    &input.columns,
                    input.labels.as_deref(),
                    holdout.as_ref(),
                    options,
                    monitor,
                    publish,
                )
            })
        });
        monitor.close(py);
        match (outcome, monitor.raised.take()) {
            (Err(Error::Interrupted), Some(raised)) => Err(raised),
            (outcome, _) => outcome.map_err(PyErr::from),
        }
    }

    pub fn sample<'py>(
        &self,
        py: Python<'py>,
        n: &Bound<'py, PyAny>,
        y: Option<&Bound<'py, PyAny>>,
        seed: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let n = read_count(n, "n")?;
        let seed = check_seed(read_opt_int(seed, "seed")?)?;
        let frame = self.frame(py);
        let y = y.filter(|y| !y.is_none());
        let conditional = self.status(py, |st| !st.classes.is_empty());
        let y = match (&frame, y) {
            // A table's label column is one of its columns: without `y`, whole rows.
            (Some(_), None) if conditional => SampleY::InTrainingShares,
            (Some(frame), Some(y)) => {
                let classes = self.status(py, |st| st.classes.clone());
                SampleY::read(
                    py,
                    frame::label_codes(py, frame, Some(y), classes)?.as_ref(),
                )?
            }
            (_, y) => SampleY::read(py, y)?,
        };
        let mut sink = ArraySink::new();
        let outcome = py.detach(|| {
            self.handle.with(Access::Read, |m| {
                augment::sample(m, n, y.labels(), seed, &mut sink)
            })
        });
        let (outcome, drawn) = match outcome {
            Ok(drawn) => (Ok(()), drawn),
            Err(e) => (Err(e), None),
        };
        let rows = sink.finish(py, outcome)?;
        match frame {
            Some(frame) => {
                let labels = match drawn {
                    Some(drawn) => Some(numpy::PyArray1::from_vec(py, drawn).into_any()),
                    None => y.codes(py, n)?,
                };
                frame::to_frame(py, rows, &frame, labels)
            }
            None => Ok(rows),
        }
    }

    pub fn augment<'py>(
        &self,
        py: Python<'py>,
        batch: &Bound<'py, PyAny>,
        n: Option<&Bound<'py, PyAny>>,
        seed: Option<&Bound<'py, PyAny>>,
        labels: Option<&Bound<'py, PyAny>>,
        strategy: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let n = n.filter(|n| !n.is_none());
        let frame = self.frame(py);
        let classes = self.status(py, |st| st.classes.clone());
        let (rows, column_labels) = frame::read_rows(
            py,
            batch,
            frame.as_deref(),
            "batch",
            "keep",
            Some(classes.clone()),
        )?;
        let seed = check_seed(read_opt_int(seed, "seed")?)?;
        let n = n.map(|n| read_count(n, "n")).transpose()?;
        let strategy = match (&frame, strategy.filter(|s| !s.is_none())) {
            (Some(frame), Some(s)) => Some(
                frame::module(py)?.call_method1("strategy_codes", (frame, s, classes.clone()))?,
            ),
            (_, s) => s.cloned(),
        };
        let strategy = strategy.as_ref();
        let labels = labels.filter(|l| !l.is_none());
        let (request_labels, label_dtype) = match (labels, column_labels) {
            (Some(_), Some(_)) => {
                return Err(Error::Parameter(
                    "this model takes its labels from the batch's label column: drop labels="
                        .into(),
                )
                .into())
            }
            (None, Some(codes)) => (Some(codes), String::new()),
            (Some(labels), None) => {
                let (labels, dtype) = read_labels(py, labels, "labels")?;
                (Some(labels), dtype)
            }
            (None, None) => (None, String::new()),
        };
        let strategy = match (&request_labels, strategy, n) {
            (None, Some(_), _) => {
                return Err(Error::Parameter("strategy needs labels=".into()).into())
            }
            (None, None, None) => {
                return Err(Error::Parameter(
                    "augment(batch, n) needs n, or labels= and a strategy".into(),
                )
                .into())
            }
            (None, None, Some(_)) => None,
            (Some(_), Some(_), Some(_)) => {
                return Err(Error::Parameter("pass either n or strategy, not both".into()).into())
            }
            (Some(_), None, Some(n)) => Some(Strategy::Proportional(n)),
            (Some(_), None, None) => Some(Strategy::Balance),
            (Some(_), Some(s), None) => Some(read_strategy(s)?),
        };
        let batch_rows = rows.rows();
        let prefix =
            match &frame {
                Some(_) => py.import("numpy")?.call_method1(
                    "asarray",
                    (numpy::PyArray1::from_vec(py, rows.values.clone())
                        .reshape(rows.shape.clone())?,),
                )?,
                None => py.import("numpy")?.call_method1("asarray", (batch,))?,
            };
        let mut sink = ArraySink::after(prefix, batch_rows);
        let mut y_aug = None;
        let outcome = py.detach(|| {
            self.handle.with(Access::Read, |m| {
                let request = match (&request_labels, strategy) {
                    (Some(labels), Some(strategy)) => Request::Labelled { labels, strategy },
                    _ => Request::Rows(n.unwrap_or(0)),
                };
                y_aug = augment::augment(m, &rows, request, seed, &mut sink)?;
                Ok(())
            })
        });
        let x_aug = sink.finish(py, outcome)?;
        if let Some(frame) = &frame {
            let new = x_aug.get_item(pyo3::types::PySlice::new(
                py,
                batch_rows as isize,
                isize::MAX,
                1,
            ))?;
            let in_column = frame::has_label_column(py, frame)?;
            let new_labels = match (&y_aug, in_column) {
                (Some(y_aug), true) => {
                    Some(numpy::PyArray1::from_vec(py, y_aug[batch_rows..].to_vec()).into_any())
                }
                _ => None,
            };
            let x_aug = frame::augmented(py, batch, new, frame, new_labels)?;
            return match (y_aug, in_column) {
                (Some(y_aug), false) => {
                    let y_aug = write_labels(py, y_aug, &label_dtype)?;
                    Ok(PyTuple::new(py, [x_aug, y_aug])?.into_any())
                }
                _ => Ok(x_aug),
            };
        }
        match y_aug {
            None => Ok(x_aug),
            Some(y_aug) => {
                let y_aug = write_labels(py, y_aug, &label_dtype)?;
                Ok(PyTuple::new(py, [x_aug, y_aug])?.into_any())
            }
        }
    }

    pub fn to_bytes(&self, py: Python<'_>, include_optimizer: bool) -> PyResult<Vec<u8>> {
        self.with(py, Access::Full, |m| {
            checkpoint::to_bytes(m, include_optimizer)
        })
    }

    pub fn save(&self, py: Python<'_>, path: PathBuf, include_optimizer: bool) -> PyResult<()> {
        let bytes = self.to_bytes(py, include_optimizer)?;
        detached(py, || checkpoint::write_atomic(&path, &bytes))
    }

    pub fn history<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let history = self.status(py, |st| st.history.clone());
        let dicts = history
            .iter()
            .map(|stats| stats_dict(py, stats))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, dicts)
    }

    /// How the last fit trained, as a dict; `NotFittedError` before a fit.
    pub fn fit_params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let params = self.status(py, |st| st.fit_params.clone()).ok_or_else(|| {
            Error::NotFitted(format!(
                "fit_params_ is set by fit, and this {} has not been fitted",
                N::KIND
            ))
        })?;
        let dict = PyDict::new(py);
        dict.set_item("epochs", params.epochs)?;
        dict.set_item("epochs_from", params.epochs_from)?;
        dict.set_item("batch_size", params.batch_size)?;
        dict.set_item("rows", params.rows)?;
        dict.set_item("batches_per_epoch", params.batches_per_epoch)?;
        dict.set_item("batches_per_step", params.batches_per_step)?;
        dict.set_item("target_steps", params.target_steps)?;
        dict.set_item("steps", params.steps)?;
        dict.set_item("lr_decay_epoch", params.lr_decay_epoch)?;
        Ok(dict)
    }

    /// The classes of a conditional model (the label column's values for a model fitted on a
    /// frame with one), else `None`.
    pub fn classes<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let (classes, frame) = self.status(py, |st| (st.classes.clone(), st.frame.clone()));
        if classes.is_empty() {
            return Ok(None);
        }
        let codes = PyList::new(py, &classes)?.into_any();
        match frame {
            Some(frame) => Ok(Some(frame::call(py, "class_values", &frame, &codes)?)),
            None => Ok(Some(codes)),
        }
    }

    /// `f` of the fitted model's config, layout and data spec; `NotFittedError` before a fit.
    pub fn fitted_parts<R: Send>(
        &self,
        py: Python<'_>,
        what: &str,
        f: impl FnOnce(&N::Config, &Layout, &DataSpec) -> R + Send,
    ) -> PyResult<R> {
        self.status(py, |st| {
            st.fitted_parts()
                .map(|(layout, spec)| f(&st.config, layout, spec))
        })
        .ok_or_else(|| {
            Error::NotFitted(format!(
                "{what} is set by fit, and this {} has not been fitted",
                N::KIND
            ))
            .into()
        })
    }

    pub fn is_fitted(&self, py: Python<'_>) -> bool {
        self.status(py, |st| st.fitted)
    }

    pub fn device(&self, py: Python<'_>) -> String {
        self.status(py, |st| crate::device::device_name(st.device))
    }
}

/// `validation=`: a fraction of the training rows, `(x_val, y_val)`, or `x_val` alone.
fn read_holdout(
    py: Python<'_>,
    validation: &Bound<'_, PyAny>,
    frame: Option<&str>,
) -> PyResult<Option<Holdout>> {
    if validation.is_none() {
        return Ok(None);
    }
    // numbers.Real takes NumPy scalars too (np.float32(0.1) is a fraction, not an array).
    let real = py.import("numbers")?.getattr("Real")?;
    if validation.is_instance(&real)? {
        return Ok(Some(Holdout::Fraction(validation.extract()?)));
    }
    let (x_val, y_val) = match validation.cast::<PyTuple>() {
        Ok(pair) if pair.len() == 2 => (pair.get_item(0)?, Some(pair.get_item(1)?)),
        Ok(_) => {
            return Err(Error::Parameter(
                "validation must be a fraction, (x_val, y_val) or x_val".into(),
            )
            .into())
        }
        Err(_) => (validation.clone(), None),
    };
    let (rows, column_labels) =
        frame::read_rows(py, &x_val, frame, "the validation x", "error", None)?;
    let labels = match y_val {
        Some(y) if !y.is_none() => Some(read_labels(py, &y, "the validation y")?.0),
        _ => column_labels,
    };
    Ok(Some(Holdout::Rows(rows, labels)))
}

/// `"balance"` or `{class: final_count}`.
fn read_strategy(strategy: &Bound<'_, PyAny>) -> PyResult<Strategy> {
    if let Ok(name) = strategy.extract::<String>() {
        return match name.as_str() {
            "balance" => Ok(Strategy::Balance),
            other => Err(Error::Parameter(format!(
                "unknown strategy {other:?}: expected \"balance\" or a dict {{class: final_count}}"
            ))
            .into()),
        };
    }
    let dict = strategy.cast::<PyDict>().map_err(|_| {
        Error::Parameter("strategy must be \"balance\" or a dict {class: final_count}".into())
    })?;
    let mut counts = BTreeMap::new();
    for (class, count) in dict.iter() {
        let class: i64 = class
            .extract()
            .map_err(|_| Error::Label(format!("strategy key {class} is not an integer class")))?;
        counts.insert(class, read_count(&count, "a strategy count")?);
    }
    Ok(Strategy::Counts(counts))
}

/// The network a Python model class wraps.
pub trait Wraps {
    type Net: Network;
}

/// A model's `repr` (`"text"`) or notebook HTML (`"html"`), written by `genaug._describe`.
pub fn describe(model: &Bound<'_, PyAny>, form: &str) -> PyResult<String> {
    entry(|| {
        model
            .py()
            .import("genaug._describe")?
            .getattr(form)?
            .call1((model,))?
            .extract()
    })
}

/// The methods every model class shares, as a `#[pymethods]` block of its own over the class's
/// `shared` field; each runs under [`entry`].
macro_rules! shared_methods {
    ($class:ty) => {
        #[pyo3::pymethods]
        impl $class {
            /// Trains the model (a conditional one when integer labels `y` are given); returns
            /// `self`. See the README for `validation`, `patience` and `resume`.
            #[pyo3(signature = (x, y=None, *, epochs=None, batch_size=None, lr=None, callbacks=None, progress=None, validation=None, patience=None, resume=false, discrete_columns=None, missing="error", transform="auto"))]
            #[allow(clippy::too_many_arguments)]
            fn fit<'py>(
                slf: pyo3::Bound<'py, Self>,
                x: &pyo3::Bound<'py, pyo3::PyAny>,
                y: Option<&pyo3::Bound<'py, pyo3::PyAny>>,
                epochs: Option<&pyo3::Bound<'py, pyo3::PyAny>>,
                batch_size: Option<&pyo3::Bound<'py, pyo3::PyAny>>,
                lr: Option<f64>,
                callbacks: Option<&pyo3::Bound<'py, pyo3::PyAny>>,
                progress: Option<bool>,
                validation: Option<&pyo3::Bound<'py, pyo3::PyAny>>,
                patience: Option<&pyo3::Bound<'py, pyo3::PyAny>>,
                resume: bool,
                discrete_columns: Option<&pyo3::Bound<'py, pyo3::PyAny>>,
                missing: &str,
                transform: &str,
            ) -> pyo3::PyResult<pyo3::Bound<'py, Self>> {
                $crate::py::shared::entry(|| {
                    use $crate::py::convert::read_opt_int;
                    let options = $crate::py::shared::fit_options(
                        read_opt_int(epochs, "epochs")?,
                        read_opt_int(batch_size, "batch_size")?,
                        lr,
                        read_opt_int(patience, "patience")?,
                        resume,
                    )?;
                    let columns = $crate::py::frame::ColumnArgs {
                        discrete_columns,
                        missing,
                        transform,
                    };
                    slf.get().shared.fit(
                        slf.py(),
                        x,
                        y,
                        columns,
                        options,
                        validation,
                        callbacks,
                        progress,
                    )?;
                    Ok(slf)
                })
            }

            /// `n` generated samples in the training data's shape, dtype and range; `y` (one
            /// class, or one per sample) for a conditional model.
            #[pyo3(signature = (n, y=None, seed=None))]
            fn sample<'py>(
                &self,
                py: pyo3::Python<'py>,
                n: &pyo3::Bound<'py, pyo3::PyAny>,
                y: Option<&pyo3::Bound<'py, pyo3::PyAny>>,
                seed: Option<&pyo3::Bound<'py, pyo3::PyAny>>,
            ) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::PyAny>> {
                $crate::py::shared::entry(|| self.shared.sample(py, n, y, seed))
            }

            /// `genaug.metrics.report(x, self.sample(n, seed=seed), train, k=k)`: how `n`
            /// generated rows (default: as many as `x` has; seed 0 unless given) compare with
            /// the real rows `x`; a conditional model draws the classes of `y` (or of a
            /// DataFrame's label column), as often as the real rows have them.
            #[pyo3(signature = (x, n=None, *, y=None, seed=None, train=None, k=5))]
            #[allow(clippy::too_many_arguments)]
            fn evaluate<'py>(
                slf: &pyo3::Bound<'py, Self>,
                x: &pyo3::Bound<'py, pyo3::PyAny>,
                n: Option<&pyo3::Bound<'py, pyo3::PyAny>>,
                y: Option<&pyo3::Bound<'py, pyo3::PyAny>>,
                seed: Option<&pyo3::Bound<'py, pyo3::PyAny>>,
                train: Option<&pyo3::Bound<'py, pyo3::PyAny>>,
                k: i64,
            ) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::PyAny>> {
                $crate::py::shared::entry(|| {
                    slf.py()
                        .import("genaug._evaluate")?
                        .getattr("evaluate")?
                        .call1((slf, x, n, y, seed, train, k))
                })
            }

            /// `batch` followed by `n` generated rows; with `labels=`, `(x_aug, labels_aug)`
            /// topped up by `strategy` ("balance" or `{class: final_count}`).
            #[pyo3(signature = (batch, n=None, seed=None, *, labels=None, strategy=None))]
            fn augment<'py>(
                &self,
                py: pyo3::Python<'py>,
                batch: &pyo3::Bound<'py, pyo3::PyAny>,
                n: Option<&pyo3::Bound<'py, pyo3::PyAny>>,
                seed: Option<&pyo3::Bound<'py, pyo3::PyAny>>,
                labels: Option<&pyo3::Bound<'py, pyo3::PyAny>>,
                strategy: Option<&pyo3::Bound<'py, pyo3::PyAny>>,
            ) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::PyAny>> {
                $crate::py::shared::entry(|| {
                    self.shared.augment(py, batch, n, seed, labels, strategy)
                })
            }

            /// Writes the model (weights, scaler, config, seed state, history and, with
            /// `include_optimizer`, the optimiser state to resume training from) to one
            /// `.safetensors` file.
            #[pyo3(signature = (path, *, include_optimizer=true))]
            fn save(
                &self,
                py: pyo3::Python<'_>,
                path: std::path::PathBuf,
                include_optimizer: bool,
            ) -> pyo3::PyResult<()> {
                $crate::py::shared::entry(|| self.shared.save(py, path, include_optimizer))
            }

            /// The model as checkpoint bytes (what `save` writes).
            #[pyo3(signature = (*, include_optimizer=true))]
            fn to_bytes<'py>(
                &self,
                py: pyo3::Python<'py>,
                include_optimizer: bool,
            ) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::types::PyBytes>> {
                $crate::py::shared::entry(|| {
                    Ok(pyo3::types::PyBytes::new(
                        py,
                        &self.shared.to_bytes(py, include_optimizer)?,
                    ))
                })
            }

            /// One dict per completed epoch: losses, figures, `epoch` and `seconds`.
            #[getter]
            fn history<'py>(
                &self,
                py: pyo3::Python<'py>,
            ) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::types::PyList>> {
                $crate::py::shared::entry(|| self.shared.history(py))
            }

            /// How the last fit trained: its epochs (and whether the budget chose them), batch
            /// size, rows, optimiser steps and the epoch from which the rate was lowered.
            #[getter]
            fn fit_params_<'py>(
                &self,
                py: pyo3::Python<'py>,
            ) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::types::PyDict>> {
                $crate::py::shared::entry(|| self.shared.fit_params(py))
            }

            /// The sorted class labels of a conditional model, else `None`.
            #[getter]
            fn classes_<'py>(
                &self,
                py: pyo3::Python<'py>,
            ) -> pyo3::PyResult<Option<pyo3::Bound<'py, pyo3::PyAny>>> {
                $crate::py::shared::entry(|| self.shared.classes(py))
            }

            #[getter]
            fn is_fitted(&self, py: pyo3::Python<'_>) -> pyo3::PyResult<bool> {
                $crate::py::shared::entry(|| Ok(self.shared.is_fitted(py)))
            }

            #[getter]
            fn device(&self, py: pyo3::Python<'_>) -> pyo3::PyResult<String> {
                $crate::py::shared::entry(|| Ok(self.shared.device(py)))
            }

            /// The constructor's parameters as given (scikit-learn's `get_params`).
            #[pyo3(signature = (deep=true))]
            fn get_params<'py>(
                &self,
                py: pyo3::Python<'py>,
                deep: bool,
            ) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::types::PyDict>> {
                let _ = deep; // no parameter is itself an estimator
                $crate::py::shared::entry(|| self.shared.get_params(py))
            }

            /// Moves the model, fitted or not, to `device` (`"cpu"`, `"cuda"`, `"cuda:N"` or
            /// `"auto"`) with everything a resumed fit needs, sets its `device` parameter, and
            /// returns `self`.
            fn to<'py>(
                slf: pyo3::Bound<'py, Self>,
                device: &str,
            ) -> pyo3::PyResult<pyo3::Bound<'py, Self>> {
                $crate::py::shared::entry(|| {
                    slf.get().shared.to(slf.py(), device)?;
                    Ok(slf.clone())
                })
            }

            /// Sets constructor parameters and returns `self`, unfitted: like a new model
            /// built with them (scikit-learn's `set_params`).
            #[pyo3(signature = (**params))]
            fn set_params<'py>(
                slf: pyo3::Bound<'py, Self>,
                params: Option<&pyo3::Bound<'py, pyo3::types::PyDict>>,
            ) -> pyo3::PyResult<pyo3::Bound<'py, Self>> {
                $crate::py::shared::entry(|| {
                    slf.get().shared.set_params(slf.py(), params)?;
                    Ok(slf.clone())
                })
            }

            /// Number of values in one training sample (scikit-learn's `n_features_in_`).
            #[getter]
            fn n_features_in_(&self, py: pyo3::Python<'_>) -> pyo3::PyResult<usize> {
                $crate::py::shared::entry(|| {
                    self.shared
                        .fitted_parts(py, "n_features_in_", |_, _, spec| spec.width())
                })
            }

            /// The column names of the DataFrame the model was fitted on (the label column
            /// included); `AttributeError` for a model fitted on an array, as in scikit-learn.
            #[getter]
            fn feature_names_in_<'py>(
                &self,
                py: pyo3::Python<'py>,
            ) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::PyAny>> {
                $crate::py::shared::entry(|| match self.shared.frame(py) {
                    Some(frame) => $crate::py::frame::module(py)?
                        .call_method1("feature_names", (frame,)),
                    None => Err(pyo3::exceptions::PyAttributeError::new_err(
                        "feature_names_in_ is set by a fit on a DataFrame",
                    )),
                })
            }

            /// Shape of one training sample.
            #[getter]
            fn sample_shape_<'py>(
                &self,
                py: pyo3::Python<'py>,
            ) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::types::PyTuple>> {
                $crate::py::shared::entry(|| {
                    let shape = self.shared.fitted_parts(py, "sample_shape_", |_, _, spec| {
                        spec.sample_shape.clone()
                    })?;
                    pyo3::types::PyTuple::new(py, shape)
                })
            }

            /// NumPy dtype name of the training data, which generated data comes back in.
            #[getter]
            fn dtype_(&self, py: pyo3::Python<'_>) -> pyo3::PyResult<String> {
                $crate::py::shared::entry(|| {
                    self.shared
                        .fitted_parts(py, "dtype_", |_, _, spec| spec.dtype.clone())
                })
            }

            /// The network family the fit used: `"mlp"` or `"conv"`.
            #[getter]
            fn arch_(&self, py: pyo3::Python<'_>) -> pyo3::PyResult<&'static str> {
                $crate::py::shared::entry(|| {
                    self.shared.fitted_parts(py, "arch_", |_, layout, _| {
                        if layout.image.is_some() { "conv" } else { "mlp" }
                    })
                })
            }

            /// Widths `[in, ..., out]` of each fully connected stack of the fitted networks.
            #[getter]
            fn layers_(&self, py: pyo3::Python<'_>) -> pyo3::PyResult<Vec<Vec<i64>>> {
                $crate::py::shared::entry(|| {
                    self.shared.fitted_parts(py, "layers_", |config, layout, _| {
                        <<Self as $crate::py::shared::Wraps>::Net as $crate::model::Network>::linear_layers(
                            config, layout,
                        )
                    })
                })
            }

            fn __repr__(slf: &pyo3::Bound<'_, Self>) -> pyo3::PyResult<String> {
                $crate::py::shared::describe(slf.as_any(), "text")
            }

            fn _repr_html_(slf: &pyo3::Bound<'_, Self>) -> pyo3::PyResult<String> {
                $crate::py::shared::describe(slf.as_any(), "html")
            }

            #[getter]
            fn latent_dim(&self, py: pyo3::Python<'_>) -> pyo3::PyResult<i64> {
                $crate::py::shared::entry(|| {
                    Ok(self.shared.status(py, |st| st.config.latent_dim))
                })
            }
        }
    };
}
pub(crate) use shared_methods;
