//! Rows with gaps (NaN entries) in model space, for imputation: what is observed stays fixed,
//! each gap starts from a neutral value that the imputation then replaces.

use super::{Column, Schema, Slot};
use crate::data::Array;
use crate::error::{Error, Result};
use tch::{Device, Tensor};

impl Schema {
    /// `x` in model space with its NaN entries as gaps, `(N, width)`, and a mask of the same
    /// shape: 1 where observed values fix model space, 0 at the gaps. A gap starts at 0.5 (a
    /// unit-range column), 0 (a normal score) or equal probabilities over a discrete column's
    /// categories. A modelled missing-value indicator is fixed at "present", so that what fills
    /// the gap is a value.
    pub fn encode_gaps(&self, x: &Array, what: &str, device: Device) -> Result<(Tensor, Tensor)> {
        let columns = &self.record.columns;
        let width = self.columns();
        if let Some(at) = x.values.iter().position(|v| v.is_infinite()) {
            return Err(Error::Data(format!(
                "{what} has an infinite value in row {}; impute fills NaN entries only",
                at / width.max(1)
            )));
        }
        // Observed values as they are; each gap a placeholder the schema takes, overwritten below.
        let mut filled = x.clone();
        for (i, v) in filled.values.iter_mut().enumerate() {
            if v.is_nan() {
                *v = match &columns[i % width] {
                    Column::Unit { low, .. } => *low,
                    Column::Normal { points, .. } => points[0],
                    Column::Discrete { values, .. } => values[0],
                };
            }
        }
        let (encoded, _) = self.encode(&filled, what, Device::Cpu)?;
        let model_width = self.blocks.width() as usize;
        let mut rows = crate::data::tensor_values(&encoded)?;
        let mut mask = vec![1f32; rows.len()];
        for (r, row) in x.values.chunks(width.max(1)).enumerate() {
            let base = r * model_width;
            for (j, &v) in row.iter().enumerate() {
                if !v.is_nan() {
                    continue;
                }
                let (slot, block) = self.slots[j];
                match slot {
                    Slot::Unit(p) => (rows[base + p], mask[base + p]) = (0.5, 0.0),
                    Slot::Normal(p) => (rows[base + p], mask[base + p]) = (0.0, 0.0),
                    Slot::None => {}
                }
                if let (Column::Discrete { values, .. }, Some(block)) = (&columns[j], block) {
                    let k = values.len();
                    for c in 0..k {
                        rows[base + block.start + c] = 1.0 / k as f32;
                        mask[base + block.start + c] = 0.0;
                    }
                    // A modelled "missing" category stays observed at 0.
                }
            }
        }
        let shape = [x.rows() as i64, model_width as i64];
        Ok((
            Tensor::f_from_slice(&rows)?
                .f_reshape(shape)?
                .f_to_device(device)?,
            Tensor::f_from_slice(&mask)?
                .f_reshape(shape)?
                .f_to_device(device)?,
        ))
    }
}
