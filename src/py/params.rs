//! Constructor parameters as Python objects: kept exactly as given, so that `get_params`
//! returns the very objects the constructor received (scikit-learn's `clone` checks identity),
//! and read into the core's config types in one place for both `__new__` and `set_params`.

use super::convert::{read_opt_int, read_opt_ints};
use crate::device::parse_device;
use crate::error::Error;
use crate::model::{Model, Network};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyString, PyTuple};
use std::sync::Mutex;

/// Default values for `#[pyo3(signature = ...)]`: fresh Python objects, stored as given.
pub fn none() -> Py<PyAny> {
    Python::attach(|py| py.None())
}

pub fn float(value: f64) -> Py<PyAny> {
    Python::attach(|py| PyFloat::new(py, value).into_any().unbind())
}

pub fn string(value: &str) -> Py<PyAny> {
    Python::attach(|py| PyString::new(py, value).into_any().unbind())
}

/// A model's constructor parameters in their order, as given.
pub struct Params(Mutex<Py<PyDict>>);

impl Params {
    pub fn new(dict: Bound<'_, PyDict>) -> Params {
        Params(Mutex::new(dict.unbind()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Py<PyDict>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new dict of the parameters (the values themselves are shared, not copied).
    pub fn get<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.lock().bind(py).copy()
    }

    /// The parameters with `updates` applied, or `None` when every update is the object
    /// already set; unknown names are a `ParameterError`.
    pub fn merged<'py>(
        &self,
        py: Python<'py>,
        kind: &str,
        updates: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let params = self.get(py)?;
        let mut changed = false;
        for (name, value) in updates.into_iter().flatten() {
            if !params.contains(&name)? {
                let valid: Vec<String> = params.keys().iter().map(|k| k.to_string()).collect();
                return Err(Error::Parameter(format!(
                    "invalid parameter {name} for {kind}; valid parameters: {}",
                    valid.join(", ")
                ))
                .into());
            }
            changed |= !params.get_item(&name)?.is_some_and(|old| old.is(&value));
            params.set_item(name, value)?;
        }
        Ok(changed.then_some(params))
    }

    /// Stores new parameters (with or without the GIL).
    pub fn replace(&self, dict: Py<PyDict>) {
        *self.lock() = dict;
    }
}

/// A dict of `entries` (name, value) in their order.
pub fn dict_of<'py>(
    py: Python<'py>,
    entries: &[(&str, Py<PyAny>)],
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (name, value) in entries {
        dict.set_item(*name, value.bind(py))?;
    }
    Ok(dict)
}

/// Reads parameter `name` of a parameter dict.
pub struct Reader<'a, 'py>(pub &'a Bound<'py, PyDict>);

impl<'py> Reader<'_, 'py> {
    fn item(&self, name: &str) -> PyResult<Bound<'py, PyAny>> {
        self.0
            .get_item(name)?
            .ok_or_else(|| Error::Internal(format!("parameter {name} missing")).into())
    }

    pub fn opt_int(&self, name: &str) -> PyResult<Option<i64>> {
        read_opt_int(Some(&self.item(name)?), name)
    }

    pub fn opt_ints(&self, name: &str) -> PyResult<Option<Vec<i64>>> {
        read_opt_ints(Some(&self.item(name)?), name)
    }

    pub fn float(&self, name: &str) -> PyResult<f64> {
        let value = self.item(name)?;
        read_float(&value, name)
    }

    pub fn opt_float(&self, name: &str) -> PyResult<Option<f64>> {
        let value = self.item(name)?;
        if value.is_none() {
            return Ok(None);
        }
        read_float(&value, name).map(Some)
    }

    pub fn string(&self, name: &str) -> PyResult<String> {
        let value = self.item(name)?;
        value.extract::<String>().map_err(|_| {
            Error::Parameter(format!(
                "{name} must be a string, got {}",
                value.repr().map_or_else(|_| "?".into(), |r| r.to_string())
            ))
            .into()
        })
    }

    /// An optional pair of numbers (Adam's betas).
    pub fn opt_pair(&self, name: &str) -> PyResult<Option<(f64, f64)>> {
        let value = self.item(name)?;
        if value.is_none() {
            return Ok(None);
        }
        let items: Vec<Bound<'py, PyAny>> = value
            .try_iter()
            .and_then(|it| it.collect::<PyResult<_>>())
            .map_err(|_| Error::Parameter(format!("{name} must be a pair of numbers")))?;
        match items.as_slice() {
            [a, b] => Ok(Some((read_float(a, name)?, read_float(b, name)?))),
            _ => Err(Error::Parameter(format!(
                "{name} must be a pair of numbers, got {} values",
                items.len()
            ))
            .into()),
        }
    }

    /// A whole number that must be at least 1, or `None`.
    pub fn opt_positive(&self, name: &str) -> PyResult<Option<usize>> {
        self.opt_int(name)?
            .map(|n| {
                usize::try_from(n).ok().filter(|&n| n >= 1).ok_or_else(|| {
                    Error::Parameter(format!("{name} must be at least 1, got {n}")).into()
                })
            })
            .transpose()
    }
}

/// A real number (not a bool).
fn read_float(value: &Bound<'_, PyAny>, name: &str) -> PyResult<f64> {
    let number = (!value.is_instance_of::<PyBool>())
        .then(|| value.extract::<f64>().ok())
        .flatten();
    number.ok_or_else(|| {
        Error::Parameter(format!(
            "{name} must be a number, got {}",
            value.repr().map_or_else(|_| "?".into(), |r| r.to_string())
        ))
        .into()
    })
}

/// Python objects for a loaded model's parameters.
pub fn int(py: Python<'_>, value: i64) -> Py<PyAny> {
    value
        .into_pyobject(py)
        .map_or_else(|_| py.None(), |v| v.into_any().unbind())
}

/// A seed as a parameter: `None` for one beyond Python's reach as an `i64` (never set by the
/// constructor, which takes seeds up to 2^63 - 1).
pub fn seed_value(py: Python<'_>, seed: u64) -> Py<PyAny> {
    i64::try_from(seed).map_or_else(|_| py.None(), |s| int(py, s))
}

pub fn opt_float(py: Python<'_>, value: Option<f64>) -> Py<PyAny> {
    value.map_or_else(|| py.None(), |v| PyFloat::new(py, v).into_any().unbind())
}

pub fn ints(py: Python<'_>, values: &[i64]) -> PyResult<Py<PyAny>> {
    Ok(PyTuple::new(py, values)?.into_any().unbind())
}

/// Widths left to the data (`None`) or given.
pub fn opt_ints(py: Python<'_>, values: Option<&[i64]>) -> PyResult<Py<PyAny>> {
    values.map_or_else(|| Ok(py.None()), |v| ints(py, v))
}

impl Reader<'_, '_> {
    /// A new model of `config` on the `device` parameter's device, seeded by `seed` (`None`
    /// means 0; whole numbers must be >= 0): the parameters every model class shares.
    pub fn model<N: Network>(&self, config: N::Config) -> PyResult<Model<N>> {
        let device = parse_device(&self.string("device")?)?;
        let seed = self.opt_int("seed")?.unwrap_or(0);
        let seed = super::shared::check_seed(Some(seed))?.unwrap_or_default();
        Ok(Model::new(config, device, seed))
    }
}

/// How a Python model class reads its parameters into a new model, and a loaded model's
/// parameters back out.
pub trait Constructor: Network {
    /// A new, unfitted model; invalid parameters are `ParameterError`s.
    fn from_params(params: &Bound<'_, PyDict>) -> PyResult<Model<Self>>;
    /// The parameters that would build a model like `model` (for a loaded one).
    fn params_of<'py>(py: Python<'py>, model: &Model<Self>) -> PyResult<Bound<'py, PyDict>>;
}
