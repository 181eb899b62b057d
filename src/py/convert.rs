//! NumPy <-> Rust: any array-like in (copied, as `f32`), generated arrays out in the training
//! data's dtype (written chunk by chunk into one preallocated array); integer label vectors;
//! counts.

use crate::augment::Sink;
use crate::data::{Array, DataSpec};
use crate::error::{Error, Result};
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyTuple};

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
    let size: usize = array.getattr("size")?.extract()?;
    crate::limits::check_array(size as u128, 1, 4, &format!("a float32 copy of {what}"))?;
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

/// A count (`n`): a Python or NumPy integer, not a bool; negative counts are parameter errors
/// and counts beyond any memory size errors.
pub fn read_count(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<usize> {
    let py = obj.py();
    let index = if obj.is_instance_of::<PyBool>() {
        None
    } else {
        py.import("operator")?.call_method1("index", (obj,)).ok()
    };
    let Some(index) = index else {
        return Err(
            Error::Parameter(format!("{what} must be an integer, got {}", obj.repr()?)).into(),
        );
    };
    if index.lt(0)? {
        return Err(Error::Parameter(format!("{what} must be >= 0, got {index}")).into());
    }
    index.extract::<usize>().map_err(|_| {
        Error::Size(format!(
            "{what}={index} is more than any machine's memory can hold"
        ))
        .into()
    })
}

/// A whole number argument (seed, width): an integer (not a bool) that fits in 64 bits.
pub fn read_int(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<i64> {
    let index = (!obj.is_instance_of::<PyBool>())
        .then(|| {
            obj.py()
                .import("operator")
                .ok()?
                .call_method1("index", (obj,))
                .ok()
        })
        .flatten();
    let Some(index) = index else {
        return Err(
            Error::Parameter(format!("{what} must be an integer, got {}", obj.repr()?)).into(),
        );
    };
    index
        .extract::<i64>()
        .map_err(|_| Error::Parameter(format!("{what}={index} is out of range")).into())
}

/// An optional whole number argument (`None` stays `None`).
pub fn read_opt_int(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<i64>> {
    obj.filter(|o| !o.is_none())
        .map(|o| read_int(o, what))
        .transpose()
}

/// An optional sequence of whole numbers (layer widths).
pub fn read_opt_ints(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<Vec<i64>>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    obj.try_iter()
        .map_err(|_| Error::Parameter(format!("{what} must be a sequence of integers")))?
        .map(|item| read_int(&item?, what))
        .collect::<PyResult<_>>()
        .map(Some)
}

/// A NumPy array filled with generated rows as they come: allocated (with `prefix`, the
/// caller's rows, copied in first) once the row count is known, in the dtype of
/// `np.result_type(prefix, training data)`.
pub struct ArraySink {
    prefix: Option<Py<PyAny>>,
    /// Rows before the generated ones.
    offset: usize,
    pub out: Option<Py<PyAny>>,
    /// The Python exception that stopped the writing, re-raised by the caller.
    pub raised: Option<PyErr>,
}

impl ArraySink {
    pub fn new() -> ArraySink {
        ArraySink {
            prefix: None,
            offset: 0,
            out: None,
            raised: None,
        }
    }

    /// Writes `prefix` (an ndarray of `rows` rows) before the generated rows.
    pub fn after(prefix: Bound<'_, PyAny>, rows: usize) -> ArraySink {
        ArraySink {
            prefix: Some(prefix.unbind()),
            offset: rows,
            ..ArraySink::new()
        }
    }

    fn dtype<'py>(&self, py: Python<'py>, spec: &DataSpec) -> PyResult<Bound<'py, PyAny>> {
        let numpy = py.import("numpy")?;
        let trained = numpy.getattr("dtype")?.call1((spec.dtype.as_str(),))?;
        match &self.prefix {
            Some(prefix) => numpy.call_method1("result_type", (prefix.bind(py), trained)),
            None => Ok(trained),
        }
    }

    fn attach<T>(&mut self, f: impl FnOnce(Python<'_>, &mut Self) -> PyResult<T>) -> Result<T> {
        Python::attach(|py| f(py, self)).map_err(|err| {
            self.raised = Some(err);
            Error::Interrupted
        })
    }

    /// The filled array; the Python exception if one stopped it.
    pub fn finish<'py>(self, py: Python<'py>, outcome: Result<()>) -> PyResult<Bound<'py, PyAny>> {
        match (outcome, self.raised) {
            (Err(Error::Interrupted), Some(raised)) => Err(raised),
            (Err(err), _) => Err(err.into()),
            (Ok(()), _) => self
                .out
                .map(|out| out.into_bound(py))
                .ok_or_else(|| Error::Internal("no output was allocated".into()).into()),
        }
    }
}

impl Sink for ArraySink {
    fn item_bytes(&mut self, spec: &DataSpec) -> Result<usize> {
        self.attach(|py, sink| sink.dtype(py, spec)?.getattr("itemsize")?.extract())
    }

    fn begin(&mut self, rows: usize, spec: &DataSpec) -> Result<()> {
        self.attach(|py, sink| {
            let numpy = py.import("numpy")?;
            let mut shape = vec![rows];
            shape.extend(&spec.sample_shape);
            let dtype = sink.dtype(py, spec)?;
            let out = numpy
                .call_method1("empty", (PyTuple::new(py, shape)?, &dtype))
                .map_err(|e| Error::Size(format!("cannot allocate the result: {e}")))?;
            if let Some(prefix) = &sink.prefix {
                let prefix = prefix.bind(py);
                let rows = pyo3::types::PySlice::new(py, 0, sink.offset as isize, 1);
                out.set_item(&rows, prefix)?;
                // The caller's rows are never rounded, truncated or wrapped: they must come
                // back exactly when cast back to their own dtype.
                let back = out
                    .get_item(&rows)?
                    .call_method1("astype", (prefix.getattr("dtype")?,))?;
                let equal_nan = pyo3::types::PyDict::new(py);
                equal_nan.set_item("equal_nan", true)?;
                let kept = numpy.call_method("array_equal", (&back, prefix), Some(&equal_nan))?;
                if !kept.is_truthy()? {
                    return Err(Error::Data(format!(
                        "batch has values that the result dtype {} cannot hold exactly",
                        dtype.str()?
                    ))
                    .into());
                }
            }
            sink.out = Some(out.unbind());
            Ok(())
        })
    }

    fn write(&mut self, first: usize, chunk: Array) -> Result<()> {
        self.attach(|py, sink| {
            py.check_signals()?;
            let start = (sink.offset + first) as isize;
            let rows = chunk.rows() as isize;
            let values = PyArray1::from_vec(py, chunk.values).reshape(chunk.shape)?;
            let out = sink
                .out
                .as_ref()
                .ok_or_else(|| Error::Internal("a chunk came before begin".into()))?
                .bind(py);
            out.set_item(
                pyo3::types::PySlice::new(py, start, start + rows, 1),
                values,
            )?;
            Ok(())
        })
    }
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

/// Class labels as a NumPy vector of the given dtype; a class that dtype cannot hold is an
/// error, never a wrapped value.
pub fn write_labels<'py>(
    py: Python<'py>,
    labels: Vec<i64>,
    dtype: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let wide = PyArray1::from_vec(py, labels);
    let out = wide.call_method1("astype", (dtype,))?;
    let same = py
        .import("numpy")?
        .call_method1("array_equal", (&out, &wide))?;
    if !same.is_truthy()? {
        return Err(Error::Label(format!(
            "the augmented labels include a class that labels' dtype {dtype} cannot hold"
        ))
        .into());
    }
    Ok(out)
}
