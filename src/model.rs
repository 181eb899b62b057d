//! What every generative model shares around its network: the data path (validate, scale,
//! unscale), the label encoding, per-model seeds, and the training history.

use crate::data::{tensor_values, Array, DataSpec, Scaler};
use crate::error::{Error, Result};
use crate::nets::{Arch, ImageShape};
use crate::seed::{derive, with_seed, SeedStream};
use crate::train::{
    self, seed_part, EpochStats, FitOptions, HeldOut, Monitor, Rows, Run, Trainable,
};
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
    /// Changes the learning rate of the optimisers set up by `start_training`.
    fn set_lr(&mut self, lr: f64);
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
    /// The training run to resume; `None` when loaded without optimiser state.
    pub run: Option<Run>,
}

/// Rows held out from training for early stopping.
pub enum Holdout {
    /// This fraction of the training rows (of each class, for a conditional model), drawn with
    /// the run's seed, so that a resumed run holds out the same rows.
    Fraction(f64),
    /// Rows of their own, with labels for a conditional model.
    Rows(Array, Option<Vec<i64>>),
}

impl Holdout {
    fn kind(&self) -> HeldOut {
        match self {
            Holdout::Fraction(fraction) => HeldOut::Fraction(*fraction),
            Holdout::Rows(..) => HeldOut::Rows,
        }
    }
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

    /// Trains on `x` (with integer `labels`, a conditional model): a fresh network, or with
    /// `options.resume` the last run continued with its optimiser state, scaler and seeds. When
    /// training stops early with an error (divergence, interruption, a failing callback), the
    /// model keeps the network of its last completed epoch, if any, and the error is returned.
    pub fn fit(
        &mut self,
        x: &Array,
        spec: DataSpec,
        labels: Option<&[i64]>,
        holdout: Option<&Holdout>,
        options: FitOptions,
        monitor: &mut dyn Monitor,
    ) -> Result<()> {
        x.validate_training()?;
        options.validate()?;
        if options.resume {
            return self.resume(x, labels, holdout, options, monitor);
        }
        let classes = match labels {
            Some(labels) => {
                check_label_count(labels, x.rows(), "x")?;
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
        train::check_early_stopping(&options, holdout.is_some())?;
        let scaler = Scaler::fit(x);
        // The model's seed stream advances only once the arguments have passed their checks.
        let mut seeds = self.seeds;
        let mut run = Run::new(seeds.next_seed());
        run.held_out = holdout.map_or(HeldOut::None, Holdout::kind);
        run.patience = options.patience;
        let device = self.device;
        let config = &self.config;
        let mut net = with_seed(derive(run.seed, seed_part::BUILD), || -> Result<N> {
            let mut net = N::build(config, &layout, device)?;
            net.start_training(options.lr)?;
            Ok(net)
        })?;
        let (rows, held) = training_rows::<N>(
            x, labels, holdout, &scaler, &classes, &layout, run.seed, device,
        )?;
        self.seeds = seeds;
        let mut history = Vec::new();
        let outcome = train::fit(
            &mut net,
            &rows,
            held.as_ref(),
            options,
            &mut run,
            monitor,
            &mut history,
        );
        if !history.is_empty() {
            self.history = history;
            self.fitted = Some(Fitted {
                net,
                layout,
                spec,
                scaler,
                classes,
                run: Some(run),
            });
        }
        outcome
    }

    /// Continues the last run on `x` until the history holds `options.epochs` epochs. Held-out
    /// rows and patience not given are the run's own.
    fn resume(
        &mut self,
        x: &Array,
        labels: Option<&[i64]>,
        holdout: Option<&Holdout>,
        options: FitOptions,
        monitor: &mut dyn Monitor,
    ) -> Result<()> {
        let Model {
            fitted,
            history,
            device,
            ..
        } = self;
        let fitted = fitted.as_mut().ok_or_else(|| {
            Error::NotFitted(format!(
                "resume=True continues an earlier fit, but this {} is not fitted yet",
                N::KIND
            ))
        })?;
        let run = fitted.run.as_mut().ok_or_else(|| {
            Error::NotFitted(format!(
                "this {} holds no optimiser state to resume from (it was loaded from a checkpoint \
                 saved with include_optimizer=False); fit it afresh instead",
                N::KIND
            ))
        })?;
        x.validate_like(&fitted.layout.sample_shape, "x")?;
        let own;
        let holdout = match (holdout, run.held_out) {
            (Some(holdout), _) => Some(holdout),
            (None, HeldOut::Fraction(fraction)) => {
                own = Holdout::Fraction(fraction);
                Some(&own)
            }
            (None, HeldOut::Rows) => {
                return Err(Error::Parameter(
                    "this run held out rows of its own: pass validation=(x_val, y_val) again \
                     to resume it"
                        .into(),
                ))
            }
            (None, HeldOut::None) => None,
        };
        let options = FitOptions {
            patience: options.patience.or(run.patience),
            ..options
        };
        train::check_early_stopping(&options, holdout.is_some())?;
        let (rows, held) = training_rows::<N>(
            x,
            labels,
            holdout,
            &fitted.scaler,
            &fitted.classes,
            &fitted.layout,
            run.seed,
            *device,
        )?;
        if let Some(lr) = options.lr {
            fitted.net.set_lr(lr);
        }
        run.held_out = holdout.map_or(HeldOut::None, Holdout::kind);
        run.patience = options.patience;
        train::fit(
            &mut fitted.net,
            &rows,
            held.as_ref(),
            options,
            run,
            monitor,
            history,
        )
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
        class_rows::<N>(
            &self.fitted()?.classes,
            labels,
            rows,
            "the input",
            self.device,
        )
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

fn check_label_count(labels: &[i64], rows: usize, what: &str) -> Result<()> {
    if labels.len() == rows {
        Ok(())
    } else {
        Err(Error::Label(format!(
            "got {} labels for {rows} rows of {what}",
            labels.len()
        )))
    }
}

/// One-hot classes of `rows` rows of `what` for a model that knows `classes` (none: an
/// unconditional model, which takes no labels).
fn class_rows<N: Network>(
    classes: &[i64],
    labels: Option<&[i64]>,
    rows: usize,
    what: &str,
    device: Device,
) -> Result<Option<Tensor>> {
    match (labels, classes.is_empty()) {
        (None, true) => Ok(None),
        (Some(_), true) => Err(Error::Label(format!(
            "this {} was fitted without labels, so it takes none",
            N::KIND
        ))),
        (None, false) => Err(Error::Label(format!(
            "this {} was fitted with labels: pass y, one of the classes {classes:?} for each row of {what}",
            N::KIND
        ))),
        (Some(labels), false) => {
            check_label_count(labels, rows, what)?;
            one_hot(classes, labels, device).map(Some)
        }
    }
}

/// User-range rows in the unit range, clipped to it (rows beyond the training range, as in a
/// resumed fit on new data or held-out rows, are held at its ends).
fn unit_rows(scaler: &Scaler, x: &Array, device: Device) -> Result<Tensor> {
    Ok(scaler.to_unit(&x.to_tensor(device)?)?.f_clamp(0.0, 1.0)?)
}

/// The rows to train on and the rows held out, if any, for one fit.
#[allow(clippy::too_many_arguments)]
fn training_rows<N: Network>(
    x: &Array,
    labels: Option<&[i64]>,
    holdout: Option<&Holdout>,
    scaler: &Scaler,
    classes: &[i64],
    layout: &Layout,
    seed: u64,
    device: Device,
) -> Result<(Rows, Option<Rows>)> {
    let all = Rows {
        x: unit_rows(scaler, x, device)?,
        classes: class_rows::<N>(classes, labels, x.rows(), "x", device)?,
    };
    match holdout {
        None => Ok((all, None)),
        Some(Holdout::Fraction(fraction)) => {
            let held = holdout_rows(labels, x.rows(), *fraction, seed)?;
            let (kept, held) = split(&all, &held, device)?;
            Ok((kept, Some(held)))
        }
        Some(Holdout::Rows(x_val, y_val)) => {
            x_val.validate_like(&layout.sample_shape, "the validation x")?;
            if x_val.rows() == 0 {
                return Err(Error::Shape("the validation x has no rows".into()));
            }
            let held = Rows {
                x: unit_rows(scaler, x_val, device)?,
                classes: class_rows::<N>(
                    classes,
                    y_val.as_deref(),
                    x_val.rows(),
                    "the validation x",
                    device,
                )?,
            };
            Ok((all, Some(held)))
        }
    }
}

/// The indices of the rows to hold out: `fraction` of each class (of all rows when unlabelled),
/// rounded, leaving at least one row of each class to train on; chosen with `seed`.
fn holdout_rows(labels: Option<&[i64]>, rows: usize, fraction: f64, seed: u64) -> Result<Vec<i64>> {
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(Error::Parameter(format!(
            "validation must be a fraction between 0 and 1 or (x_val, y_val), got {fraction}"
        )));
    }
    let order = with_seed(derive(seed, seed_part::SPLIT), || -> Result<Tensor> {
        Ok(Tensor::f_randperm(rows as i64, (Kind::Int64, Device::Cpu))?)
    })?;
    let order = Vec::<i64>::try_from(order)?;
    let group = |row: i64| labels.map_or(0, |l| l[row as usize]);
    let mut counts = std::collections::BTreeMap::new();
    for row in 0..rows as i64 {
        *counts.entry(group(row)).or_insert(0usize) += 1;
    }
    let mut quota: std::collections::BTreeMap<i64, usize> = counts
        .into_iter()
        .map(|(g, n)| (g, ((n as f64 * fraction).round() as usize).min(n - 1)))
        .collect();
    let mut held: Vec<i64> = order
        .into_iter()
        .filter(|&row| {
            let left = quota.get_mut(&group(row)).expect("every group is counted");
            let take = *left > 0;
            *left = left.saturating_sub(1);
            take
        })
        .collect();
    if held.is_empty() {
        return Err(Error::Parameter(format!(
            "validation={fraction} holds out no rows of {rows}: use a larger fraction or pass \
             (x_val, y_val)"
        )));
    }
    held.sort_unstable();
    Ok(held)
}

/// `rows` split into the rows not in `held` (sorted indices) and those in it.
fn split(rows: &Rows, held: &[i64], device: Device) -> Result<(Rows, Rows)> {
    let n = rows.len();
    let mut is_held = vec![false; n as usize];
    for &row in held {
        is_held[row as usize] = true;
    }
    let kept: Vec<i64> = (0..n).filter(|&row| !is_held[row as usize]).collect();
    let take = |index: &[i64]| rows.select(&Tensor::f_from_slice(index)?.f_to_device(device)?);
    Ok((take(&kept)?, take(held)?))
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

    #[test]
    fn holdout_is_stratified_seeded_and_leaves_every_class_rows() {
        // Class 0: 20 rows, class 1: 10 rows, class 2: 1 row.
        let labels: Vec<i64> = (0..31)
            .map(|i| {
                if i < 20 {
                    0
                } else if i < 30 {
                    1
                } else {
                    2
                }
            })
            .collect();
        let held = holdout_rows(Some(&labels), 31, 0.2, 5).unwrap();
        let count = |c| held.iter().filter(|&&r| labels[r as usize] == c).count();
        assert_eq!((count(0), count(1), count(2)), (4, 2, 0));
        assert_eq!(held, holdout_rows(Some(&labels), 31, 0.2, 5).unwrap());
        assert_ne!(held, holdout_rows(Some(&labels), 31, 0.2, 6).unwrap());
        assert_eq!(holdout_rows(None, 31, 0.1, 5).unwrap().len(), 3);
        for bad in [0.0, 1.0, f64::NAN] {
            assert!(holdout_rows(None, 31, bad, 5).is_err());
        }
        let err = holdout_rows(None, 4, 0.1, 5).unwrap_err();
        assert!(err.to_string().contains("holds out no rows"), "{err}");
    }
}
