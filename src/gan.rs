//! The generative adversarial network: a generator whose output matches each part of a
//! model-space row (see [`Blocks`]): tanh over unit-range values scaled to [-1, 1], linear over
//! normal scores, and over each one-hot block (scaled to [-1, 1] alike) a Gumbel-softmax while
//! training (CTGAN's temperature, 0.2) and the softmax probabilities when generating. And a
//! discriminator trained either with the non-saturating BCE loss (DCGAN) or as a
//! WGAN-GP critic (Gulrajani et al. 2017). Conditional when built with classes: both networks
//! then see the one-hot class. The MLP discriminator also sees the means of the batch each row
//! comes in (see [`with_batch_means`]).
//!
//! Each epoch's history holds `d_loss` and `g_loss` (for WGAN-GP also `wasserstein`, the
//! critic's estimate of the distance, and `gradient_penalty`, before its weight), and
//! `diversity`: the mean pairwise distance of a fixed batch of generated rows over that of a
//! fixed batch of real rows with the same classes. Near 1 is healthy; a collapsing generator
//! drives it towards 0.

use crate::budget::{Budget, DEFAULT_BATCH_SIZE};
use crate::error::{Error, Result};
use crate::gan_step::{HandStep, Loss as HandLoss};
use crate::metrics::{mean_pairwise_distance, mmd};
use crate::mlp_by_hand;
use crate::model::{Layout, Network};
use crate::nets::{
    check_parameters, conv_feature_width, dcgan_init, for_row_blocks, mlp_widths, trainable_under,
    with_classes, Activation, Arch, ConvDecoder, ConvEncoder, Linear, Mlp,
};
use crate::optim::{check_lr, Adam, OptimiserState};
use crate::rng;
use crate::schema::Blocks;
use crate::train::{EpochStats, Rows, Trainable};
use serde::{Deserialize, Serialize};
use tch::nn::VarStore;
use tch::{Device, Kind, Reduction, Tensor};

/// Rows in the fixed batches behind the diversity figure.
const PROBE_ROWS: i64 = 256;
/// At most this many held-out rows, chosen at random, enter the validation MMD (its cost is
/// quadratic).
const HOLDOUT_ROWS: i64 = 1024;
/// Generator steps a fit without `epochs` aims for, by loss and network (measured with
/// benchmarks/defaults.py; the conv nets learn more per step and cost more per step).
const MLP_STEPS: usize = 10_000;
const MLP_WGAN_STEPS: usize = 6000;
const CONV_STEPS: usize = 1500;
/// The averaged generator's decay per generator step.
const AVERAGE_DECAY: f64 = 0.999;
/// Normal scores lie within about +-5.2 (see [`crate::schema::quantile`]); generated ones
/// within this.
const SCORE_BOUND: f64 = 5.5;
/// The Gumbel-softmax temperature of one-hot blocks while training.
const GUMBEL_TAU: f64 = 0.2;
/// A diversity figure below this in the second half of a fit is reported as mode collapse.
pub const COLLAPSE_DIVERSITY: f64 = 0.5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GanLoss {
    /// Non-saturating GAN loss with a sigmoid discriminator.
    #[serde(rename = "bce")]
    Bce,
    /// Wasserstein critic with a gradient penalty on interpolates.
    #[serde(rename = "wgan-gp")]
    WganGp,
}

impl GanLoss {
    pub fn parse(name: &str) -> Result<GanLoss> {
        match name {
            "bce" => Ok(GanLoss::Bce),
            "wgan-gp" => Ok(GanLoss::WganGp),
            other => Err(Error::Parameter(format!(
                "unknown loss {other:?}: expected \"bce\" or \"wgan-gp\""
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            GanLoss::Bce => "bce",
            GanLoss::WganGp => "wgan-gp",
        }
    }

    /// Discriminator steps per generator step.
    pub fn default_n_critic(self) -> usize {
        match self {
            GanLoss::Bce => 1,
            GanLoss::WganGp => 2,
        }
    }

    pub fn default_lr(self) -> f64 {
        match self {
            GanLoss::Bce => 2e-4,
            GanLoss::WganGp => 2e-4,
        }
    }

    pub fn default_betas(self) -> (f64, f64) {
        match self {
            GanLoss::Bce => (0.5, 0.999),
            GanLoss::WganGp => (0.5, 0.9),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GanConfig {
    pub latent_dim: i64,
    /// Widths of the MLP hidden layers (the discriminator mirrors them); `None` leaves them to
    /// the data (see [`Gan::default_hidden`]).
    pub hidden: Option<Vec<i64>>,
    pub loss: GanLoss,
    pub arch: Arch,
    /// Discriminator steps per generator step; `None` takes the loss's default.
    pub n_critic: Option<usize>,
    /// Weight of the gradient penalty (WGAN-GP only).
    pub gp_lambda: f64,
    /// Adam's learning rate for both networks; `None` takes the loss's default.
    pub lr: Option<f64>,
    /// Adam's (beta1, beta2); `None` takes the loss's default.
    pub betas: Option<(f64, f64)>,
}

impl Default for GanConfig {
    fn default() -> Self {
        GanConfig {
            latent_dim: 64,
            hidden: None,
            loss: GanLoss::Bce,
            arch: Arch::Auto,
            n_critic: None,
            gp_lambda: 10.0,
            lr: None,
            betas: None,
        }
    }
}

impl GanConfig {
    pub fn validate(&self) -> Result<()> {
        let widths = self.hidden.iter().flatten();
        if self.latent_dim < 1 || widths.into_iter().any(|&h| h < 1) {
            return Err(Error::Parameter(
                "latent_dim and every hidden width must be at least 1".into(),
            ));
        }
        if self.n_critic == Some(0) {
            return Err(Error::Parameter("n_critic must be at least 1".into()));
        }
        if !(self.gp_lambda.is_finite() && self.gp_lambda >= 0.0) {
            return Err(Error::Parameter(format!(
                "gp_lambda must be finite and >= 0, got {}",
                self.gp_lambda
            )));
        }
        if let Some(lr) = self.lr {
            check_lr(lr)?;
        }
        if let Some((b1, b2)) = self.betas {
            if !((0.0..1.0).contains(&b1) && (0.0..1.0).contains(&b2)) {
                return Err(Error::Parameter(format!(
                    "betas must both lie in [0, 1), got ({b1}, {b2})"
                )));
            }
        }
        Ok(())
    }

    pub fn n_critic(&self) -> usize {
        self.n_critic.unwrap_or(self.loss.default_n_critic())
    }

    pub fn lr(&self) -> f64 {
        self.lr.unwrap_or(self.loss.default_lr())
    }

    pub fn betas(&self) -> (f64, f64) {
        self.betas.unwrap_or(self.loss.default_betas())
    }
}

enum Generator {
    Mlp(Mlp),
    /// DCGAN generator: projection, transposed convs with batch norm and ReLU.
    Conv(ConvDecoder),
}

enum Discriminator {
    Mlp(Mlp),
    /// DCGAN discriminator: strided convs with LeakyReLU and a linear head; conditional as a
    /// projection discriminator (Miyato & Koyama 2018), adding <embed(class), features>, since
    /// a one-hot class appended to the head's input could only shift the output, not judge
    /// whether the image fits its class.
    Conv {
        features: ConvEncoder,
        head: Linear,
        embed: Option<Linear>,
    },
}

/// What the diversity figure is measured on, fixed at the start of training.
struct Probe {
    z: Tensor,
    classes: Option<Tensor>,
    real_spread: f64,
    /// Gumbel noise `(rows, width)` that draws the probe's categories from the generated
    /// probabilities, the same draws every epoch; `None` without one-hot blocks.
    gumbel: Option<Tensor>,
}

struct Optimisers {
    generator: Adam,
    discriminator: Adam,
}

pub struct Gan {
    vs: VarStore,
    /// The generator that trains.
    generator: Generator,
    /// An exponential moving average of `generator`'s weights (and batch-norm statistics),
    /// which generates: it smooths the oscillation of adversarial training.
    average: Generator,
    /// `(average, generator)` variable pairs, in a fixed order.
    averaged_pairs: Vec<(Tensor, Tensor)>,
    discriminator: Discriminator,
    config: GanConfig,
    blocks: Blocks,
    optimisers: Option<Optimisers>,
    /// The step written out by hand (MLPs on the CPU, unit-range rows); `None`: autograd's.
    hand_step: Option<HandStep>,
    /// Discriminator steps taken, which paces the generator's steps.
    critic_steps: usize,
    probe: Option<Probe>,
}

/// `generator`'s rows in the discriminator's space, `(N, width)`: one-hot blocks as
/// Gumbel-softmax draws while training (`train`), as probabilities otherwise.
fn run_generator(
    generator: &Generator,
    blocks: &Blocks,
    z: &Tensor,
    classes: Option<&Tensor>,
    train: bool,
) -> Result<Tensor> {
    let input = with_classes(z, classes)?;
    let out = match generator {
        Generator::Mlp(mlp) if train => mlp.forward(&input)?,
        Generator::Mlp(mlp) => mlp_by_hand::infer(mlp, &input)?,
        Generator::Conv(conv) => conv.forward(&input, train)?,
    };
    blocks.map(
        &out,
        |unit| {
            if train {
                Ok(unit.f_tanh()?)
            } else {
                // In place when generating: `out` is this call's own.
                Ok(unit.shallow_clone().f_tanh_()?)
            }
        },
        // Held within the scores' own range, so that no output can grow without bound.
        |normal| {
            Ok(normal
                .f_div_scalar(SCORE_BOUND)?
                .f_tanh()?
                .f_mul_scalar(SCORE_BOUND)?)
        },
        |logits| {
            let p = if train {
                let gumbel = rng::gumbel(&logits.size(), logits.device())?;
                logits
                    .f_add(&gumbel)?
                    .f_div_scalar(GUMBEL_TAU)?
                    .f_softmax(1, Kind::Float)?
            } else {
                logits.f_softmax(1, Kind::Float)?
            };
            Ok(p.f_mul_scalar(2.0)?.f_sub_scalar(1.0)?)
        },
    )
}

/// `(N, 2 * width)`: each row beside the mean of the `N` rows, as the MLP discriminator sees
/// them. Real rows come with real rows and generated with generated, so the discriminator also
/// tells batches apart by what a single row cannot show (how often each category or value
/// comes up): a simple form of minibatch discrimination (Salimans et al. 2016).
fn with_batch_means(x: &Tensor) -> Result<Tensor> {
    let means = x.f_mean_dim(0, true, Kind::Float)?.f_expand_as(x)?;
    Ok(Tensor::f_cat(&[x, &means], 1)?)
}

/// Model-space `rows` with each one-hot block's probabilities replaced by a one-hot draw from
/// them, made with `gumbel` noise of the rows' shape (the Gumbel-max trick).
fn draw_categories(blocks: &Blocks, rows: &Tensor, gumbel: &Tensor) -> Result<Tensor> {
    let continuous = blocks.unit + blocks.normal;
    let mut parts = vec![rows.f_narrow(1, 0, continuous)?];
    for (start, width) in blocks.categorical_spans() {
        let p = rows.f_narrow(1, start, width)?;
        let chosen = rng::gumbel_max(&p, &gumbel.f_narrow(1, start, width)?, true)?;
        parts.push(p.f_zeros_like()?.f_scatter_value(1, &chosen, 1.0)?);
    }
    Ok(Tensor::f_cat(&parts, 1)?)
}

/// Pairs each variable under `average.` with its namesake under `generator.`, and copies the
/// generator's values into the average.
fn pair_average(vs: &VarStore) -> Result<Vec<(Tensor, Tensor)>> {
    let _guard = tch::no_grad_guard();
    let variables = vs.variables();
    let mut names: Vec<&String> = variables
        .keys()
        .filter(|name| name.starts_with("average."))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let live = variables
                .get(&name.replacen("average.", "generator.", 1))
                .ok_or_else(|| Error::Internal(format!("{name} has no generator variable")))?;
            let mut average = variables[name].shallow_clone();
            average.f_copy_(live)?;
            Ok((average, live.shallow_clone()))
        })
        .collect()
}

/// Mean binary cross-entropy of `logits` against the constant label `target`.
fn bce_against(logits: &Tensor, target: f64) -> Result<Tensor> {
    Ok(logits.f_binary_cross_entropy_with_logits::<Tensor>(
        &logits.f_full_like(target)?,
        None,
        None,
        Reduction::Mean,
    )?)
}

impl Gan {
    /// The MLP widths when `hidden` is left out: 256-256, but 128-128 for the `bce` loss on
    /// narrow unit-range rows ([`Layout::is_narrow_unit`]), where the larger networks
    /// overfit: breast_cancer's accuracy 0.945 -> 0.959 over seeds 0-3, the lowest seed 0.930
    /// -> 0.947, in half the time. WGAN-GP's critic did worse narrower there (0.936 -> 0.923).
    pub fn default_hidden(config: &GanConfig, layout: &Layout) -> Vec<i64> {
        if layout.is_narrow_unit() && config.loss == GanLoss::Bce {
            vec![128, 128]
        } else {
            vec![256, 256]
        }
    }

    pub fn latent_dim(&self) -> i64 {
        self.config.latent_dim
    }

    /// The averaged generator's rows in model space, `(N, width)`, batch norm in eval mode.
    fn generate_rows(&self, z: &Tensor, classes: Option<&Tensor>) -> Result<Tensor> {
        let out = run_generator(&self.average, &self.blocks, z, classes, false)?;
        // In place: `out` is this call's own.
        let to_unit = |t: &Tensor| Ok(t.shallow_clone().f_add_scalar_(1.0)?.f_mul_scalar_(0.5)?);
        self.blocks
            .map(&out, to_unit, |t| Ok(t.shallow_clone()), to_unit)
    }

    /// Model-space rows in the discriminator's space: unit values and one-hot blocks onto
    /// [-1, 1].
    fn real_rows(&self, x: &Tensor) -> Result<Tensor> {
        let from_unit = |t: &Tensor| Ok(t.f_mul_scalar(2.0)?.f_sub_scalar(1.0)?);
        self.blocks
            .map(x, from_unit, |t| Ok(t.shallow_clone()), from_unit)
    }

    /// Moves the averaged generator towards the training one after generator step `step`
    /// (from 1). The decay warms up as `(1 + step) / (10 + step)`, so that the average follows
    /// closely while the generator changes fast early on.
    fn update_average(&self, step: usize) -> Result<()> {
        let _guard = tch::no_grad_guard();
        let decay = AVERAGE_DECAY.min((1.0 + step as f64) / (10.0 + step as f64));
        for (average, live) in &self.averaged_pairs {
            let mut average = average.shallow_clone();
            let _ = average.f_lerp_(live, 1.0 - decay)?;
        }
        Ok(())
    }

    /// Discriminator logits (critic values for WGAN-GP) of rows in [-1, 1], `(N, 1)`.
    pub fn discriminate(&self, x: &Tensor, classes: Option<&Tensor>) -> Result<Tensor> {
        match &self.discriminator {
            Discriminator::Mlp(mlp) => mlp.forward(&with_classes(&with_batch_means(x)?, classes)?),
            Discriminator::Conv {
                features,
                head,
                embed,
            } => {
                let f = features.forward(x, true)?;
                let out = head.forward(&f)?;
                match (embed, classes) {
                    (Some(embed), Some(c)) => Ok(out.f_add(
                        &embed
                            .forward(c)?
                            .f_mul(&f)?
                            .f_sum_dim_intlist(1, true, Kind::Float)?,
                    )?),
                    _ => Ok(out),
                }
            }
        }
    }

    fn optimisers(&mut self) -> Result<&mut Optimisers> {
        self.optimisers
            .as_mut()
            .ok_or_else(|| Error::NotFitted("the optimisers are not set up".into()))
    }

    /// The generator's loss from the discriminator's outputs on fakes: non-saturating BCE
    /// (fakes labelled real), or minus the mean critic value.
    fn generator_loss(&self, fake_out: &Tensor) -> Result<Tensor> {
        match self.config.loss {
            GanLoss::Bce => bce_against(fake_out, 1.0),
            GanLoss::WganGp => Ok(fake_out.f_mean(Kind::Float)?.f_neg()?),
        }
    }

    /// The WGAN-GP penalty: (||grad_x critic(x_hat)|| - 1)^2 at random interpolates x_hat.
    fn gradient_penalty(
        &self,
        real: &Tensor,
        fake: &Tensor,
        classes: Option<&Tensor>,
    ) -> Result<Tensor> {
        let t = rng::uniform(&[real.size()[0], 1], 0.0, 1.0, real.device())?;
        let mixed = real
            .f_mul(&t)?
            .f_add(&fake.f_mul(&t.f_neg()?.f_add_scalar(1.0)?)?)?
            .f_detach()?
            .f_set_requires_grad(true)?;
        let critic = self.discriminate(&mixed, classes)?.f_sum(Kind::Float)?;
        let grads = Tensor::f_run_backward(&[critic], &[&mixed], true, true)?;
        let norm = grads[0].f_norm_scalaropt_dim(2.0, [1i64].as_slice(), false)?;
        Ok(norm.f_sub_scalar(1.0)?.f_square()?.f_mean(Kind::Float)?)
    }

    /// The discriminator's loss on `real` rows and `held` (detached) fakes, and the figures
    /// reported beside it: the generator's loss on these fakes as the discriminator sees them
    /// before its step (reported on every batch, also those on which the generator does not
    /// step), and WGAN-GP's terms.
    fn critic_loss(
        &self,
        real: &Tensor,
        held: &Tensor,
        classes: Option<&Tensor>,
    ) -> Result<(Tensor, Vec<(&'static str, Tensor)>)> {
        let real_out = self.discriminate(real, classes)?;
        let fake_out = self.discriminate(held, classes)?;
        let mut losses = vec![(
            "g_loss",
            self.generator_loss(&fake_out.f_detach()?)?.f_detach()?,
        )];
        let d_loss = match self.config.loss {
            GanLoss::Bce => bce_against(&real_out, 1.0)?.f_add(&bce_against(&fake_out, 0.0)?)?,
            GanLoss::WganGp => {
                let wasserstein = real_out
                    .f_mean(Kind::Float)?
                    .f_sub(&fake_out.f_mean(Kind::Float)?)?;
                let penalty = self.gradient_penalty(real, held, classes)?;
                losses.push(("wasserstein", wasserstein.f_detach()?));
                losses.push(("gradient_penalty", penalty.f_detach()?));
                wasserstein
                    .f_neg()?
                    .f_add(&penalty.f_mul_scalar(self.config.gp_lambda)?)?
            }
        };
        Ok((d_loss, losses))
    }
}

impl Trainable for Gan {
    fn train_batch(
        &mut self,
        x: &Tensor,
        classes: Option<&Tensor>,
    ) -> Result<Vec<(&'static str, Tensor)>> {
        // The generator steps once every n_critic batches.
        let generator_steps = (self.critic_steps + 1).is_multiple_of(self.config.n_critic());
        if let (Some(hand), Some(optimisers)) = (&mut self.hand_step, &mut self.optimisers) {
            let loss = HandLoss {
                kind: self.config.loss,
                latent: self.config.latent_dim,
                gp_lambda: self.config.gp_lambda,
            };
            let figures = hand.critic_gradients(x, classes, loss)?;
            optimisers.discriminator.step_written()?;
            self.critic_steps += 1;
            if generator_steps {
                hand.generator_gradients(loss)?;
                optimisers.generator.step_written()?;
                self.update_average(self.critic_steps / self.config.n_critic())?;
            }
            let figure = |value: f64| Tensor::from(value as f32);
            let mut losses = vec![("g_loss", figure(figures.g_loss))];
            if self.config.loss == GanLoss::WganGp {
                losses.push(("wasserstein", figure(figures.wasserstein)));
                losses.push(("gradient_penalty", figure(figures.gradient_penalty)));
            }
            losses.push(("d_loss", figure(figures.d_loss)));
            return Ok(losses);
        }
        let real = self.real_rows(x)?;
        let rows = real.size()[0];
        let z = rng::normal(&[rows, self.latent_dim()], real.device())?;
        // The generator's graph is needed only on the batches where it steps.
        let fake = {
            let _guard = (!generator_steps).then(tch::no_grad_guard);
            run_generator(&self.generator, &self.blocks, &z, classes, true)?
        };
        let (d_loss, mut losses) = self.critic_loss(&real, &fake.f_detach()?, classes)?;
        self.optimisers()?.discriminator.backward_step(&d_loss)?;
        losses.push(("d_loss", d_loss.f_detach()?));
        self.critic_steps += 1;

        if generator_steps {
            let g_loss = self.generator_loss(&self.discriminate(&fake, classes)?)?;
            self.optimisers()?.generator.backward_step(&g_loss)?;
            self.update_average(self.critic_steps / self.config.n_critic())?;
        }
        Ok(losses)
    }

    fn var_store(&self) -> &VarStore {
        &self.vs
    }

    fn begin_fit(&mut self, rows: &Rows) -> Result<()> {
        let real = rows.random_subset(PROBE_ROWS)?;
        let z = rng::normal(&[real.len(), self.latent_dim()], real.x.device())?;
        let gumbel = (!self.blocks.categorical.is_empty())
            .then(|| rng::gumbel(&real.x.size(), real.x.device()))
            .transpose()?;
        self.probe = Some(Probe {
            z,
            real_spread: mean_pairwise_distance(&real.x)?,
            classes: real.classes,
            gumbel,
        });
        Ok(())
    }

    /// The squared MMD between held-out rows and as many generated rows with the same classes
    /// (see [`mmd`]): a GAN's losses say little about sample quality, while the MMD falls only as
    /// generated rows come to match real ones in both place and spread.
    fn holdout_loss(&mut self, rows: &Rows) -> Result<f64> {
        let _guard = tch::no_grad_guard();
        // A random subset (the same every epoch: the caller seeds this call alike).
        let real = rows.random_subset(HOLDOUT_ROWS)?;
        let classes = real.classes.as_ref();
        let z = rng::normal(&[real.len(), self.latent_dim()], real.x.device())?;
        let fake = self.generate_rows(&z, classes)?;
        mmd(
            &with_classes(&real.x, classes)?,
            &with_classes(&fake, classes)?,
        )
    }

    fn optimiser_state(&self) -> Result<Option<OptimiserState>> {
        let Some(optimisers) = &self.optimisers else {
            return Ok(None);
        };
        let mut state = OptimiserState::default();
        optimisers.generator.save_state("generator", &mut state)?;
        optimisers
            .discriminator
            .save_state("discriminator", &mut state)?;
        state
            .scalars
            .insert("critic_steps".into(), self.critic_steps as f64);
        Ok(Some(state))
    }

    fn load_optimiser_state(&mut self, state: &OptimiserState) -> Result<()> {
        let critic_steps = state.scalar("critic_steps")?;
        if !(critic_steps >= 0.0 && critic_steps.fract() == 0.0) {
            return Err(Error::Checkpoint(format!(
                "critic step count {critic_steps} is not a count"
            )));
        }
        let optimisers = self.optimisers()?;
        optimisers.generator.load_state("generator", state)?;
        optimisers
            .discriminator
            .load_state("discriminator", state)?;
        self.critic_steps = critic_steps as usize;
        Ok(())
    }

    fn epoch_figures(&mut self) -> Result<Vec<(&'static str, f64)>> {
        let Some(probe) = &self.probe else {
            return Ok(Vec::new());
        };
        if probe.real_spread <= 0.0 {
            return Ok(Vec::new());
        }
        let _guard = tch::no_grad_guard();
        let mut fake = self.generate_rows(&probe.z, probe.classes.as_ref())?;
        if let Some(gumbel) = &probe.gumbel {
            // Real rows are one-hot: so are the generated rows they are compared with, as
            // `sample` draws them (probabilities are closer together than any two categories).
            fake = draw_categories(&self.blocks, &fake, gumbel)?;
        }
        let diversity = mean_pairwise_distance(&fake)? / probe.real_spread;
        Ok(vec![("diversity", diversity)])
    }

    fn set_lr_scale(&mut self, scale: f64) {
        if let Some(optimisers) = &mut self.optimisers {
            optimisers.generator.set_lr_scale(scale);
            optimisers.discriminator.set_lr_scale(scale);
        }
    }

    fn budget(&self) -> Budget {
        let steps = match (&self.generator, self.config.loss) {
            (Generator::Conv(_), _) => CONV_STEPS,
            (Generator::Mlp(_), GanLoss::Bce) => MLP_STEPS,
            (Generator::Mlp(_), GanLoss::WganGp) => MLP_WGAN_STEPS,
        };
        Budget {
            steps,
            batches_per_step: self.config.n_critic(),
            batch_size: DEFAULT_BATCH_SIZE,
            min_epochs: 1,
            // One rate throughout: a fifth of it for the last quarter cost the BCE GAN 0.03 of
            // accuracy on digits and moved WGAN-GP by noise only (digits -0.008, breast_cancer
            // +0.006; benchmarks/defaults.py, seeds 0-1 and 0-2).
            decays: false,
        }
    }

    fn health(&self, stats: &EpochStats) -> Option<String> {
        let diversity = *stats.get("diversity")?;
        (diversity < COLLAPSE_DIVERSITY).then(|| {
            format!(
                "mode collapse: diversity {diversity:.3} is below {COLLAPSE_DIVERSITY} (generated \
                 rows are bunched together; near 1 is healthy)"
            )
        })
    }
}

impl Network for Gan {
    type Config = GanConfig;
    const KIND: &'static str = "GAN";

    fn arch(config: &GanConfig) -> Arch {
        config.arch
    }

    fn check_config(config: &GanConfig) -> Result<()> {
        config.validate()
    }

    fn linear_layers(config: &GanConfig, layout: &Layout) -> Vec<Vec<i64>> {
        let classes = layout.n_classes as i64;
        let width = layout.width() as i64;
        let latent = config.latent_dim;
        let hidden = config
            .hidden
            .clone()
            .unwrap_or_else(|| Self::default_hidden(config, layout));
        match layout.image {
            // The generator, the discriminator, and the generator's average.
            Some(image) => vec![
                vec![latent + classes, conv_feature_width(image)],
                vec![classes, conv_feature_width(image)],
                vec![latent + classes, conv_feature_width(image)],
            ],
            None => vec![
                mlp_widths(latent + classes, &hidden, width),
                mlp_widths(2 * width + classes, hidden.iter().rev(), 1),
                mlp_widths(latent + classes, &hidden, width),
            ],
        }
    }

    fn check_saved_by(version: &str, layout: &Layout) -> Result<()> {
        if ["1", "2"].contains(&version) && layout.image.is_none() {
            return Err(Error::Checkpoint(format!(
                "this MLP GAN was saved by checkpoint version {version}, whose discriminator does \
                 not see batch means as this genaug's does: fit it again"
            )));
        }
        Ok(())
    }

    fn build(config: &GanConfig, layout: &Layout, device: Device) -> Result<Gan> {
        config.validate()?;
        let layers = Self::linear_layers(config, layout);
        check_parameters(&layers)?;
        let vs = VarStore::new(device);
        let root = vs.root();
        let classes = layout.n_classes as i64;
        let latent = config.latent_dim;
        let (generator, average, discriminator) = match layout.image {
            Some(image) => {
                let generator = ConvDecoder::new(&(&root / "generator"), latent + classes, image)?;
                let average = ConvDecoder::new(&(&root / "average"), latent + classes, image)?;
                // A WGAN-GP critic takes no batch norm.
                let batch_norm = config.loss == GanLoss::Bce;
                let features = ConvEncoder::new(&(&root / "discriminator"), image, batch_norm)?;
                let width = features.output_width();
                let head = Linear::new(&(&root / "discriminator" / "head"), width, 1)?;
                let embed = (classes > 0)
                    .then(|| Linear::new(&(&root / "discriminator" / "embed"), classes, width))
                    .transpose()?;
                (
                    Generator::Conv(generator),
                    Generator::Conv(average),
                    Discriminator::Conv {
                        features,
                        head,
                        embed,
                    },
                )
            }
            None => {
                let generator = Mlp::new(&(&root / "generator"), &layers[0])?;
                let average = Mlp::new(&(&root / "average"), &layers[2])?;
                let discriminator = Mlp::with_activation(
                    &(&root / "discriminator"),
                    &layers[1],
                    Activation::LeakyRelu,
                )?;
                (
                    Generator::Mlp(generator),
                    Generator::Mlp(average),
                    Discriminator::Mlp(discriminator),
                )
            }
        };
        if layout.image.is_some() {
            dcgan_init(&vs)?;
        }
        let averaged_pairs = pair_average(&vs)?;
        Ok(Gan {
            vs,
            generator,
            average,
            averaged_pairs,
            discriminator,
            config: config.clone(),
            blocks: layout.blocks.clone(),
            optimisers: None,
            hand_step: None,
            critic_steps: 0,
            probe: None,
        })
    }

    fn start_training(&mut self, lr: Option<f64>) -> Result<()> {
        let lr = lr.unwrap_or(self.config.lr());
        let (beta1, beta2) = self.config.betas();
        let params = |prefix: &str| trainable_under(&self.vs, prefix);
        let optimisers = Optimisers {
            generator: Adam::new(params("generator."), lr, beta1, beta2)?,
            discriminator: Adam::new(params("discriminator."), lr, beta1, beta2)?,
        };
        self.hand_step = match (&self.generator, &self.discriminator) {
            (Generator::Mlp(generator), Discriminator::Mlp(discriminator))
                if self.blocks.is_all_unit() =>
            {
                HandStep::new(
                    generator,
                    discriminator,
                    &optimisers.generator,
                    &optimisers.discriminator,
                )?
            }
            _ => None,
        };
        self.optimisers = Some(optimisers);
        self.critic_steps = 0;
        Ok(())
    }

    fn set_lr(&mut self, lr: f64) {
        if let Some(optimisers) = &mut self.optimisers {
            optimisers.generator.set_lr(lr);
            optimisers.discriminator.set_lr(lr);
        }
    }

    fn generate_each(
        &self,
        n: i64,
        classes: Option<&Tensor>,
        each: &mut dyn FnMut(Tensor) -> Result<()>,
    ) -> Result<()> {
        let _guard = tch::no_grad_guard();
        let z = rng::normal(&[n, self.latent_dim()], self.vs.device())?;
        // The generator draws nothing after its noise.
        for_row_blocks(&z, classes, |z, c| each(self.generate_rows(z, c)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nets::ImageShape;
    use crate::train::{fit, FitOptions, Run, Unmonitored};

    #[test]
    fn categories_are_drawn_one_hot_and_values_kept() {
        let blocks = Blocks {
            unit: 1,
            normal: 1,
            categorical: vec![3, 2],
            presence: Vec::new(),
        };
        let rows = Tensor::from_slice(&[0.3f32, -1.5, 0.0, 1.0, 0.0, 0.5, 0.5]).view([1, 7]);
        // Large noise on the second block's last slot decides it; the first block's
        // certain category wins whatever the noise.
        let gumbel = Tensor::from_slice(&[0.0f32, 0.0, 9.0, 0.0, 9.0, 0.0, 5.0]).view([1, 7]);
        let drawn = draw_categories(&blocks, &rows, &gumbel).unwrap();
        let values: Vec<f32> = drawn.view([-1]).try_into().unwrap();
        assert_eq!(values, [0.3, -1.5, 0.0, 1.0, 0.0, 0.0, 1.0]);
    }

    fn layout(sample_shape: Vec<usize>, n_classes: usize) -> Layout {
        let image = ImageShape::of(&sample_shape);
        let width = sample_shape.iter().product::<usize>() as i64;
        Layout {
            sample_shape,
            n_classes,
            image,
            blocks: Blocks::all_unit(width),
        }
    }

    /// Two classes of 6-feature rows: class 0 near 0.2, class 1 near 0.8.
    fn two_classes() -> (Tensor, Tensor) {
        let labels = Tensor::from_slice(&[0i64, 1]).repeat([64]);
        let classes = labels.one_hot(2).to_kind(Kind::Float);
        let centre = classes.narrow(1, 1, 1) * 0.6 + 0.2;
        let noise = rng::with_seed(9, || rng::normal(&[128, 6], Device::Cpu)).unwrap() * 0.03;
        (centre.expand([128, 6], false) + noise, classes)
    }

    fn train(config: &GanConfig, epochs: usize) -> (Gan, Vec<crate::train::EpochStats>) {
        let (x, classes) = two_classes();
        let mut gan =
            rng::with_seed(0, || Gan::build(config, &layout(vec![6], 2), Device::Cpu)).unwrap();
        gan.start_training(Some(2e-3)).unwrap();
        let rows = Rows {
            x,
            classes: Some(classes),
        };
        let mut history = Vec::new();
        fit(
            &mut gan,
            &rows,
            Some(&rows),
            FitOptions::new(epochs, 32),
            &mut Run::new(0),
            &mut Unmonitored,
            &mut history,
        )
        .unwrap();
        (gan, history)
    }

    /// Mean generated value per class, for 200 rows of each.
    fn class_means(gan: &Gan) -> (f64, f64) {
        let mean = |class: i64| {
            let classes = Tensor::full([200], class, (Kind::Int64, Device::Cpu))
                .one_hot(2)
                .to_kind(Kind::Float);
            let out = rng::with_seed(1, || gan.generate(200, Some(&classes))).unwrap();
            f64::try_from(out.mean(Kind::Float)).unwrap()
        };
        (mean(0), mean(1))
    }

    /// Each of `adam`'s gradients as the hand-written step wrote them.
    fn written(adam: &Adam) -> Vec<(String, Tensor)> {
        adam.gradient_views()
            .unwrap()
            .into_iter()
            .map(|(name, view)| (name, view.copy()))
            .collect()
    }

    /// Asserts that `written` holds autograd's gradients of `loss` by the variables under
    /// `prefix`.
    fn assert_autograd_s(written: &[(String, Tensor)], gan: &Gan, prefix: &str, loss: &Tensor) {
        let params = trainable_under(&gan.vs, prefix);
        let tensors: Vec<&Tensor> = params.iter().map(|(_, t)| t).collect();
        assert_close(
            written,
            &Tensor::run_backward(&[loss], &tensors, true, false),
        );
    }

    fn assert_close(written: &[(String, Tensor)], expected: &[Tensor]) {
        assert_eq!(written.len(), expected.len());
        for ((name, got), expected) in written.iter().zip(expected) {
            let got = got.view_as(expected);
            assert!(
                got.allclose(expected, 1e-4, 1e-6, false),
                "{name}: {got} against {expected}"
            );
        }
    }

    #[test]
    fn the_hand_written_step_has_autograd_s_gradients_and_figures() {
        let all_rows = rng::with_seed(3, || rng::uniform(&[12, 5], 0.0, 1.0, Device::Cpu)).unwrap();
        let _ = all_rows.narrow(1, 0, 1).narrow(0, 0, 6).fill_(0.0);
        let labels = Tensor::from_slice(&[0i64, 1, 2]).repeat([4]);
        let onehot = labels.one_hot(3).to_kind(Kind::Float);
        for loss in [GanLoss::Bce, GanLoss::WganGp] {
            for classes in [None, Some(&onehot)] {
                let config = GanConfig {
                    loss,
                    latent_dim: 4,
                    hidden: Some(vec![16, 8]),
                    gp_lambda: 3.0,
                    ..Default::default()
                };
                let k = classes.map_or(0, |c| c.size()[1] as usize);
                let mut gan =
                    rng::with_seed(0, || Gan::build(&config, &layout(vec![5], k), Device::Cpu))
                        .unwrap();
                // A few autograd steps first, so that the networks are not at their start.
                gan.start_training(Some(1e-2)).unwrap();
                let hand = gan
                    .hand_step
                    .take()
                    .expect("MLPs on unit rows take the hand step");
                for seed in 0..5 {
                    rng::with_seed(10 + seed, || gan.train_batch(&all_rows, classes)).unwrap();
                }
                gan.hand_step = Some(hand);
                let hand_loss = HandLoss {
                    kind: loss,
                    latent: 4,
                    gp_lambda: 3.0,
                };
                // A full batch, then the smaller ones that reuse its buffers (an epoch's last
                // partial batch, a batch of one row).
                for n in [12i64, 5, 1] {
                    let x = all_rows.narrow(0, 0, n);
                    let classes = classes.map(|c| c.narrow(0, 0, n));
                    let classes = classes.as_ref();
                    let hand = gan.hand_step.as_mut().unwrap();
                    let figures =
                        rng::with_seed(1, || hand.critic_gradients(&x, classes, hand_loss))
                            .unwrap();
                    let critic_written = written(&gan.optimisers.as_ref().unwrap().discriminator);
                    let (fake, d_loss, losses) = rng::with_seed(1, || {
                        let real = gan.real_rows(&x)?;
                        let z = rng::normal(&[n, 4], Device::Cpu)?;
                        let fake = run_generator(&gan.generator, &gan.blocks, &z, classes, true)?;
                        let (d_loss, losses) =
                            gan.critic_loss(&real, &fake.f_detach()?, classes)?;
                        Ok::<_, Error>((fake, d_loss, losses))
                    })
                    .unwrap();
                    assert_autograd_s(&critic_written, &gan, "discriminator.", &d_loss);
                    let mut expected = vec![("d_loss", f64::try_from(&d_loss).unwrap())];
                    for (name, value) in &losses {
                        expected.push((name, f64::try_from(value).unwrap()));
                    }
                    for (name, value) in expected {
                        let got = match name {
                            "d_loss" => figures.d_loss,
                            "g_loss" => figures.g_loss,
                            "wasserstein" => figures.wasserstein,
                            _ => figures.gradient_penalty,
                        };
                        assert!(
                            (got - value).abs() < 1e-5 * value.abs().max(1.0),
                            "{loss:?} {name}: {got} against {value}"
                        );
                    }

                    // The generator's gradient, judged by the stepped discriminator.
                    let optimisers = gan.optimisers.as_mut().unwrap();
                    optimisers.discriminator.step_written().unwrap();
                    let hand = gan.hand_step.as_mut().unwrap();
                    hand.generator_gradients(hand_loss).unwrap();
                    let generator_written = written(&gan.optimisers.as_ref().unwrap().generator);
                    let g_loss = gan
                        .generator_loss(&gan.discriminate(&fake, classes).unwrap())
                        .unwrap();
                    assert_autograd_s(&generator_written, &gan, "generator.", &g_loss);
                }
                // train_batch reports the same figures by either step.
                let names = |gan: &mut Gan| {
                    let figures = rng::with_seed(2, || gan.train_batch(&all_rows, classes));
                    figures
                        .unwrap()
                        .into_iter()
                        .map(|(name, _)| name)
                        .collect::<Vec<_>>()
                };
                let by_hand = names(&mut gan);
                let hand = gan.hand_step.take();
                assert_eq!(by_hand, names(&mut gan));
                gan.hand_step = hand;
            }
        }
    }

    #[test]
    fn bce_gan_learns_the_class_centres() {
        let config = GanConfig {
            latent_dim: 4,
            hidden: Some(vec![32, 32]),
            ..Default::default()
        };
        let (gan, history) = train(&config, 60);
        let (low, high) = class_means(&gan);
        assert!(
            (low - 0.2).abs() < 0.1 && (high - 0.8).abs() < 0.1,
            "{low} {high}"
        );
        let last = &history[59];
        for key in ["d_loss", "g_loss", "diversity", "seconds"] {
            assert!(last[key].is_finite(), "{key} in {last:?}");
        }
        // The held-out MMD falls as the generator learns the classes.
        assert!(
            last["val_loss"] < 0.5 * history[0]["val_loss"],
            "{history:?}"
        );
    }

    #[test]
    fn wgan_gp_reports_its_terms_and_paces_the_generator() {
        let config = GanConfig {
            latent_dim: 4,
            hidden: Some(vec![32, 32]),
            loss: GanLoss::WganGp,
            ..Default::default()
        };
        let (gan, history) = train(&config, 80);
        // 4 batches an epoch, 5 critic steps per generator step.
        assert_eq!(gan.critic_steps, 320);
        let (low, high) = class_means(&gan);
        assert!(
            (low - 0.2).abs() < 0.15 && (high - 0.8).abs() < 0.15,
            "{low} {high}"
        );
        let last = &history[79];
        for key in [
            "d_loss",
            "g_loss",
            "wasserstein",
            "gradient_penalty",
            "diversity",
        ] {
            assert!(last[key].is_finite(), "{key} in {last:?}");
        }
        assert!(last["gradient_penalty"] >= 0.0);
    }

    #[test]
    fn dcgan_shapes_and_range() {
        let image = layout(vec![1, 16, 16], 0);
        for loss in [GanLoss::Bce, GanLoss::WganGp] {
            let config = GanConfig {
                latent_dim: 8,
                loss,
                ..Default::default()
            };
            let (losses, out) = rng::with_seed(0, || {
                let mut gan = Gan::build(&config, &image, Device::Cpu)?;
                gan.start_training(None)?;
                let x = rng::uniform(&[8, 256], 0.0, 1.0, Device::Cpu)?;
                let losses: Vec<&str> = gan.train_batch(&x, None)?.iter().map(|l| l.0).collect();
                Ok::<_, Error>((losses, gan.generate(3, None)?))
            })
            .unwrap();
            assert!(losses.contains(&"d_loss"));
            assert_eq!(out.size(), vec![3, 256]);
            assert!(f64::try_from(out.min()).unwrap() >= 0.0);
            assert!(f64::try_from(out.max()).unwrap() <= 1.0);
        }
    }

    #[test]
    fn config_checks_and_defaults() {
        assert!(GanLoss::parse("hinge").is_err());
        let wgan = GanConfig {
            loss: GanLoss::WganGp,
            ..Default::default()
        };
        assert_eq!(
            (wgan.n_critic(), wgan.lr(), wgan.betas()),
            (2, 2e-4, (0.5, 0.9))
        );
        let bce = GanConfig::default();
        assert_eq!(
            (bce.n_critic(), bce.lr(), bce.betas()),
            (1, 2e-4, (0.5, 0.999))
        );
        for bad in [
            GanConfig {
                n_critic: Some(0),
                ..Default::default()
            },
            GanConfig {
                betas: Some((1.0, 0.9)),
                ..Default::default()
            },
            GanConfig {
                lr: Some(-1.0),
                ..Default::default()
            },
            GanConfig {
                gp_lambda: f64::NAN,
                ..Default::default()
            },
        ] {
            assert!(
                matches!(bad.validate(), Err(Error::Parameter(_))),
                "{bad:?}"
            );
        }
    }
}
