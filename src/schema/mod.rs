//! The column schema: what each column of the training data is, learnt at `fit`, and the map
//! between the user's rows and model space (see [`Blocks`]).
//!
//! A column is continuous (min-max scaled onto the unit range, or quantile transformed to normal
//! scores), or discrete (one-hot over the values seen in training). A column may also have its
//! missing values (NaN) modelled: a continuous column then gets a two-way block (present,
//! missing), a discrete one an extra "missing" category. Images and sequences are the case of
//! every column min-max scaled, grouped by channel.

mod blocks;
pub mod frame;
mod gaps;
mod minmax;
pub mod quantile;
mod rounding;

pub use blocks::{Blocks, Parts};

use crate::data::Array;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

/// What the caller says a column is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Continuous { integral: bool },
    Discrete,
}

/// How continuous columns are transformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    /// Quantile for tables with discrete columns or from a DataFrame, min-max otherwise.
    Auto,
    MinMax,
    Quantile,
}

impl Transform {
    pub fn parse(name: &str) -> Result<Transform> {
        match name {
            "auto" => Ok(Transform::Auto),
            "minmax" => Ok(Transform::MinMax),
            "quantile" => Ok(Transform::Quantile),
            other => Err(Error::Parameter(format!(
                "unknown transform {other:?}: expected \"auto\", \"minmax\" or \"quantile\""
            ))),
        }
    }
}

/// What `fit` is told about the columns of `(N, D)` data (for other shapes, only `transform`
/// and `missing` apply, and every value is a min-max scaled column).
#[derive(Debug, Clone)]
pub struct ColumnRequest {
    /// One per column; empty: every column continuous, `integral` as the data's dtype.
    pub types: Vec<ColumnType>,
    /// Column names for messages; empty: "column 3".
    pub names: Vec<String>,
    /// Model missing values (NaN) instead of refusing them.
    pub missing: bool,
    pub transform: Transform,
    /// How the caller's table looked (opaque to the core; kept for the caller).
    pub frame: Option<String>,
}

impl ColumnRequest {
    pub fn plain() -> ColumnRequest {
        ColumnRequest {
            types: Vec::new(),
            names: Vec::new(),
            missing: false,
            transform: Transform::Auto,
            frame: None,
        }
    }
}

/// One fitted column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Column {
    /// Min-max scaled onto [0, 1].
    Unit {
        low: f32,
        high: f32,
        integral: bool,
        missing: bool,
    },
    /// Quantile transformed to normal scores, with its reference quantiles.
    Normal {
        points: Vec<f32>,
        integral: bool,
        missing: bool,
    },
    /// One-hot over its sorted distinct values.
    Discrete { values: Vec<f32>, missing: bool },
}

impl Column {
    fn missing(&self) -> bool {
        match self {
            Column::Unit { missing, .. }
            | Column::Normal { missing, .. }
            | Column::Discrete { missing, .. } => *missing,
        }
    }

    /// The width of its one-hot block, if it has one.
    fn block_width(&self) -> Option<i64> {
        match self {
            Column::Discrete { values, missing } => Some(values.len() as i64 + *missing as i64),
            _ if self.missing() => Some(2),
            _ => None,
        }
    }

    fn check(&self) -> std::result::Result<(), String> {
        let sorted =
            |v: &[f32]| v.iter().all(|x| x.is_finite()) && v.windows(2).all(|w| w[0] <= w[1]);
        match self {
            Column::Unit { low, high, .. }
                if !(low.is_finite() && high.is_finite() && low <= high) =>
            {
                Err("unit bounds are not finite, ordered pairs".into())
            }
            Column::Normal { points, .. }
                if points.is_empty() || points.len() > quantile::MAX_POINTS || !sorted(points) =>
            {
                Err("quantiles are not 1 to 1000 sorted finite values".into())
            }
            Column::Discrete { values, .. }
                if values.is_empty()
                    || !sorted(values)
                    || values.windows(2).any(|w| w[0] == w[1]) =>
            {
                Err("discrete values are not sorted, distinct and finite".into())
            }
            _ => Ok(()),
        }
    }
}

/// The stored part of a schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaRecord {
    pub columns: Vec<Column>,
    #[serde(default)]
    pub names: Vec<String>,
    #[serde(default)]
    pub frame: Option<String>,
}

/// A column's one-hot block: its index among the blocks and its first model-space position.
/// Rows per block of [`Schema::encode`].
const ENCODE_BLOCK_ROWS: usize = 16_384;

#[derive(Debug, Clone, Copy, PartialEq)]
struct BlockAt {
    index: usize,
    start: usize,
}

/// Where each column lives in model space.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Slot {
    Unit(usize),
    Normal(usize),
    None,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    pub record: SchemaRecord,
    pub blocks: Blocks,
    /// Each column's value slot and its one-hot block, if any.
    slots: Vec<(Slot, Option<BlockAt>)>,
}

impl Schema {
    /// A schema of checked columns (from `fit`, or from an untrusted checkpoint).
    pub fn new(record: SchemaRecord) -> Result<Schema> {
        if record.columns.is_empty() {
            return Err(Error::Checkpoint("a schema without columns".into()));
        }
        if !record.names.is_empty() && record.names.len() != record.columns.len() {
            return Err(Error::Checkpoint(
                "schema names do not match its columns".into(),
            ));
        }
        for (j, column) in record.columns.iter().enumerate() {
            column
                .check()
                .map_err(|e| Error::Checkpoint(format!("schema column {j}: {e}")))?;
        }
        let count = |f: fn(&Column) -> bool| record.columns.iter().filter(|c| f(c)).count();
        let units = count(|c| matches!(c, Column::Unit { .. }));
        let normals = count(|c| matches!(c, Column::Normal { .. }));
        let mut blocks = Blocks {
            unit: units as i64,
            normal: normals as i64,
            categorical: Vec::new(),
            presence: Vec::new(),
        };
        let (mut next_unit, mut next_normal) = (0, units);
        let mut next_block = units + normals;
        let mut slots = Vec::with_capacity(record.columns.len());
        for column in &record.columns {
            let slot = match column {
                Column::Unit { .. } => {
                    next_unit += 1;
                    Slot::Unit(next_unit - 1)
                }
                Column::Normal { .. } => {
                    next_normal += 1;
                    Slot::Normal(next_normal - 1)
                }
                Column::Discrete { .. } => Slot::None,
            };
            let block = column.block_width().map(|width| {
                let at = BlockAt {
                    index: blocks.categorical.len(),
                    start: next_block,
                };
                blocks.categorical.push(width);
                next_block += width as usize;
                at
            });
            if let (Slot::Unit(p) | Slot::Normal(p), Some(block)) = (slot, block) {
                blocks.presence.push((p as i64, block.start as i64));
            }
            slots.push((slot, block));
        }
        Ok(Schema {
            record,
            blocks,
            slots,
        })
    }

    /// Learns the columns of validated training data.
    pub fn fit(data: &Array, request: &ColumnRequest, integral: bool) -> Result<Schema> {
        let sample_shape = data.sample_shape();
        let width: usize = sample_shape.iter().product();
        let table = sample_shape.len() == 1;
        if !table && (!request.types.is_empty() || request.transform == Transform::Quantile) {
            return Err(Error::Parameter(format!(
                "discrete columns and the quantile transform are for (N, D) tables; this data has samples of shape {sample_shape:?}"
            )));
        }
        if !request.types.is_empty() && request.types.len() != width {
            return Err(Error::Shape(format!(
                "got {} column types for {width} columns",
                request.types.len()
            )));
        }
        let type_of = |j: usize| {
            request
                .types
                .get(j)
                .copied()
                .unwrap_or(ColumnType::Continuous { integral })
        };
        let quantile = match request.transform {
            Transform::Quantile => true,
            Transform::MinMax => false,
            Transform::Auto => {
                request.frame.is_some() || request.types.contains(&ColumnType::Discrete)
            }
        };
        let names = request.names.clone();
        let name = |j: usize| column_name(&names, j);
        check_values(data, |_| request.missing, &name)?;
        let rows = data.rows();
        if let Some(j) = (0..width)
            .find(|&j| table && rows > 0 && (0..rows).all(|r| data.values[r * width + j].is_nan()))
        {
            // Its missing indicator alone would be learnt, and only up to training's precision.
            return Err(Error::Data(format!(
                "{} is missing in every row of the training data: there are no values to learn; drop it",
                name(j)
            )));
        }
        let bounds = minmax::bounds(data);
        let column_values = |j: usize| -> Vec<f32> {
            (0..rows)
                .map(|r| data.values[r * width + j])
                .filter(|v| !v.is_nan())
                .collect()
        };
        let columns = (0..width)
            .map(|j| {
                let missing =
                    request.missing && (0..rows).any(|r| data.values[r * width + j].is_nan());
                match type_of(j) {
                    ColumnType::Discrete => {
                        let mut values = column_values(j);
                        values.sort_by(f32::total_cmp);
                        values.dedup();
                        Column::Discrete { values, missing }
                    }
                    ColumnType::Continuous { integral } if quantile => Column::Normal {
                        points: quantile::fit(&column_values(j)),
                        integral,
                        missing,
                    },
                    ColumnType::Continuous { integral } => Column::Unit {
                        low: bounds[j].0,
                        high: bounds[j].1,
                        integral,
                        missing,
                    },
                }
            })
            .collect();
        Schema::new(SchemaRecord {
            columns,
            names,
            frame: request.frame.clone(),
        })
        .map_err(|e| Error::Internal(e.to_string()))
    }

    /// An all-min-max schema from the bounds of an older checkpoint.
    pub fn from_bounds(low: &[f32], high: &[f32], integral: bool) -> Result<Schema> {
        Schema::new(SchemaRecord {
            columns: low
                .iter()
                .zip(high)
                .map(|(&low, &high)| Column::Unit {
                    low,
                    high,
                    integral,
                    missing: false,
                })
                .collect(),
            names: Vec::new(),
            frame: None,
        })
    }

    pub fn columns(&self) -> usize {
        self.record.columns.len()
    }

    /// Checks that `x`'s values are ones the model takes: finite, or NaN in a column whose
    /// missing values are modelled. (Discrete values unseen in training are checked only where
    /// rows are encoded.)
    pub fn check_values(&self, x: &Array, what: &str) -> Result<()> {
        let columns = &self.record.columns;
        let names = &self.record.names;
        check_values(x, |j| columns[j].missing(), &|j| column_name(names, j)).map_err(|e| match e {
            Error::Data(m) => Error::Data(m.replacen("training data", what, 1)),
            other => other,
        })
    }

    /// `x` (checked with [`Schema::check_values`]) in model space, `(N, width)` on `device`, with
    /// each row's excess: how many training ranges its continuous values lie beyond the
    /// training range in all (those values enter model space held at the range's ends).
    pub fn encode(&self, x: &Array, what: &str, device: Device) -> Result<(Tensor, Vec<f64>)> {
        self.check_values(x, what)?;
        let width = self.columns().max(1);
        let model_width = self.blocks.width();
        let rows = x.rows();
        // Filled a block of rows at a time, so that the rows are held once in model space
        // (with one block's values besides) rather than twice.
        let encoded = Tensor::f_empty([rows as i64, model_width], (Kind::Float, Device::Cpu))?;
        let mut excess = vec![0f64; rows];
        let mut start = 0;
        while start < rows {
            let end = rows.min(start + ENCODE_BLOCK_ROWS);
            let block = self.encode_rows(
                &x.values[start * width..end * width],
                start,
                what,
                &mut excess[start..end],
            )?;
            encoded
                .f_narrow(0, start as i64, (end - start) as i64)?
                .f_copy_(
                    &Tensor::f_from_slice(&block)?
                        .f_reshape([(end - start) as i64, model_width])?,
                )?;
            start = end;
        }
        Ok((encoded.f_to_device(device)?, excess))
    }

    /// The model-space values of rows `values` (the first being row `first_row` of `what`),
    /// adding each row's excess to `excess`.
    fn encode_rows(
        &self,
        values: &[f32],
        first_row: usize,
        what: &str,
        excess: &mut [f64],
    ) -> Result<Vec<f32>> {
        let columns = &self.record.columns;
        let width = self.columns();
        let model_width = self.blocks.width() as usize;
        let mut out = vec![0f32; excess.len() * model_width];
        for (i, row) in values.chunks(width.max(1)).enumerate() {
            let r = first_row + i;
            let target = &mut out[i * model_width..(i + 1) * model_width];
            for (j, (&v, column)) in row.iter().zip(columns).enumerate() {
                let (slot, block) = self.slots[j];
                let missing = v.is_nan();
                let value = match column {
                    Column::Unit { low, high, .. } => {
                        let span = if high > low { high - low } else { 1.0 };
                        let unit = if missing { 0.5 } else { (v - low) / span };
                        excess[i] += (unit - unit.clamp(0.0, 1.0)).abs() as f64;
                        unit.clamp(0.0, 1.0)
                    }
                    Column::Normal { points, .. } => {
                        if missing {
                            0.0
                        } else {
                            let (low, high) = (points[0], points[points.len() - 1]);
                            let span = if high > low { high - low } else { 1.0 };
                            excess[i] += ((v - v.clamp(low, high)) / span).abs() as f64;
                            quantile::forward(points, v)
                        }
                    }
                    Column::Discrete { values, .. } => {
                        let index = if missing {
                            values.len()
                        } else {
                            values.binary_search_by(|p| p.total_cmp(&v)).map_err(|_| {
                                Error::Data(format!(
                                    "{} of {what} has the value {v} in row {r}, which it never had in training",
                                    column_name(&self.record.names, j)
                                ))
                            })?
                        };
                        if let Some(block) = block {
                            target[block.start + index] = 1.0;
                        }
                        continue;
                    }
                };
                match slot {
                    Slot::Unit(p) | Slot::Normal(p) => target[p] = value,
                    Slot::None => {}
                }
                if let Some(block) = block {
                    target[block.start + missing as usize] = 1.0;
                }
            }
        }
        Ok(out)
    }

    /// Each column's `(low, high - low, integral)` when every column is min-max scaled without
    /// modelled missing values, so that model space holds the columns in order.
    fn unit_columns(&self) -> Option<Vec<(f32, f32, bool)>> {
        self.record
            .columns
            .iter()
            .map(|column| match column {
                Column::Unit {
                    low,
                    high,
                    integral,
                    missing: false,
                } => Some((*low, high - low, *integral)),
                _ => None,
            })
            .collect()
    }

    /// Model-space rows `(N, width)` (unit part in [0, 1], normal scores, and probabilities in
    /// each one-hot block) back in the user's values: each block's category drawn from its
    /// probabilities (`draw`, under the caller's seed) or its most likely one; continuous values
    /// held to the training range and rounded for integral columns; NaN where "missing" won.
    pub fn decode(&self, out: &Tensor, draw: bool) -> Result<Vec<f32>> {
        let mut values = Vec::new();
        self.decode_into(out, draw, &mut values)?;
        Ok(values)
    }

    /// Whether [`Schema::decode`] draws random numbers (it draws categories): if so, decoding
    /// rows in blocks would change the draws.
    pub fn draws_when_decoding(&self) -> bool {
        !self.blocks.categorical.is_empty()
    }

    /// [`Schema::decode`], appending to `result`.
    pub fn decode_into(&self, out: &Tensor, draw: bool, result: &mut Vec<f32>) -> Result<()> {
        let rows = out.size()[0] as usize;
        let parts = self.blocks.split(out)?;
        let mut picks = Vec::with_capacity(parts.categorical.len());
        for probabilities in &parts.categorical {
            let index = if draw {
                let gumbel = crate::rng::gumbel(&probabilities.size(), probabilities.device())?;
                crate::rng::gumbel_max(probabilities, &gumbel, false)?
            } else {
                probabilities.f_argmax(1, false)?
            };
            picks.push(index.f_to_device(Device::Cpu)?);
        }
        let picks: Vec<i64> = if picks.is_empty() {
            Vec::new()
        } else {
            let all = Tensor::f_stack(&picks, 1)?.f_contiguous()?.f_view([-1])?;
            Vec::<i64>::try_from(all)?
        };
        let blocks = self.blocks.categorical.len();
        let model_width = self.blocks.width() as usize;
        let columns = &self.record.columns;
        if rows == 0 {
            return Ok(());
        }
        let first = result.len();
        result.resize(first + rows * columns.len(), 0.0);
        let result = &mut result[first..];
        let out = out.f_to_kind(Kind::Float)?;
        let copied;
        let values = if crate::tensor_slices::applies(&out) {
            crate::tensor_slices::values(&out)?
        } else {
            copied = crate::data::tensor_values(&out)?;
            &copied
        };
        let rows_in = values.chunks_exact(model_width);
        let rows_out = result.chunks_exact_mut(columns.len());
        if let Some(units) = self.unit_columns() {
            // Images, sequences and numeric tables: one loop without branches on the column's
            // kind, which the compiler vectorises.
            for (row, target) in rows_in.zip(rows_out) {
                for ((&x, &(low, span, integral)), value) in row.iter().zip(&units).zip(target) {
                    *value = rounding::unit_value(x, low, span, integral);
                }
            }
            return Ok(());
        }
        for (r, (row, target)) in rows_in.zip(rows_out).enumerate() {
            let picks = &picks[r * blocks..(r + 1) * blocks];
            for ((column, &(slot, block)), value) in
                columns.iter().zip(&self.slots).zip(target.iter_mut())
            {
                let pick = block.map(|b| picks[b.index] as usize);
                *value = match column {
                    Column::Discrete { values, .. } => {
                        values.get(pick.unwrap_or(0)).copied().unwrap_or(f32::NAN)
                    }
                    _ if pick == Some(1) => f32::NAN,
                    Column::Unit {
                        low,
                        high,
                        integral,
                        ..
                    } => {
                        let Slot::Unit(p) = slot else { unreachable!() };
                        rounding::unit_value(row[p], *low, high - low, *integral)
                    }
                    Column::Normal {
                        points, integral, ..
                    } => {
                        let Slot::Normal(p) = slot else {
                            unreachable!()
                        };
                        rounding::whole_if(*integral, quantile::inverse(points, row[p]))
                    }
                };
            }
        }
        Ok(())
    }
}

/// A column's name for messages.
pub fn column_name(names: &[String], j: usize) -> String {
    match names.get(j) {
        Some(name) => format!("column '{name}'"),
        None => format!("column {j}"),
    }
}

/// Checks every value: finite, or NaN where `missing_ok(column)` (per column of `(N, D)` data,
/// per flattened value otherwise). Names the column and up to five rows.
fn check_values(
    data: &Array,
    missing_ok: impl Fn(usize) -> bool,
    name: &dyn Fn(usize) -> String,
) -> Result<()> {
    let width: usize = data.sample_shape().iter().product::<usize>().max(1);
    let table = data.sample_shape().len() == 1;
    let mut bad: Option<(usize, bool)> = None;
    let mut rows = Vec::new();
    for (i, v) in data.values.iter().enumerate() {
        let j = i % width;
        let ok = v.is_finite() || (v.is_nan() && table && missing_ok(j));
        if ok {
            continue;
        }
        match bad {
            None => bad = Some((j, v.is_nan())),
            Some((col, _)) if col != j => continue,
            _ => {}
        }
        if rows.len() < 5 {
            rows.push(i / width);
        }
    }
    let Some((j, nan)) = bad else { return Ok(()) };
    if !table {
        return Err(Error::Data(format!(
            "training data contains a non-finite value (NaN, Inf, or beyond float32 range) in row {}",
            rows[0]
        )));
    }
    let rows = match rows.as_slice() {
        [one] => format!("row {one}"),
        many => format!(
            "rows {}",
            many.iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Err(Error::Data(if nan {
        format!(
            "training data has missing values (NaN) in {} ({rows}); pass missing=\"model\" to fit to learn them",
            name(j)
        )
    } else {
        format!(
            "training data has a non-finite value (Inf, or beyond float32 range) in {} ({rows})",
            name(j)
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Array {
        // Columns: continuous with a gap, discrete {3, 7}, integral continuous.
        Array::new(
            vec![
                0.5,
                3.0,
                1.0, //
                f32::NAN,
                7.0,
                4.0, //
                2.5,
                7.0,
                2.0,
            ],
            vec![3, 3],
        )
        .unwrap()
    }

    fn request(missing: bool) -> ColumnRequest {
        ColumnRequest {
            types: vec![
                ColumnType::Continuous { integral: false },
                ColumnType::Discrete,
                ColumnType::Continuous { integral: true },
            ],
            names: vec!["a".into(), "b".into(), "c".into()],
            missing,
            ..ColumnRequest::plain()
        }
    }

    #[test]
    fn a_column_missing_in_every_row_is_refused_even_when_gaps_are_modelled() {
        for j in [0, 1] {
            let mut data = table();
            for r in 0..3 {
                data.values[r * 3 + j] = f32::NAN;
            }
            let err = Schema::fit(&data, &request(true), false).unwrap_err();
            let named = ["column 'a'", "column 'b'"][j];
            assert!(
                err.to_string()
                    .contains(&format!("{named} is missing in every row")),
                "{err}"
            );
        }
    }

    #[test]
    fn missing_values_are_refused_unless_modelled() {
        let err = Schema::fit(&table(), &request(false), false).unwrap_err();
        assert!(err.to_string().contains("column 'a' (row 1)"), "{err}");
        let schema = Schema::fit(&table(), &request(true), false).unwrap();
        // Quantile (discrete columns make "auto" quantile): two normal scores, then the gap
        // indicator of "a" and the one-hot block of "b".
        assert_eq!(
            schema.blocks,
            Blocks {
                unit: 0,
                normal: 2,
                categorical: vec![2, 2],
                presence: vec![(0, 2)],
            }
        );
    }

    #[test]
    fn encode_then_decode_gives_the_rows_back() {
        let schema = Schema::fit(&table(), &request(true), false).unwrap();
        let (encoded, excess) = schema.encode(&table(), "x", Device::Cpu).unwrap();
        assert_eq!(encoded.size(), vec![3, 6]);
        assert_eq!(excess, vec![0.0; 3]);
        let row1 = Vec::<f32>::try_from(encoded.get(1)).unwrap();
        // "a" missing: indicator [0, 1]; "b" = 7: one-hot [0, 1].
        assert_eq!(&row1[2..], &[0.0, 1.0, 0.0, 1.0]);
        let back = schema.decode(&encoded, false).unwrap();
        let original = table().values;
        for (got, want) in back.iter().zip(&original) {
            assert!(
                (got.is_nan() && want.is_nan()) || (got - want).abs() < 1e-3,
                "{back:?} vs {original:?}"
            );
        }
        // An unseen discrete value is an error when encoding, naming the column.
        let odd = Array::new(vec![1.0, 5.0, 2.0], vec![1, 3]).unwrap();
        let err = schema.encode(&odd, "x", Device::Cpu).unwrap_err();
        assert!(err.to_string().contains("column 'b'"), "{err}");
    }

    #[test]
    fn unit_columns_decode_held_to_range_and_rounded_where_integral() {
        let model = [
            -0.5f32,
            0.25,
            0.5,
            1.5,
            0.3,
            0.7,
            f32::NAN,
            0.0,
            1.0,
            0.75,
            0.1,
            0.9,
        ];
        let (low, high) = ([-3.0f32, 0.0, 1.0], [5.0f32, 16.0, 2.0]);
        let out = Tensor::from_slice(&model).reshape([4, 3]);
        for integral in [false, true] {
            let schema = Schema::from_bounds(&low, &high, integral).unwrap();
            let got = schema.decode(&out, true).unwrap();
            // The general path's own formula, with the standard library's rounding; a
            // strided view takes the copy rather than the borrowed values.
            let strided = schema.decode(&out.tr().contiguous().tr(), true).unwrap();
            for (i, (&g, &s)) in got.iter().zip(&strided).enumerate() {
                let j = i % 3;
                let v = model[i].clamp(0.0, 1.0) * (high[j] - low[j]) + low[j];
                let want = if integral { v.round() } else { v };
                assert_eq!(
                    g.to_bits(),
                    want.to_bits(),
                    "value {i}, integral {integral}"
                );
                assert_eq!(s.to_bits(), want.to_bits(), "value {i} from a strided view");
            }
        }
    }

    #[test]
    fn stored_schemas_are_checked() {
        let schema = Schema::fit(&table(), &request(true), false).unwrap();
        let text = serde_json::to_string(&schema.record).unwrap();
        let back = Schema::new(serde_json::from_str(&text).unwrap()).unwrap();
        assert_eq!(back, schema);
        let mut bad = schema.record.clone();
        bad.columns[1] = Column::Discrete {
            values: vec![7.0, 3.0],
            missing: false,
        };
        assert!(matches!(Schema::new(bad), Err(Error::Checkpoint(_))));
        let unit = Schema::from_bounds(&[0.0, 1.0], &[1.0, 0.0], false);
        assert!(unit.is_err());
    }
}
