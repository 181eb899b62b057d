//! The frame spec: how a DataFrame the model was fitted on looked (column names, pandas dtypes,
//! categories, the label column), written by `genaug._frame`. The core only carries it, but a
//! checkpoint's copy is untrusted: [`check`] makes sure it fits the schema it came with, so that
//! turning generated rows back into a frame cannot fail.

use super::{Column, Schema};
use crate::error::{Error, Result};
use serde::Deserialize;
use serde_json::Value;

/// pandas dtypes `genaug._frame` writes.
const DTYPES: [&str; 26] = [
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "Int8", "Int16",
    "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64", "float32", "float64", "Float32",
    "Float64", "bool", "boolean", "category", "object", "string", "str",
];

#[derive(Deserialize)]
struct FrameColumn {
    name: String,
    dtype: String,
    kind: String,
    #[serde(default)]
    categories: Option<Vec<Value>>,
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

/// Checks a column's dtype, kind and categories (plain JSON scalars, at least `needed` of them
/// for a discrete column).
fn check_column(column: &FrameColumn, needed: usize) -> Result<()> {
    if !DTYPES.contains(&column.dtype.as_str()) {
        return Err(bad(format!(
            "column {:?} has dtype {:?}, which genaug does not write",
            column.name, column.dtype
        )));
    }
    let kind_ok = ["continuous", "integral", "discrete"].contains(&column.kind.as_str());
    let categories_ok = column.categories.as_ref().is_none_or(|c| {
        c.len() >= needed
            && c.iter()
                .all(|v| v.is_string() || v.is_number() || v.is_boolean())
    });
    let discrete = column.kind == "discrete";
    if !kind_ok || !categories_ok || discrete != column.categories.is_some() {
        return Err(bad(format!(
            "column {:?} has an impossible kind or categories",
            column.name
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
        check_column(described, needed)?;
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
                name: target.column.name.clone(),
                dtype: target.column.dtype.clone(),
                kind: "discrete".into(),
                categories: target.column.categories.clone(),
            };
            if column.categories.is_none() {
                column.categories = Some(Vec::new());
            }
            check_column(&column, needed)
        }
    }
}
