//! What every Python model class does, written once over any [`Network`]: the model sits behind
//! a mutex, inputs are copied out of Python first, and the work runs with the GIL released.

use super::convert::{concatenate, read_array, read_labels, write_array, write_labels};
use super::monitor::{stats_dict, PyMonitor};
use crate::augment::{labels_to_generate, Strategy};
use crate::checkpoint;
use crate::error::{Error, Result};
use crate::model::{Holdout, Model, Network};
use crate::train::FitOptions;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::thread::ThreadId;

pub struct Shared<N: Network> {
    model: Mutex<Model<N>>,
    /// The thread running `fit`, whose callbacks must not wait for the model it holds.
    fitting_on: Mutex<Option<ThreadId>>,
}

/// Marks a thread as fitting until dropped.
struct Fitting<'a>(&'a Mutex<Option<ThreadId>>);

impl<'a> Fitting<'a> {
    fn start(slot: &'a Mutex<Option<ThreadId>>) -> Fitting<'a> {
        *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(std::thread::current().id());
        Fitting(slot)
    }
}

impl Drop for Fitting<'_> {
    fn drop(&mut self) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// Runs `f`, turning a panic into an error instead of an abort or a `PanicException`.
fn guarded<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into());
        Err(Error::Internal(message))
    })
}

pub fn check_count(n: i64, what: &str) -> Result<usize> {
    usize::try_from(n).map_err(|_| Error::Parameter(format!("{what} must be >= 0, got {n}")))
}

/// The `fit` keywords that say how long and how to train.
pub fn fit_options(
    epochs: i64,
    batch_size: i64,
    lr: Option<f64>,
    patience: Option<i64>,
    resume: bool,
) -> Result<FitOptions> {
    Ok(FitOptions {
        epochs: check_count(epochs, "epochs")?,
        batch_size: check_count(batch_size, "batch_size")?,
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

/// `y` for sampling: one class for all `n` rows, or one label per row.
fn read_sample_labels(
    py: Python<'_>,
    y: Option<&Bound<'_, PyAny>>,
    n: usize,
) -> PyResult<Option<Vec<i64>>> {
    let Some(y) = y else { return Ok(None) };
    let ndim: usize = py.import("numpy")?.call_method1("ndim", (y,))?.extract()?;
    if ndim == 0 {
        let one = PyList::new(py, [y])?;
        let (label, _) = read_labels(py, one.as_any(), "y")?;
        return Ok(Some(vec![label[0]; n]));
    }
    Ok(Some(read_labels(py, y, "y")?.0))
}

impl<N: Network> Shared<N> {
    pub fn new(model: Model<N>) -> Self {
        Shared {
            model: Mutex::new(model),
            fitting_on: Mutex::new(None),
        }
    }

    /// The model, once no other thread uses it. On the thread that is running `fit` (in one of
    /// its callbacks) that would never happen, so it is an error there.
    fn lock(&self) -> Result<MutexGuard<'_, Model<N>>> {
        let fitting_on = *self.fitting_on.lock().unwrap_or_else(|p| p.into_inner());
        if fitting_on == Some(std::thread::current().id()) {
            return Err(Error::Busy(format!(
                "this {} is being fitted on this thread (is this a fit callback?); use the \
                 model after fit returns, or stop training by returning False",
                N::KIND
            )));
        }
        Ok(self
            .model
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// Runs `f` on the model with the GIL released (the lock is taken without the GIL, so a
    /// thread holding it can always re-attach). Calls from other threads wait their turn.
    pub fn with<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Model<N>) -> Result<R> + Send,
    ) -> PyResult<R> {
        py.detach(|| guarded(|| f(&mut *self.lock()?)))
            .map_err(PyErr::from)
    }

    #[allow(clippy::too_many_arguments)]
    pub fn fit(
        &self,
        py: Python<'_>,
        x: &Bound<'_, PyAny>,
        y: Option<&Bound<'_, PyAny>>,
        options: FitOptions,
        validation: Option<&Bound<'_, PyAny>>,
        callbacks: Option<&Bound<'_, PyAny>>,
        progress: Option<bool>,
    ) -> PyResult<()> {
        let (data, spec) = read_array(py, x, "x")?;
        let labels = y
            .map(|y| read_labels(py, y, "y"))
            .transpose()?
            .map(|(labels, _)| labels);
        let holdout = validation
            .map(|v| read_holdout(py, v))
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
        let done = if options.resume {
            self.with(py, |m| Ok(m.history.len()))?
        } else {
            0
        };
        let bar = py.import("genaug._progress")?.call_method1(
            "progress_bar",
            (options.epochs, done.min(options.epochs), progress, N::KIND),
        )?;
        let bar = (!bar.is_none()).then(|| bar.unbind());
        let mut monitor = PyMonitor::new(callbacks, bar);
        let outcome = py.detach(|| {
            guarded(|| {
                let mut model = self.lock()?;
                let _fitting = Fitting::start(&self.fitting_on);
                model.fit(
                    &data,
                    spec,
                    labels.as_deref(),
                    holdout.as_ref(),
                    options,
                    &mut monitor,
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
        n: i64,
        y: Option<&Bound<'py, PyAny>>,
        seed: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let n = check_count(n, "n")?;
        let seed = check_seed(seed)?;
        let labels = read_sample_labels(py, y, n)?;
        let (array, spec) = self.with(py, |m| {
            let array = m.sample(n, labels.as_deref(), seed)?;
            Ok((array, m.fitted()?.spec.clone()))
        })?;
        write_array(py, array, &spec)
    }

    pub fn augment<'py>(
        &self,
        py: Python<'py>,
        batch: &Bound<'py, PyAny>,
        n: Option<i64>,
        seed: Option<i64>,
        labels: Option<&Bound<'py, PyAny>>,
        strategy: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (rows, _) = read_array(py, batch, "batch")?;
        let seed = check_seed(seed)?;
        let n = n.map(|n| check_count(n, "n")).transpose()?;
        let Some(labels) = labels else {
            if strategy.is_some() {
                return Err(Error::Parameter("strategy needs labels=".into()).into());
            }
            let n = n.ok_or_else(|| {
                Error::Parameter("augment(batch, n) needs n, or labels= and a strategy".into())
            })?;
            let (generated, spec) = self.with(py, |m| {
                m.check_rows(&rows, "batch")?;
                Ok((m.sample(n, None, seed)?, m.fitted()?.spec.clone()))
            })?;
            let generated = write_array(py, generated, &spec)?;
            return concatenate(py, batch, &generated, &spec.dtype);
        };
        let (labels, label_dtype) = read_labels(py, labels, "labels")?;
        if labels.len() != rows.rows() {
            return Err(Error::Label(format!(
                "labels has {} entries for {} rows of batch",
                labels.len(),
                rows.rows()
            ))
            .into());
        }
        let strategy = match (strategy, n) {
            (Some(_), Some(_)) => {
                return Err(Error::Parameter("pass either n or strategy, not both".into()).into())
            }
            (None, Some(n)) => Strategy::Proportional(n),
            (None, None) => Strategy::Balance,
            (Some(s), None) => read_strategy(s)?,
        };
        let (generated, new_labels, spec) = self.with(py, |m| {
            m.check_rows(&rows, "batch")?;
            let new_labels = labels_to_generate(&labels, &m.fitted()?.classes, &strategy)?;
            let generated = m.sample(new_labels.len(), Some(&new_labels), seed)?;
            Ok((generated, new_labels, m.fitted()?.spec.clone()))
        })?;
        let generated = write_array(py, generated, &spec)?;
        let x_aug = concatenate(py, batch, &generated, &spec.dtype)?;
        let old_labels = write_labels(py, labels, &label_dtype)?;
        let y_aug = concatenate(
            py,
            &old_labels,
            &write_labels(py, new_labels, &label_dtype)?,
            &label_dtype,
        )?;
        Ok(PyTuple::new(py, [x_aug, y_aug])?.into_any())
    }

    pub fn to_bytes(&self, py: Python<'_>, include_optimizer: bool) -> PyResult<Vec<u8>> {
        self.with(py, |m| checkpoint::to_bytes(m, include_optimizer))
    }

    pub fn save(&self, py: Python<'_>, path: PathBuf, include_optimizer: bool) -> PyResult<()> {
        let bytes = self.to_bytes(py, include_optimizer)?;
        py.detach(|| checkpoint::write_atomic(&path, &bytes))
            .map_err(PyErr::from)
    }

    pub fn history<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let history = self.with(py, |m| Ok(m.history.clone()))?;
        let dicts = history
            .iter()
            .map(|stats| stats_dict(py, stats))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, dicts)
    }

    pub fn classes(&self, py: Python<'_>) -> PyResult<Option<Vec<i64>>> {
        self.with(py, |m| {
            Ok(m.fitted
                .as_ref()
                .map(|f| f.classes.clone())
                .filter(|c| !c.is_empty()))
        })
    }

    pub fn is_fitted(&self, py: Python<'_>) -> PyResult<bool> {
        self.with(py, |m| Ok(m.fitted.is_some()))
    }

    pub fn device(&self, py: Python<'_>) -> PyResult<String> {
        self.with(py, |m| Ok(crate::device::device_name(m.device)))
    }
}

/// `validation=`: a fraction of the training rows, `(x_val, y_val)`, or `x_val` alone.
fn read_holdout(py: Python<'_>, validation: &Bound<'_, PyAny>) -> PyResult<Option<Holdout>> {
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
    let (rows, _) = read_array(py, &x_val, "the validation x")?;
    let labels = match y_val {
        Some(y) if !y.is_none() => Some(read_labels(py, &y, "the validation y")?.0),
        _ => None,
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
        let count: i64 = count
            .extract()
            .map_err(|_| Error::Parameter(format!("strategy count {count} is not an integer")))?;
        counts.insert(class, check_count(count, "a strategy count")?);
    }
    Ok(Strategy::Counts(counts))
}

/// The methods every model class shares, as a `#[pymethods]` block of its own over the class's
/// `shared` field.
macro_rules! shared_methods {
    ($class:ty) => {
        #[pyo3::pymethods]
        impl $class {
            /// Trains the model (a conditional one when integer labels `y` are given); returns
            /// `self`. See the README for `validation`, `patience` and `resume`.
            #[pyo3(signature = (x, y=None, *, epochs=100, batch_size=64, lr=None, callbacks=None, progress=None, validation=None, patience=None, resume=false))]
            #[allow(clippy::too_many_arguments)]
            fn fit<'py>(
                slf: pyo3::Bound<'py, Self>,
                x: &pyo3::Bound<'py, pyo3::PyAny>,
                y: Option<&pyo3::Bound<'py, pyo3::PyAny>>,
                epochs: i64,
                batch_size: i64,
                lr: Option<f64>,
                callbacks: Option<&pyo3::Bound<'py, pyo3::PyAny>>,
                progress: Option<bool>,
                validation: Option<&pyo3::Bound<'py, pyo3::PyAny>>,
                patience: Option<i64>,
                resume: bool,
            ) -> pyo3::PyResult<pyo3::Bound<'py, Self>> {
                let options = $crate::py::shared::fit_options(epochs, batch_size, lr, patience, resume)?;
                slf.get()
                    .shared
                    .fit(slf.py(), x, y, options, validation, callbacks, progress)?;
                Ok(slf)
            }

            /// `n` generated samples in the training data's shape, dtype and range; `y` (one
            /// class, or one per sample) for a conditional model.
            #[pyo3(signature = (n, y=None, seed=None))]
            fn sample<'py>(
                &self,
                py: pyo3::Python<'py>,
                n: i64,
                y: Option<&pyo3::Bound<'py, pyo3::PyAny>>,
                seed: Option<i64>,
            ) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::PyAny>> {
                self.shared.sample(py, n, y, seed)
            }

            /// `batch` followed by `n` generated rows; with `labels=`, `(x_aug, labels_aug)`
            /// topped up by `strategy` ("balance" or `{class: final_count}`).
            #[pyo3(signature = (batch, n=None, seed=None, *, labels=None, strategy=None))]
            fn augment<'py>(
                &self,
                py: pyo3::Python<'py>,
                batch: &pyo3::Bound<'py, pyo3::PyAny>,
                n: Option<i64>,
                seed: Option<i64>,
                labels: Option<&pyo3::Bound<'py, pyo3::PyAny>>,
                strategy: Option<&pyo3::Bound<'py, pyo3::PyAny>>,
            ) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::PyAny>> {
                self.shared.augment(py, batch, n, seed, labels, strategy)
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
                self.shared.save(py, path, include_optimizer)
            }

            /// The model as checkpoint bytes (what `save` writes).
            #[pyo3(signature = (*, include_optimizer=true))]
            fn to_bytes<'py>(
                &self,
                py: pyo3::Python<'py>,
                include_optimizer: bool,
            ) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::types::PyBytes>> {
                Ok(pyo3::types::PyBytes::new(
                    py,
                    &self.shared.to_bytes(py, include_optimizer)?,
                ))
            }

            /// One dict per completed epoch: losses, figures, `epoch` and `seconds`.
            #[getter]
            fn history<'py>(
                &self,
                py: pyo3::Python<'py>,
            ) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::types::PyList>> {
                self.shared.history(py)
            }

            /// The sorted class labels of a conditional model, else `None`.
            #[getter]
            fn classes_(&self, py: pyo3::Python<'_>) -> pyo3::PyResult<Option<Vec<i64>>> {
                self.shared.classes(py)
            }

            #[getter]
            fn is_fitted(&self, py: pyo3::Python<'_>) -> pyo3::PyResult<bool> {
                self.shared.is_fitted(py)
            }

            #[getter]
            fn device(&self, py: pyo3::Python<'_>) -> pyo3::PyResult<String> {
                self.shared.device(py)
            }

            #[getter]
            fn latent_dim(&self, py: pyo3::Python<'_>) -> pyo3::PyResult<i64> {
                self.shared.with(py, |m| Ok(m.config.latent_dim))
            }
        }
    };
}
pub(crate) use shared_methods;
