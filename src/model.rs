//! What every generative model shares around its network: the data path (validate, the column
//! schema's encoding and decoding), the label encoding, per-model seeds, and the training
//! history.

use crate::budget::FitParams;
use crate::data::{Array, DataSpec};
use crate::error::{Error, Result};
use crate::nets::{Arch, ImageShape};
use crate::rng::{self, with_seed};
use crate::schema::{Blocks, ColumnRequest, Schema};
use crate::seed::{derive, SeedStream};
use crate::train::{
    self, copy_weights, restore_weights, seed_part, EpochStats, FitOptions, HeldOut, Monitor, Rows,
    Run, Trainable, Weights,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;
use tch::{Device, Kind, Tensor};

/// The shape of the problem a network is built for.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub sample_shape: Vec<usize>,
    /// 0 for an unconditional model.
    pub n_classes: usize,
    /// `Some` when the conv nets are used.
    pub image: Option<ImageShape>,
    /// How a row is laid out in model space.
    pub blocks: Blocks,
}

/// Unit-range rows of at most this many values are narrow (breast_cancer's 30 features, not
/// digits' 64 pixels): the defaults give them smaller networks.
const NARROW_WIDTH: usize = 32;

impl Layout {
    /// The width of a row in model space.
    pub fn width(&self) -> usize {
        self.blocks.width() as usize
    }

    /// Whether the rows are all unit-range values, at most [`NARROW_WIDTH`] of them.
    pub fn is_narrow_unit(&self) -> bool {
        self.blocks.values_all_unit() && self.width() <= NARROW_WIDTH
    }
}

/// A network that can be trained by [`train::fit`] and generates model-space rows.
pub trait Network: Trainable + Sized + Send + 'static {
    type Config: Clone + std::fmt::Debug + Serialize + DeserializeOwned + Send;
    /// The class name, also stored in checkpoints.
    const KIND: &'static str;

    fn arch(config: &Self::Config) -> Arch;
    /// Checks a config's values (as the constructor does).
    fn check_config(config: &Self::Config) -> Result<()>;
    /// The widths `[in, ..., out]` of the network's fully connected layers for `layout`: what
    /// sizes it (conv layers have fixed widths), checked against memory before building.
    fn linear_layers(config: &Self::Config, layout: &Layout) -> Vec<Vec<i64>>;
    fn build(config: &Self::Config, layout: &Layout, device: Device) -> Result<Self>;
    /// Whether weights saved by checkpoint `version` for `layout` fit the network this
    /// version of genaug builds; an error says why not.
    fn check_saved_by(_version: &str, _layout: &Layout) -> Result<()> {
        Ok(())
    }
    /// Whether variable `name` is one that checkpoints of `version` did not store: when absent,
    /// it keeps the value `build` gave it.
    fn added_after(_version: &str, _name: &str) -> bool {
        false
    }
    /// Sets up fresh optimiser state; `lr` overrides the network's default learning rate.
    fn start_training(&mut self, lr: Option<f64>) -> Result<()>;
    /// Changes the learning rate of the optimisers set up by `start_training`.
    fn set_lr(&mut self, lr: f64);
    /// `n` new model-space rows, `(n, width)`, for the given one-hot classes: unit-range values,
    /// normal scores and a probability for each category of each one-hot block. They are
    /// handed to `each` in order: in blocks of rows where making them draws nothing after the
    /// noise (so that the rows are the same however they are blocked), else all at once.
    fn generate_each(
        &self,
        n: i64,
        classes: Option<&Tensor>,
        each: &mut dyn FnMut(Tensor) -> Result<()>,
    ) -> Result<()>;

    /// All of [`Network::generate_each`]'s rows as one tensor.
    fn generate(&self, n: i64, classes: Option<&Tensor>) -> Result<Tensor> {
        let mut parts = Vec::new();
        self.generate_each(n, classes, &mut |rows| {
            parts.push(rows);
            Ok(())
        })?;
        crate::nets::cat_rows(parts)
    }
}

/// A trained network with what it learned of its data.
pub struct Fitted<N> {
    pub net: N,
    pub layout: Layout,
    pub spec: DataSpec,
    pub schema: Schema,
    /// Sorted class labels; empty for an unconditional model.
    pub classes: Vec<i64>,
    /// Training rows of each class, in the order of `classes`; empty when unknown (a
    /// checkpoint from before they were saved).
    pub class_counts: Vec<u64>,
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
    /// The constructor's seed (`seeds` starts from it).
    pub seed: u64,
    pub seeds: SeedStream,
    pub history: Vec<EpochStats>,
    /// How the last fit trained (`None` before one).
    pub fit_params: Option<FitParams>,
    pub fitted: Option<Fitted<N>>,
}

impl<N: Network> Model<N> {
    pub fn new(config: N::Config, device: Device, seed: u64) -> Model<N> {
        Model {
            config,
            device,
            seed,
            seeds: SeedStream::new(seed),
            history: Vec::new(),
            fit_params: None,
            fitted: None,
        }
    }

    /// Trains on `x` (with integer `labels`, a conditional model): a fresh network, or with
    /// `options.resume` the last run continued with its optimiser state, schema and seeds. When
    /// training stops early with an error (divergence, interruption, a failing callback), the
    /// model keeps the network of its last completed epoch, if any, and the error is returned.
    #[allow(clippy::too_many_arguments)]
    /// Takes `x` by value: once its rows are in model space it is dropped, so that a fit holds
    /// its training rows once.
    pub fn fit(
        &mut self,
        x: Array,
        spec: DataSpec,
        columns: &ColumnRequest,
        labels: Option<&[i64]>,
        holdout: Option<&Holdout>,
        options: FitOptions,
        monitor: &mut dyn Monitor,
        publish: &mut dyn FnMut(View<N>),
    ) -> Result<()> {
        x.validate_training()?;
        options.validate()?;
        if options.resume {
            return self.resume(x, labels, holdout, options, monitor, publish);
        }
        let (classes, class_counts): (Vec<i64>, Vec<u64>) = match labels {
            Some(labels) => {
                check_label_count(labels, x.rows(), "x")?;
                let mut counts = BTreeMap::new();
                for &label in labels {
                    *counts.entry(label).or_insert(0u64) += 1;
                }
                counts.into_iter().unzip()
            }
            None => (Vec::new(), Vec::new()),
        };
        let schema = Schema::fit(&x, columns, spec.integral)?;
        let layout = Layout {
            sample_shape: x.sample_shape().to_vec(),
            n_classes: classes.len(),
            image: N::arch(&self.config).resolve(x.sample_shape())?,
            blocks: schema.blocks.clone(),
        };
        train::check_early_stopping(&options, holdout.is_some())?;
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
            &x, labels, holdout, &schema, &classes, &layout, run.seed, device,
        )?;
        drop(x);
        self.seeds = seeds;
        let mut history = Vec::new();
        let mut publishing = Publishing {
            inner: monitor,
            publish,
            parts: self.view_parts(&layout, &spec, &schema, &classes, &class_counts),
        };
        let outcome = train::fit(
            &mut net,
            &rows,
            held.as_ref(),
            options,
            &mut run,
            &mut publishing,
            &mut history,
        );
        if !history.is_empty() {
            self.history = history;
            self.fit_params = run.params.clone();
            self.fitted = Some(Fitted {
                net,
                layout,
                spec,
                schema,
                classes,
                class_counts,
                run: Some(run),
            });
        }
        outcome
    }

    /// Continues the last run on `x` until the history holds `options.epochs` epochs. Held-out
    /// rows and patience not given are the run's own.
    fn resume(
        &mut self,
        x: Array,
        labels: Option<&[i64]>,
        holdout: Option<&Holdout>,
        options: FitOptions,
        monitor: &mut dyn Monitor,
        publish: &mut dyn FnMut(View<N>),
    ) -> Result<()> {
        let parts = self
            .fitted
            .as_ref()
            .map(|f| self.view_parts(&f.layout, &f.spec, &f.schema, &f.classes, &f.class_counts));
        let Model {
            fitted,
            history,
            device,
            fit_params,
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
            &x,
            labels,
            holdout,
            &fitted.schema,
            &fitted.classes,
            &fitted.layout,
            run.seed,
            *device,
        )?;
        drop(x);
        if let Some(lr) = options.lr {
            fitted.net.set_lr(lr);
        }
        run.held_out = holdout.map_or(HeldOut::None, Holdout::kind);
        run.patience = options.patience;
        let mut publishing = Publishing {
            inner: monitor,
            publish,
            parts: parts.ok_or_else(|| Error::Internal("a fitted model without parts".into()))?,
        };
        let outcome = train::fit(
            &mut fitted.net,
            &rows,
            held.as_ref(),
            options,
            run,
            &mut publishing,
            history,
        );
        if run.params.is_some() {
            fit_params.clone_from(&run.params);
        }
        outcome
    }

    /// A view's parts but its weights.
    fn view_parts(
        &self,
        layout: &Layout,
        spec: &DataSpec,
        schema: &Schema,
        classes: &[i64],
        class_counts: &[u64],
    ) -> View<N> {
        View {
            config: self.config.clone(),
            device: self.device,
            seeds: self.seeds,
            layout: layout.clone(),
            spec: spec.clone(),
            schema: schema.clone(),
            classes: classes.to_vec(),
            class_counts: class_counts.to_vec(),
            weights: Vec::new(),
        }
    }

    /// A view of this model as it is now (copies of its weights), if it is fitted.
    pub fn view(&self) -> Result<Option<View<N>>> {
        let Some(f) = &self.fitted else {
            return Ok(None);
        };
        let mut view = self.view_parts(&f.layout, &f.spec, &f.schema, &f.classes, &f.class_counts);
        view.weights = copy_weights(f.net.var_store())?;
        Ok(Some(view))
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

    /// Checks `labels` for `rows` rows of input without building their one-hot rows.
    pub fn encode_labels_checked(&self, labels: Option<&[i64]>, rows: usize) -> Result<()> {
        self.check_sample_labels(SampleLabels::each(labels), rows)
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

    /// `n` generated samples in the training data's form, for `labels` when the model is
    /// conditional, handed to `sink` in chunks of at most [`chunk_rows`] rows with the index
    /// of their first row, so that memory beyond the caller's output stays bounded. `seed`
    /// makes the call reproducible; without it the model's own seed stream advances.
    pub fn sample_chunks(
        &mut self,
        n: usize,
        labels: SampleLabels<'_>,
        seed: Option<u64>,
        sink: &mut dyn FnMut(usize, Array) -> Result<()>,
    ) -> Result<()> {
        // Checked before the seed stream advances, like every argument.
        self.check_sample_labels(labels, n)?;
        if let SampleLabels::InTrainingShares = labels {
            return Err(Error::Internal(
                "sample_chunks takes the labels drawn by labels_in_training_shares".into(),
            ));
        }
        let seed = seed.unwrap_or_else(|| self.seeds.next_seed());
        let fitted = self.fitted()?;
        let classes = &fitted.classes;
        let chunk_of = |start: usize, size: usize| match labels {
            SampleLabels::None | SampleLabels::InTrainingShares => None,
            SampleLabels::All(label) => Some(vec![label; size]),
            SampleLabels::Each(labels) => Some(labels[start..start + size].to_vec()),
        };
        let step = chunk_rows(fitted.layout.width());
        with_seed(seed, || {
            let mut start = 0;
            while start < n {
                let size = step.min(n - start);
                let labels = chunk_of(start, size);
                let one_hot =
                    class_rows::<N>(classes, labels.as_deref(), size, "the samples", self.device)?;
                let schema = &fitted.schema;
                let mut values = Vec::with_capacity(size * schema.columns());
                if schema.draws_when_decoding() {
                    // One call, so that the draws do not depend on how rows are blocked.
                    let out = fitted.net.generate(size as i64, one_hot.as_ref())?;
                    schema.decode_into(&out, true, &mut values)?;
                } else {
                    // Each block decoded while it is still in cache.
                    fitted
                        .net
                        .generate_each(size as i64, one_hot.as_ref(), &mut |rows| {
                            schema.decode_into(&rows, true, &mut values)
                        })?;
                }
                sink(start, self.rows_array(values, size)?)?;
                start += size;
            }
            Ok(())
        })
    }

    /// Checks labels for `n` samples (see [`SampleLabels`]) against the fitted classes.
    pub fn check_sample_labels(&self, labels: SampleLabels<'_>, n: usize) -> Result<()> {
        let fitted = self.fitted()?;
        check_sample_labels::<N>(&fitted.classes, &fitted.class_counts, labels, n)
    }

    /// Labels for `n` samples: each class `n` times its share of the training rows, rounded by
    /// largest remainder so that they add up to `n`, in an order drawn with `seed`. So a table's
    /// label column keeps its training frequencies exactly, as its other columns do in
    /// expectation.
    pub fn labels_in_training_shares(&self, n: usize, seed: u64) -> Result<Vec<i64>> {
        let fitted = self.fitted()?;
        check_sample_labels::<N>(
            &fitted.classes,
            &fitted.class_counts,
            SampleLabels::InTrainingShares,
            n,
        )?;
        labels_in_shares(&fitted.classes, &fitted.class_counts, n, seed)
    }

    /// Checks that `x` holds samples of the training data's shape with values the schema takes
    /// (finite, or missing where missing values are modelled).
    pub fn check_rows(&self, x: &Array, what: &str) -> Result<()> {
        let fitted = self.fitted()?;
        x.validate_like(&fitted.spec.sample_shape, what)?;
        fitted.schema.check_values(x, what)
    }

    /// Rows of the training data's sample shape in model space `(N, width)`, with each row's
    /// excess beyond the training range (see [`Schema::encode`]).
    pub fn to_model(&self, x: &Array, what: &str) -> Result<(Tensor, Vec<f64>)> {
        let fitted = self.fitted()?;
        x.validate_like(&fitted.spec.sample_shape, what)?;
        fitted.schema.encode(x, what, self.device)
    }

    /// Model-space rows back in the training data's form: categories drawn (`draw`) or the
    /// most likely ones.
    pub fn from_model(&self, out: &Tensor, draw: bool) -> Result<Array> {
        let values = self.fitted()?.schema.decode(out, draw)?;
        self.rows_array(values, out.size()[0] as usize)
    }

    /// `rows` decoded rows' values in the training data's shape.
    fn rows_array(&self, values: Vec<f32>, rows: usize) -> Result<Array> {
        let mut shape = vec![rows];
        shape.extend(&self.fitted()?.spec.sample_shape);
        Array::new(values, shape)
    }
}

/// Rows per chunk when generating or encoding, for samples of `width` values: about 4 million
/// values (16 MB of float32) a chunk, whatever the number of rows asked for.
pub fn chunk_rows(width: usize) -> usize {
    (CHUNK_VALUES / width.max(1)).clamp(1, 65_536)
}

const CHUNK_VALUES: usize = 1 << 22;

/// The classes of the rows to generate.
#[derive(Debug, Clone, Copy)]
pub enum SampleLabels<'a> {
    /// An unconditional model.
    None,
    /// Every row of this class.
    All(i64),
    /// One class per row.
    Each(&'a [i64]),
    /// The classes in their training shares, in an order drawn with the call's seed (see
    /// [`Model::labels_in_training_shares`]): whole rows of a table conditioned on a column.
    InTrainingShares,
}

impl<'a> SampleLabels<'a> {
    pub fn each(labels: Option<&'a [i64]>) -> SampleLabels<'a> {
        labels.map_or(SampleLabels::None, SampleLabels::Each)
    }
}

/// The fitted parts of a model with copies of its weights: what `sample` and the other
/// read-only calls use while a fit holds the model itself (on another thread, or in the parent
/// of a forked process).
pub struct View<N: Network> {
    pub config: N::Config,
    pub device: Device,
    pub seeds: SeedStream,
    pub layout: Layout,
    pub spec: DataSpec,
    pub schema: Schema,
    pub classes: Vec<i64>,
    pub class_counts: Vec<u64>,
    pub weights: Weights,
}

impl<N: Network> View<N> {
    /// Another view of the same (never modified) weight copies.
    pub fn shallow_copy(&self) -> View<N> {
        View {
            config: self.config.clone(),
            device: self.device,
            seeds: self.seeds,
            layout: self.layout.clone(),
            spec: self.spec.clone(),
            schema: self.schema.clone(),
            classes: self.classes.clone(),
            class_counts: self.class_counts.clone(),
            weights: self
                .weights
                .iter()
                .map(|(name, t)| (name.clone(), t.shallow_clone()))
                .collect(),
        }
    }

    /// A sampling-only model with the view's weights.
    pub fn model(&self) -> Result<Model<N>> {
        let net = with_seed(0, || N::build(&self.config, &self.layout, self.device))?;
        restore_weights(net.var_store(), &self.weights)?;
        let mut model = Model::new(self.config.clone(), self.device, 0);
        model.seeds = self.seeds;
        model.fitted = Some(Fitted {
            net,
            layout: self.layout.clone(),
            spec: self.spec.clone(),
            schema: self.schema.clone(),
            classes: self.classes.clone(),
            class_counts: self.class_counts.clone(),
            run: None,
        });
        Ok(model)
    }
}

/// Passes a fit's events on to the caller's monitor, and a view of each completed epoch to
/// `publish`.
struct Publishing<'a, N: Network> {
    inner: &'a mut dyn Monitor,
    publish: &'a mut dyn FnMut(View<N>),
    /// Everything of the views but their weights.
    parts: View<N>,
}

impl<N: Network> Monitor for Publishing<'_, N> {
    fn between_batches(&mut self) -> Result<()> {
        self.inner.between_batches()
    }

    fn after_epoch(&mut self, stats: &EpochStats) -> Result<bool> {
        self.inner.after_epoch(stats)
    }

    fn begin(&mut self, epochs: usize, done: usize) -> Result<()> {
        self.inner.begin(epochs, done)
    }

    fn warn(&mut self, message: &str) -> Result<()> {
        self.inner.warn(message)
    }

    fn epoch_weights(&mut self, weights: &Weights) -> Result<()> {
        let mut view = self.parts.shallow_copy();
        view.weights = weights
            .iter()
            .map(|(name, t)| (name.clone(), t.shallow_clone()))
            .collect();
        (self.publish)(view);
        self.inner.epoch_weights(weights)
    }
}

/// `n` labels, each class of `classes` `n` times its share of `counts` (largest remainder), in
/// an order drawn with `seed`.
fn labels_in_shares(classes: &[i64], counts: &[u64], n: usize, seed: u64) -> Result<Vec<i64>> {
    let pairs: Vec<(i64, u64)> = classes
        .iter()
        .copied()
        .zip(counts.iter().copied())
        .collect();
    let in_order: Vec<i64> = crate::augment::apportion(n, &pairs)
        .into_iter()
        .flat_map(|(class, k)| std::iter::repeat_n(class, k))
        .collect();
    let order = with_seed(derive(seed, SHARES_SEED_PART), || rng::permutation(n))?;
    Ok(order.iter().map(|&i| in_order[i as usize]).collect())
}

/// The part of a `sample` call's seed (see [`derive`]) that orders labels drawn in their
/// training shares; the rows themselves draw from the seed.
const SHARES_SEED_PART: u64 = 1;

/// Labels for `n` samples of a model that knows `classes`, with `class_counts` training rows
/// each (none: an unconditional model).
fn check_sample_labels<N: Network>(
    classes: &[i64],
    class_counts: &[u64],
    labels: SampleLabels<'_>,
    n: usize,
) -> Result<()> {
    let known = |label: &i64| {
        classes.binary_search(label).map(|_| ()).map_err(|_| {
            Error::Label(format!(
                "unknown class {label}: the model knows the classes {classes:?}"
            ))
        })
    };
    match (labels, classes.is_empty()) {
        (SampleLabels::None, true) => Ok(()),
        (SampleLabels::None, false) => Err(Error::Label(format!(
            "this {} was fitted with labels: pass y, one of the classes {classes:?} or one per sample",
            N::KIND
        ))),
        (_, true) => Err(Error::Label(format!(
            "this {} was fitted without labels, so it takes none",
            N::KIND
        ))),
        (SampleLabels::InTrainingShares, false) if class_counts.len() != classes.len() => {
            Err(Error::Label(format!(
                "this {} was saved without its classes' training counts: pass y, one of the \
                 classes {classes:?} or one per sample",
                N::KIND
            )))
        }
        (SampleLabels::InTrainingShares, false) => Ok(()),
        (SampleLabels::All(label), false) => known(&label),
        (SampleLabels::Each(labels), false) => {
            check_label_count(labels, n, "the samples")?;
            labels.iter().try_for_each(known)
        }
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

/// Rows in model space (values beyond the training range, as in a resumed fit on new data or
/// held-out rows, are held at its ends).
fn model_rows(schema: &Schema, x: &Array, what: &str, device: Device) -> Result<Tensor> {
    Ok(schema.encode(x, what, device)?.0)
}

/// The rows to train on and the rows held out, if any, for one fit.
#[allow(clippy::too_many_arguments)]
fn training_rows<N: Network>(
    x: &Array,
    labels: Option<&[i64]>,
    holdout: Option<&Holdout>,
    schema: &Schema,
    classes: &[i64],
    layout: &Layout,
    seed: u64,
    device: Device,
) -> Result<(Rows, Option<Rows>)> {
    let all = Rows {
        x: model_rows(schema, x, "x", device)?,
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
                x: model_rows(schema, x_val, "the validation x", device)?,
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
    let order = with_seed(derive(seed, seed_part::SPLIT), || rng::permutation(rows))?;
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
    fn labels_in_shares_are_exact_and_seeded() {
        let draw = |n, seed| labels_in_shares(&[2, 5, 9], &[60, 30, 10], n, seed).unwrap();
        let labels = draw(7, 3);
        let count = |labels: &[i64], c| labels.iter().filter(|&&l| l == c).count();
        // 4.2, 2.1 and 0.7: the largest remainder goes to class 9.
        assert_eq!(
            (count(&labels, 2), count(&labels, 5), count(&labels, 9)),
            (4, 2, 1)
        );
        assert_eq!(labels, draw(7, 3));
        let many = draw(1000, 3);
        assert_eq!(
            (count(&many, 2), count(&many, 5), count(&many, 9)),
            (600, 300, 100)
        );
        assert_ne!(many, draw(1000, 4));
        assert!(draw(0, 3).is_empty());
    }

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
