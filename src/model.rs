//! What every generative model shares around its network: the data path (validate, scale,
//! unscale), the label encoding, per-model seeds, and the training history.

use crate::data::{tensor_values, Array, DataSpec, Scaler};
use crate::error::{Error, Result};
use crate::nets::{Arch, ImageShape};
use crate::optim::check_lr;
use crate::seed::{with_seed, SeedStream};
use crate::train::{self, EpochStats, FitOptions, Monitor, Trainable};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tch::{Device, Kind, Tensor};

/// The shape of the problem a network is built for.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub sample_shape: Vec<usize>,
    /// 0 for an unconditional model.
    pub n_classes: usize,
    /// `Some` when the conv nets are used.
    pub image: Option<ImageShape>,
}

impl Layout {
    pub fn width(&self) -> usize {
        self.sample_shape.iter().product()
    }
}

/// A network that can be trained by [`train::fit`] and generates unit-range rows.
pub trait Network: Trainable + Sized + Send + 'static {
    type Config: Clone + std::fmt::Debug + Serialize + DeserializeOwned + Send;
    /// The class name, also stored in checkpoints.
    const KIND: &'static str;

    fn arch(config: &Self::Config) -> Arch;
    fn build(config: &Self::Config, layout: &Layout, device: Device) -> Result<Self>;
    /// Sets up fresh optimiser state; `lr` overrides the network's default learning rate.
    fn start_training(&mut self, lr: Option<f64>) -> Result<()>;
    /// `n` new rows in the unit range, `(n, D)`, for the given one-hot classes.
    fn generate(&self, n: i64, classes: Option<&Tensor>) -> Result<Tensor>;
}

/// A trained network with what it learned of its data.
pub struct Fitted<N> {
    pub net: N,
    pub layout: Layout,
    pub spec: DataSpec,
    pub scaler: Scaler,
    /// Sorted class labels; empty for an unconditional model.
    pub classes: Vec<i64>,
}

pub struct Model<N: Network> {
    pub config: N::Config,
    pub device: Device,
    pub seeds: SeedStream,
    pub history: Vec<EpochStats>,
    pub fitted: Option<Fitted<N>>,
}

impl<N: Network> Model<N> {
    pub fn new(config: N::Config, device: Device, seed: u64) -> Model<N> {
        Model {
            config,
            device,
            seeds: SeedStream::new(seed),
            history: Vec::new(),
            fitted: None,
        }
    }

    /// Trains a fresh network on `x` (with integer `labels`, a conditional one). When training
    /// stops early with an error (divergence, interruption, a failing callback), the model keeps
    /// the network of its last completed epoch, if any, and the error is returned.
    pub fn fit(
        &mut self,
        x: &Array,
        spec: DataSpec,
        labels: Option<&[i64]>,
        options: FitOptions,
        lr: Option<f64>,
        monitor: &mut dyn Monitor,
    ) -> Result<()> {
        x.validate_training()?;
        lr.map(check_lr).transpose()?;
        options.validate()?;
        let classes = match labels {
            Some(labels) => {
                if labels.len() != x.rows() {
                    return Err(Error::Label(format!(
                        "y has {} labels for {} rows of x",
                        labels.len(),
                        x.rows()
                    )));
                }
                let mut classes = labels.to_vec();
                classes.sort_unstable();
                classes.dedup();
                classes
            }
            None => Vec::new(),
        };
        let layout = Layout {
            sample_shape: x.sample_shape().to_vec(),
            n_classes: classes.len(),
            image: N::arch(&self.config).resolve(x.sample_shape())?,
        };
        let scaler = Scaler::fit(x);
        let seed = self.seeds.next_seed();
        let device = self.device;
        let config = self.config.clone();
        let (net, history, outcome) = with_seed(seed, || -> Result<_> {
            let mut net = N::build(&config, &layout, device)?;
            net.start_training(lr)?;
            let data = scaler.to_unit(&x.to_tensor(device)?)?;
            let onehot = labels.map(|l| one_hot(&classes, l, device)).transpose()?;
            let mut history = Vec::new();
            let outcome = train::fit(
                &mut net,
                &data,
                onehot.as_ref(),
                options,
                monitor,
                &mut history,
            );
            Ok((net, history, outcome))
        })?;
        if !history.is_empty() {
            self.history = history;
            self.fitted = Some(Fitted {
                net,
                layout,
                spec,
                scaler,
                classes,
            });
        }
        outcome
    }

    pub fn fitted(&self) -> Result<&Fitted<N>> {
        self.fitted.as_ref().ok_or_else(|| {
            Error::NotFitted(format!(
                "this {} is not fitted yet: call fit(x) first",
                N::KIND
            ))
        })
    }

    pub fn is_conditional(&self) -> bool {
        self.fitted.as_ref().is_some_and(|f| !f.classes.is_empty())
    }

    /// One-hot classes for `labels` (`None` for an unconditional model, which takes no labels).
    pub fn encode_labels(&self, labels: Option<&[i64]>, rows: usize) -> Result<Option<Tensor>> {
        let fitted = self.fitted()?;
        match (labels, fitted.classes.is_empty()) {
            (None, true) => Ok(None),
            (Some(_), true) => Err(Error::Label(format!(
                "this {} was fitted without labels, so it takes none",
                N::KIND
            ))),
            (None, false) => Err(Error::Label(format!(
                "this {} was fitted with labels: pass y (one of the classes {:?})",
                N::KIND,
                fitted.classes
            ))),
            (Some(labels), false) => {
                if labels.len() != rows {
                    return Err(Error::Label(format!(
                        "got {} labels for {rows} rows",
                        labels.len()
                    )));
                }
                one_hot(&fitted.classes, labels, self.device).map(Some)
            }
        }
    }

    /// `n` generated samples in the training data's form, for `labels` (one per sample) when the
    /// model is conditional. `seed` makes the call reproducible; without it the model's own
    /// seed stream advances.
    pub fn sample(&mut self, n: usize, labels: Option<&[i64]>, seed: Option<u64>) -> Result<Array> {
        let classes = self.encode_labels(labels, n)?;
        let seed = seed.unwrap_or_else(|| self.seeds.next_seed());
        let fitted = self.fitted()?;
        let unit = with_seed(seed, || fitted.net.generate(n as i64, classes.as_ref()))?;
        self.from_unit(&unit)
    }

    /// Checks that `x` holds finite samples of the training data's shape.
    pub fn check_rows(&self, x: &Array, what: &str) -> Result<()> {
        x.validate_like(&self.fitted()?.spec.sample_shape, what)
    }

    /// User-range rows of the training data's sample shape -> unit-range `(N, D)` tensor.
    pub fn to_unit(&self, x: &Array, what: &str) -> Result<Tensor> {
        self.check_rows(x, what)?;
        self.fitted()?.scaler.to_unit(&x.to_tensor(self.device)?)
    }

    /// Unit-range `(N, D)` rows -> user-range samples, rounded for integer data.
    pub fn from_unit(&self, unit: &Tensor) -> Result<Array> {
        let fitted = self.fitted()?;
        let values = tensor_values(&fitted.scaler.from_unit(unit, fitted.spec.integral)?)?;
        let mut shape = vec![unit.size()[0] as usize];
        shape.extend(&fitted.spec.sample_shape);
        Array::new(values, shape)
    }
}

/// One-hot rows for `labels` over the sorted `classes`; an unknown label is an error.
fn one_hot(classes: &[i64], labels: &[i64], device: Device) -> Result<Tensor> {
    let index = labels
        .iter()
        .map(|label| {
            classes.binary_search(label).map(|i| i as i64).map_err(|_| {
                Error::Label(format!(
                    "unknown class {label}: the model knows the classes {classes:?}"
                ))
            })
        })
        .collect::<Result<Vec<i64>>>()?;
    Ok(Tensor::f_from_slice(&index)?
        .f_one_hot(classes.len() as i64)?
        .f_to_kind(Kind::Float)?
        .f_to_device(device)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_hot_rejects_unknown_classes() {
        let t = one_hot(&[3, 7], &[7, 3, 7], Device::Cpu).unwrap();
        assert_eq!(
            Vec::<f32>::try_from(t.view([-1])).unwrap(),
            vec![0.0, 1.0, 1.0, 0.0, 0.0, 1.0]
        );
        let err = one_hot(&[3, 7], &[5], Device::Cpu).unwrap_err();
        assert!(
            matches!(err, Error::Label(ref m) if m.contains("unknown class 5")),
            "{err}"
        );
    }
}
