//! pandas DataFrames in and out, through the Python module `genaug._frame` (imported only when a
//! frame is given or a model fitted on one is used); arrays otherwise. What the columns are goes
//! to the core as a [`ColumnRequest`]; how the frame looked is kept as the opaque frame spec.

use super::convert::{read_array, read_labels};
use crate::data::{Array, DataSpec};
use crate::error::Error;
use crate::schema::{ColumnRequest, ColumnType, Transform};
use pyo3::prelude::*;
use pyo3::types::PyString;

/// Whether `obj` is a pandas DataFrame (pandas itself is not imported).
pub fn is_frame(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    let cls = obj.get_type();
    Ok(cls.name()?.to_str()? == "DataFrame" && cls.module()?.to_str()?.starts_with("pandas"))
}

pub fn module(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    py.import("genaug._frame")
}

/// What `fit` reads from `x` and `y`.
pub struct FitInput {
    pub data: Array,
    pub spec: DataSpec,
    pub columns: ColumnRequest,
    pub labels: Option<Vec<i64>>,
}

/// The `fit` keywords that say what the columns are.
pub struct ColumnArgs<'a, 'py> {
    pub discrete_columns: Option<&'a Bound<'py, PyAny>>,
    pub missing: &'a str,
    pub transform: &'a str,
}

impl ColumnArgs<'_, '_> {
    fn missing(&self) -> PyResult<bool> {
        match self.missing {
            "model" => Ok(true),
            "error" => Ok(false),
            other => Err(Error::Parameter(format!(
                "missing must be \"error\" or \"model\", got {other:?}"
            ))
            .into()),
        }
    }
}

/// Reads the training rows: a frame (its columns say what they are; `y` may name one of them)
/// or an array (`discrete_columns` lists its discrete columns). `stored` is the frame spec of
/// the model being resumed, whose form the rows must then have.
pub fn read_fit(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    y: Option<&Bound<'_, PyAny>>,
    args: &ColumnArgs<'_, '_>,
    stored: Option<&str>,
) -> PyResult<FitInput> {
    let y = y.filter(|y| !y.is_none());
    let mut columns = ColumnRequest {
        missing: args.missing()?,
        transform: Transform::parse(args.transform)?,
        ..ColumnRequest::plain()
    };
    let column_label = match y {
        Some(y) if is_frame(x)? => module(py)?
            .call_method1("names_column", (x, y))?
            .extract::<bool>()?,
        Some(y) => y.is_instance_of::<PyString>(),
        None => false,
    };
    if !is_frame(x)? {
        if column_label {
            return Err(Error::Label(
                "y names a column, which takes a DataFrame x; pass labels as an array".into(),
            )
            .into());
        }
        let (data, spec) = read_array(py, x, "x")?;
        columns.types = discrete_types(&data, spec.integral, args.discrete_columns)?;
        let labels = y.map(|y| read_labels(py, y, "y")).transpose()?;
        return Ok(FitInput {
            data,
            spec,
            columns,
            labels: labels.map(|(l, _)| l),
        });
    }
    let (values, labels) = if let Some(stored) = stored {
        let (values, labels): (Bound<'_, PyAny>, Bound<'_, PyAny>) = module(py)?
            .call_method1("rows", (x, stored, "x", "error"))?
            .extract()?;
        columns.frame = Some(stored.to_string());
        (values, labels)
    } else {
        let label_arg = if column_label { y.cloned() } else { None };
        let (values, kinds, names, frame, labels): (
            Bound<'_, PyAny>,
            Vec<String>,
            Vec<String>,
            String,
            Bound<'_, PyAny>,
        ) = module(py)?
            .call_method1("fit_frame", (x, label_arg, args.discrete_columns))?
            .extract()?;
        columns.types = kinds
            .iter()
            .map(|kind| match kind.as_str() {
                "discrete" => ColumnType::Discrete,
                "integral" => ColumnType::Continuous { integral: true },
                _ => ColumnType::Continuous { integral: false },
            })
            .collect();
        columns.names = names;
        columns.frame = Some(frame);
        (values, labels)
    };
    let (data, spec) = read_array(py, &values, "x")?;
    let labels = match (column_label, labels.is_none(), y) {
        (false, _, Some(y)) => Some(read_labels(py, y, "y")?.0),
        (_, false, _) => Some(read_labels(py, &labels, "y")?.0),
        _ => None,
    };
    Ok(FitInput {
        data,
        spec,
        columns,
        labels,
    })
}

/// Column types for an array with `discrete` columns (indices): others are continuous.
fn discrete_types(
    data: &Array,
    integral: bool,
    discrete: Option<&Bound<'_, PyAny>>,
) -> PyResult<Vec<ColumnType>> {
    let Some(discrete) = discrete.filter(|d| !d.is_none()) else {
        return Ok(Vec::new());
    };
    let indices =
        super::convert::read_opt_ints(Some(discrete), "discrete_columns")?.unwrap_or_default();
    if data.shape.len() != 2 {
        return Err(Error::Parameter(format!(
            "discrete_columns is for (N, D) tables; x has shape {:?}",
            data.shape
        ))
        .into());
    }
    let width = data.shape[1];
    let mut types = vec![ColumnType::Continuous { integral }; width];
    for index in indices {
        let column = usize::try_from(index)
            .ok()
            .filter(|&i| i < width)
            .ok_or_else(|| {
                Error::Parameter(format!(
                    "discrete_columns holds {index}, but x has columns 0 to {}",
                    width - 1
                ))
            })?;
        types[column] = ColumnType::Discrete;
    }
    Ok(types)
}

/// Rows given to a fitted model (`what` names them): a frame of the fitted form when the model
/// was fitted on one (`frame`), with the label column's codes if it has one; an array
/// otherwise. `unseen` says what a category unseen in training becomes: `"error"`, or `"keep"`
/// (rows that only pass through, as `augment`'s batch). Label column values must be among the
/// model's `classes` where it has them.
pub fn read_rows<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    frame: Option<&str>,
    what: &str,
    unseen: &str,
    classes: Option<Vec<i64>>,
) -> PyResult<(Array, Option<Vec<i64>>)> {
    match (frame, is_frame(x)?) {
        (Some(frame), true) => {
            let (values, labels): (Bound<'_, PyAny>, Bound<'_, PyAny>) = module(py)?
                .call_method1("rows", (x, frame, what, unseen, classes))?
                .extract()?;
            let (data, _) = read_array(py, &values, what)?;
            let labels = (!labels.is_none())
                .then(|| read_labels(py, &labels, what).map(|(l, _)| l))
                .transpose()?;
            Ok((data, labels))
        }
        (None, true) => Err(Error::Data(format!(
            "{what} is a DataFrame, but this model was fitted on an array: pass an array"
        ))
        .into()),
        _ => Ok((read_array(py, x, what)?.0, None)),
    }
}

/// Generated rows (a NumPy array of the model's rows) as a frame of the fitted form, with the
/// label column from `labels` (codes) when the model has one.
pub fn to_frame<'py>(
    py: Python<'py>,
    rows: Bound<'py, PyAny>,
    frame: &str,
    labels: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    module(py)?.call_method1("to_frame", (rows, frame, labels))
}

/// Whether the frame spec has a label column.
pub fn has_label_column(py: Python<'_>, frame: &str) -> PyResult<bool> {
    let spec = py.import("json")?.call_method1("loads", (frame,))?;
    Ok(!spec.call_method1("get", ("target",))?.is_none())
}

/// Calls a function of `genaug._frame` with the frame spec first.
pub fn call<'py>(
    py: Python<'py>,
    name: &str,
    frame: &str,
    arg: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    module(py)?.call_method1(name, (frame, arg))
}

/// The label column's values `y` (one, or one per row) as the model's codes, each one of its
/// `classes`; `None` when the model takes no labels. With no `y`, a model fitted with a label
/// column raises a `LabelError` listing the column's values.
pub fn label_codes<'py>(
    py: Python<'py>,
    frame: &str,
    y: Option<&Bound<'py, PyAny>>,
    classes: Vec<i64>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let none = py.None().into_bound(py);
    let codes = module(py)?.call_method1("label_codes", (frame, y.unwrap_or(&none), classes))?;
    Ok((!codes.is_none()).then_some(codes))
}

/// `batch` (a frame) followed by the generated rows `new` (model rows) as one frame.
pub fn augmented<'py>(
    py: Python<'py>,
    batch: &Bound<'py, PyAny>,
    new: Bound<'py, PyAny>,
    frame: &str,
    new_labels: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    module(py)?.call_method1("augmented", (batch, new, frame, new_labels))
}

/// A copy of the frame `x` with its missing cells from `imputed`.
pub fn fill_gaps<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    imputed: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    module(py)?.call_method1("fill_gaps", (x, imputed))
}
