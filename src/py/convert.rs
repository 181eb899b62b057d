//! NumPy <-> Rust: any array-like in (copied, as `f32`), generated arrays out in the training
//! data's dtype; integer label vectors.

use crate::data::{Array, DataSpec};
use crate::error::Error;
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;

/// `numpy.asarray(obj)`, with a clear error for what NumPy cannot make an array of.
fn as_ndarray<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    what: &str,
) -> PyResult<Bound<'py, PyAny>> {
    py.import("numpy")?
        .call_method1("asarray", (obj,))
        .map_err(|e| Error::Data(format!("{what} cannot be read as a numeric array: {e}")).into())
}

fn dtype_of(array: &Bound<'_, PyAny>) -> PyResult<(String, String)> {
    let dtype = array.getattr("dtype")?;
    Ok((
        dtype.getattr("kind")?.extract()?,
        dtype.getattr("name")?.extract()?,
    ))
}

/// Reads an array-like of real or integer numbers; returns it with the spec that describes it.
pub fn read_array(
    py: Python<'_>,
    obj: &Bound<'_, PyAny>,
    what: &str,
) -> PyResult<(Array, DataSpec)> {
    let array = as_ndarray(py, obj, what)?;
    let (kind, name) = dtype_of(&array)?;
    if !matches!(kind.as_str(), "f" | "i" | "u" | "b") {
        return Err(Error::Data(format!(
            "{what} has dtype {name}; genaug takes arrays of real or integer numbers"
        ))
        .into());
    }
    let floats = py
        .import("numpy")?
        .call_method1("ascontiguousarray", (array, "float32"))?;
    let floats: PyReadonlyArrayDyn<'_, f32> = floats.extract()?;
    let shape = floats.shape().to_vec();
    let values = floats
        .as_slice()
        .map_err(|e| Error::Internal(e.to_string()))?
        .to_vec();
    let data = Array::new(values, shape)?;
    let spec = DataSpec {
        sample_shape: data.sample_shape().to_vec(),
        dtype: name,
        integral: kind != "f",
    };
    Ok((data, spec))
}

/// Generated samples as a NumPy array of the training data's shape and dtype.
pub fn write_array<'py>(
    py: Python<'py>,
    array: Array,
    spec: &DataSpec,
) -> PyResult<Bound<'py, PyAny>> {
    let out = PyArray1::from_vec(py, array.values).reshape(array.shape)?;
    out.call_method1("astype", (spec.dtype.as_str(),))
}

/// `f32` rows (latent codes, scores) as a NumPy array of the given shape.
pub fn write_floats<'py>(
    py: Python<'py>,
    values: Vec<f32>,
    shape: Vec<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(PyArray1::from_vec(py, values).reshape(shape)?.into_any())
}

/// A 1-d vector of integer class labels, with its NumPy dtype name.
pub fn read_labels(
    py: Python<'_>,
    obj: &Bound<'_, PyAny>,
    what: &str,
) -> PyResult<(Vec<i64>, String)> {
    let array = as_ndarray(py, obj, what)?;
    let (kind, name) = dtype_of(&array)?;
    let ndim: usize = array.getattr("ndim")?.extract()?;
    if ndim != 1 {
        return Err(Error::Label(format!(
            "{what} must be a 1-d vector of class labels, got {ndim} dimensions"
        ))
        .into());
    }
    if !matches!(kind.as_str(), "i" | "u" | "b") {
        return Err(Error::Label(format!(
            "{what} must hold integer class labels, got dtype {name}"
        ))
        .into());
    }
    let ints = py
        .import("numpy")?
        .call_method1("ascontiguousarray", (array, "int64"))?;
    let ints: PyReadonlyArrayDyn<'_, i64> = ints.extract()?;
    let labels = ints
        .as_slice()
        .map_err(|e| Error::Internal(e.to_string()))?
        .to_vec();
    Ok((labels, name))
}

/// Class labels as a NumPy vector of the given dtype.
pub fn write_labels<'py>(
    py: Python<'py>,
    labels: Vec<i64>,
    dtype: &str,
) -> PyResult<Bound<'py, PyAny>> {
    PyArray1::from_vec(py, labels).call_method1("astype", (dtype,))
}

/// `numpy.concatenate([first.astype(dtype), second])`: the user's rows stay exactly as given.
pub fn concatenate<'py>(
    py: Python<'py>,
    first: &Bound<'py, PyAny>,
    second: &Bound<'py, PyAny>,
    dtype: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let numpy = py.import("numpy")?;
    let first = numpy
        .call_method1("asarray", (first,))?
        .call_method1("astype", (dtype,))?;
    numpy.call_method1("concatenate", ((first, second),))
}
