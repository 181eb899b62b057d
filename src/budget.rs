//! How long a fit trains when `epochs` is left out: each model names a target number of
//! optimiser steps (generator steps for a GAN, so that its discriminator steps per generator step
//! are accounted for), and the target becomes whole epochs for the rows and batch size at hand.
//!
//! `epochs = clamp(ceil(steps * batches_per_step / ceil(rows / batch_size)), min_epochs,
//! MAX_EPOCHS)`: the step count, not the epoch count, is what decides whether a model has trained
//! enough, and it keeps the time of a default fit about the same however many rows there are.
//! `min_epochs` lets a model ask for a few passes over large data sets as well.
//!
//! A model's budget may also lower the learning rate for the last quarter: epochs after
//! `ceil(epochs * DECAY_AFTER)` train at `lr * DECAY_FACTOR`. The MLP VAE on unit-range rows
//! does: its digits accuracy went 0.950 -> 0.952 (seeds 0-5, benchmarks/defaults.py, with
//! less spread between seeds) and its held-out 9s' ROC AUC 0.927 -> 0.931 (seeds 0-2,
//! benchmarks/anomaly.py). The same schedule over fewer steps lost outlier ranking, so the
//! steps stay. The VAE on tables does too, from its rate of 3e-3 (see `vae::Profile`).

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Rows per minibatch when `batch_size` is left out, unless the model's budget names its own.
pub const DEFAULT_BATCH_SIZE: usize = 64;
/// Tiny data sets would otherwise need thousands of one-batch epochs, each with its per-epoch
/// figures and snapshot.
pub const MAX_EPOCHS: usize = 2000;
/// The fraction of a budgeted fit's epochs trained at the full learning rate.
pub const DECAY_AFTER: f64 = 0.75;
/// What the learning rate is multiplied by for the rest of a budgeted fit.
pub const DECAY_FACTOR: f64 = 0.2;

/// What a model asks of a default fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Optimiser steps to aim for (generator steps for a GAN).
    pub steps: usize,
    /// Minibatches each of those steps takes (a WGAN-GP critic's `n_critic`; 1 otherwise).
    pub batches_per_step: usize,
    /// Rows per minibatch when `batch_size` is left out.
    pub batch_size: usize,
    /// Passes over the rows that a default fit makes at least (when [`MAX_EPOCHS`] allows).
    pub min_epochs: usize,
    /// Whether the last quarter trains at `lr * DECAY_FACTOR`.
    pub decays: bool,
}

/// How a fit trains, recorded after it as `fit_params_`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FitParams {
    /// The run trains until its history holds this many epochs.
    pub epochs: usize,
    /// `"budget"` when chosen from the data, `"given"` when passed to `fit`.
    pub epochs_from: String,
    pub batch_size: usize,
    /// Rows trained on (without held-out rows).
    pub rows: usize,
    pub batches_per_epoch: usize,
    pub batches_per_step: usize,
    /// The budget's target steps.
    pub target_steps: usize,
    /// Optimiser steps (generator steps for a GAN) that `epochs` epochs take.
    pub steps: usize,
    /// The first epoch trained at `lr * DECAY_FACTOR`; `None` when `epochs` was given, the
    /// model does not decay, or the run is too short to have a last quarter.
    #[serde(default)]
    pub lr_decay_epoch: Option<usize>,
}

impl FitParams {
    /// What the learning rate is multiplied by in `epoch` (from 1).
    pub fn lr_scale(&self, epoch: usize) -> f64 {
        match self.lr_decay_epoch {
            Some(first) if epoch >= first => DECAY_FACTOR,
            _ => 1.0,
        }
    }

    /// Sets [`FitParams::lr_decay_epoch`] for a budgeted plan of `epochs` of a model whose
    /// budget `decays`.
    pub fn schedule(&mut self, decays: bool) {
        let full = (self.epochs as f64 * DECAY_AFTER).ceil() as usize;
        let budgeted = self.epochs_from == "budget";
        self.lr_decay_epoch = (budgeted && decays && full < self.epochs).then_some(full + 1);
    }
}

/// The plan for `rows` training rows: `epochs` when given, else the budget's.
pub fn plan(
    epochs: Option<usize>,
    batch_size: usize,
    rows: usize,
    budget: Budget,
) -> Result<FitParams> {
    if batch_size == 0 || epochs == Some(0) {
        return Err(Error::Parameter(
            "epochs and batch_size must be at least 1".into(),
        ));
    }
    let batches_per_step = budget.batches_per_step.max(1);
    let batches_per_epoch = rows.div_ceil(batch_size).max(1);
    let budgeted = (budget.steps.saturating_mul(batches_per_step))
        .div_ceil(batches_per_epoch)
        .clamp(budget.min_epochs.clamp(1, MAX_EPOCHS), MAX_EPOCHS);
    let epochs_from = if epochs.is_some() { "given" } else { "budget" };
    let epochs = epochs.unwrap_or(budgeted);
    let mut params = FitParams {
        epochs,
        epochs_from: epochs_from.into(),
        batch_size,
        rows,
        batches_per_epoch,
        batches_per_step,
        target_steps: budget.steps,
        steps: epochs.saturating_mul(batches_per_epoch) / batches_per_step,
        lr_decay_epoch: None,
    };
    params.schedule(budget.decays);
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VAE: Budget = Budget {
        steps: 6000,
        batches_per_step: 1,
        batch_size: DEFAULT_BATCH_SIZE,
        min_epochs: 1,
        decays: true,
    };

    #[test]
    fn epochs_follow_the_step_target() {
        // digits' training split: 1257 rows, 20 batches of 64 per epoch.
        let p = plan(None, 64, 1257, VAE).unwrap();
        assert_eq!((p.epochs, p.batches_per_epoch, p.steps), (300, 20, 6000));
        assert_eq!(p.epochs_from, "budget");
        // Generator steps: two batches each.
        let wgan = Budget {
            steps: 3000,
            batches_per_step: 2,
            ..VAE
        };
        assert_eq!(plan(None, 64, 1257, wgan).unwrap().epochs, 300);
        // Many rows: few epochs, the same number of steps.
        let big = plan(None, 64, 100_000, VAE).unwrap();
        assert_eq!(big.epochs, 4);
        assert!(big.steps >= 6000 && big.steps < 6000 + big.batches_per_epoch);
        // A floor of passes: it decides on many rows only.
        let passes = Budget {
            min_epochs: 30,
            ..VAE
        };
        assert_eq!(plan(None, 64, 1257, passes).unwrap().epochs, 300);
        assert_eq!(plan(None, 64, 100_000, passes).unwrap().epochs, 30);
        assert_eq!(plan(Some(2), 64, 100_000, passes).unwrap().epochs, 2);
    }

    #[test]
    fn tiny_data_is_capped_and_given_epochs_win() {
        assert_eq!(plan(None, 64, 10, VAE).unwrap().epochs, MAX_EPOCHS);
        let given = plan(Some(7), 64, 10, VAE).unwrap();
        assert_eq!((given.epochs, given.epochs_from.as_str()), (7, "given"));
        assert!(plan(Some(0), 64, 10, VAE).is_err());
        assert!(plan(None, 0, 10, VAE).is_err());
    }

    #[test]
    fn a_budgeted_fit_decays_its_last_quarter() {
        let p = plan(None, 64, 1257, VAE).unwrap();
        assert_eq!(p.lr_decay_epoch, Some(226));
        assert_eq!((p.lr_scale(1), p.lr_scale(225)), (1.0, 1.0));
        assert_eq!(
            (p.lr_scale(226), p.lr_scale(300)),
            (DECAY_FACTOR, DECAY_FACTOR)
        );
        // Four epochs: the last one decays; one epoch: nothing to decay.
        assert_eq!(
            plan(None, 64, 100_000, VAE).unwrap().lr_decay_epoch,
            Some(4)
        );
        let one = Budget { steps: 1, ..VAE };
        assert_eq!(plan(None, 64, 100_000, one).unwrap().lr_decay_epoch, None);
        // Given epochs train at one rate.
        let given = plan(Some(300), 64, 1257, VAE).unwrap();
        assert_eq!((given.lr_decay_epoch, given.lr_scale(300)), (None, 1.0));
        // A model that keeps its rate.
        let flat = Budget {
            decays: false,
            ..VAE
        };
        assert_eq!(plan(None, 64, 1257, flat).unwrap().lr_decay_epoch, None);
    }
}
