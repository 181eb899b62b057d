//! The rows metrics compare, and the feature space distance-based metrics measure them in.
//!
//! Rows arrive as raw values, one column per [`ColumnKind`]: continuous values, or a discrete
//! column's codes (any finite number names a category). Features: continuous columns as given
//! or standardised by the real rows' mean and standard deviation, discrete columns one-hot over
//! the real rows' categories plus one slot for any value the real rows never had.

use crate::error::{Error, Result};
use tch::{Device, Kind, Tensor};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Continuous,
    Discrete,
}

/// Row-major rows of raw, finite values.
#[derive(Debug, Clone)]
pub struct Rows {
    pub values: Vec<f64>,
    pub cols: usize,
}

impl Rows {
    /// Checks that `values` hold whole rows of `cols` finite values; `what` names them.
    pub fn new(values: Vec<f64>, cols: usize, what: &str) -> Result<Rows> {
        if cols == 0 || !values.len().is_multiple_of(cols) {
            return Err(Error::Shape(format!(
                "{what} has {} values, not whole rows of {cols}",
                values.len()
            )));
        }
        if let Some(at) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::Data(format!(
                "{what} has the value {} at row {}, column {}; metrics take complete, finite \
                 rows (fill missing values first, for example with a model's impute)",
                values[at],
                at / cols,
                at % cols
            )));
        }
        Ok(Rows { values, cols })
    }

    pub fn rows(&self) -> usize {
        self.values.len() / self.cols
    }

    pub fn column(&self, j: usize) -> impl Iterator<Item = f64> + '_ {
        self.values.iter().skip(j).step_by(self.cols).copied()
    }
}

/// What each column is, with its name for per-column results.
#[derive(Debug, Clone)]
pub struct Columns {
    pub kinds: Vec<ColumnKind>,
    pub names: Vec<String>,
}

impl Columns {
    /// Checks that every set of rows has one value per column.
    pub fn check(&self, sets: &[(&Rows, &str)]) -> Result<()> {
        if self.kinds.len() != self.names.len() {
            return Err(Error::Internal(
                "column kinds and names differ in length".into(),
            ));
        }
        for (rows, what) in sets {
            if rows.cols != self.kinds.len() {
                return Err(Error::Shape(format!(
                    "{what} has {} columns, the real rows {}",
                    rows.cols,
                    self.kinds.len()
                )));
            }
            if rows.rows() == 0 {
                return Err(Error::Shape(format!("{what} has no rows")));
            }
        }
        Ok(())
    }

    pub fn of(&self, kind: ColumnKind) -> Vec<usize> {
        (0..self.kinds.len())
            .filter(|&j| self.kinds[j] == kind)
            .collect()
    }
}

/// How one column becomes features.
#[derive(Debug, Clone)]
enum Feature {
    Value { mean: f64, scale: f64 },
    OneHot { categories: Vec<f64>, unseen: bool },
}

/// The map from raw rows to features, learnt from the real rows.
#[derive(Debug, Clone)]
pub struct Encoder {
    features: Vec<Feature>,
    width: usize,
}

fn bits(v: f64) -> u64 {
    // -0.0 and 0.0 are one value.
    (v + 0.0).to_bits()
}

impl Encoder {
    /// Learns the encoding from `real`; `others` are the other rows it will encode (their
    /// categories the real rows lack get the unseen slot).
    pub fn fit(columns: &Columns, real: &Rows, others: &[&Rows], standardize: bool) -> Encoder {
        let n = real.rows() as f64;
        let features: Vec<Feature> = columns
            .kinds
            .iter()
            .enumerate()
            .map(|(j, kind)| match kind {
                ColumnKind::Continuous if standardize => {
                    let mean = real.column(j).sum::<f64>() / n;
                    let var = real.column(j).map(|v| (v - mean).powi(2)).sum::<f64>() / n;
                    let sd = var.sqrt();
                    Feature::Value {
                        mean,
                        scale: if sd > 0.0 { 1.0 / sd } else { 1.0 },
                    }
                }
                ColumnKind::Continuous => Feature::Value {
                    mean: 0.0,
                    scale: 1.0,
                },
                ColumnKind::Discrete => {
                    let mut categories: Vec<f64> = real.column(j).map(|v| v + 0.0).collect();
                    categories.sort_by(f64::total_cmp);
                    categories.dedup();
                    let unseen = others.iter().any(|rows| {
                        rows.column(j).any(|v| {
                            categories
                                .binary_search_by(|c| c.total_cmp(&(v + 0.0)))
                                .is_err()
                        })
                    });
                    Feature::OneHot { categories, unseen }
                }
            })
            .collect();
        let width = features
            .iter()
            .map(|f| match f {
                Feature::Value { .. } => 1,
                Feature::OneHot { categories, unseen } => categories.len() + *unseen as usize,
            })
            .sum();
        Encoder { features, width }
    }

    /// The features of `rows`, `(N, width)` float64.
    pub fn encode(&self, rows: &Rows) -> Result<Tensor> {
        let n = rows.rows();
        let size =
            crate::limits::check_array(n as u128, self.width as u128, 8, "the metric features")?;
        let mut out = vec![0.0f64; size];
        for (i, row) in rows.values.chunks_exact(rows.cols).enumerate() {
            let mut at = i * self.width;
            for (v, feature) in row.iter().zip(&self.features) {
                match feature {
                    Feature::Value { mean, scale } => {
                        out[at] = (v - mean) * scale;
                        at += 1;
                    }
                    Feature::OneHot { categories, unseen } => {
                        let slot = categories
                            .binary_search_by(|c| c.total_cmp(&(v + 0.0)))
                            .unwrap_or(categories.len());
                        out[at + slot] = 1.0;
                        at += categories.len() + *unseen as usize;
                    }
                }
            }
        }
        Ok(Tensor::f_from_slice(&out)?
            .f_view([n as i64, self.width as i64])?
            .f_to_device(Device::Cpu)?
            .f_to_kind(Kind::Double)?)
    }
}

/// The set of distinct rows of `rows` (exact values), for duplicate counts.
pub fn row_set(rows: &Rows) -> std::collections::HashSet<Vec<u64>> {
    rows.values
        .chunks_exact(rows.cols)
        .map(|row| row.iter().map(|&v| bits(v)).collect())
        .collect()
}

/// Whether each row of `rows` is in `set`.
pub fn contained(rows: &Rows, set: &std::collections::HashSet<Vec<u64>>) -> usize {
    rows.values
        .chunks_exact(rows.cols)
        .filter(|row| set.contains(&row.iter().map(|&v| bits(v)).collect::<Vec<_>>()))
        .count()
}
