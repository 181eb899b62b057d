//! The frame spec: how a DataFrame the model was fitted on looked (column names, pandas dtypes,
//! categories, the label column), written by `genaug._frame`. The core only carries it, but a
//! checkpoint's copy is untrusted: [`check`] makes sure it fits the schema it came with, so that
//! turning generated rows back into a frame cannot fail.

use super::{Column, Schema};
use crate::error::{Error, Result};
use serde::Deserialize;
use serde_json::Value;

/// pandas dtypes `genaug._frame` writes (`genaug._dtypes.WRITTEN`).
const DTYPES: [&str; 27] = [
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "Int8", "Int16",
    "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64", "float16", "float32", "float64",
    "Float32", "Float64", "bool", "boolean", "category", "object", "string", "str",
];

/// Arrow types of pyarrow-backed columns `genaug._frame` writes (`genaug._dtypes.ARROW_TYPES`):
/// an `ArrowDtype`'s name is one of these followed by "[pyarrow]", and its `arrow` field the
/// type itself.
const ARROW_TYPES: [&str; 14] = [
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "halffloat",
    "float",
    "double",
    "bool",
    "string",
    "large_string",
];

/// What a dtype holds, which decides the kind a feature column of it has and what its
/// categories may be.
enum Family {
    Integer,
    Float,
    Boolean,
    Text,
    /// `category` and `object`: categories of any plain scalar.
    Scalar,
}

fn family(dtype: &str) -> Family {
    let name = dtype.strip_suffix("[pyarrow]").unwrap_or(dtype);
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("int") || lower.starts_with("uint") {
        Family::Integer
    } else if lower.starts_with("float") || ["double", "halffloat"].contains(&name) {
        Family::Float
    } else if ["bool", "boolean"].contains(&name) {
        Family::Boolean
    } else if ["string", "str", "large_string"].contains(&name) {
        Family::Text
    } else {
        Family::Scalar
    }
}

#[derive(Deserialize, Clone)]
struct FrameColumn {
    name: String,
    dtype: String,
    kind: String,
    #[serde(default)]
    categories: Option<Vec<Value>>,
    /// A pyarrow-backed column's arrow type.
    #[serde(default)]
    arrow: Option<String>,
    /// A pandas string column's storage ("python" or "pyarrow") and missing value ("NA" or
    /// "nan").
    #[serde(default)]
    string: Option<(String, String)>,
    /// The frame labelled the column by an integer (its name is the integer's digits).
    #[serde(default)]
    integer_name: bool,
}

#[derive(Deserialize)]
struct LabelColumn {
    #[serde(flatten)]
    column: FrameColumn,
    position: usize,
}

#[derive(Deserialize)]
struct FrameSpec {
    columns: Vec<FrameColumn>,
    #[serde(default)]
    target: Option<LabelColumn>,
}

fn bad(message: String) -> Error {
    Error::Checkpoint(format!("checkpoint frame spec: {message}"))
}

/// Whether the column's dtype is one `genaug._frame` writes, with the details it writes for it.
fn dtype_ok(column: &FrameColumn) -> bool {
    let dtype = column.dtype.as_str();
    let arrow_ok = match (&column.arrow, dtype.strip_suffix("[pyarrow]")) {
        (Some(arrow), Some(named)) => arrow == named && ARROW_TYPES.contains(&named),
        (None, _) => DTYPES.contains(&dtype),
        (Some(_), None) => false,
    };
    let string_ok = column.string.as_ref().is_none_or(|(storage, na)| {
        ["string", "str"].contains(&dtype)
            && ["python", "pyarrow"].contains(&storage.as_str())
            && ["NA", "nan"].contains(&na.as_str())
    });
    arrow_ok && string_ok
}

/// Checks a column's dtype, kind and categories (plain JSON scalars of the dtype's family, at
/// least `needed` of them for a discrete column). A label column is discrete whatever its
/// dtype; a feature column's kind follows its dtype.
fn check_column(column: &FrameColumn, needed: usize, label: bool) -> Result<()> {
    let integer = column.name.parse::<i64>().ok();
    if column.integer_name && integer.map(|i| i.to_string()).as_ref() != Some(&column.name) {
        return Err(bad(format!(
            "column {:?} is said to be labelled by an integer",
            column.name
        )));
    }
    if !dtype_ok(column) {
        return Err(bad(format!(
            "column {:?} has dtype {:?}, which genaug does not write",
            column.name, column.dtype
        )));
    }
    let family = family(&column.dtype);
    let kind = match family {
        _ if label => "discrete",
        Family::Integer => "integral",
        Family::Float => "continuous",
        Family::Boolean | Family::Text | Family::Scalar => "discrete",
    };
    let fits = |v: &Value| match family {
        Family::Integer => v.is_i64() || v.is_u64(),
        Family::Float => v.is_number(),
        Family::Boolean => v.is_boolean(),
        Family::Text => v.is_string(),
        Family::Scalar => v.is_string() || v.is_number() || v.is_boolean(),
    };
    let categories_ok = column
        .categories
        .as_ref()
        .is_none_or(|c| c.len() >= needed && c.iter().all(fits));
    let discrete = column.kind == "discrete";
    if column.kind != kind || !categories_ok || discrete != column.categories.is_some() {
        return Err(bad(format!(
            "column {:?} has an impossible kind or categories for its dtype {:?}",
            column.name, column.dtype
        )));
    }
    Ok(())
}

/// Checks `frame` against the schema and the classes (label codes) of a fitted model.
pub fn check(frame: &str, schema: &Schema, classes: &[i64]) -> Result<()> {
    let spec: FrameSpec =
        serde_json::from_str(frame).map_err(|e| bad(format!("unreadable: {e}")))?;
    let columns = &schema.record.columns;
    if spec.columns.len() != columns.len() {
        return Err(bad(format!(
            "{} columns for a schema of {}",
            spec.columns.len(),
            columns.len()
        )));
    }
    for (j, (described, column)) in spec.columns.iter().zip(columns).enumerate() {
        if schema.record.names.get(j) != Some(&described.name) {
            return Err(bad(format!("column {j} is named unlike the schema's")));
        }
        let needed = match column {
            // Codes index the categories.
            Column::Discrete { values, .. } => {
                let whole = values.iter().all(|v| *v >= 0.0 && v.fract() == 0.0);
                if !whole || described.kind != "discrete" {
                    return Err(bad(format!(
                        "column {:?} is discrete in one and not the other",
                        described.name
                    )));
                }
                values.last().map_or(0, |v| *v as usize + 1)
            }
            _ if described.kind == "discrete" => {
                return Err(bad(format!(
                    "column {:?} is discrete in one and not the other",
                    described.name
                )))
            }
            _ => 0,
        };
        check_column(described, needed, false)?;
    }
    match (&spec.target, classes.is_empty()) {
        (None, _) => Ok(()),
        (Some(_), true) => Err(bad("a label column for a model without classes".into())),
        (Some(target), false) => {
            let needed = classes.last().map_or(0, |&c| c.max(0) as usize + 1);
            if classes[0] < 0 || target.position > columns.len() {
                return Err(bad("the label column does not fit the classes".into()));
            }
            let mut column = FrameColumn {
                kind: "discrete".into(),
                ..target.column.clone()
            };
            if column.categories.is_none() {
                column.categories = Some(Vec::new());
            }
            check_column(&column, needed, true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(dtype: &str, arrow: Option<&str>, string: Option<(&str, &str)>) -> FrameColumn {
        FrameColumn {
            name: "x".into(),
            dtype: dtype.into(),
            kind: "continuous".into(),
            categories: None,
            arrow: arrow.map(Into::into),
            string: string.map(|(a, b)| (a.into(), b.into())),
            integer_name: false,
        }
    }

    #[test]
    fn an_integer_label_is_named_by_its_digits() {
        let mut x = column("float64", None, None);
        assert!(check_column(&x, 0, false).is_ok());
        x.integer_name = true;
        assert!(check_column(&x, 0, false).is_err());
        for (name, ok) in [("12", true), ("-3", true), ("012", false), ("1.0", false)] {
            x.name = name.into();
            assert_eq!(check_column(&x, 0, false).is_ok(), ok, "{name}");
        }
    }

    #[test]
    fn pyarrow_dtypes_need_their_own_arrow_type() {
        assert!(dtype_ok(&column("double[pyarrow]", Some("double"), None)));
        assert!(dtype_ok(&column("string[pyarrow]", Some("string"), None)));
        assert!(!dtype_ok(&column("double[pyarrow]", None, None)));
        assert!(!dtype_ok(&column("double[pyarrow]", Some("int64"), None)));
        assert!(!dtype_ok(&column("float64", Some("double"), None)));
        assert!(!dtype_ok(&column(
            "list<item: int64>[pyarrow]",
            Some("list<item: int64>"),
            None
        )));
    }

    #[test]
    fn a_feature_columns_kind_and_categories_follow_its_dtype() {
        let mut int = column("int64[pyarrow]", Some("int64"), None);
        int.kind = "integral".into();
        assert!(check_column(&int, 0, false).is_ok());
        int.kind = "continuous".into();
        assert!(check_column(&int, 0, false).is_err());
        let mut flags = column("bool[pyarrow]", Some("bool"), None);
        flags.kind = "discrete".into();
        flags.categories = Some(vec![Value::Bool(false), Value::Bool(true)]);
        assert!(check_column(&flags, 2, false).is_ok());
        flags.categories = Some(vec!["a".into(), "b".into()]);
        assert!(check_column(&flags, 2, false).is_err());
        // Integers as a label's classes.
        let mut label = column("int64", None, None);
        label.kind = "discrete".into();
        label.categories = Some(vec![1.into(), 3.into()]);
        assert!(check_column(&label, 2, true).is_ok());
        assert!(check_column(&label, 2, false).is_err());
    }

    #[test]
    fn string_details_only_on_string_dtypes() {
        assert!(dtype_ok(&column("str", None, Some(("pyarrow", "nan")))));
        assert!(dtype_ok(&column("string", None, Some(("python", "NA")))));
        assert!(!dtype_ok(&column("string", None, Some(("rust", "NA")))));
        assert!(!dtype_ok(&column("string", None, Some(("python", "None")))));
        assert!(!dtype_ok(&column("float64", None, Some(("python", "NA")))));
    }
}
