//! The variational autoencoder: Gaussian encoder with the reparameterisation trick, a decoder
//! with one likelihood per part of a model-space row (see [`Blocks`]), and a beta-weighted KL
//! term. Conditional when built with classes: both halves then see the one-hot class.
//!
//! The likelihoods: Bernoulli (sigmoid) over unit-range values, Gaussian with a learnt spread per
//! column over normal scores (as TVAE does), and categorical (softmax) over each one-hot block.
//! Each reconstruction term is measured from its best possible value, so that it is zero for a
//! perfect reconstruction and per-row scores compare across rows: the Bernoulli cross-entropy
//! less the target's own entropy, and the Gaussian negative log-density less that of a perfect
//! mean at the smallest spread.

use crate::budget::{Budget, DEFAULT_BATCH_SIZE};
use crate::error::{Error, Result};
use crate::latent_prior::{LatentPrior, Moments};
use crate::mlp_by_hand;
use crate::model::{Layout, Network};
use crate::nets::{
    check_parameters, conv_feature_width, for_row_blocks, in_row_blocks, mlp_widths,
    trainable_under, with_classes, Arch, ConvDecoder, ConvEncoder, Linear, Mlp,
};
use crate::optim::{Adam, OptimiserState};
use crate::rng;
use crate::schema::Blocks;
use crate::train::{EpochStats, Rows, Trainable};
use crate::vae_step::{HandStep, Loss as HandLoss};
use serde::{Deserialize, Serialize};
use tch::nn::VarStore;
use tch::{Device, Kind, Reduction, Tensor};

/// Held-out rows per forward pass when measuring the held-out loss.
const HOLDOUT_CHUNK: i64 = 4096;
/// Optimiser steps a conv-net fit without `epochs` aims for (measured with
/// benchmarks/defaults.py; MLPs take their [`Profile`]'s).
const CONV_STEPS: usize = 1500;
/// Adam's learning rate for conv nets when `lr` is left out (MLPs take their [`Profile`]'s).
const CONV_LR: f64 = 1e-3;
/// The learnt spread of a normal-score column is held in this range (TVAE's), and starts at
/// `INITIAL_SIGMA`.
const MIN_SIGMA: f64 = 0.01;
const MAX_SIGMA: f64 = 1.0;
const INITIAL_SIGMA: f64 = 0.1;
/// The encoder's log-variance is held in +-this, so that exp() cannot overflow early in
/// training.
pub const LOGVAR_BOUND: f64 = 12.0;
/// The default of [`VaeConfig::contamination`] (PyOD's).
pub const DEFAULT_CONTAMINATION: f64 = 0.1;
/// Latent draws per row of the importance-weighted log-likelihood, by default.
pub const LIKELIHOOD_SAMPLES: i64 = 50;
/// The seed of the latent draws of the importance-weighted log-likelihood: one fixed set of
/// draws for every row, so that a row's value does not depend on the rows scored with it.
const LIKELIHOOD_SEED: u64 = 0x5C0E;
/// Training rows at most (evenly spaced) that set the outlier threshold. The quantile of 4,096
/// rows is within about half a percentage point of the contamination (its standard error at 10%
/// is sqrt(0.1 * 0.9 / 4096) = 0.0047), at a fifth of 20,000 rows' cost: 50 decoder passes a row.
const THRESHOLD_ROWS: i64 = 4_096;
/// Where the [`LatentPrior`]'s variables live in the store (and in checkpoints, as
/// `net.latent_prior.*`, from checkpoint version 4).
const PRIOR_PATH: &str = "latent_prior";
/// A mean KL term (nats per row) below this in the second half of a fit is reported as posterior
/// collapse.
pub const COLLAPSE_KL: f64 = 0.1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VaeConfig {
    pub latent_dim: i64,
    /// Widths of the MLP hidden layers (the decoder mirrors them); `None`: the data's
    /// [`Profile`].
    #[serde(default)]
    pub hidden: Option<Vec<i64>>,
    /// Weight of the KL term in the ELBO (beta-VAE; 1 is the plain ELBO).
    pub beta: f64,
    pub arch: Arch,
    /// Nats of KL per latent dimension that training does not charge for (the "free bits" of
    /// Kingma et al. 2016): each dimension's batch-mean KL enters the training loss as at least
    /// this much, so the encoder can use that much at no cost and the posterior does not
    /// collapse onto the prior. 0 trains on the plain (beta-weighted) ELBO. `None`: the data's
    /// [`Profile`].
    #[serde(default)]
    pub free_bits: Option<f64>,
    /// The fraction of training rows `predict` calls outliers: fit sets the outlier threshold at
    /// this quantile of the training rows' [`Vae::log_likelihood`].
    #[serde(default = "default_contamination")]
    pub contamination: f64,
}

fn default_contamination() -> f64 {
    DEFAULT_CONTAMINATION
}

impl Default for VaeConfig {
    fn default() -> Self {
        VaeConfig {
            latent_dim: 8,
            hidden: None,
            beta: 1.0,
            arch: Arch::Auto,
            free_bits: None,
            contamination: DEFAULT_CONTAMINATION,
        }
    }
}

/// What the settings left to the data become, by the kind of rows (measured with
/// benchmarks/defaults.py and benchmarks/tabular.py).
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub hidden: Vec<i64>,
    pub free_bits: f64,
    /// Adam's learning rate when `lr` is left out.
    pub lr: f64,
    /// How long an MLP fit without `epochs` trains.
    pub mlp_budget: Budget,
}

impl Profile {
    /// Rows that are all unit-range values (images, sequences, min-max arrays) have only a
    /// Bernoulli likelihood over mid-range values, which the class alone nearly explains: without
    /// free bits a conditional VAE ignores its latent code. Narrow ones
    /// ([`Layout::is_narrow_unit`]) train as well on a network of half the width
    /// for half the steps at twice the rate, in a quarter of the time; wider ones (digits' 64)
    /// need the larger network and the longer fit to rank outliers (held-out 9s' ROC AUC 0.931
    /// against 0.906 for half the steps, 0.897 for the narrower network).
    ///
    /// Tables (any quantile or one-hot column) have Gaussian and categorical likelihoods whose
    /// learnt spreads reward a used code; there free bits only push the posterior away from the
    /// prior (worse columns and utility on ISLR/Wage), and a narrower network on larger batches
    /// fits in a fifth of the time with the same quality. Its 500 steps are 100 passes over
    /// Wage's 2,100 rows but 7 over diamonds' 37,758, too few there: tables get at least 30
    /// passes. At 3e-3 rather than 1e-3 the same steps learn rare categories' relations that
    /// the lower rate leaves half learnt, and the last quarter at a fifth of it settles what
    /// the higher rate left unsteady (imputing a frame's gaps). Mean utility over seeds 0-4,
    /// 1e-3 -> 3e-3 with the lowered last quarter: AER/HMDA 0.695 -> 0.711, ISLR/Default
    /// 0.904 -> 0.919, carData/Mroz 0.712 -> 0.741; Wage and diamonds unchanged (see the
    /// README's "Other tables"). Missing-value indicators do not make unit-range rows a table.
    pub fn for_layout(layout: &Layout) -> Profile {
        let blocks = &layout.blocks;
        if blocks.values_all_unit() {
            let narrow = layout.is_narrow_unit();
            Profile {
                hidden: if narrow {
                    vec![128, 128]
                } else {
                    vec![256, 256]
                },
                free_bits: 1.5,
                lr: if narrow { 2e-3 } else { 1e-3 },
                mlp_budget: Budget {
                    steps: if narrow { 3000 } else { 6000 },
                    batches_per_step: 1,
                    batch_size: DEFAULT_BATCH_SIZE,
                    min_epochs: 1,
                    decays: true,
                },
            }
        } else {
            Profile {
                hidden: vec![128, 128],
                free_bits: 0.0,
                lr: 3e-3,
                mlp_budget: Budget {
                    steps: 500,
                    batches_per_step: 1,
                    batch_size: 512,
                    min_epochs: 30,
                    decays: true,
                },
            }
        }
    }
}

impl VaeConfig {
    pub fn validate(&self) -> Result<()> {
        if self.latent_dim < 1 || self.hidden.iter().flatten().any(|&h| h < 1) {
            return Err(Error::Parameter(
                "latent_dim and every hidden width must be at least 1".into(),
            ));
        }
        if !(self.beta.is_finite() && self.beta >= 0.0) {
            return Err(Error::Parameter(format!(
                "beta must be finite and >= 0, got {}",
                self.beta
            )));
        }
        if let Some(free_bits) = self.free_bits.filter(|f| !(f.is_finite() && *f >= 0.0)) {
            return Err(Error::Parameter(format!(
                "free_bits must be finite and >= 0, got {free_bits}"
            )));
        }
        if !(self.contamination > 0.0 && self.contamination <= 0.5) {
            return Err(Error::Parameter(format!(
                "contamination must be in (0, 0.5], got {}",
                self.contamination
            )));
        }
        Ok(())
    }
}

enum Encoder {
    Mlp(Mlp),
    Conv(ConvEncoder, Linear),
}

enum Decoder {
    Mlp(Mlp),
    Conv(ConvDecoder),
}

pub struct Vae {
    vs: VarStore,
    encoder: Encoder,
    decoder: Decoder,
    latent_dim: i64,
    beta: f64,
    free_bits: f64,
    budget: Budget,
    /// The learning rate of a fit without `lr`.
    default_lr: f64,
    blocks: Blocks,
    /// `blocks.presence` as index tensors on the device, `(values, present)`, made once at
    /// build (`None` without modelled gaps).
    presence: Option<(Tensor, Tensor)>,
    /// The log spread of each normal-score column (`None` when there are none).
    log_sigma: Option<Tensor>,
    /// The outlier threshold on [`Vae::log_likelihood`] (NaN until a fit sets it), kept with
    /// the weights.
    offset: Tensor,
    /// What `sample` draws latent codes from, set at the end of each fit.
    prior: LatentPrior,
    contamination: f64,
    adam: Option<Adam>,
    /// The step written out by hand (MLPs on the CPU, unit-range rows); `None`: autograd's.
    hand_step: Option<HandStep>,
}

/// Per-row ELBO terms.
pub struct ElboTerms {
    /// Each part's negative log-likelihood from its best value, summed over the row (>= 0).
    pub reconstruction: Tensor,
    /// KL(q(z|x) || N(0, I)).
    pub kl: Tensor,
    /// The KL term of each latent dimension, `(N, latent_dim)`.
    pub kl_dims: Tensor,
}

impl Vae {
    pub fn latent_dim(&self) -> i64 {
        self.latent_dim
    }

    /// Posterior mean and log-variance, `(N, latent_dim)` each.
    pub fn encode(
        &self,
        x: &Tensor,
        classes: Option<&Tensor>,
        train: bool,
    ) -> Result<(Tensor, Tensor)> {
        let h = match &self.encoder {
            Encoder::Mlp(mlp) => mlp.forward(&with_classes(x, classes)?)?,
            Encoder::Conv(conv, head) => {
                head.forward(&with_classes(&conv.forward(x, train)?, classes)?)?
            }
        };
        let mean = h.f_narrow(1, 0, self.latent_dim)?;
        let logvar = h
            .f_narrow(1, self.latent_dim, self.latent_dim)?
            .f_clamp(-LOGVAR_BOUND, LOGVAR_BOUND)?;
        Ok((mean, logvar))
    }

    /// Decoder logits, `(N, D)`.
    pub fn decode_logits(
        &self,
        z: &Tensor,
        classes: Option<&Tensor>,
        train: bool,
    ) -> Result<Tensor> {
        let input = with_classes(z, classes)?;
        match &self.decoder {
            Decoder::Mlp(mlp) => mlp.forward(&input),
            Decoder::Conv(conv) => conv.forward(&input, train),
        }
    }

    /// Per-row reconstruction and KL terms; `sample_z` draws z by reparameterisation, otherwise
    /// z is the posterior mean (deterministic, for scoring).
    pub fn elbo_terms(
        &self,
        x: &Tensor,
        classes: Option<&Tensor>,
        train: bool,
        sample_z: bool,
    ) -> Result<ElboTerms> {
        self.elbo_terms_measured(x, classes, train, sample_z, Measured::FromBest)
    }

    /// [`Vae::elbo_terms`] with the reconstruction term measured as `measured` says.
    fn elbo_terms_measured(
        &self,
        x: &Tensor,
        classes: Option<&Tensor>,
        train: bool,
        sample_z: bool,
        measured: Measured,
    ) -> Result<ElboTerms> {
        let (mean, logvar) = self.encode(x, classes, train)?;
        let z = if sample_z {
            let std = logvar.f_mul_scalar(0.5)?.f_exp()?;
            mean.f_add(&std.f_mul(&rng::normal_like(&std)?)?)?
        } else {
            mean.shallow_clone()
        };
        let logits = self.decode_logits(&z, classes, train)?;
        let reconstruction = self.reconstruction(&logits, x, measured)?;
        let kl_dims = logvar
            .f_add_scalar(1.0)?
            .f_sub(&mean.f_square()?)?
            .f_sub(&logvar.f_exp()?)?
            .f_mul_scalar(-0.5)?;
        let kl = kl_dims.f_sum_dim_intlist(1, false, Kind::Float)?;
        Ok(ElboTerms {
            reconstruction,
            kl,
            kl_dims,
        })
    }

    /// Per-row reconstruction terms of model-space rows `x` under decoder outputs `logits`.
    fn reconstruction(&self, logits: &Tensor, x: &Tensor, measured: Measured) -> Result<Tensor> {
        Ok(self
            .reconstruction_parts(logits, x, measured)?
            .f_sum_dim_intlist(1, false, Kind::Float)?)
    }

    /// The reconstruction terms of each model-space position, `(N, width)`: a unit value's
    /// Bernoulli term, a normal score's Gaussian term, and for a one-hot block each category's
    /// `-target * log p` (so a block's terms sum to its categorical term).
    fn reconstruction_parts(
        &self,
        logits: &Tensor,
        x: &Tensor,
        measured: Measured,
    ) -> Result<Tensor> {
        let bernoulli = |logits: &Tensor, x: &Tensor| -> Result<Tensor> {
            let cross_entropy = bernoulli_cross_entropy(logits, x)?;
            match measured {
                Measured::FromBest => Ok(cross_entropy.f_add(&bernoulli_neg_entropy(x)?)?),
                Measured::Plain => Ok(cross_entropy),
            }
        };
        if self.blocks.is_all_unit() {
            return bernoulli(logits, x);
        }
        let (out, target) = (self.blocks.split(logits)?, self.blocks.split(x)?);
        let mut terms = Vec::new();
        if let (Some(out), Some(target)) = (&out.unit, &target.unit) {
            terms.push(bernoulli(out, target)?);
        }
        if let (Some(mean), Some(target), Some(log_sigma)) =
            (&out.normal, &target.normal, &self.log_sigma)
        {
            let sigma = self.sigma(log_sigma)?;
            let z = target.f_sub(mean)?.f_div(&sigma)?;
            terms.push(
                z.f_square()?
                    .f_mul_scalar(0.5)?
                    .f_add(&sigma.f_div_scalar(MIN_SIGMA)?.f_log()?)?,
            );
        }
        for (out, target) in out.categorical.iter().zip(&target.categorical) {
            terms.push(out.f_log_softmax(1, Kind::Float)?.f_mul(target)?.f_neg()?);
        }
        self.without_absent(Tensor::f_cat(&terms, 1)?, x)
    }

    /// `terms` with each missing value's term zeroed (weighted by its "present" indicator in
    /// `x`): its position holds a placeholder that the model must not learn to reproduce, so
    /// that what it learns of a column comes from the rows that have it.
    fn without_absent(&self, terms: Tensor, x: &Tensor) -> Result<Tensor> {
        let Some((values, present)) = &self.presence else {
            return Ok(terms);
        };
        let kept = terms
            .f_index_select(1, values)?
            .f_mul(&x.f_index_select(1, present)?)?;
        Ok(terms.f_index_copy(1, values, &kept)?)
    }

    fn sigma(&self, log_sigma: &Tensor) -> Result<Tensor> {
        Ok(log_sigma.f_exp()?.f_clamp(MIN_SIGMA, MAX_SIGMA)?)
    }

    /// The decoder's most likely row for each code, in model space: unit-range values, normal
    /// scores (the Gaussian means; with `spread`, a draw around them) and category
    /// probabilities.
    pub fn decode_mean(&self, z: &Tensor, classes: Option<&Tensor>) -> Result<Tensor> {
        self.decode_rows(z, classes, false)
    }

    /// The decoder's row for each code with the spread of its likelihood: normal scores drawn
    /// around their means (unit values and categories stay expected values and probabilities,
    /// which decoding draws from).
    pub fn decode_draw(&self, z: &Tensor, classes: Option<&Tensor>) -> Result<Tensor> {
        self.decode_rows(z, classes, true)
    }

    fn decode_rows(&self, z: &Tensor, classes: Option<&Tensor>, spread: bool) -> Result<Tensor> {
        let logits = self.decode_logits(z, classes, false)?;
        self.decode_rows_from_logits(&logits, spread)
    }

    fn decode_rows_from_logits(&self, logits: &Tensor, spread: bool) -> Result<Tensor> {
        self.blocks.map(
            logits,
            |unit| Ok(unit.f_sigmoid()?),
            |mean| match (&self.log_sigma, spread) {
                (Some(log_sigma), true) => {
                    let noise = rng::normal_like(mean)?;
                    Ok(mean.f_add(&noise.f_mul(&self.sigma(log_sigma)?)?)?)
                }
                _ => Ok(mean.shallow_clone()),
            },
            |block| Ok(block.f_softmax(1, Kind::Float)?),
        )
    }

    /// The fixed latent draws `(k, latent_dim)` of [`Vae::log_likelihood`].
    pub fn likelihood_draws(&self, k: i64) -> Result<Tensor> {
        rng::with_seed(LIKELIHOOD_SEED, || {
            rng::normal(&[k, self.latent_dim], self.vs.device())
        })
    }

    /// The importance-weighted estimate of each row's log-likelihood (Burda et al. 2016):
    /// `log 1/k sum_j p(x|z_j) p(z_j) / q(z_j|x)` with `z_j = mu(x) + sigma(x) * draws_j`, the
    /// reconstruction measured from its best value as in training. Tends to `log p(x)` (up to
    /// that per-row constant) as `k` grows, and is at least the ELBO in expectation.
    pub fn log_likelihood(
        &self,
        x: &Tensor,
        classes: Option<&Tensor>,
        draws: &Tensor,
    ) -> Result<Tensor> {
        let (b, k) = (x.size()[0], draws.size()[0]);
        let (mean, logvar) = self.encode(x, classes, false)?;
        let std = logvar.f_mul_scalar(0.5)?.f_exp()?;
        // (b, k, latent): every row's k draws.
        let z = mean
            .f_unsqueeze(1)?
            .f_add(&std.f_unsqueeze(1)?.f_mul(&draws.f_unsqueeze(0)?)?)?;
        let repeat = |t: &Tensor| -> Result<Tensor> {
            let width = t.size()[1];
            Ok(t.f_unsqueeze(1)?
                .f_expand([b, k, width], false)?
                .f_reshape([b * k, width])?)
        };
        let repeated_classes = classes.map(repeat).transpose()?;
        let logits = self.decode_logits(
            &z.f_reshape([b * k, self.latent_dim])?,
            repeated_classes.as_ref(),
            false,
        )?;
        let log_px = self
            .reconstruction(&logits, &repeat(x)?, Measured::FromBest)?
            .f_view([b, k])?
            .f_neg()?;
        // log p(z) - log q(z|x); the 2 pi terms cancel.
        let log_prior = z
            .f_square()?
            .f_sum_dim_intlist(2, false, Kind::Float)?
            .f_mul_scalar(-0.5)?;
        let log_posterior = draws
            .f_square()?
            .f_sum_dim_intlist(1, false, Kind::Float)?
            .f_unsqueeze(0)?
            .f_add(&logvar.f_sum_dim_intlist(1, true, Kind::Float)?)?
            .f_mul_scalar(-0.5)?;
        Ok(log_px
            .f_add(&log_prior)?
            .f_sub(&log_posterior)?
            .f_logsumexp([1], false)?
            .f_sub_scalar((k as f64).ln())?)
    }

    /// Rows per pass of [`Vae::log_likelihood`] with `k` draws, for rows of `width` values.
    pub fn likelihood_chunk(width: usize, k: i64) -> i64 {
        (crate::model::chunk_rows(width.max(256)) as i64 / k.max(1)).max(1)
    }

    /// The outlier threshold fit set (NaN for a model fitted before thresholds existed).
    pub fn offset(&self) -> Result<f64> {
        Ok(f64::try_from(&self.offset.f_view([])?)?)
    }

    /// Sets the outlier threshold: the `contamination` quantile of the training rows'
    /// log-likelihoods (of at most [`THRESHOLD_ROWS`] evenly spaced ones).
    fn set_offset(&mut self, rows: &Rows, check: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        let _guard = tch::no_grad_guard();
        let n = rows.len();
        let picked = if n > THRESHOLD_ROWS {
            let step = Tensor::f_arange(THRESHOLD_ROWS, (Kind::Int64, self.vs.device()))?
                .f_mul_scalar(n)?
                .f_floor_divide_scalar(THRESHOLD_ROWS)?;
            rows.select(&step)?
        } else {
            rows.slice(0, n)?
        };
        let draws = self.likelihood_draws(LIKELIHOOD_SAMPLES)?;
        let chunk = Self::likelihood_chunk(picked.x.size()[1] as usize, LIKELIHOOD_SAMPLES);
        let mut values = Vec::new();
        let mut start = 0;
        while start < picked.len() {
            check()?;
            let size = chunk.min(picked.len() - start);
            let part = picked.slice(start, size)?;
            values.push(self.log_likelihood(&part.x, part.classes.as_ref(), &draws)?);
            start += size;
        }
        let all = Tensor::f_cat(&values, 0)?.f_to_kind(Kind::Double)?;
        let threshold = all.f_quantile_scalar(self.contamination, None, false, "linear")?;
        let _ = self.offset.f_fill_(f64::try_from(threshold)?)?;
        Ok(())
    }

    /// No outlier threshold and the N(0, I) prior: what a fit sets only once it has trained.
    fn unset_fitted_ends(&mut self) -> Result<()> {
        let _guard = tch::no_grad_guard();
        let _ = self.offset.f_fill_(f64::NAN)?;
        self.prior.reset()
    }

    /// Fits [`LatentPrior`] to the posteriors of the training rows.
    fn fit_prior(&mut self, rows: &Rows, check: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        let _guard = tch::no_grad_guard();
        let mut moments = Moments::new(self.prior.groups(), self.latent_dim, self.vs.device())?;
        let mut start = 0;
        while start < rows.len() {
            check()?;
            let size = HOLDOUT_CHUNK.min(rows.len() - start);
            let part = rows.slice(start, size)?;
            let (mean, logvar) = self.encode(&part.x, part.classes.as_ref(), false)?;
            moments.add(&mean, &logvar, part.classes.as_ref())?;
            start += size;
        }
        self.prior.fit(&moments)
    }

    /// A training step's loss on rows `x` (with autograd's graph), its reconstruction term and
    /// its KL term, each a mean over the rows. The reconstruction is the plain cross-entropy:
    /// the targets' entropy is a constant of the data, whose gradient is zero (the epoch's
    /// figures add it back, see [`Trainable::figure_offsets`]).
    fn training_loss(
        &self,
        x: &Tensor,
        classes: Option<&Tensor>,
    ) -> Result<(Tensor, Tensor, Tensor)> {
        let terms = self.elbo_terms_measured(x, classes, true, true, Measured::Plain)?;
        let reconstruction = terms.reconstruction.f_mean(Kind::Float)?;
        let kl = terms.kl.f_mean(Kind::Float)?;
        // Each dimension's batch-mean KL, charged for at least `free_bits` nats.
        let charged = terms
            .kl_dims
            .f_mean_dim(Some([0i64].as_slice()), false, Kind::Float)?
            .f_clamp_min(self.free_bits)?
            .f_sum(Kind::Float)?;
        let loss = reconstruction.f_add(&charged.f_mul_scalar(self.beta)?)?;
        Ok((loss, reconstruction, kl))
    }

    /// Per-row negative ELBO (with this model's beta), evaluated at the posterior mean.
    pub fn negative_elbo(&self, x: &Tensor, classes: Option<&Tensor>) -> Result<Tensor> {
        let terms = self.elbo_terms(x, classes, false, false)?;
        Ok(terms
            .reconstruction
            .f_add(&terms.kl.f_mul_scalar(self.beta)?)?)
    }
}

/// How a reconstruction term is measured: from its best possible value (less the target's own
/// entropy, so that a perfect reconstruction scores zero), or plain. The two differ by a
/// constant of the data, which a training step leaves out (see [`Vae::figure_offsets`]).
#[derive(Debug, Clone, Copy)]
enum Measured {
    FromBest,
    Plain,
}

/// Bernoulli cross-entropy of unit-range targets, per value.
fn bernoulli_cross_entropy(logits: &Tensor, x: &Tensor) -> Result<Tensor> {
    Ok(logits.f_binary_cross_entropy_with_logits::<Tensor>(x, None, None, Reduction::None)?)
}

/// Minus the Bernoulli entropy of unit-range targets, per value.
fn bernoulli_neg_entropy(x: &Tensor) -> Result<Tensor> {
    let p = x.f_clamp(0.0, 1.0)?;
    let q = p.f_neg()?.f_add_scalar(1.0)?;
    Ok(p.f_xlogy(&p)?.f_add(&q.f_xlogy(&q)?)?)
}

impl Trainable for Vae {
    fn train_batch(
        &mut self,
        x: &Tensor,
        classes: Option<&Tensor>,
    ) -> Result<Vec<(&'static str, Tensor)>> {
        if let (Some(hand), Some(adam)) = (&mut self.hand_step, &mut self.adam) {
            let loss = HandLoss {
                latent: self.latent_dim,
                beta: self.beta,
                free_bits: self.free_bits,
            };
            let figures = hand.gradients(x, classes, loss)?;
            adam.step_written()?;
            return Ok(vec![
                ("loss", Tensor::from(figures.loss)),
                ("reconstruction", Tensor::from(figures.reconstruction)),
                ("kl", Tensor::from(figures.kl)),
            ]);
        }
        let (loss, reconstruction, kl) = self.training_loss(x, classes)?;
        self.adam
            .as_mut()
            .ok_or_else(|| Error::NotFitted("the optimiser is not set up".into()))?
            .backward_step(&loss)?;
        Ok(vec![
            ("loss", loss.f_detach()?),
            ("reconstruction", reconstruction.f_detach()?),
            ("kl", kl.f_detach()?),
        ])
    }

    fn var_store(&self) -> &VarStore {
        &self.vs
    }

    /// The mean training loss (reconstruction + beta * KL, the negative ELBO for beta = 1) of
    /// the held-out rows, one posterior draw each, batch norm in eval mode.
    fn holdout_loss(&mut self, rows: &Rows) -> Result<f64> {
        let _guard = tch::no_grad_guard();
        let mut total = 0.0;
        let mut start = 0;
        // In chunks, so that a large held-out set does not need one huge forward pass.
        while start < rows.len() {
            let size = HOLDOUT_CHUNK.min(rows.len() - start);
            let chunk = rows.slice(start, size)?;
            let terms = self.elbo_terms(&chunk.x, chunk.classes.as_ref(), false, true)?;
            let loss = terms
                .reconstruction
                .f_add(&terms.kl.f_mul_scalar(self.beta)?)?
                .f_sum(Kind::Double)?;
            total += f64::try_from(loss)?;
            start += size;
        }
        Ok(total / rows.len() as f64)
    }

    fn optimiser_state(&self) -> Result<Option<OptimiserState>> {
        let Some(adam) = &self.adam else {
            return Ok(None);
        };
        let mut state = OptimiserState::default();
        adam.save_state("adam", &mut state)?;
        Ok(Some(state))
    }

    fn load_optimiser_state(&mut self, state: &OptimiserState) -> Result<()> {
        self.adam
            .as_mut()
            .ok_or_else(|| Error::NotFitted("the optimiser is not set up".into()))?
            .load_state("adam", state)
    }

    fn set_lr_scale(&mut self, scale: f64) {
        if let Some(adam) = &mut self.adam {
            adam.set_lr_scale(scale);
        }
    }

    fn budget(&self) -> Budget {
        self.budget
    }

    fn repeats_rare_classes(&self) -> bool {
        true
    }

    fn begin_fit(&mut self, _rows: &Rows) -> Result<()> {
        self.unset_fitted_ends()
    }

    fn ended(&self) -> Result<bool> {
        Ok(!self.offset()?.is_nan())
    }

    fn end_fit(&mut self, rows: &Rows, check: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        let ended = self
            .set_offset(rows, check)
            .and_then(|()| self.fit_prior(rows, check));
        if ended.is_err() {
            // Stopped part way: as a fit stopped during training leaves the model.
            self.unset_fitted_ends()?;
        }
        ended
    }

    /// The mean over the epoch's rows of their own entropy terms (minus the entropy of each
    /// unit value that is present), which [`Trainable::train_batch`] leaves out of the
    /// reconstruction term and its loss.
    fn figure_offsets(
        &self,
        rows: &Rows,
        index: Option<&Tensor>,
    ) -> Result<Vec<(&'static str, f64)>> {
        let _guard = tch::no_grad_guard();
        // Written in place chunk by chunk: a small tensor kept from each chunk between its
        // temporaries would leave the heap they were freed from unreturnable (250 MiB of
        // resident memory after a million rows).
        let mut per_row = Tensor::f_zeros([rows.len()], (Kind::Double, rows.x.device()))?;
        let mut start = 0;
        while start < rows.len() {
            let size = HOLDOUT_CHUNK.min(rows.len() - start);
            let x = rows.x.f_narrow(0, start, size)?;
            let parts = self.blocks.map(
                &x,
                bernoulli_neg_entropy,
                |t| Ok(t.f_zeros_like()?),
                |t| Ok(t.f_zeros_like()?),
            )?;
            let _ = self.without_absent(parts, &x)?.f_sum_intlist_out(
                &per_row.f_narrow(0, start, size)?,
                [1i64].as_slice(),
                false,
                Kind::Double,
            )?;
            start += size;
        }
        if let Some(index) = index {
            per_row = per_row.f_index_select(0, index)?;
        }
        let offset = f64::try_from(per_row.f_mean(Kind::Double)?)?;
        Ok(vec![("loss", offset), ("reconstruction", offset)])
    }

    fn health(&self, stats: &EpochStats) -> Option<String> {
        let kl = *stats.get("kl")?;
        (kl < COLLAPSE_KL).then(|| {
            format!(
                "posterior collapse: the KL term is {kl:.4} nats per row, below {COLLAPSE_KL} \
                 (the latent code carries almost nothing of the rows; a smaller beta helps)"
            )
        })
    }
}

impl Network for Vae {
    type Config = VaeConfig;
    const KIND: &'static str = "VAE";

    fn arch(config: &VaeConfig) -> Arch {
        config.arch
    }

    fn check_config(config: &VaeConfig) -> Result<()> {
        config.validate()
    }

    fn linear_layers(config: &VaeConfig, layout: &Layout) -> Vec<Vec<i64>> {
        let classes = layout.n_classes as i64;
        let width = layout.width() as i64;
        let latent = config.latent_dim;
        let profile = Profile::for_layout(layout);
        let hidden = config.hidden.as_ref().unwrap_or(&profile.hidden);
        match layout.image {
            Some(image) => vec![
                vec![conv_feature_width(image) + classes, 2 * latent],
                vec![latent + classes, conv_feature_width(image)],
            ],
            None => vec![
                mlp_widths(width + classes, hidden, 2 * latent),
                mlp_widths(latent + classes, hidden.iter().rev(), width),
            ],
        }
    }

    /// Versions 1-3 stored no latent prior: such a model samples from N(0, I), as it did.
    fn added_after(version: &str, name: &str) -> bool {
        ["1", "2", "3"].contains(&version) && name.starts_with(PRIOR_PATH)
    }

    fn build(config: &VaeConfig, layout: &Layout, device: Device) -> Result<Vae> {
        config.validate()?;
        let layers = Self::linear_layers(config, layout);
        check_parameters(&layers)?;
        let vs = VarStore::new(device);
        let root = vs.root();
        let classes = layout.n_classes as i64;
        let latent = config.latent_dim;
        let profile = Profile::for_layout(layout);
        let (encoder, decoder) = match layout.image {
            Some(image) => {
                let conv = ConvEncoder::new(&(&root / "encoder"), image, true)?;
                let head = Linear::new(
                    &(&root / "encoder" / "head"),
                    conv.output_width() + classes,
                    2 * latent,
                )?;
                let decoder = ConvDecoder::new(&(&root / "decoder"), latent + classes, image)?;
                (Encoder::Conv(conv, head), Decoder::Conv(decoder))
            }
            None => (
                Encoder::Mlp(Mlp::new(&(&root / "encoder"), &layers[0])?),
                Decoder::Mlp(Mlp::new(&(&root / "decoder"), &layers[1])?),
            ),
        };
        let normal = layout.blocks.normal;
        let log_sigma = (normal > 0)
            .then(|| {
                (&root / "decoder").f_var(
                    "log_sigma",
                    &[normal],
                    tch::nn::Init::Const(INITIAL_SIGMA.ln()),
                )
            })
            .transpose()?;
        let presence = if layout.blocks.presence.is_empty() {
            None
        } else {
            let (values, present): (Vec<i64>, Vec<i64>) =
                layout.blocks.presence.iter().copied().unzip();
            Some((
                Tensor::f_from_slice(&values)?.f_to_device(device)?,
                Tensor::f_from_slice(&present)?.f_to_device(device)?,
            ))
        };
        let mut offset = root.f_zeros_no_train("anomaly_offset", &[1])?;
        let _ = offset.f_fill_(f64::NAN)?;
        let prior = LatentPrior::new(&(&root / PRIOR_PATH), classes, latent)?;
        let (budget, default_lr) = match decoder {
            Decoder::Mlp(_) => (profile.mlp_budget, profile.lr),
            Decoder::Conv(_) => (
                Budget {
                    steps: CONV_STEPS,
                    decays: false,
                    ..profile.mlp_budget
                },
                CONV_LR,
            ),
        };
        Ok(Vae {
            vs,
            encoder,
            decoder,
            latent_dim: latent,
            beta: config.beta,
            free_bits: config.free_bits.unwrap_or(profile.free_bits),
            budget,
            default_lr,
            blocks: layout.blocks.clone(),
            presence,
            log_sigma,
            offset,
            prior,
            contamination: config.contamination,
            adam: None,
            hand_step: None,
        })
    }

    fn start_training(&mut self, lr: Option<f64>) -> Result<()> {
        let lr = lr.unwrap_or(self.default_lr);
        let adam = Adam::new(trainable_under(&self.vs, ""), lr, 0.9, 0.999)?;
        self.hand_step = match (&self.encoder, &self.decoder) {
            (Encoder::Mlp(encoder), Decoder::Mlp(decoder)) if self.blocks.is_all_unit() => {
                HandStep::new(encoder, decoder, &adam)?
            }
            _ => None,
        };
        self.adam = Some(adam);
        Ok(())
    }

    fn set_lr(&mut self, lr: f64) {
        if let Some(adam) = &mut self.adam {
            adam.set_lr(lr);
        }
    }

    fn generate_each(
        &self,
        n: i64,
        classes: Option<&Tensor>,
        each: &mut dyn FnMut(Tensor) -> Result<()>,
    ) -> Result<()> {
        let _guard = tch::no_grad_guard();
        let noise = rng::normal(&[n, self.latent_dim], self.vs.device())?;
        let logits = |noise: &Tensor, c: Option<&Tensor>| {
            let input = with_classes(&self.prior.draw(noise, c)?, c)?;
            match &self.decoder {
                Decoder::Mlp(mlp) => mlp_by_hand::infer(mlp, &input),
                Decoder::Conv(conv) => conv.forward(&input, false),
            }
        };
        if self.blocks.normal == 0 {
            // Nothing is drawn after the noise: block by block.
            return for_row_blocks(&noise, classes, |noise, c| {
                each(self.decode_rows_from_logits(&logits(noise, c)?, true)?)
            });
        }
        // The normal scores' spread is drawn over all rows at once, so that blocks do not
        // change the stream.
        let logits = in_row_blocks(&noise, classes, logits)?;
        each(self.decode_rows_from_logits(&logits, true)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{fit, FitOptions, Run, Unmonitored};

    fn layout(width: usize, n_classes: usize) -> Layout {
        Layout {
            sample_shape: vec![width],
            n_classes,
            image: None,
            blocks: Blocks::all_unit(width as i64),
        }
    }

    #[test]
    fn elbo_terms_are_non_negative() {
        let terms = rng::with_seed(0, || {
            let vae = Vae::build(&VaeConfig::default(), &layout(4, 0), Device::Cpu)?;
            let x = rng::uniform(&[3, 4], 0.0, 1.0, Device::Cpu)?;
            vae.elbo_terms(&x, None, false, false)
        })
        .unwrap();
        assert_eq!(terms.kl.size(), vec![3]);
        assert!(f64::try_from(terms.kl.min()).unwrap() >= 0.0);
        assert!(f64::try_from(terms.reconstruction.min()).unwrap() >= 0.0);
    }

    #[test]
    fn the_hand_written_step_has_autograd_s_gradients_and_figures() {
        let x = rng::with_seed(3, || rng::uniform(&[12, 5], 0.0, 1.0, Device::Cpu)).unwrap();
        // Some values at the ends of the range, as images have.
        let _ = x.narrow(1, 0, 1).narrow(0, 0, 6).fill_(0.0);
        let _ = x.narrow(1, 1, 1).narrow(0, 6, 6).fill_(1.0);
        let labels = Tensor::from_slice(&[0i64, 1, 2]).repeat([4]);
        let onehot = labels.one_hot(3).to_kind(Kind::Float);
        // Free bits at 0 charge every latent dimension; at 1000 none.
        for (classes, free_bits) in [(None, 0.0), (Some(&onehot), 0.0), (Some(&onehot), 1e3)] {
            let config = VaeConfig {
                latent_dim: 3,
                hidden: Some(vec![16, 8]),
                beta: 0.7,
                free_bits: Some(free_bits),
                ..Default::default()
            };
            let k = classes.map_or(0, |c| c.size()[1] as usize);
            let mut vae =
                rng::with_seed(0, || Vae::build(&config, &layout(5, k), Device::Cpu)).unwrap();
            vae.start_training(None).unwrap();
            let loss = HandLoss {
                latent: 3,
                beta: 0.7,
                free_bits,
            };
            let hand = vae
                .hand_step
                .as_mut()
                .expect("an MLP on unit rows takes the hand step");
            let figures = rng::with_seed(1, || hand.gradients(&x, classes, loss)).unwrap();
            let adam = vae.adam.as_ref().unwrap();
            let written: Vec<(String, Tensor)> = adam
                .gradient_views()
                .unwrap()
                .into_iter()
                .map(|(name, view)| (name, view.copy()))
                .collect();
            let (loss, reconstruction, kl) =
                rng::with_seed(1, || vae.training_loss(&x, classes)).unwrap();
            let params = trainable_under(&vae.vs, "");
            let tensors: Vec<&Tensor> = params.iter().map(|(_, t)| t).collect();
            let grads = Tensor::run_backward(&[&loss], &tensors, false, false);
            assert_eq!(written.len(), params.len());
            for ((name, expected), (written_name, got)) in
                params.iter().map(|(n, _)| n).zip(&grads).zip(&written)
            {
                assert_eq!(name, written_name);
                let got = got.view_as(expected);
                assert!(
                    got.allclose(expected, 1e-4, 1e-6, false),
                    "{name}: {got} against {expected}"
                );
            }
            for (got, expected) in [
                (figures.loss, loss),
                (figures.reconstruction, reconstruction),
                (figures.kl, kl),
            ] {
                let expected = f64::try_from(expected).unwrap();
                assert!((got - expected).abs() < 1e-5 * expected.abs().max(1.0));
            }
        }
    }

    #[test]
    fn a_step_leaves_out_what_the_figure_offsets_add_back() {
        // Two unit values, the second with a missing-value indicator (slots 2-3, "present" at
        // 3): present in the first row, absent (a placeholder) in the second.
        let blocks = Blocks {
            unit: 2,
            normal: 0,
            categorical: vec![2],
            presence: vec![(1, 3)],
        };
        let layout = Layout {
            blocks,
            ..layout(4, 0)
        };
        let x = Tensor::from_slice(&[0.3f32, 0.8, 0.0, 1.0, 0.6, 0.5, 1.0, 0.0]).view([2, 4]);
        let rows = Rows {
            x: x.shallow_clone(),
            classes: None,
        };
        let (from_best, plain, offsets) = rng::with_seed(0, || {
            let vae = Vae::build(&VaeConfig::default(), &layout, Device::Cpu)?;
            let terms = |measured| {
                let terms = vae.elbo_terms_measured(&x, None, false, false, measured)?;
                Ok::<_, Error>(f64::try_from(terms.reconstruction.mean(Kind::Double))?)
            };
            Ok::<_, Error>((
                terms(Measured::FromBest)?,
                terms(Measured::Plain)?,
                vae.figure_offsets(&rows, Some(&Tensor::from_slice(&[0i64, 0, 1])))?,
            ))
        })
        .unwrap();
        let entropy = |p: f64| p * p.ln() + (1.0 - p) * (1.0 - p).ln();
        let first = entropy(0.3) + entropy(0.8);
        let second = entropy(0.6);
        assert!((from_best - plain - (first + second) / 2.0).abs() < 1e-5);
        // The epoch's rows: the first twice, the second once.
        let expected = (2.0 * first + second) / 3.0;
        for name in ["loss", "reconstruction"] {
            let offset = offsets.iter().find(|o| o.0 == name).unwrap().1;
            assert!(
                (offset - expected).abs() < 1e-6,
                "{name}: {offset} {expected}"
            );
        }
    }

    #[test]
    fn training_lowers_the_loss_and_reconstructs_the_classes() {
        // The plain ELBO: the class alone explains each row, so the latent code goes unused.
        let config = VaeConfig {
            latent_dim: 2,
            hidden: Some(vec![32]),
            free_bits: Some(0.0),
            ..Default::default()
        };
        let mut vae =
            rng::with_seed(0, || Vae::build(&config, &layout(6, 2), Device::Cpu)).unwrap();
        vae.start_training(Some(1e-2)).unwrap();
        let labels = Tensor::from_slice(&[0i64, 1]).repeat([50]);
        let classes = labels.one_hot(2).to_kind(Kind::Float);
        let x = classes.repeat([1, 3]);
        let rows = Rows {
            x: x.shallow_clone(),
            classes: Some(classes.shallow_clone()),
        };
        let mut history = Vec::new();
        fit(
            &mut vae,
            &rows,
            Some(&rows),
            FitOptions::new(30, 16),
            &mut Run::new(0),
            &mut Unmonitored,
            &mut history,
        )
        .unwrap();
        assert!(history[29]["val_loss"] < 0.5 * history[0]["val_loss"]);
        assert!(
            history[29]["loss"] < 0.5 * history[0]["loss"],
            "{history:?}"
        );
        let out = rng::with_seed(0, || vae.generate(6, Some(&classes.narrow(0, 0, 6)))).unwrap();
        assert_eq!(out.size(), vec![6, 6]);
        let error = f64::try_from((out - x.narrow(0, 0, 6)).abs().max()).unwrap();
        assert!(error < 0.2, "{error}");
    }
    #[test]
    fn a_fit_centres_each_class_s_latent_prior_on_its_rows_codes() {
        let config = VaeConfig {
            latent_dim: 3,
            hidden: Some(vec![16]),
            ..Default::default()
        };
        let mut vae =
            rng::with_seed(1, || Vae::build(&config, &layout(4, 2), Device::Cpu)).unwrap();
        vae.start_training(None).unwrap();
        let labels = Tensor::from_slice(&[0i64, 1, 1]).repeat([40]);
        let classes = labels.one_hot(2).to_kind(Kind::Float);
        let x = rng::with_seed(2, || rng::uniform(&[120, 4], 0.0, 1.0, Device::Cpu)).unwrap();
        let rows = Rows {
            x: x.shallow_clone(),
            classes: Some(classes.shallow_clone()),
        };
        let unfitted = vae.prior.mean().copy();
        assert_eq!(
            f64::try_from(unfitted.abs().sum(Kind::Double)).unwrap(),
            0.0
        );
        fit(
            &mut vae,
            &rows,
            None,
            FitOptions::new(3, 16),
            &mut Run::new(0),
            &mut Unmonitored,
            &mut Vec::new(),
        )
        .unwrap();
        let (codes, _) = vae.encode(&x, Some(&classes), false).unwrap();
        for class in [0i64, 1] {
            let members = labels.eq(class).nonzero().squeeze_dim(1);
            let expected = codes
                .index_select(0, &members)
                .mean_dim(0, false, Kind::Float);
            let got = vae.prior.mean().get(class);
            assert!(
                got.allclose(&expected, 1e-4, 1e-5, false),
                "{got} {expected}"
            );
        }
        // A class's draws have its rows' mean code.
        let class_1 = classes.narrow(0, 1, 1).repeat([20_000, 1]);
        let noise = rng::with_seed(3, || rng::normal(&[20_000, 3], Device::Cpu)).unwrap();
        let drawn = vae.prior.draw(&noise, Some(&class_1)).unwrap();
        let drawn_mean = drawn.mean_dim(0, false, Kind::Float);
        let members = labels.eq(1).nonzero().squeeze_dim(1);
        let expected = codes
            .index_select(0, &members)
            .mean_dim(0, false, Kind::Float);
        let gap = f64::try_from((drawn_mean - expected).abs().max()).unwrap();
        assert!(gap < 0.05, "{gap}");
    }
}
