//! `genaug.metrics`' native half: float64 matrices and column kinds in (prepared by
//! `genaug/metrics.py`), floats and dicts out; the work runs with the GIL released and stops on
//! Ctrl-C between blocks of rows.

use super::shared::entry;
use crate::error::{Error, Result};
use crate::metrics::table::{ColumnKind, Columns, Rows};
use crate::metrics::{self, Inputs};
use numpy::{PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::Mutex;

fn rows(matrix: &PyReadonlyArray2<'_, f64>, what: &str) -> Result<Rows> {
    let cols = matrix.shape()[1];
    let values = matrix
        .as_slice()
        .map_err(|e| Error::Internal(e.to_string()))?
        .to_vec();
    Rows::new(values, cols, what)
}

/// Runs `f` with the GIL released, checking for Ctrl-C between blocks.
fn detached_interruptible<T: Send>(
    py: Python<'_>,
    f: impl FnOnce(metrics::Interrupt) -> Result<T> + Send,
) -> PyResult<T> {
    let raised: Mutex<Option<PyErr>> = Mutex::new(None);
    let check = || -> Result<()> {
        Python::attach(|py| py.check_signals()).map_err(|err| {
            if let Ok(mut slot) = raised.lock() {
                *slot = Some(err);
            }
            Error::Interrupted
        })
    };
    let outcome = py.detach(|| f(&check));
    match outcome {
        Ok(value) => Ok(value),
        Err(err) => Err(raised
            .into_inner()
            .ok()
            .flatten()
            .unwrap_or_else(|| err.into())),
    }
}

/// One metric (`which`) of real and generated rows; `discrete` says which columns are.
#[pyfunction]
#[pyo3(signature = (which, real, generated, train, discrete, names, standardize, k, bandwidth))]
#[allow(clippy::too_many_arguments)]
pub fn _metric<'py>(
    py: Python<'py>,
    which: &str,
    real: PyReadonlyArray2<'py, f64>,
    generated: PyReadonlyArray2<'py, f64>,
    train: Option<PyReadonlyArray2<'py, f64>>,
    discrete: Vec<bool>,
    names: Vec<String>,
    standardize: bool,
    k: usize,
    bandwidth: Option<f64>,
) -> PyResult<Bound<'py, PyAny>> {
    entry(|| {
        let inputs = Inputs {
            columns: Columns {
                kinds: discrete
                    .iter()
                    .map(|&d| {
                        if d {
                            ColumnKind::Discrete
                        } else {
                            ColumnKind::Continuous
                        }
                    })
                    .collect(),
                names,
            },
            real: rows(&real, "real")?,
            generated: rows(&generated, "generated")?,
            train: train.as_ref().map(|t| rows(t, "train")).transpose()?,
            standardize,
        };
        let out = PyDict::new(py);
        match which {
            "mmd" => {
                let value = detached_interruptible(py, |stop| {
                    metrics::maximum_mean_discrepancy(&inputs, bandwidth, stop)
                })?;
                return Ok(value.into_pyobject(py)?.into_any());
            }
            "frechet_distance" => {
                let value = detached_interruptible(py, |_| metrics::frechet_distance(&inputs))?;
                return Ok(value.into_pyobject(py)?.into_any());
            }
            "classifier_auc" => {
                let value =
                    detached_interruptible(py, |stop| metrics::classifier_auc(&inputs, k, stop))?;
                return Ok(value.into_pyobject(py)?.into_any());
            }
            "correlation_difference" => {
                let value =
                    detached_interruptible(py, |_| metrics::correlation_difference(&inputs))?;
                return Ok(value.into_pyobject(py)?.into_any());
            }
            "prdc" => {
                let p = detached_interruptible(py, |stop| {
                    metrics::precision_recall_density_coverage(&inputs, k, stop)
                })?;
                set_prdc(&out, &p)?;
            }
            "memorisation" => {
                let m = detached_interruptible(py, |stop| metrics::memorisation(&inputs, stop))?;
                set_memorisation(&out, &m)?;
            }
            "columns" => {
                let columns = detached_interruptible(py, |_| metrics::column_fidelity(&inputs))?;
                for (name, _, value) in columns {
                    out.set_item(name, value)?;
                }
            }
            "report" => {
                let r = detached_interruptible(py, |stop| metrics::report(&inputs, k, stop))?;
                out.set_item("mmd", r.mmd)?;
                set_prdc(&out, &r.prdc)?;
                out.set_item("frechet_distance", r.frechet_distance)?;
                out.set_item("classifier_auc", r.classifier_auc)?;
                set_memorisation(&out, &r.memorisation)?;
                out.set_item("ks", r.column_mean(ColumnKind::Continuous))?;
                out.set_item("tvd", r.column_mean(ColumnKind::Discrete))?;
                out.set_item("correlation_difference", r.correlation_difference)?;
            }
            other => {
                return Err(Error::Parameter(format!("unknown metric {other:?}")).into());
            }
        }
        Ok(out.into_any())
    })
}

fn set_prdc(out: &Bound<'_, PyDict>, p: &metrics::Prdc) -> PyResult<()> {
    out.set_item("precision", p.precision)?;
    out.set_item("recall", p.recall)?;
    out.set_item("density", p.density)?;
    out.set_item("coverage", p.coverage)
}

fn set_memorisation(out: &Bound<'_, PyDict>, m: &metrics::Memorisation) -> PyResult<()> {
    out.set_item("dcr_ratio", m.dcr_ratio)?;
    out.set_item("duplicate_rate", m.duplicate_rate)
}
