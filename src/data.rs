//! Dense arrays handed in by the user: their shapes, and copies to and from tensors. What their
//! values mean is the [`crate::schema`]'s business.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

/// A dense array handed in by the user, already copied into row-major `f32`.
#[derive(Debug, Clone)]
pub struct Array {
    pub values: Vec<f32>,
    /// Full shape, rows first.
    pub shape: Vec<usize>,
}

impl Array {
    pub fn new(values: Vec<f32>, shape: Vec<usize>) -> Result<Self> {
        let expected: usize = shape.iter().product();
        if expected != values.len() {
            return Err(Error::Shape(format!(
                "array of shape {shape:?} needs {expected} values, got {}",
                values.len()
            )));
        }
        Ok(Array { values, shape })
    }

    pub fn rows(&self) -> usize {
        self.shape.first().copied().unwrap_or(0)
    }

    /// The shape of one sample: everything after the row axis.
    pub fn sample_shape(&self) -> &[usize] {
        &self.shape[1.min(self.shape.len())..]
    }

    /// Checks the rank (2, 3 or 4) and that no axis is empty (values are the schema's to check).
    pub fn validate_training(&self) -> Result<()> {
        if !(2..=4).contains(&self.shape.len()) {
            return Err(Error::Shape(format!(
                "training data must have shape (N, D), (N, H, W), (N, T, F) or (N, C, H, W); got rank {} shape {:?}",
                self.shape.len(),
                self.shape
            )));
        }
        if self.rows() == 0 {
            return Err(Error::Shape("training data is empty (0 rows)".into()));
        }
        if self.shape.contains(&0) {
            return Err(Error::Shape(format!(
                "training data has an empty axis: shape {:?}",
                self.shape
            )));
        }
        Ok(())
    }

    /// Checks that every value is finite (NaN, Inf and float64 values beyond float32 range fail).
    pub fn validate_finite(&self, what: &str) -> Result<()> {
        if let Some(index) = self.values.iter().position(|v| !v.is_finite()) {
            let width: usize = self.sample_shape().iter().product::<usize>().max(1);
            return Err(Error::Data(format!(
                "{what} contains a non-finite value (NaN, Inf, or beyond float32 range) in row {}",
                index / width
            )));
        }
        Ok(())
    }

    /// Checks that this array's samples have `sample_shape` (rows may be zero); values are the
    /// schema's to check.
    pub fn validate_like(&self, sample_shape: &[usize], what: &str) -> Result<()> {
        if self.shape.is_empty() || self.sample_shape() != sample_shape {
            let mut expected = vec!["N".to_string()];
            expected.extend(sample_shape.iter().map(usize::to_string));
            return Err(Error::Shape(format!(
                "{what} has shape {:?}, but the model was fitted on samples of shape ({})",
                self.shape,
                expected.join(", ")
            )));
        }
        Ok(())
    }

    /// The rows as an `(N, D)` float tensor on `device`, D being the flattened sample size.
    pub fn to_tensor(&self, device: Device) -> Result<Tensor> {
        let width: usize = self.sample_shape().iter().product();
        let tensor = Tensor::f_from_slice(&self.values)?
            .f_reshape([self.rows() as i64, width as i64])?
            .f_to_device(device)?;
        Ok(tensor)
    }
}

/// Copies an `(N, ...)` float tensor back into row-major values.
pub fn tensor_values(tensor: &Tensor) -> Result<Vec<f32>> {
    let flat = tensor
        .f_to_device(Device::Cpu)?
        .f_to_kind(Kind::Float)?
        .f_contiguous()?
        .f_view([-1])?;
    let numel = flat.numel();
    let mut values = vec![0f32; numel];
    flat.f_copy_data(&mut values, numel)?;
    Ok(values)
}

/// What the model must know of the training data to give generated data back in its form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSpec {
    /// Shape of one sample.
    pub sample_shape: Vec<usize>,
    /// NumPy dtype name of the training data (`"uint8"`, `"float64"`, ...).
    pub dtype: String,
    /// Integer (or bool) training data: outputs are rounded.
    pub integral: bool,
}

impl DataSpec {
    pub fn width(&self) -> usize {
        self.sample_shape.iter().product()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn array(values: &[f32], shape: &[usize]) -> Array {
        Array::new(values.to_vec(), shape.to_vec()).unwrap()
    }

    #[test]
    fn rejects_bad_rank_and_empty_and_finds_nan() {
        assert!(matches!(
            array(&[1.0, 2.0], &[2]).validate_training(),
            Err(Error::Shape(_))
        ));
        assert!(matches!(
            array(&[], &[0, 3]).validate_training(),
            Err(Error::Shape(_))
        ));
        let err = array(&[1.0, 2.0, f32::NAN, 4.0], &[2, 2])
            .validate_finite("x")
            .unwrap_err();
        assert!(
            matches!(err, Error::Data(ref m) if m.contains("row 1")),
            "{err}"
        );
        assert!(Array::new(vec![1.0], vec![2, 2]).is_err());
    }

    #[test]
    fn validate_like_names_both_shapes() {
        let err = array(&[0.0; 6], &[2, 3])
            .validate_like(&[4], "batch")
            .unwrap_err();
        assert!(err.to_string().contains("(N, 4)"), "{err}");
        assert!(array(&[0.0; 8], &[2, 4])
            .validate_like(&[4], "batch")
            .is_ok());
    }
}
