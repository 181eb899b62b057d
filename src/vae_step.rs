//! The MLP VAE's training step on the CPU, for rows of unit-range values, written out by hand
//! ([`crate::mlp_by_hand`]): the same forward pass, Bernoulli cross-entropy, free-bits KL term
//! and backward pass that autograd takes through [`crate::vae::Vae::elbo_terms`], as matrix
//! products into buffers kept from step to step and one loop for each element-wise stage, with
//! every gradient written straight into the optimiser's flat buffer. On small networks
//! autograd's bookkeeping, the allocations and the dozens of small element-wise operations of a
//! step cost about as much as its matrix products.

use crate::error::{Error, Result};
use crate::mlp_by_hand::{self, batch_shape, rows_of, zero, zeros, Layers};
use crate::nets::{Activation, Mlp};
use crate::optim::Adam;
use crate::rng;
use crate::tensor_slices::{values, values_mut};
use tch::{Device, Tensor};

/// What a step needs besides the networks: `beta` and `free_bits` as the VAE has them.
#[derive(Debug, Clone, Copy)]
pub struct Loss {
    pub latent: i64,
    pub beta: f64,
    pub free_bits: f64,
}

/// A step's figures: the loss, its plain (cross-entropy) reconstruction term and the KL term,
/// each a mean over the batch's rows.
#[derive(Debug, Clone, Copy)]
pub struct Figures {
    pub loss: f64,
    pub reconstruction: f64,
    pub kl: f64,
}

/// Buffers for one step's activations and their gradients, for up to `rows` rows (a smaller
/// batch uses their first rows).
struct Buffers {
    rows: i64,
    input: Tensor,
    encoder: Vec<Tensor>,
    encoder_grads: Vec<Tensor>,
    encoded: Tensor,
    encoded_grad: Tensor,
    decoder_input: Tensor,
    decoder_input_grad: Tensor,
    decoder: Vec<Tensor>,
    decoder_grads: Vec<Tensor>,
    /// The decoder's logits, then their gradient.
    logits: Tensor,
}

impl Buffers {
    /// For networks whose layers have these output widths (`encoder`, `decoder`: at least one
    /// layer each).
    fn new(
        rows: i64,
        input: i64,
        encoder: &[i64],
        decoder_input: i64,
        decoder: &[i64],
    ) -> Result<Self> {
        let one = |width: i64| zero(rows, width);
        let hidden = |widths: &[i64]| zeros(rows, &widths[..widths.len().saturating_sub(1)]);
        let last = |widths: &[i64]| {
            widths
                .last()
                .copied()
                .ok_or_else(|| Error::Internal("a network without layers".into()))
        };
        Ok(Buffers {
            rows,
            input: one(input)?,
            encoder: hidden(encoder)?,
            encoder_grads: hidden(encoder)?,
            encoded: one(last(encoder)?)?,
            encoded_grad: one(last(encoder)?)?,
            decoder_input: one(decoder_input)?,
            decoder_input_grad: one(decoder_input)?,
            decoder: hidden(decoder)?,
            decoder_grads: hidden(decoder)?,
            logits: one(last(decoder)?)?,
        })
    }
}

/// The MLP VAE's step by hand, with what it keeps between steps.
pub struct HandStep {
    encoder: Layers,
    decoder: Layers,
    buffers: Option<Buffers>,
}

impl HandStep {
    /// For this encoder and decoder (ReLU MLPs on the CPU, float32) trained by `adam`; `None`
    /// where the step does not apply.
    pub fn new(encoder: &Mlp, decoder: &Mlp, adam: &Adam) -> Result<Option<HandStep>> {
        let relu = |mlp: &Mlp| mlp.activation() == Activation::Relu && mlp_by_hand::applies(mlp);
        if !(relu(encoder) && relu(decoder)) {
            return Ok(None);
        }
        // Every parameter the optimiser steps must be a layer's weight or bias, so that the
        // step writes each of its gradients.
        let views = adam.gradient_views()?;
        if !mlp_by_hand::covers(&views, &[(encoder, "encoder"), (decoder, "decoder")]) {
            return Ok(None);
        }
        Ok(Some(HandStep {
            encoder: Layers::new(encoder, "encoder", &views)?,
            decoder: Layers::new(decoder, "decoder", &views)?,
            buffers: None,
        }))
    }

    /// Buffers for at least `rows` rows of these input widths, made anew when the kept ones
    /// are too small.
    fn buffers(&mut self, rows: i64, input: i64, decoder_input: i64) -> Result<&Buffers> {
        let buffers = match self.buffers.take() {
            Some(kept)
                if kept.rows >= rows
                    && kept.input.size()[1] == input
                    && kept.decoder_input.size()[1] == decoder_input =>
            {
                kept
            }
            _ => Buffers::new(
                rows,
                input,
                &self.encoder.widths(),
                decoder_input,
                &self.decoder.widths(),
            )?,
        };
        Ok(self.buffers.insert(buffers))
    }

    /// Writes the gradient of the training loss on rows `x` `(B, D)` (with one-hot `classes`)
    /// into the optimiser's buffer and returns the step's figures; the caller then steps the
    /// optimiser. Draws the latent noise as the autograd step does.
    pub fn gradients(
        &mut self,
        x: &Tensor,
        classes: Option<&Tensor>,
        loss: Loss,
    ) -> Result<Figures> {
        let _guard = tch::no_grad_guard();
        let (rows, width, k) = batch_shape(x, classes, "VAE")?;
        let Some(&encoded_width) = self.encoder.widths().last() else {
            return Err(Error::Internal("an encoder without layers".into()));
        };
        let latent = loss.latent;
        if encoded_width != 2 * latent {
            return Err(Error::Internal(format!(
                "the encoder gives {encoded_width} values a row, not 2 x {latent}"
            )));
        }
        let x = x.f_contiguous()?;
        let b = self.buffers(rows, width + k, latent + k)?;
        let input = match classes {
            Some(c) => {
                let input = b.input.f_narrow(0, 0, rows)?;
                let _ = Tensor::f_cat_out(&input, &[&x, c], 1)?;
                input
            }
            None => x.shallow_clone(),
        };
        let encoder = rows_of(&b.encoder, 0, rows)?;
        let encoder_grads = rows_of(&b.encoder_grads, 0, rows)?;
        let decoder = rows_of(&b.decoder, 0, rows)?;
        let decoder_grads = rows_of(&b.decoder_grads, 0, rows)?;
        let encoded = b.encoded.f_narrow(0, 0, rows)?;
        let encoded_grad = b.encoded_grad.f_narrow(0, 0, rows)?;
        let decoder_input = b.decoder_input.f_narrow(0, 0, rows)?;
        let decoder_input_grad = b.decoder_input_grad.f_narrow(0, 0, rows)?;
        let logits = b.logits.f_narrow(0, 0, rows)?;

        self.encoder.forward(&input, &encoder, &encoded)?;
        let noise = rng::normal(&[rows, latent], Device::Cpu)?;
        if let Some(c) = classes {
            decoder_input.f_narrow(1, latent, k)?.f_copy_(c)?;
        }
        let kl_means = reparameterise(&encoded, &noise, &decoder_input, latent)?;
        self.decoder.forward(&decoder_input, &decoder, &logits)?;
        let cross_entropy = bernoulli_loss_and_gradient(&logits, &x)?;

        self.decoder.backward(
            &decoder_input,
            &decoder,
            &decoder_grads,
            &logits,
            true,
            Some(&decoder_input_grad),
        )?;
        // Each dimension's batch-mean KL is charged for at least `free_bits`: its gradient
        // flows only where the mean is at or above the floor (as clamp_min's does).
        let charged: Vec<f32> = kl_means
            .iter()
            .map(|&m| {
                if m >= loss.free_bits {
                    (loss.beta / rows as f64) as f32
                } else {
                    0.0
                }
            })
            .collect();
        latent_backward(
            &encoded,
            &noise,
            &decoder_input_grad,
            &encoded_grad,
            &charged,
            latent,
        )?;
        self.encoder
            .backward(&input, &encoder, &encoder_grads, &encoded_grad, true, None)?;

        let reconstruction = cross_entropy / rows as f64;
        let kl: f64 = kl_means.iter().sum();
        let penalty: f64 = kl_means.iter().map(|m| m.max(loss.free_bits)).sum();
        Ok(Figures {
            loss: reconstruction + loss.beta * penalty,
            reconstruction,
            kl,
        })
    }
}

/// The log-variance as the encoder gives it is held in this range, as [`crate::vae`] holds it.
const LOGVAR_BOUND: f32 = crate::vae::LOGVAR_BOUND as f32;

/// `z = mean + exp(logvar / 2) * noise` into the first `latent` columns of `decoder_input`,
/// from the encoder's `(B, 2 * latent)` output; returns each latent dimension's batch-mean KL
/// term, `-(1 + logvar - mean^2 - exp(logvar)) / 2`.
fn reparameterise(
    encoded: &Tensor,
    noise: &Tensor,
    decoder_input: &Tensor,
    latent: i64,
) -> Result<Vec<f64>> {
    let (encoded, noise, z) = (values(encoded)?, values(noise)?, values_mut(decoder_input)?);
    let latent = latent as usize;
    let z_width = z.len() / (noise.len() / latent).max(1);
    let rows = noise.len() / latent;
    let mut kl = vec![0f64; latent];
    for r in 0..rows {
        let row = &encoded[r * 2 * latent..(r + 1) * 2 * latent];
        for j in 0..latent {
            let mean = row[j];
            let logvar = row[latent + j].clamp(-LOGVAR_BOUND, LOGVAR_BOUND);
            let variance = logvar.exp();
            z[r * z_width + j] = mean + (0.5 * logvar).exp() * noise[r * latent + j];
            kl[j] += f64::from(-0.5 * (1.0 + logvar - mean * mean - variance));
        }
    }
    Ok(kl.into_iter().map(|s| s / rows.max(1) as f64).collect())
}

/// The summed Bernoulli cross-entropy of `x` under `logits`, whose buffer then holds its
/// gradient divided by the rows (the loss is a mean over rows).
fn bernoulli_loss_and_gradient(logits: &Tensor, x: &Tensor) -> Result<f64> {
    let rows = logits.size()[0].max(1) as f32;
    let (logits, x) = (values_mut(logits)?, values(x)?);
    let mut total = 0f64;
    for (l, &t) in logits.iter_mut().zip(x) {
        // max(l, 0) - l t + log(1 + exp(-|l|)); its derivative is sigmoid(l) - t.
        let e = (-l.abs()).exp();
        total += f64::from(l.max(0.0) - *l * t + e.ln_1p());
        let sigmoid = if *l >= 0.0 {
            1.0 / (1.0 + e)
        } else {
            e / (1.0 + e)
        };
        *l = (sigmoid - t) / rows;
    }
    Ok(total)
}

/// The gradient of the encoder's output from the decoder input's (through z) and the charged
/// KL terms' (`charged[j]`: beta / B where dimension j is charged, else 0).
fn latent_backward(
    encoded: &Tensor,
    noise: &Tensor,
    decoder_input_grad: &Tensor,
    encoded_grad: &Tensor,
    charged: &[f32],
    latent: i64,
) -> Result<()> {
    let (encoded, noise) = (values(encoded)?, values(noise)?);
    let (z_grad, grad) = (values(decoder_input_grad)?, values_mut(encoded_grad)?);
    let latent = latent as usize;
    let rows = noise.len() / latent;
    let z_width = z_grad.len() / rows.max(1);
    for r in 0..rows {
        for j in 0..latent {
            let (mean, raw) = (
                encoded[r * 2 * latent + j],
                encoded[r * 2 * latent + latent + j],
            );
            let logvar = raw.clamp(-LOGVAR_BOUND, LOGVAR_BOUND);
            let dz = z_grad[r * z_width + j];
            let mean_grad = dz + charged[j] * mean;
            let logvar_grad = dz * noise[r * latent + j] * 0.5 * (0.5 * logvar).exp()
                + charged[j] * 0.5 * (logvar.exp() - 1.0);
            // clamp passes the gradient only inside its bounds.
            let inside = (-LOGVAR_BOUND..=LOGVAR_BOUND).contains(&raw);
            grad[r * 2 * latent + j] = mean_grad;
            grad[r * 2 * latent + latent + j] = if inside { logvar_grad } else { 0.0 };
        }
    }
    Ok(())
}
