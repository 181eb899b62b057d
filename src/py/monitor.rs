//! Watching `fit` from Python: Ctrl-C, per-epoch callbacks and the progress bar.

use crate::error::{Error, Result};
use crate::train::{EpochStats, Monitor};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::ffi::CString;
use std::time::{Duration, Instant};

/// How often training re-attaches to the interpreter to look for Ctrl-C.
const SIGNAL_CHECK_EVERY: Duration = Duration::from_millis(100);

pub struct PyMonitor {
    callbacks: Vec<Py<PyAny>>,
    /// `fit(progress=)`: whether to show a bar (`None`: when interactive).
    progress: Option<bool>,
    /// The bar's label.
    desc: &'static str,
    bar: Option<Py<PyAny>>,
    last_check: Instant,
    /// The Python exception that stopped training, re-raised once `fit` returns.
    pub raised: Option<PyErr>,
}

impl PyMonitor {
    pub fn new(callbacks: Vec<Py<PyAny>>, progress: Option<bool>, desc: &'static str) -> PyMonitor {
        PyMonitor {
            callbacks,
            progress,
            desc,
            bar: None,
            last_check: Instant::now(),
            raised: None,
        }
    }

    fn stop_with(&mut self, err: PyErr) -> Error {
        self.raised = Some(err);
        Error::Interrupted
    }

    /// Closes the progress bar.
    pub fn close(&self, py: Python<'_>) {
        if let Some(bar) = &self.bar {
            let _ = bar.call_method0(py, "close");
        }
    }
}

/// An epoch's stats as the dict that `history` and callbacks see (`epoch` as an int).
pub fn stats_dict<'py>(py: Python<'py>, stats: &EpochStats) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (name, value) in stats {
        if name == "epoch" {
            dict.set_item(name, *value as u64)?;
        } else {
            dict.set_item(name, *value)?;
        }
    }
    Ok(dict)
}

impl Monitor for PyMonitor {
    /// Opens the progress bar, now that the number of epochs is known.
    fn begin(&mut self, epochs: usize, done: usize) -> Result<()> {
        let outcome = Python::attach(|py| -> PyResult<Option<Py<PyAny>>> {
            let bar = py.import("genaug._progress")?.call_method1(
                "progress_bar",
                (epochs, done.min(epochs), self.progress, self.desc),
            )?;
            Ok((!bar.is_none()).then(|| bar.unbind()))
        });
        match outcome {
            Ok(bar) => {
                self.bar = bar;
                Ok(())
            }
            Err(err) => Err(self.stop_with(err)),
        }
    }

    /// Issues a `genaug.TrainingWarning`; with warnings turned into errors, training stops with
    /// that error.
    fn warn(&mut self, message: &str) -> Result<()> {
        let outcome = Python::attach(|py| -> PyResult<()> {
            let category = py.import("genaug.exceptions")?.getattr("TrainingWarning")?;
            let message = CString::new(message.replace('\0', " "))?;
            PyErr::warn(py, &category, &message, 1)
        });
        outcome.map_err(|err| self.stop_with(err))
    }

    fn between_batches(&mut self) -> Result<()> {
        if self.last_check.elapsed() < SIGNAL_CHECK_EVERY {
            return Ok(());
        }
        self.last_check = Instant::now();
        match Python::attach(|py| py.check_signals()) {
            Ok(()) => Ok(()),
            Err(err) => Err(self.stop_with(err)),
        }
    }

    fn after_epoch(&mut self, stats: &EpochStats) -> Result<bool> {
        let outcome = Python::attach(|py| -> PyResult<bool> {
            py.check_signals()?;
            let dict = stats_dict(py, stats)?;
            if let Some(bar) = &self.bar {
                let losses = PyDict::new(py);
                for (name, value) in stats {
                    if name != "epoch" && name != "seconds" {
                        losses.set_item(name, format!("{value:.4}"))?;
                    }
                }
                bar.call_method(py, "set_postfix", (), Some(&losses))?;
                bar.call_method1(py, "update", (1,))?;
            }
            let mut keep_going = true;
            for callback in &self.callbacks {
                let answer = callback.call1(py, (dict.copy()?,))?;
                if answer.bind(py).is(&*pyo3::types::PyBool::new(py, false)) {
                    keep_going = false;
                }
            }
            Ok(keep_going)
        });
        outcome.map_err(|err| self.stop_with(err))
    }
}
