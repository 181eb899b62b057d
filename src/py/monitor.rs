//! Watching `fit` from Python: Ctrl-C, per-epoch callbacks and the progress bar.

use crate::error::{Error, Result};
use crate::train::{EpochStats, Monitor};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::time::{Duration, Instant};

/// How often training re-attaches to the interpreter to look for Ctrl-C.
const SIGNAL_CHECK_EVERY: Duration = Duration::from_millis(100);

pub struct PyMonitor {
    callbacks: Vec<Py<PyAny>>,
    bar: Option<Py<PyAny>>,
    last_check: Instant,
    /// The Python exception that stopped training, re-raised once `fit` returns.
    pub raised: Option<PyErr>,
}

impl PyMonitor {
    pub fn new(callbacks: Vec<Py<PyAny>>, bar: Option<Py<PyAny>>) -> PyMonitor {
        PyMonitor {
            callbacks,
            bar,
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
