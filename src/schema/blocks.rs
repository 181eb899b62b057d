//! How a row is laid out in model space, as the networks see it: first the unit-range columns
//! (min-max scaled, a Bernoulli likelihood or a tanh output), then the normal-score columns
//! (quantile transformed, a Gaussian likelihood or a linear output), then one one-hot block per
//! discrete column or missing-value indicator (a softmax head).

use crate::error::Result;
use serde::{Deserialize, Serialize};
use tch::Tensor;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Blocks {
    pub unit: i64,
    pub normal: i64,
    /// The width of each one-hot block, in order.
    pub categorical: Vec<i64>,
    /// `(value, present)` for each continuous value with a modelled missing-value indicator:
    /// its model-space position and that of its indicator's "present" slot. A missing value's
    /// position holds a placeholder, which the likelihood ignores.
    #[serde(default)]
    pub presence: Vec<(i64, i64)>,
}

impl Blocks {
    /// Every value a unit-range column (images, sequences, min-max scaled tables).
    pub fn all_unit(width: i64) -> Blocks {
        Blocks {
            unit: width,
            ..Blocks::default()
        }
    }

    pub fn width(&self) -> i64 {
        self.unit + self.normal + self.categorical.iter().sum::<i64>()
    }

    pub fn is_all_unit(&self) -> bool {
        self.normal == 0 && self.categorical.is_empty()
    }

    /// Every value a unit-range column, some with a missing-value indicator (the only one-hot
    /// blocks).
    pub fn values_all_unit(&self) -> bool {
        self.normal == 0 && self.categorical.len() == self.presence.len()
    }

    /// `(N, width)` rows with `unit` applied to the unit part, `normal` to the normal part and
    /// `categorical` to each one-hot block, put back together in order.
    pub fn map(
        &self,
        rows: &Tensor,
        unit: impl Fn(&Tensor) -> Result<Tensor>,
        normal: impl Fn(&Tensor) -> Result<Tensor>,
        categorical: impl Fn(&Tensor) -> Result<Tensor>,
    ) -> Result<Tensor> {
        if self.is_all_unit() {
            return unit(rows);
        }
        let mut parts = Vec::with_capacity(2 + self.categorical.len());
        if self.unit > 0 {
            parts.push(unit(&rows.f_narrow(1, 0, self.unit)?)?);
        }
        if self.normal > 0 {
            parts.push(normal(&rows.f_narrow(1, self.unit, self.normal)?)?);
        }
        for (start, width) in self.categorical_spans() {
            parts.push(categorical(&rows.f_narrow(1, start, width)?)?);
        }
        Ok(Tensor::f_cat(&parts, 1)?)
    }

    /// `(start, width)` of each one-hot block.
    pub fn categorical_spans(&self) -> Vec<(i64, i64)> {
        let mut start = self.unit + self.normal;
        self.categorical
            .iter()
            .map(|&width| {
                let span = (start, width);
                start += width;
                span
            })
            .collect()
    }

    /// The parts of `(N, width)` rows: the unit part, the normal part (each `None` when
    /// empty) and each one-hot block.
    pub fn split(&self, rows: &Tensor) -> Result<Parts> {
        let part = |start, width| -> Result<Option<Tensor>> {
            Ok((width > 0)
                .then(|| rows.f_narrow(1, start, width))
                .transpose()?)
        };
        Ok(Parts {
            unit: part(0, self.unit)?,
            normal: part(self.unit, self.normal)?,
            categorical: self
                .categorical_spans()
                .into_iter()
                .map(|(start, width)| rows.f_narrow(1, start, width))
                .collect::<std::result::Result<_, _>>()?,
        })
    }
}

/// Rows split by [`Blocks::split`].
pub struct Parts {
    pub unit: Option<Tensor>,
    pub normal: Option<Tensor>,
    pub categorical: Vec<Tensor>,
}
