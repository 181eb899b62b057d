//! Validation of training data, and the [`Scaler`] that maps the user's value range onto the
//! model's unit range and back.

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

    /// Checks the rank (2, 3 or 4), that no axis is empty and that every value is finite.
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
        self.validate_finite("training data")
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

    /// Checks that this array's samples have `sample_shape` (rows may be zero).
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
        self.validate_finite(what)
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

/// Per-feature min/max scaling onto `[0, 1]`.
///
/// A "feature" is the last axis for `(N, D)` and `(N, T, F)` data (and so each column of an
/// `(N, H, W)` image) and the channel for `(N, C, H, W)` images; the bounds are stored expanded to
/// one pair per flattened value, so scaling is one broadcast.
#[derive(Debug, Clone, PartialEq)]
pub struct Scaler {
    pub low: Vec<f32>,
    pub high: Vec<f32>,
}

impl Scaler {
    /// Learns the bounds of each feature from validated training data.
    pub fn fit(data: &Array) -> Scaler {
        let sample_shape = data.sample_shape();
        let width: usize = sample_shape.iter().product();
        // Map each flattened position to its feature group.
        let group_of: Box<dyn Fn(usize) -> usize> = if sample_shape.len() == 3 {
            let plane = sample_shape[1] * sample_shape[2];
            Box::new(move |j| j / plane)
        } else {
            let last = *sample_shape.last().unwrap_or(&1);
            Box::new(move |j| j % last)
        };
        let groups = (0..width).map(&group_of).max().map_or(0, |g| g + 1);
        let mut low = vec![f32::INFINITY; groups];
        let mut high = vec![f32::NEG_INFINITY; groups];
        for row in data.values.chunks(width) {
            for (j, &v) in row.iter().enumerate() {
                let g = group_of(j);
                low[g] = low[g].min(v);
                high[g] = high[g].max(v);
            }
        }
        Scaler {
            low: (0..width).map(|j| low[group_of(j)]).collect(),
            high: (0..width).map(|j| high[group_of(j)]).collect(),
        }
    }

    /// The lower bounds and spans on `device`. A constant feature has span 0; on the way in it
    /// is measured in the user's own units (span 1), so that other values of it stay finite.
    fn bounds(&self, device: Device, inward: bool) -> Result<(Tensor, Tensor)> {
        let low = Tensor::f_from_slice(&self.low)?.f_to_device(device)?;
        let high = Tensor::f_from_slice(&self.high)?.f_to_device(device)?;
        let mut span = high.f_sub(&low)?;
        if inward {
            span = span.f_where_scalarother(&span.f_gt(0.0)?, 1.0)?;
        }
        Ok((low, span))
    }

    /// `(N, D)` user values -> unit range (values outside the training range land outside it).
    pub fn to_unit(&self, x: &Tensor) -> Result<Tensor> {
        let (low, span) = self.bounds(x.device(), true)?;
        Ok(x.f_sub(&low)?.f_div(&span)?)
    }

    /// `(N, D)` unit-range values -> user values, clipped to the training range, rounded for
    /// integer data.
    pub fn from_unit(&self, u: &Tensor, integral: bool) -> Result<Tensor> {
        let (low, span) = self.bounds(u.device(), false)?;
        let x = u.f_clamp(0.0, 1.0)?.f_mul(&span)?.f_add(&low)?;
        if integral {
            Ok(x.f_round()?)
        } else {
            Ok(x)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn array(values: &[f32], shape: &[usize]) -> Array {
        Array::new(values.to_vec(), shape.to_vec()).unwrap()
    }

    #[test]
    fn rejects_bad_rank_empty_and_nan() {
        assert!(matches!(
            array(&[1.0, 2.0], &[2]).validate_training(),
            Err(Error::Shape(_))
        ));
        assert!(matches!(
            array(&[], &[0, 3]).validate_training(),
            Err(Error::Shape(_))
        ));
        let err = array(&[1.0, 2.0, f32::NAN, 4.0], &[2, 2])
            .validate_training()
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

    #[test]
    fn scaler_round_trips_per_column() {
        let data = array(&[0.0, 10.0, 5.0, 2.0, 30.0, 5.0], &[2, 3]);
        let scaler = Scaler::fit(&data);
        assert_eq!(scaler.low, vec![0.0, 10.0, 5.0]);
        assert_eq!(scaler.high, vec![2.0, 30.0, 5.0]);
        let x = data.to_tensor(Device::Cpu).unwrap();
        let unit = scaler.to_unit(&x).unwrap();
        assert_eq!(
            tensor_values(&unit).unwrap(),
            vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0]
        );
        let back = scaler.from_unit(&unit, true).unwrap();
        assert_eq!(tensor_values(&back).unwrap(), data.values);
    }

    #[test]
    fn scaler_groups_channels_of_images() {
        // (N=1, C=2, H=1, W=2): channel 0 spans 0..3, channel 1 spans 10..20.
        let data = array(&[0.0, 3.0, 10.0, 20.0], &[1, 2, 1, 2]);
        let scaler = Scaler::fit(&data);
        assert_eq!(scaler.low, vec![0.0, 0.0, 10.0, 10.0]);
        assert_eq!(scaler.high, vec![3.0, 3.0, 20.0, 20.0]);
    }

    #[test]
    fn constant_features_stay_finite_and_come_back_exactly() {
        let scaler = Scaler::fit(&array(&[3.0, 0.0, 3.0, 1.0], &[2, 2]));
        let x = Tensor::from_slice(&[1e30f32, 0.5]).reshape([1, 2]);
        let unit = tensor_values(&scaler.to_unit(&x).unwrap()).unwrap();
        assert!(unit.iter().all(|v| v.is_finite()), "{unit:?}");
        let u = Tensor::from_slice(&[0.7f32, 0.5]).reshape([1, 2]);
        assert_eq!(
            tensor_values(&scaler.from_unit(&u, false).unwrap()).unwrap(),
            vec![3.0, 0.5]
        );
    }

    #[test]
    fn from_unit_clips_to_training_range() {
        let scaler = Scaler {
            low: vec![0.0],
            high: vec![255.0],
        };
        let u = Tensor::from_slice(&[-0.5f32, 0.5, 1.5]).reshape([3, 1]);
        let x = tensor_values(&scaler.from_unit(&u, true).unwrap()).unwrap();
        assert_eq!(x, vec![0.0, 128.0, 255.0]);
    }
}
