//! The MLP GAN's training step on the CPU, for rows of unit-range values, written out by hand
//! ([`crate::mlp_by_hand`]): the discriminator's step (BCE, or the Wasserstein loss with its
//! gradient penalty, second-order term included) and the generator's, the same losses and
//! gradients that autograd takes through [`crate::gan::Gan`], with every gradient written
//! straight into the optimisers' flat buffers.
//!
//! The discriminator sees each row beside its batch's mean, so a row's input gradient is its
//! own part plus the mean over the batch of the mean part. The gradient penalty
//! `(||d critic / d x|| - 1)^2` differentiates the critic's input gradient: with (leaky) ReLU
//! slopes constant between kinks, that gradient is a product of the weights and the slopes,
//! and its derivative by each weight is one more pass of the penalty's input-space gradient
//! forwards through the same layers and slopes (see [`HandStep::penalty_gradients`]).

use crate::error::{Error, Result};
use crate::gan::GanLoss;
use crate::mlp_by_hand::{self, activation_backward, batch_shape, rows_of, zero, zeros, Layers};
use crate::nets::{Activation, Mlp};
use crate::optim::Adam;
use crate::rng;
use crate::tensor_slices::{values, values_mut};
use tch::{Device, Tensor};

/// What a step needs besides the networks.
#[derive(Debug, Clone, Copy)]
pub struct Loss {
    pub kind: GanLoss,
    pub latent: i64,
    pub gp_lambda: f64,
}

/// A discriminator step's figures, means over the batch: its loss, the generator's loss on the
/// batch's fakes before the step, and for WGAN-GP the Wasserstein estimate and the penalty.
#[derive(Debug, Clone, Copy)]
pub struct Figures {
    pub d_loss: f64,
    pub g_loss: f64,
    pub wasserstein: f64,
    pub gradient_penalty: f64,
}

/// Buffers for one step, for up to `rows` rows of a batch (a smaller batch uses their first
/// rows).
struct Buffers {
    rows: i64,
    generator_input: Tensor,
    generator: Vec<Tensor>,
    generator_grads: Vec<Tensor>,
    /// The generator's rows in [-1, 1] (after its tanh).
    fake: Tensor,
    /// The generator's loss's gradient by its last layer's output (before the tanh).
    fake_grad: Tensor,
    /// The discriminator's inputs: real rows, fake rows and (WGAN-GP) interpolates, one block
    /// of `rows` each.
    critic_input: Tensor,
    critic: Vec<Tensor>,
    critic_grads: Vec<Tensor>,
    critic_out: Tensor,
    critic_out_grad: Tensor,
    input_grad: Tensor,
    /// The penalty's gradient by the critic's input, then its passes through the layers.
    penalty_input: Tensor,
    penalty: Vec<Tensor>,
}

impl Buffers {
    fn new(rows: i64, generator_input: i64, generator: &[i64], critic: &[i64]) -> Result<Self> {
        let inner = |widths: &[i64]| widths[..widths.len().saturating_sub(1)].to_vec();
        let (&[critic_in, ..], Some(&width)) = (critic, generator.last()) else {
            return Err(Error::Internal("a network without layers".into()));
        };
        let critic_widths = inner(&critic[1..]);
        Ok(Buffers {
            rows,
            generator_input: zero(rows, generator_input)?,
            generator: zeros(rows, &inner(generator))?,
            generator_grads: zeros(rows, &inner(generator))?,
            fake: zero(rows, width)?,
            fake_grad: zero(rows, width)?,
            critic_input: zero(3 * rows, critic_in)?,
            critic: zeros(3 * rows, &critic_widths)?,
            critic_grads: zeros(3 * rows, &critic_widths)?,
            critic_out: zero(3 * rows, 1)?,
            critic_out_grad: zero(3 * rows, 1)?,
            input_grad: zero(rows, critic_in)?,
            penalty_input: zero(rows, critic_in)?,
            penalty: zeros(rows, &critic_widths)?,
        })
    }
}

/// The MLP GAN's step by hand, with what it keeps between steps.
pub struct HandStep {
    generator: Layers,
    critic: Layers,
    buffers: Option<Buffers>,
    /// The number of rows and of classes of the batch whose fakes are in the buffers.
    batch: Option<(i64, i64)>,
}

impl HandStep {
    /// For this generator (ReLU) and discriminator (LeakyReLU), MLPs on the CPU in float32,
    /// trained by these optimisers; `None` where the step does not apply.
    pub fn new(
        generator: &Mlp,
        critic: &Mlp,
        generator_adam: &Adam,
        critic_adam: &Adam,
    ) -> Result<Option<HandStep>> {
        if !(generator.activation() == Activation::Relu
            && critic.activation() == Activation::LeakyRelu
            && mlp_by_hand::applies(generator)
            && mlp_by_hand::applies(critic))
        {
            return Ok(None);
        }
        let generator_views = generator_adam.gradient_views()?;
        let critic_views = critic_adam.gradient_views()?;
        if !(mlp_by_hand::covers(&generator_views, &[(generator, "generator")])
            && mlp_by_hand::covers(&critic_views, &[(critic, "discriminator")]))
        {
            return Ok(None);
        }
        Ok(Some(HandStep {
            generator: Layers::new(generator, "generator", &generator_views)?,
            critic: Layers::new(critic, "discriminator", &critic_views)?,
            buffers: None,
            batch: None,
        }))
    }

    /// Buffers for at least `rows` rows, made anew when the kept ones are too small or were
    /// made for another number of classes.
    fn make_room(&mut self, rows: i64, generator_input: i64) -> Result<()> {
        let buffers = match self.buffers.take() {
            Some(kept)
                if kept.rows >= rows && kept.generator_input.size()[1] == generator_input =>
            {
                kept
            }
            _ => {
                let generator = self.generator.widths();
                let mut critic = vec![self.critic.weight(0).size()[1]];
                critic.extend(self.critic.widths());
                Buffers::new(rows, generator_input, &generator, &critic)?
            }
        };
        self.buffers = Some(buffers);
        Ok(())
    }

    fn kept(&self) -> Result<&Buffers> {
        self.buffers
            .as_ref()
            .ok_or_else(|| Error::Internal("the GAN step's buffers are not made".into()))
    }

    /// Writes the discriminator's gradient for model-space rows `x` `(B, D)` of unit values
    /// (with one-hot `classes`) against as many fakes into its optimiser's buffer and returns
    /// the step's figures; the caller then steps that optimiser. Draws the latent noise (and
    /// WGAN-GP's interpolation weights) as the autograd step does.
    pub fn critic_gradients(
        &mut self,
        x: &Tensor,
        classes: Option<&Tensor>,
        loss: Loss,
    ) -> Result<Figures> {
        let _guard = tch::no_grad_guard();
        self.batch = None;
        let (rows, width, k) = batch_shape(x, classes, "GAN")?;
        let critic_in = self.critic.weight(0).size()[1];
        if self.generator.widths().last() != Some(&width) || critic_in != 2 * width + k {
            return Err(Error::Internal(format!(
                "the GAN's networks do not fit rows of {width} values and {k} classes"
            )));
        }
        let x = x.f_contiguous()?;
        let classes = classes.map(|c| c.f_contiguous()).transpose()?;
        self.make_room(rows, loss.latent + k)?;
        let b = self.kept()?;
        let z = rng::normal(&[rows, loss.latent], Device::Cpu)?;
        let generator_input = b.generator_input.f_narrow(0, 0, rows)?;
        match &classes {
            Some(c) => {
                let _ = Tensor::f_cat_out(&generator_input, &[&z, c], 1)?;
            }
            None => generator_input.shallow_clone().f_copy_(&z)?,
        }
        let fake = b.fake.f_narrow(0, 0, rows)?;
        self.generator
            .forward(&generator_input, &rows_of(&b.generator, 0, rows)?, &fake)?;
        let _ = fake.shallow_clone().f_tanh_()?;

        let wgan = loss.kind == GanLoss::WganGp;
        let parts = if wgan { 3 } else { 2 };
        let c = classes.as_ref().map(values).transpose()?;
        let input = b.critic_input.f_narrow(0, 0, parts * rows)?;
        {
            let (input, x, fake) = (values_mut(&input)?, values(&x)?, values(&fake)?);
            let block = (rows * (2 * width + k)) as usize;
            let (real_part, rest) = input.split_at_mut(block);
            let (fake_part, mixed_part) = rest.split_at_mut(block);
            let (w, k) = (width as usize, k as usize);
            critic_rows(real_part, w, k, c, |i| 2.0 * x[i] - 1.0);
            critic_rows(fake_part, w, k, c, |i| fake[i]);
            if wgan {
                let t = rng::uniform(&[rows, 1], 0.0, 1.0, Device::Cpu)?;
                let t = values(&t)?;
                critic_rows(mixed_part, w, k, c, |i| {
                    let t = t[i / w];
                    (2.0 * x[i] - 1.0) * t + fake[i] * (1.0 - t)
                });
            }
        }
        let hidden = rows_of(&b.critic, 0, parts * rows)?;
        let out = b.critic_out.f_narrow(0, 0, parts * rows)?;
        self.critic.forward(&input, &hidden, &out)?;

        let n = rows as usize;
        let out_grad = b.critic_out_grad.f_narrow(0, 0, parts * rows)?;
        let mut figures = {
            let (out, grad) = (values(&out)?, values_mut(&out_grad)?);
            let (real_out, fake_out) = (&out[..n], &out[n..2 * n]);
            let mean = |v: &[f32]| v.iter().map(|&o| f64::from(o)).sum::<f64>() / n as f64;
            let softplus_mean = |v: &[f32], sign: f32| {
                v.iter().map(|&o| softplus(sign * o)).sum::<f64>() / n as f64
            };
            let scale = 1.0 / n as f32;
            match loss.kind {
                GanLoss::Bce => {
                    for (g, &o) in grad.iter_mut().zip(real_out) {
                        *g = (sigmoid(o) - 1.0) * scale;
                    }
                    for (g, &o) in grad[n..2 * n].iter_mut().zip(fake_out) {
                        *g = sigmoid(o) * scale;
                    }
                    let g_loss = softplus_mean(fake_out, -1.0);
                    Figures {
                        d_loss: softplus_mean(real_out, -1.0) + softplus_mean(fake_out, 1.0),
                        g_loss,
                        wasserstein: f64::NAN,
                        gradient_penalty: f64::NAN,
                    }
                }
                GanLoss::WganGp => {
                    grad[..n].fill(-scale);
                    grad[n..2 * n].fill(scale);
                    // The penalty's pass: the critic's input gradient of each interpolate.
                    grad[2 * n..].fill(1.0);
                    let wasserstein = mean(real_out) - mean(fake_out);
                    Figures {
                        d_loss: -wasserstein,
                        g_loss: -mean(fake_out),
                        wasserstein,
                        gradient_penalty: 0.0,
                    }
                }
            }
        };
        self.critic.backward(
            &input.f_narrow(0, 0, 2 * rows)?,
            &rows_of(&hidden, 0, 2 * rows)?,
            &rows_of(&b.critic_grads, 0, 2 * rows)?,
            &out_grad.f_narrow(0, 0, 2 * rows)?,
            true,
            None,
        )?;
        if wgan {
            let penalty = self.penalty_gradients(rows, width, k, loss.gp_lambda)?;
            figures.gradient_penalty = penalty;
            figures.d_loss += loss.gp_lambda * penalty;
        }
        self.batch = Some((rows, k));
        Ok(figures)
    }

    /// Adds the gradient of `lambda` times the penalty on the interpolates (the third block of
    /// the critic's buffers, already run forwards) to the critic's weight gradients, and
    /// returns the penalty. Layers counted from 0: with `d_i` the gradient of the critic's
    /// output by layer `i`'s pre-activation (`d_last` = 1; `d_i = (d_(i+1) W_(i+1)) * slope_i`),
    /// the input gradient is `g = d_0 W_0`, and the penalty's gradient by `W_i` is `d_i^T r_i`,
    /// where `r_0` is the penalty's gradient by `g` and `r_(i+1) = (r_i W_i^T) * slope_i`.
    /// Biases do not enter `g`.
    fn penalty_gradients(&self, rows: i64, width: i64, k: i64, lambda: f64) -> Result<f64> {
        let b = self.kept()?;
        let mixed = |t: &Tensor| t.f_narrow(0, 2 * rows, rows);
        let hidden = rows_of(&b.critic, 2 * rows, rows)?;
        let deltas = rows_of(&b.critic_grads, 2 * rows, rows)?;
        let ones = mixed(&b.critic_out_grad)?;
        let input_grad = b.input_grad.f_narrow(0, 0, rows)?;
        self.critic.backward(
            &mixed(&b.critic_input)?,
            &hidden,
            &deltas,
            &ones,
            false,
            Some(&input_grad),
        )?;
        let r = b.penalty_input.f_narrow(0, 0, rows)?;
        let penalty = {
            let (input_grad, r) = (values(&input_grad)?, values_mut(&r)?);
            let (n, w, k) = (rows as usize, width as usize, k as usize);
            let g = row_gradients(input_grad, n, w, k);
            let mut penalty = 0f64;
            let mut r_mean = vec![0f64; w];
            let stride = 2 * w + k;
            for (row, g) in g.chunks(w.max(1)).enumerate() {
                let norm = g
                    .iter()
                    .map(|&v| f64::from(v) * f64::from(v))
                    .sum::<f64>()
                    .sqrt();
                penalty += (norm - 1.0) * (norm - 1.0);
                // d/dg of mean (||g|| - 1)^2, with the norm's gradient 0 at 0 as libtorch's.
                let coef = if norm > 0.0 {
                    lambda * 2.0 * (norm - 1.0) / (norm * n as f64)
                } else {
                    0.0
                };
                let target = &mut r[row * stride..(row + 1) * stride];
                for j in 0..w {
                    let v = coef * f64::from(g[j]);
                    target[j] = v as f32;
                    r_mean[j] += v / n as f64;
                }
                target[2 * w..].fill(0.0);
            }
            for row in r.chunks_mut(stride) {
                for (target, &m) in row[w..2 * w].iter_mut().zip(&r_mean) {
                    *target = m as f32;
                }
            }
            penalty / n as f64
        };
        let last = self.critic.len() - 1;
        let mut r = r;
        for i in 0..=last {
            let delta = if i == last { &ones } else { &deltas[i] };
            let _ = self
                .critic
                .weight_grad(i)
                .shallow_clone()
                .f_addmm_(&delta.f_tr()?, &r)?;
            if i < last {
                let next = b.penalty[i].f_narrow(0, 0, rows)?;
                let _ = r.f_mm_out(&next, &self.critic.weight(i).f_tr()?)?;
                activation_backward(Activation::LeakyRelu, &next, &hidden[i])?;
                r = next;
            }
        }
        Ok(penalty)
    }

    /// After the discriminator stepped on the batch of [`HandStep::critic_gradients`]: writes
    /// the generator's gradient for that batch's fakes, judged by the stepped discriminator,
    /// into its optimiser's buffer; the caller then steps that optimiser.
    pub fn generator_gradients(&mut self, loss: Loss) -> Result<()> {
        let _guard = tch::no_grad_guard();
        let (rows, k) = self
            .batch
            .ok_or_else(|| Error::Internal("no batch for the generator's step".into()))?;
        let b = self.kept()?;
        let width = b.fake.size()[1];
        let input = b.critic_input.f_narrow(0, rows, rows)?;
        let hidden = rows_of(&b.critic, 0, rows)?;
        let out = b.critic_out.f_narrow(0, 0, rows)?;
        self.critic.forward(&input, &hidden, &out)?;
        let out_grad = b.critic_out_grad.f_narrow(0, 0, rows)?;
        {
            let (out, grad) = (values(&out)?, values_mut(&out_grad)?);
            let scale = 1.0 / rows as f32;
            for (g, &o) in grad.iter_mut().zip(out) {
                *g = match loss.kind {
                    GanLoss::Bce => (sigmoid(o) - 1.0) * scale,
                    GanLoss::WganGp => -scale,
                };
            }
        }
        let input_grad = b.input_grad.f_narrow(0, 0, rows)?;
        self.critic.backward(
            &input,
            &hidden,
            &rows_of(&b.critic_grads, 0, rows)?,
            &out_grad,
            false,
            Some(&input_grad),
        )?;
        let fake = b.fake.f_narrow(0, 0, rows)?;
        let fake_grad = b.fake_grad.f_narrow(0, 0, rows)?;
        {
            let (n, w) = (rows as usize, width as usize);
            let g = row_gradients(values(&input_grad)?, n, w, k as usize);
            // Through the tanh: d tanh(a) / da = 1 - tanh(a)^2.
            for ((target, &g), &f) in values_mut(&fake_grad)?
                .iter_mut()
                .zip(&g)
                .zip(values(&fake)?)
            {
                *target = g * (1.0 - f * f);
            }
        }
        self.generator.backward(
            &b.generator_input.f_narrow(0, 0, rows)?,
            &rows_of(&b.generator, 0, rows)?,
            &rows_of(&b.generator_grads, 0, rows)?,
            &fake_grad,
            true,
            None,
        )
    }
}

/// Writes the critic's input rows `[v, mean of v over the rows, classes]` into `target`
/// (rows of `2 w + k`), `v` given by `value(i)` for the `i`-th value of a `(rows, w)` block.
fn critic_rows(
    target: &mut [f32],
    w: usize,
    k: usize,
    classes: Option<&[f32]>,
    value: impl Fn(usize) -> f32,
) {
    let stride = 2 * w + k;
    let rows = target.len() / stride.max(1);
    let mut sums = vec![0f64; w];
    for r in 0..rows {
        let row = &mut target[r * stride..(r + 1) * stride];
        for j in 0..w {
            let v = value(r * w + j);
            row[j] = v;
            sums[j] += f64::from(v);
        }
        if let Some(c) = classes {
            row[2 * w..].copy_from_slice(&c[r * k..(r + 1) * k]);
        }
    }
    for r in 0..rows {
        for (target, &s) in target[r * stride + w..r * stride + 2 * w]
            .iter_mut()
            .zip(&sums)
        {
            *target = (s / rows as f64) as f32;
        }
    }
}

/// Each row's gradient `(rows, w)` from the critic's input gradient (rows of `2 w + k`): its
/// own part plus the mean over the rows of the batch-mean part, which every row enters.
fn row_gradients(input_grad: &[f32], rows: usize, w: usize, k: usize) -> Vec<f32> {
    let stride = 2 * w + k;
    let mut mean = vec![0f64; w];
    for row in input_grad.chunks(stride).take(rows) {
        for (m, &g) in mean.iter_mut().zip(&row[w..2 * w]) {
            *m += f64::from(g);
        }
    }
    let mut out = Vec::with_capacity(rows * w);
    for row in input_grad.chunks(stride).take(rows) {
        for (&g, &m) in row[..w].iter().zip(&mean) {
            out.push(g + (m / rows as f64) as f32);
        }
    }
    out
}

fn sigmoid(x: f32) -> f32 {
    let e = (-x.abs()).exp();
    if x >= 0.0 {
        1.0 / (1.0 + e)
    } else {
        e / (1.0 + e)
    }
}

/// `log(1 + exp(x))` without overflow.
fn softplus(x: f32) -> f64 {
    let x = f64::from(x);
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}
