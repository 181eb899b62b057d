//! The training loop shared by every model: shuffled minibatches, epochs, per-epoch history,
//! early stopping on held-out rows, divergence checks, and the hooks through which callers watch
//! and stop training.
//!
//! Each epoch draws its randomness from a seed derived from the run's seed and the epoch number,
//! and every completed epoch leaves a state (weights, optimiser, early-stopping record) from which
//! training continues exactly as if it had never stopped.

use crate::budget::{self, Budget, FitParams};
use crate::denormals::FlushDenormals;
use crate::error::{Error, Result};
use crate::optim::OptimiserState;
use crate::rng::{self, with_seed};
use crate::seed::derive;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Instant;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

/// One epoch's figures: mean losses over its minibatches, `val_loss` when rows are held out,
/// `epoch` (from 1) and `seconds`.
pub type EpochStats = BTreeMap<String, f64>;

/// Named copies of a model's variables.
pub type Weights = Vec<(String, Tensor)>;

/// Parts of a run's seed (see [`derive`]); epoch `e` draws from part `e`.
pub mod seed_part {
    pub const BUILD: u64 = u64::MAX;
    pub const SPLIT: u64 = u64::MAX - 1;
    pub const BEGIN: u64 = u64::MAX - 2;
    pub const HOLDOUT: u64 = u64::MAX - 3;
    pub const END: u64 = u64::MAX - 4;
}

/// Unit-range rows `(N, D)` with their optional one-hot classes `(N, K)`.
pub struct Rows {
    pub x: Tensor,
    pub classes: Option<Tensor>,
}

impl Rows {
    pub fn len(&self) -> i64 {
        self.x.size()[0]
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows at `index` (an Int64 tensor on their device).
    pub fn select(&self, index: &Tensor) -> Result<Rows> {
        Ok(Rows {
            x: self.x.f_index_select(0, index)?,
            classes: self
                .classes
                .as_ref()
                .map(|c| c.f_index_select(0, index))
                .transpose()?,
        })
    }

    /// `size` rows from `start`.
    pub fn slice(&self, start: i64, size: i64) -> Result<Rows> {
        Ok(Rows {
            x: self.x.f_narrow(0, start, size)?,
            classes: self
                .classes
                .as_ref()
                .map(|c| c.f_narrow(0, start, size))
                .transpose()?,
        })
    }

    /// At most `n` rows chosen at random.
    pub fn random_subset(&self, n: i64) -> Result<Rows> {
        let order = rng::permutation_tensor(self.len(), self.x.device())?;
        self.select(&order.f_narrow(0, 0, n.min(self.len()))?)
    }
}

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

    /// The loss early stopping watches (lower is better), on held-out rows.
    fn holdout_loss(&mut self, rows: &Rows) -> Result<f64>;

    /// A copy of the optimisers' state; `None` before training is set up.
    fn optimiser_state(&self) -> Result<Option<OptimiserState>>;

    /// Restores what [`Trainable::optimiser_state`] returned.
    fn load_optimiser_state(&mut self, state: &OptimiserState) -> Result<()>;

    /// Multiplies the learning rate of the steps that follow by `scale` (the plan's schedule,
    /// set before every epoch).
    fn set_lr_scale(&mut self, scale: f64);

    /// Whether an epoch repeats the rows of rare classes (see [`epoch_rows`]).
    fn repeats_rare_classes(&self) -> bool {
        false
    }

    /// Called at the start of every `fit` with the rows it trains on.
    fn begin_fit(&mut self, _rows: &Rows) -> Result<()> {
        Ok(())
    }

    /// Called at the end of every `fit` that trained, with the final weights in place. Long
    /// work here calls `check` between its chunks, so that Ctrl-C stops it; on its error the
    /// model must be left as a fit interrupted during training leaves it.
    fn end_fit(&mut self, _rows: &Rows, _check: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        Ok(())
    }

    /// Whether the last fit that trained finished [`Trainable::end_fit`].
    fn ended(&self) -> Result<bool> {
        Ok(true)
    }

    /// What to add to an epoch's mean figures: the parts of a loss that no weight affects (a
    /// VAE's targets' own entropy), which a step can then leave out. `rows` and `index` are
    /// what every epoch trains on, as [`train_epoch`] takes them.
    fn figure_offsets(
        &self,
        _rows: &Rows,
        _index: Option<&Tensor>,
    ) -> Result<Vec<(&'static str, f64)>> {
        Ok(Vec::new())
    }

    /// Figures measured on the model after each epoch, added to that epoch's history.
    fn epoch_figures(&mut self) -> Result<Vec<(&'static str, f64)>> {
        Ok(Vec::new())
    }

    /// What a fit without `epochs` trains for.
    fn budget(&self) -> Budget;

    /// What is wrong with training, judged from an epoch's figures (a collapsed generator or
    /// posterior), as a sentence naming the figure; `None` when nothing is.
    fn health(&self, _stats: &EpochStats) -> Option<String> {
        None
    }
}

#[derive(Debug, Clone, Copy)]
pub struct FitOptions {
    /// Train until the history has this many epochs; `None`: the model's budget (or, resuming,
    /// the run's own).
    pub epochs: Option<usize>,
    /// `None`: the model's budget's (see [`Budget::batch_size`]).
    pub batch_size: Option<usize>,
    /// Stop after this many epochs without a lower held-out loss.
    pub patience: Option<usize>,
    /// Overrides the optimisers' learning rate.
    pub lr: Option<f64>,
    /// Continue the model's last run instead of starting a fresh network.
    pub resume: bool,
}

impl FitOptions {
    pub fn new(epochs: usize, batch_size: usize) -> FitOptions {
        FitOptions {
            epochs: Some(epochs),
            batch_size: Some(batch_size),
            patience: None,
            lr: None,
            resume: false,
        }
    }

    pub fn validate(&self) -> Result<()> {
        if self.epochs == Some(0) || self.batch_size == Some(0) {
            return Err(Error::Parameter(
                "epochs and batch_size must be at least 1".into(),
            ));
        }
        if self.patience == Some(0) {
            return Err(Error::Parameter("patience must be at least 1".into()));
        }
        if let Some(lr) = self.lr {
            crate::optim::check_lr(lr)?;
        }
        Ok(())
    }
}

/// The epoch with the lowest held-out loss so far, and its weights.
pub struct Best {
    pub loss: f64,
    pub epoch: usize,
    pub weights: Weights,
}

/// Which rows a run held out, so that a resumed fit that does not say holds out the same.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum HeldOut {
    None,
    /// This fraction of the training rows, chosen with the run's seed.
    Fraction(f64),
    /// Rows of the caller's own, which a resumed fit must be given again.
    Rows,
}

/// What a training run keeps between `fit` calls so that it can continue exactly: the seed its
/// epochs draw from, its early-stopping settings and record.
pub struct Run {
    pub seed: u64,
    pub held_out: HeldOut,
    pub patience: Option<usize>,
    pub best: Option<Best>,
    /// The last epoch's weights while the model holds the best epoch's instead: a resumed run
    /// continues from these.
    pub last: Option<Weights>,
    /// How its last `fit` call trained; a resumed fit without `epochs` trains to its epochs.
    pub params: Option<FitParams>,
}

impl Run {
    pub fn new(seed: u64) -> Run {
        Run {
            seed,
            held_out: HeldOut::None,
            patience: None,
            best: None,
            last: None,
            params: None,
        }
    }

    /// Whether `patience` epochs have passed without a better held-out loss.
    fn out_of_patience(&self, patience: Option<usize>, epochs: usize) -> bool {
        match (patience, &self.best) {
            (Some(patience), Some(best)) => epochs.saturating_sub(best.epoch) >= patience,
            _ => false,
        }
    }
}

/// How a caller watches and stops training.
pub trait Monitor {
    /// Called between minibatches; an error abandons the epoch and restores the model to the end
    /// of the last completed one.
    fn between_batches(&mut self) -> Result<()> {
        Ok(())
    }

    /// Called after each epoch; `Ok(false)` ends training there, an error ends it with the
    /// epoch's weights kept.
    fn after_epoch(&mut self, _stats: &EpochStats) -> Result<bool> {
        Ok(true)
    }

    /// Called after each completed epoch, before `after_epoch`, with copies of the weights at
    /// its end, which training never changes (they are what an interrupted next epoch rolls
    /// back to).
    fn epoch_weights(&mut self, _weights: &Weights) -> Result<()> {
        Ok(())
    }

    /// Called once before the first epoch a fit trains: it trains until the history holds
    /// `epochs` epochs, of which `done` are there already.
    fn begin(&mut self, _epochs: usize, _done: usize) -> Result<()> {
        Ok(())
    }

    /// Told at most once per fit that training has gone wrong (see [`Trainable::health`]); an
    /// error ends training with the epoch's weights kept.
    fn warn(&mut self, _message: &str) -> Result<()> {
        Ok(())
    }
}

/// Training is judged healthy or not only once a fit has taken this many minibatches: early on
/// every generator is poor and every posterior close to the prior.
pub const MIN_STEPS_JUDGED: usize = 500;

/// A monitor that never interferes.
pub struct Unmonitored;
impl Monitor for Unmonitored {}

/// Trains `model` on `rows` until `history` holds `options.epochs` epochs (left out: the run's
/// own when resuming one that has them, else the model's budget; see [`budget::plan`]), or until
/// patience has run out (then it trains nothing), appending one entry per completed epoch. The
/// plan is kept in `run.params`, and sets each epoch's learning rate ([`FitParams::lr_scale`]).
/// Once per fit, an epoch in the second half of the plan (or the fit's last), after
/// [`MIN_STEPS_JUDGED`] minibatches, whose figures the model finds unhealthy is reported to
/// `monitor.warn`.
/// With `holdout` rows each epoch also records `val_loss`; training stops after
/// `options.patience` epochs without improvement, and a fit that ends without an error ends
/// with the best epoch's weights (the last epoch's are kept in `run` to resume from).
/// On divergence or a `between_batches` error the model (weights and optimisers) is restored to
/// the end of the last completed epoch before the error is returned.
pub fn fit<M: Trainable>(
    model: &mut M,
    rows: &Rows,
    holdout: Option<&Rows>,
    options: FitOptions,
    run: &mut Run,
    monitor: &mut dyn Monitor,
    history: &mut Vec<EpochStats>,
) -> Result<()> {
    options.validate()?;
    check_early_stopping(&options, holdout.is_some())?;
    // A resumed run without `epochs` trains to its own plan.
    let own = run.params.as_ref().filter(|_| options.epochs.is_none());
    let budget = model.budget();
    let epoch_index = if model.repeats_rare_classes() {
        epoch_rows(rows)?
    } else {
        None
    };
    let per_epoch = epoch_index
        .as_ref()
        .map_or(rows.len(), |index| index.size()[0]);
    let mut plan = budget::plan(
        options.epochs.or(own.map(|p| p.epochs)),
        options.batch_size.unwrap_or(budget.batch_size),
        per_epoch as usize,
        budget,
    )?;
    plan.rows = rows.len() as usize;
    if let Some(own) = own {
        plan.epochs_from.clone_from(&own.epochs_from);
        plan.schedule(budget.decays);
    }
    run.params = Some(plan.clone());
    let planned = plan.epochs;
    let batch_size = plan.batch_size;
    let done = history.len();
    if done >= planned || (holdout.is_some() && run.out_of_patience(options.patience, done)) {
        // Nothing to train, but a fit stopped in its end work still owes it.
        if done > 0 && !model.ended()? {
            return end_fit(model, rows, run.seed, monitor);
        }
        return Ok(());
    }
    monitor.begin(planned, done)?;
    if let Some(last) = run.last.take() {
        restore_weights(model.var_store(), &last)?;
    }
    with_seed(derive(run.seed, seed_part::BEGIN), || model.begin_fit(rows))?;
    let offsets = model.figure_offsets(rows, epoch_index.as_ref())?;
    let mut saved = Snapshot::take(model)?;
    let mut warned = false;
    while history.len() < planned {
        let epoch = history.len() + 1;
        let started = Instant::now();
        model.set_lr_scale(plan.lr_scale(epoch));
        let outcome = with_seed(derive(run.seed, epoch as u64), || {
            train_epoch(
                model,
                rows,
                epoch_index.as_ref(),
                &offsets,
                batch_size,
                epoch,
                monitor,
            )
        })
        .and_then(|mut stats| {
            if let Some(holdout) = holdout {
                let loss = with_seed(derive(run.seed, seed_part::HOLDOUT), || {
                    model.holdout_loss(holdout)
                })?;
                check_finite(loss, epoch, "val_loss")?;
                stats.insert("val_loss".into(), loss);
            }
            Ok(stats)
        });
        let mut stats = match outcome {
            Ok(stats) => stats,
            Err(err) => {
                saved.restore(model)?;
                return Err(err);
            }
        };
        stats.insert("epoch".into(), epoch as f64);
        stats.insert("seconds".into(), started.elapsed().as_secs_f64());
        if let Some(&loss) = stats.get("val_loss") {
            if run.best.as_ref().is_none_or(|best| loss < best.loss) {
                run.best = Some(Best {
                    loss,
                    epoch,
                    weights: copy_weights(model.var_store())?,
                });
            }
        }
        history.push(stats.clone());
        saved = Snapshot::take(model)?;
        monitor.epoch_weights(&saved.weights)?;
        let out_of_patience = run.out_of_patience(options.patience, epoch);
        let keep_going = monitor.after_epoch(&stats)? && !out_of_patience;
        let last = !keep_going || epoch >= planned;
        let judged = epoch * plan.batches_per_epoch >= MIN_STEPS_JUDGED;
        if !warned && judged && (2 * epoch > planned || last) {
            if let Some(problem) = model.health(&stats) {
                warned = true;
                monitor.warn(&format!("epoch {epoch}: {problem}"))?;
            }
        }
        if !keep_going {
            break;
        }
    }
    if let (Some(_), Some(best)) = (holdout, &run.best) {
        if best.epoch != history.len() {
            run.last = Some(copy_weights(model.var_store())?);
            restore_weights(model.var_store(), &best.weights)?;
        }
    }
    end_fit(model, rows, run.seed, monitor)
}

/// [`Trainable::end_fit`] with the run's end seed, stopped by what stops a minibatch.
fn end_fit<M: Trainable>(
    model: &mut M,
    rows: &Rows,
    seed: u64,
    monitor: &mut dyn Monitor,
) -> Result<()> {
    with_seed(derive(seed, seed_part::END), || {
        model.end_fit(rows, &mut || monitor.between_batches())
    })
}

/// Patience needs held-out rows to watch.
pub fn check_early_stopping(options: &FitOptions, has_holdout: bool) -> Result<()> {
    if options.patience.is_some() && !has_holdout {
        return Err(Error::Parameter(
            "patience needs held-out rows: pass validation= as well".into(),
        ));
    }
    Ok(())
}

fn check_finite(value: f64, epoch: usize, what: &str) -> Result<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(Error::Diverged {
            epoch,
            what: what.to_string(),
        })
    }
}

/// A class this many times smaller than the largest has its rows repeated in each epoch.
pub const RARE_CLASS_RATIO: i64 = 5;
/// A repeated class gets at most one copy per this many of its rows.
pub const ROWS_PER_COPY: i64 = 16;

/// The rows of one epoch of a conditional fit, as indices into `rows`, when some class has
/// fewer than 1/[`RARE_CLASS_RATIO`] of the largest class's rows: each such class's rows
/// appear `min(largest / count, count / ROWS_PER_COPY)` times (whole copies, at least one),
/// the others once. `None`: every row once.
///
/// A conditional model learns each class's rows given the class, so repeating a class changes
/// how much of the training it gets, not what it learns of the others. Without it the 3% class
/// of ISLR `Default` gets too few steps in the default budget to learn its own columns (its
/// generated mean balance 1,142 against 1,746 real; 1,605 with it, and the cross-validated
/// balanced accuracy of `benchmarks/oversampling.py` 0.807 -> 0.870). A class of a few rows
/// gains nothing and is memorised: repeating the demo's 8-image classes 15 times lowered its
/// balanced accuracy from 0.923 to 0.918, and 18-image classes repeated twice the benchmark's
/// digits figure from 0.964 to 0.955; hence at most one copy per 16 rows.
pub fn epoch_rows(rows: &Rows) -> Result<Option<Tensor>> {
    let Some(classes) = &rows.classes else {
        return Ok(None);
    };
    let counts = Vec::<i64>::try_from(classes.f_sum_dim_intlist(0, false, tch::Kind::Int64)?)?;
    let largest = counts.iter().copied().max().unwrap_or(0);
    let copies: Vec<i64> = counts
        .iter()
        .map(|&count| {
            if count > 0 && count * RARE_CLASS_RATIO < largest {
                (largest / count).min(count / ROWS_PER_COPY).max(1)
            } else {
                1
            }
        })
        .collect();
    if copies.iter().all(|&c| c == 1) {
        return Ok(None);
    }
    let labels = classes.f_argmax(1, false)?;
    let mut parts = Vec::with_capacity(counts.len());
    for (class, (&count, &copies)) in counts.iter().zip(&copies).enumerate() {
        if count == 0 {
            continue;
        }
        let members = labels.f_eq(class as i64)?.f_nonzero()?.f_reshape([-1])?;
        parts.push(members.f_repeat([copies])?);
    }
    Ok(Some(Tensor::f_cat(&parts, 0)?))
}

/// Rows gathered at once from an epoch's permutation (rounded down to whole batches, at least
/// one): each batch is then a view into its chunk rather than a copy of its own, while the
/// gathered copy stays a bounded fraction of the data.
const SHUFFLED_CHUNK_ROWS: i64 = 8192;

/// One pass over a fresh permutation of `rows` (of `index` into them, when given); returns the
/// mean of each loss over the batches that reported it, plus the model's figures. A loss need
/// not be reported by every batch (a GAN's generator may step on every n-th batch only), and
/// `offsets` are added to the means they name. The batches' losses stay tensors until the epoch
/// ends, so that the device is synchronised once per epoch rather than once per batch, and a
/// step adds no operations to sum them.
fn train_epoch<M: Trainable>(
    model: &mut M,
    rows: &Rows,
    index: Option<&Tensor>,
    offsets: &[(&'static str, f64)],
    batch: usize,
    epoch: usize,
    monitor: &mut dyn Monitor,
) -> Result<EpochStats> {
    let count = index.map_or(rows.len(), |index| index.size()[0]);
    let batch = batch as i64;
    let mut order = rng::permutation_tensor(count, rows.x.device())?;
    if let Some(index) = index {
        order = index.f_index_select(0, &order)?;
    }
    let chunk_rows = (SHUFFLED_CHUNK_ROWS / batch).max(1) * batch;
    let mut reported: Vec<(&'static str, Vec<Tensor>, Vec<f64>)> = Vec::new();
    let mut chunk_start = 0;
    while chunk_start < count {
        let chunk_size = chunk_rows.min(count - chunk_start);
        let chunk = rows.select(&order.f_narrow(0, chunk_start, chunk_size)?)?;
        let mut start = 0;
        while start < chunk_size {
            monitor.between_batches()?;
            let size = batch.min(chunk_size - start);
            let batch = chunk.slice(start, size)?;
            let losses = {
                let _flushing = FlushDenormals::new();
                model.train_batch(&batch.x, batch.classes.as_ref())?
            };
            for (name, loss) in losses {
                match reported.iter_mut().find(|(known, _, _)| *known == name) {
                    Some((_, values, sizes)) => {
                        values.push(loss);
                        sizes.push(size as f64);
                    }
                    None => reported.push((name, vec![loss], vec![size as f64])),
                }
            }
            start += size;
        }
        chunk_start += chunk_size;
    }
    let mut stats = EpochStats::new();
    for (name, values, sizes) in reported {
        let values = Tensor::f_stack(&values, 0)?
            .f_to_device(Device::Cpu)?
            .f_to_kind(Kind::Double)?;
        let values = Vec::<f64>::try_from(values)?;
        let total: f64 = values.iter().zip(&sizes).map(|(v, s)| v * s).sum();
        let offset: f64 = offsets
            .iter()
            .filter(|(known, _)| *known == name)
            .map(|o| o.1)
            .sum();
        let mean = total / sizes.iter().sum::<f64>() + offset;
        check_finite(mean, epoch, name)?;
        stats.insert(name.to_string(), mean);
    }
    for (name, value) in model.epoch_figures()? {
        stats.insert(name.to_string(), value);
    }
    Ok(stats)
}

/// A model's weights and optimiser state at the end of an epoch, to roll back to.
struct Snapshot {
    weights: Weights,
    optimiser: Option<OptimiserState>,
}

impl Snapshot {
    fn take<M: Trainable>(model: &M) -> Result<Snapshot> {
        Ok(Snapshot {
            weights: copy_weights(model.var_store())?,
            optimiser: model.optimiser_state()?,
        })
    }

    fn restore<M: Trainable>(&self, model: &mut M) -> Result<()> {
        restore_weights(model.var_store(), &self.weights)?;
        if let Some(optimiser) = &self.optimiser {
            model.load_optimiser_state(optimiser)?;
        }
        Ok(())
    }
}

/// Copies of every variable.
pub fn copy_weights(vs: &VarStore) -> Result<Weights> {
    let _guard = tch::no_grad_guard();
    vs.variables()
        .into_iter()
        .map(|(name, t)| Ok((name, t.f_detach_copy()?)))
        .collect()
}

/// Writes copied weights back into the live variables.
pub fn restore_weights(vs: &VarStore, saved: &[(String, Tensor)]) -> Result<()> {
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
    use crate::budget::DEFAULT_BATCH_SIZE;
    use crate::optim::Adam;
    use tch::{nn, Device, Kind};

    fn labelled(counts: &[i64]) -> Rows {
        let labels: Vec<i64> = counts
            .iter()
            .enumerate()
            .flat_map(|(class, &n)| std::iter::repeat_n(class as i64, n as usize))
            .collect();
        let k = counts.len() as i64;
        Rows {
            x: Tensor::zeros([labels.len() as i64, 2], (Kind::Float, Device::Cpu)),
            classes: Some(Tensor::from_slice(&labels).onehot(k).to_kind(Kind::Float)),
        }
    }

    fn class_counts(rows: &Rows, index: &Tensor) -> Vec<i64> {
        let picked = rows.classes.as_ref().unwrap().index_select(0, index);
        Vec::<i64>::try_from(picked.sum_dim_intlist(0, false, Kind::Int64)).unwrap()
    }

    #[test]
    fn rare_classes_are_repeated_within_their_cap() {
        // 80 rows are a tenth of 800: repeated min(800 / 80, 80 / 16) = 5 times; 200 rows are
        // more than a fifth of 800 and are not.
        let rows = labelled(&[800, 80, 200]);
        let index = epoch_rows(&rows).unwrap().unwrap();
        assert_eq!(class_counts(&rows, &index), vec![800, 400, 200]);
        // Too few rows to repeat (18 / 16 = 1 copy), balanced classes, no classes: every row
        // once.
        assert!(epoch_rows(&labelled(&[180, 18])).unwrap().is_none());
        assert!(epoch_rows(&labelled(&[50, 45])).unwrap().is_none());
        let unlabelled = Rows {
            x: Tensor::zeros([5, 2], (Kind::Float, Device::Cpu)),
            classes: None,
        };
        assert!(epoch_rows(&unlabelled).unwrap().is_none());
    }

    /// Fits `y = w * x` to data made with w = 2, on noisy batches; a NaN row makes it diverge.
    struct Line {
        vs: nn::VarStore,
        w: Tensor,
        adam: Adam,
    }

    impl Line {
        fn new() -> Line {
            let vs = nn::VarStore::new(Device::Cpu);
            let w = vs.root().zeros("w", &[1]);
            let adam = Adam::new(vec![("w".into(), w.shallow_clone())], 0.05, 0.9, 0.999).unwrap();
            Line { vs, w, adam }
        }

        fn w(&self) -> f64 {
            f64::try_from(&self.w).unwrap()
        }

        fn loss(&self, x: &Tensor) -> Tensor {
            (x * &self.w - x * 2.0).square().mean(Kind::Float)
        }
    }

    impl Trainable for Line {
        fn train_batch(
            &mut self,
            x: &Tensor,
            _: Option<&Tensor>,
        ) -> Result<Vec<(&'static str, Tensor)>> {
            // Random noise, so that results depend on the run's seeds.
            let noisy = x + rng::normal_like(x)? * 0.1;
            let loss = self.loss(&noisy);
            self.adam.backward_step(&loss)?;
            Ok(vec![("loss", loss.detach())])
        }
        fn var_store(&self) -> &nn::VarStore {
            &self.vs
        }
        fn holdout_loss(&mut self, rows: &Rows) -> Result<f64> {
            Ok(f64::try_from(self.loss(&rows.x))?)
        }
        fn optimiser_state(&self) -> Result<Option<OptimiserState>> {
            let mut state = OptimiserState::default();
            self.adam.save_state("adam", &mut state)?;
            Ok(Some(state))
        }
        fn load_optimiser_state(&mut self, state: &OptimiserState) -> Result<()> {
            self.adam.load_state("adam", state)
        }
        fn set_lr_scale(&mut self, scale: f64) {
            self.adam.set_lr_scale(scale);
        }
        fn budget(&self) -> Budget {
            Budget {
                steps: 40,
                batches_per_step: 1,
                batch_size: DEFAULT_BATCH_SIZE,
                min_epochs: 1,
                decays: false,
            }
        }
    }

    fn data() -> Rows {
        Rows {
            x: Tensor::arange(10, (Kind::Float, Device::Cpu)).view([10, 1]) / 10.0,
            classes: None,
        }
    }

    /// A training run on `data()` in batches of 3 (four batches an epoch), optionally holding
    /// out `data()` as well.
    struct Session {
        run: Run,
        history: Vec<EpochStats>,
        holdout: Option<Rows>,
        patience: Option<usize>,
    }

    impl Session {
        fn new(seed: u64) -> Session {
            Session {
                run: Run::new(seed),
                history: Vec::new(),
                holdout: None,
                patience: None,
            }
        }

        fn holding_out(patience: Option<usize>) -> Session {
            Session {
                holdout: Some(data()),
                patience,
                ..Session::new(0)
            }
        }

        fn fit<M: Trainable>(
            &mut self,
            model: &mut M,
            epochs: usize,
            monitor: &mut dyn Monitor,
        ) -> Result<()> {
            let mut options = FitOptions::new(epochs, 3);
            options.patience = self.patience;
            let holdout = self.holdout.as_ref();
            fit(
                model,
                &data(),
                holdout,
                options,
                &mut self.run,
                monitor,
                &mut self.history,
            )
        }

        /// The history's losses, without the wall-clock seconds.
        fn losses(&self) -> Vec<f64> {
            self.history.iter().map(|stats| stats["loss"]).collect()
        }
    }

    #[test]
    fn fits_and_records_history() {
        let (mut line, mut session) = (Line::new(), Session::new(0));
        session.fit(&mut line, 60, &mut Unmonitored).unwrap();
        let history = &session.history;
        assert_eq!(history.len(), 60);
        assert_eq!(history[59]["epoch"], 60.0);
        assert!(history[59]["loss"] < history[0]["loss"]);
        assert!((line.w() - 2.0).abs() < 0.1, "{}", line.w());
    }

    struct StopAfter(usize);
    impl Monitor for StopAfter {
        fn after_epoch(&mut self, stats: &EpochStats) -> Result<bool> {
            Ok(stats["epoch"] < self.0 as f64)
        }
    }

    /// Fails between batches once `.0` batches have run.
    struct FailAfter(usize);
    impl Monitor for FailAfter {
        fn between_batches(&mut self) -> Result<()> {
            if self.0 == 0 {
                return Err(Error::Interrupted);
            }
            self.0 -= 1;
            Ok(())
        }
    }

    #[test]
    fn a_stopped_and_resumed_run_matches_an_unbroken_one() {
        let (mut straight, mut unbroken) = (Line::new(), Session::new(7));
        unbroken.fit(&mut straight, 8, &mut Unmonitored).unwrap();

        // Stopped by the monitor after epoch 3, then by an error two batches into epoch 6.
        let (mut line, mut session) = (Line::new(), Session::new(7));
        session.fit(&mut line, 8, &mut StopAfter(3)).unwrap();
        assert_eq!(session.history.len(), 3);
        let err = session.fit(&mut line, 8, &mut FailAfter(10)).unwrap_err();
        assert!(matches!(err, Error::Interrupted));
        assert_eq!(session.history.len(), 5);
        session.fit(&mut line, 8, &mut Unmonitored).unwrap();
        assert_eq!(session.losses(), unbroken.losses());
        assert_eq!(line.w(), straight.w());
    }

    /// Overrides the held-out loss with a fixed sequence, one value per epoch.
    struct Scripted {
        line: Line,
        losses: Vec<f64>,
    }

    impl Trainable for Scripted {
        fn train_batch(
            &mut self,
            x: &Tensor,
            c: Option<&Tensor>,
        ) -> Result<Vec<(&'static str, Tensor)>> {
            self.line.train_batch(x, c)
        }
        fn var_store(&self) -> &nn::VarStore {
            &self.line.vs
        }
        fn holdout_loss(&mut self, _: &Rows) -> Result<f64> {
            Ok(self.losses.remove(0))
        }
        fn optimiser_state(&self) -> Result<Option<OptimiserState>> {
            self.line.optimiser_state()
        }
        fn load_optimiser_state(&mut self, state: &OptimiserState) -> Result<()> {
            self.line.load_optimiser_state(state)
        }
        fn set_lr_scale(&mut self, scale: f64) {
            self.line.set_lr_scale(scale);
        }
        fn budget(&self) -> Budget {
            self.line.budget()
        }
        /// Always unwell, to see when and how often training says so.
        fn health(&self, stats: &EpochStats) -> Option<String> {
            Some(format!("loss {:.3}", stats["loss"]))
        }
    }

    /// Reports each batch's mean value and, on batches of at least 3,000 rows only, its row
    /// count; offsets the mean value by 100.
    struct Counted {
        line: Line,
    }

    impl Trainable for Counted {
        fn train_batch(
            &mut self,
            x: &Tensor,
            _: Option<&Tensor>,
        ) -> Result<Vec<(&'static str, Tensor)>> {
            let rows = x.size()[0];
            let mut losses = vec![("value", x.mean(Kind::Double))];
            if rows >= 3000 {
                losses.push(("rows", Tensor::from(rows as f64)));
            }
            Ok(losses)
        }
        fn var_store(&self) -> &nn::VarStore {
            &self.line.vs
        }
        fn holdout_loss(&mut self, _: &Rows) -> Result<f64> {
            Ok(0.0)
        }
        fn optimiser_state(&self) -> Result<Option<OptimiserState>> {
            Ok(None)
        }
        fn load_optimiser_state(&mut self, _: &OptimiserState) -> Result<()> {
            Ok(())
        }
        fn set_lr_scale(&mut self, _: f64) {}
        fn budget(&self) -> Budget {
            self.line.budget()
        }
        fn figure_offsets(&self, _: &Rows, _: Option<&Tensor>) -> Result<Vec<(&'static str, f64)>> {
            Ok(vec![("value", 100.0)])
        }
    }

    #[test]
    fn an_epoch_sees_every_row_once_and_weights_each_figure_by_its_batches_rows() {
        // 20,000 rows in batches of 3,000, gathered 6,000 at a time: three whole chunks and a
        // last one of a single, smaller batch.
        let rows = Rows {
            x: Tensor::arange(20_000, (Kind::Float, Device::Cpu)).view([20_000, 1]),
            classes: None,
        };
        let mut history = Vec::new();
        fit(
            &mut Counted { line: Line::new() },
            &rows,
            None,
            FitOptions::new(2, 3000),
            &mut Run::new(0),
            &mut Unmonitored,
            &mut history,
        )
        .unwrap();
        for epoch in &history {
            // Every row once: the mean of 0..20,000, plus the offset.
            assert!(
                (epoch["value"] - (9_999.5 + 100.0)).abs() < 1e-6,
                "{epoch:?}"
            );
            // Only the six batches of 3,000 reported it.
            assert_eq!(epoch["rows"], 3000.0);
        }
    }

    /// Records the plan and the warnings a fit reports.
    #[derive(Default)]
    struct Told {
        begun: Vec<(usize, usize)>,
        warnings: Vec<String>,
    }
    impl Monitor for Told {
        fn begin(&mut self, epochs: usize, done: usize) -> Result<()> {
            self.begun.push((epochs, done));
            Ok(())
        }
        fn warn(&mut self, message: &str) -> Result<()> {
            self.warnings.push(message.to_string());
            Ok(())
        }
    }

    #[test]
    fn without_epochs_the_budget_decides_and_resuming_keeps_it() {
        // 10 rows in batches of 3: 4 batches per epoch, so 40 steps take 10 epochs.
        let mut line = Line::new();
        let mut run = Run::new(1);
        let mut history = Vec::new();
        let mut options = FitOptions::new(1, 3);
        options.epochs = None;
        let mut told = Told::default();
        fit(
            &mut line,
            &data(),
            None,
            options,
            &mut run,
            &mut told,
            &mut history,
        )
        .unwrap();
        assert_eq!(history.len(), 10);
        assert_eq!(told.begun, vec![(10, 0)]);
        let params = run.params.clone().unwrap();
        assert_eq!((params.epochs, params.steps), (10, 40));
        assert_eq!(params.epochs_from, "budget");
        // Resuming without epochs trains to the run's plan: nothing more to do.
        options.resume = true;
        fit(
            &mut line,
            &data(),
            None,
            options,
            &mut run,
            &mut told,
            &mut history,
        )
        .unwrap();
        assert_eq!(history.len(), 10);
        assert_eq!(run.params.unwrap().epochs_from, "budget");
    }

    /// The warnings a fresh `epochs`-epoch fit of the always-unwell model reports.
    fn warnings_after(epochs: usize) -> Vec<String> {
        let mut model = Scripted {
            line: Line::new(),
            losses: Vec::new(),
        };
        let mut told = Told::default();
        let options = FitOptions::new(epochs, 3);
        fit(
            &mut model,
            &data(),
            None,
            options,
            &mut Run::new(1),
            &mut told,
            &mut Vec::new(),
        )
        .unwrap();
        told.warnings
    }

    #[test]
    fn unhealthy_training_is_reported_once_in_the_second_half() {
        let warnings = warnings_after(300);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        // 4 batches per epoch: the second half starts at epoch 151, past MIN_STEPS_JUDGED.
        assert!(warnings[0].starts_with("epoch 151: loss "));
        // Short fits are not judged.
        assert!(warnings_after(20).is_empty());
    }

    /// Records `w` after every epoch.
    struct Watch(Vec<f64>, Tensor);
    impl Watch {
        fn new(line: &Line) -> Watch {
            Watch(Vec::new(), line.w.shallow_clone())
        }
    }
    impl Monitor for Watch {
        fn after_epoch(&mut self, _: &EpochStats) -> Result<bool> {
            self.0.push(f64::try_from(&self.1)?);
            Ok(true)
        }
    }

    #[test]
    fn early_stopping_stops_on_patience_and_restores_the_best_epoch() {
        let losses = vec![5.0, 3.0, 4.0, 2.0, 2.5, 2.0, 3.0, 1.0];
        let mut model = Scripted {
            line: Line::new(),
            losses,
        };
        let mut watch = Watch::new(&model.line);
        let mut session = Session::holding_out(Some(3));
        session.fit(&mut model, 8, &mut watch).unwrap();
        // Best at epoch 4; epochs 5-7 bring no lower loss (2.0 ties do not count).
        assert_eq!(session.history.len(), 7);
        assert_eq!(session.history[3]["val_loss"], 2.0);
        let best = session.run.best.as_ref().unwrap();
        assert_eq!((best.loss, best.epoch), (2.0, 4));
        assert_eq!(model.line.w(), watch.0[3]);
        assert_ne!(watch.0[3], watch.0[6]);
        // Patience has run out: resuming trains nothing and keeps the best weights.
        session.fit(&mut model, 8, &mut watch).unwrap();
        assert_eq!(session.history.len(), 7);
        assert_eq!(model.line.w(), watch.0[3]);
    }

    #[test]
    fn a_run_ending_on_its_best_weights_resumes_from_its_last() {
        let losses = vec![3.0, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0];
        let scripted = || Scripted {
            line: Line::new(),
            losses: losses.clone(),
        };
        let (mut straight, mut unbroken) = (scripted(), Session::holding_out(None));
        unbroken.fit(&mut straight, 8, &mut Unmonitored).unwrap();

        let (mut model, mut session) = (scripted(), Session::holding_out(None));
        let mut watch = Watch::new(&model.line);
        session.fit(&mut model, 4, &mut watch).unwrap();
        // Ended on epoch 2's weights, with epoch 4's kept to resume from.
        assert_eq!(model.line.w(), watch.0[1]);
        assert!(session.run.last.is_some());
        session.fit(&mut model, 8, &mut Unmonitored).unwrap();
        assert_eq!(session.losses(), unbroken.losses());
        assert_eq!(model.line.w(), straight.line.w());
    }

    #[test]
    fn patience_without_holdout_is_an_error() {
        let mut session = Session::new(0);
        session.patience = Some(2);
        let err = session
            .fit(&mut Line::new(), 3, &mut Unmonitored)
            .unwrap_err();
        assert!(err.to_string().contains("validation="), "{err}");
    }

    #[test]
    fn divergence_names_the_epoch_and_keeps_finite_weights() {
        let (mut line, mut session) = (Line::new(), Session::new(0));
        session.fit(&mut line, 2, &mut Unmonitored).unwrap();
        let before = line.w();
        let poisoned = data();
        let _ = poisoned.x.get(3).fill_(f64::NAN);
        let options = FitOptions::new(4, 5);
        let err = fit(
            &mut line,
            &poisoned,
            None,
            options,
            &mut session.run,
            &mut Unmonitored,
            &mut session.history,
        )
        .unwrap_err();
        assert!(matches!(err, Error::Diverged { epoch: 3, .. }), "{err}");
        assert_eq!(line.w(), before);
        assert_eq!(session.history.len(), 2);
    }
}
