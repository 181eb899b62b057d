//! The training loop shared by every model: shuffled minibatches, epochs, per-epoch history,
//! divergence checks, and the hooks through which callers watch and stop training.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::time::Instant;
use tch::nn::VarStore;
use tch::{Kind, Tensor};

/// One epoch's figures: mean losses over its minibatches, `epoch` (from 1) and `seconds`.
pub type EpochStats = BTreeMap<String, f64>;

/// A model that can take one optimisation step on a minibatch.
pub trait Trainable {
    /// One step on unit-range rows `x` `(B, D)` with optional one-hot classes `(B, K)`;
    /// returns the step's losses as detached scalar tensors.
    fn train_batch(
        &mut self,
        x: &Tensor,
        classes: Option<&Tensor>,
    ) -> Result<Vec<(&'static str, Tensor)>>;

    /// Every weight and buffer of the model.
    fn var_store(&self) -> &VarStore;

    /// Called once before the first epoch with the whole training set.
    fn begin_fit(&mut self, _x: &Tensor, _classes: Option<&Tensor>) -> Result<()> {
        Ok(())
    }

    /// Figures measured on the model after each epoch, added to that epoch's history.
    fn epoch_figures(&mut self) -> Result<Vec<(&'static str, f64)>> {
        Ok(Vec::new())
    }
}

#[derive(Debug, Clone, Copy)]
pub struct FitOptions {
    pub epochs: usize,
    pub batch_size: usize,
}

impl FitOptions {
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 || self.batch_size == 0 {
            return Err(Error::Parameter(
                "epochs and batch_size must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// How a caller watches and stops training.
pub trait Monitor {
    /// Called between minibatches; an error abandons the epoch and restores the weights of the
    /// last completed one.
    fn between_batches(&mut self) -> Result<()> {
        Ok(())
    }

    /// Called after each epoch; `Ok(false)` ends training there, an error ends it with the
    /// epoch's weights kept.
    fn after_epoch(&mut self, _stats: &EpochStats) -> Result<bool> {
        Ok(true)
    }
}

/// A monitor that never interferes.
pub struct Unmonitored;
impl Monitor for Unmonitored {}

/// Trains `model` on `x` `(N, D)` (and one-hot `classes` `(N, K)`), appending one entry per
/// completed epoch to `history`. On divergence or a `between_batches` error the weights of the
/// last completed epoch are restored before the error is returned.
pub fn fit<M: Trainable>(
    model: &mut M,
    x: &Tensor,
    classes: Option<&Tensor>,
    options: FitOptions,
    monitor: &mut dyn Monitor,
    history: &mut Vec<EpochStats>,
) -> Result<()> {
    options.validate()?;
    let rows = x.size()[0];
    let batch = options.batch_size as i64;
    model.begin_fit(x, classes)?;
    for epoch in history.len() + 1..=history.len() + options.epochs {
        let started = Instant::now();
        let saved = snapshot(model.var_store())?;
        let result = run_epoch(model, x, classes, rows, batch, monitor);
        let totals = match result {
            Ok(totals) => totals,
            Err(err) => {
                restore(model.var_store(), &saved)?;
                return Err(err);
            }
        };
        let mut stats = EpochStats::new();
        for (name, total, counted) in totals {
            let mean = f64::try_from(total)? / counted as f64;
            if !mean.is_finite() {
                restore(model.var_store(), &saved)?;
                return Err(Error::Diverged {
                    epoch,
                    what: name.to_string(),
                });
            }
            stats.insert(name.to_string(), mean);
        }
        for (name, value) in model.epoch_figures()? {
            stats.insert(name.to_string(), value);
        }
        stats.insert("epoch".into(), epoch as f64);
        stats.insert("seconds".into(), started.elapsed().as_secs_f64());
        history.push(stats.clone());
        if !monitor.after_epoch(&stats)? {
            break;
        }
    }
    Ok(())
}

/// Each loss summed over the rows of the batches that reported it, and that row count.
type LossTotals = Vec<(&'static str, Tensor, i64)>;

/// One pass over a fresh permutation; returns the loss totals (as tensors, so the device is
/// synchronised once per epoch rather than once per batch). A loss need not be reported by
/// every batch (a GAN's generator may step on every n-th batch only).
fn run_epoch<M: Trainable>(
    model: &mut M,
    x: &Tensor,
    classes: Option<&Tensor>,
    rows: i64,
    batch: i64,
    monitor: &mut dyn Monitor,
) -> Result<LossTotals> {
    let order = Tensor::f_randperm(rows, (Kind::Int64, x.device()))?;
    let mut totals: LossTotals = Vec::new();
    let mut start = 0;
    while start < rows {
        monitor.between_batches()?;
        let size = batch.min(rows - start);
        let index = order.f_narrow(0, start, size)?;
        let xb = x.f_index_select(0, &index)?;
        let cb = classes.map(|c| c.f_index_select(0, &index)).transpose()?;
        let losses = model.train_batch(&xb, cb.as_ref())?;
        for (name, loss) in losses {
            let weighted = loss.f_mul_scalar(size)?;
            match totals.iter_mut().find(|(known, _, _)| *known == name) {
                Some((_, total, counted)) => {
                    *total = total.f_add(&weighted)?;
                    *counted += size;
                }
                None => totals.push((name, weighted, size)),
            }
        }
        start += size;
    }
    Ok(totals)
}

/// Copies of every variable, to roll back to.
pub fn snapshot(vs: &VarStore) -> Result<Vec<(String, Tensor)>> {
    let _guard = tch::no_grad_guard();
    vs.variables()
        .into_iter()
        .map(|(name, t)| {
            let mut copy = t.f_zeros_like()?;
            copy.f_copy_(&t)?;
            Ok((name, copy))
        })
        .collect()
}

/// Writes a [`snapshot`] back into the live variables.
pub fn restore(vs: &VarStore, saved: &[(String, Tensor)]) -> Result<()> {
    let _guard = tch::no_grad_guard();
    let mut live = vs.variables();
    for (name, value) in saved {
        if let Some(var) = live.get_mut(name) {
            var.f_copy_(value)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::Adam;
    use tch::{nn, Device};

    /// Fits `y = w * x` to data made with w = 2; a NaN weight makes the loss diverge.
    struct Line {
        vs: nn::VarStore,
        w: Tensor,
        adam: Adam,
    }

    impl Line {
        fn new() -> Line {
            let vs = nn::VarStore::new(Device::Cpu);
            let w = vs.root().zeros("w", &[1]);
            let adam = Adam::new(vec![w.shallow_clone()], 0.05, 0.9, 0.999).unwrap();
            Line { vs, w, adam }
        }
    }

    impl Trainable for Line {
        fn train_batch(
            &mut self,
            x: &Tensor,
            _: Option<&Tensor>,
        ) -> Result<Vec<(&'static str, Tensor)>> {
            let loss = (x * &self.w - x * 2.0).square().mean(Kind::Float);
            self.adam.backward_step(&loss)?;
            Ok(vec![("loss", loss.detach())])
        }
        fn var_store(&self) -> &nn::VarStore {
            &self.vs
        }
    }

    fn data() -> Tensor {
        Tensor::arange(10, (Kind::Float, Device::Cpu)).view([10, 1]) / 10.0
    }

    #[test]
    fn fits_and_records_history() {
        let mut line = Line::new();
        let mut history = Vec::new();
        let options = FitOptions {
            epochs: 60,
            batch_size: 4,
        };
        fit(
            &mut line,
            &data(),
            None,
            options,
            &mut Unmonitored,
            &mut history,
        )
        .unwrap();
        assert_eq!(history.len(), 60);
        assert_eq!(history[59]["epoch"], 60.0);
        assert!(history[59]["loss"] < history[0]["loss"]);
        let w = f64::try_from(&line.w).unwrap();
        assert!((w - 2.0).abs() < 0.1, "{w}");
    }

    struct StopAfter(usize);
    impl Monitor for StopAfter {
        fn after_epoch(&mut self, stats: &EpochStats) -> Result<bool> {
            Ok(stats["epoch"] < self.0 as f64)
        }
    }

    #[test]
    fn monitor_can_stop_early() {
        let mut history = Vec::new();
        let options = FitOptions {
            epochs: 50,
            batch_size: 3,
        };
        fit(
            &mut Line::new(),
            &data(),
            None,
            options,
            &mut StopAfter(3),
            &mut history,
        )
        .unwrap();
        assert_eq!(history.len(), 3);
    }

    #[test]
    fn divergence_names_the_epoch_and_keeps_finite_weights() {
        let mut line = Line::new();
        let mut history = Vec::new();
        let options = FitOptions {
            epochs: 2,
            batch_size: 5,
        };
        fit(
            &mut line,
            &data(),
            None,
            options,
            &mut Unmonitored,
            &mut history,
        )
        .unwrap();
        let before = f64::try_from(&line.w).unwrap();
        let poisoned = data();
        let _ = poisoned.get(3).fill_(f64::NAN);
        let err = fit(
            &mut line,
            &poisoned,
            None,
            options,
            &mut Unmonitored,
            &mut history,
        )
        .unwrap_err();
        assert!(matches!(err, Error::Diverged { epoch: 3, .. }), "{err}");
        assert_eq!(f64::try_from(&line.w).unwrap(), before);
        assert_eq!(history.len(), 2);
    }
}
