//! The MLP VAE's training step on the CPU, for rows of unit-range values, written out by hand:
//! the same forward pass, Bernoulli cross-entropy, free-bits KL term and backward pass that
//! autograd takes through [`crate::vae::Vae::elbo_terms`], as matrix products into buffers kept
//! from step to step and one loop for each element-wise stage, with every gradient written
//! straight into the optimiser's flat buffer. On small networks autograd's bookkeeping, the
//! allocations and the dozens of small element-wise operations of a step cost about as much as
//! its matrix products.

use crate::error::{Error, Result};
use crate::fused_adam;
use crate::nets::{Activation, Linear, Mlp};
use crate::optim::Adam;
use crate::rng;
use tch::{Device, Kind, Tensor};

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

/// One network's layers with their parts of the gradient buffer.
struct Layers {
    layers: Vec<(Tensor, Tensor)>,
    /// Each layer's weight and bias gradient: views into the optimiser's buffer.
    grads: Vec<(Tensor, Tensor)>,
}

impl Layers {
    fn new(mlp: &Mlp, prefix: &str, views: &[(String, Tensor)]) -> Result<Layers> {
        let find = |name: String| {
            views
                .iter()
                .find(|(known, _)| *known == name)
                .map(|(_, view)| view.shallow_clone())
                .ok_or_else(|| Error::Internal(format!("no gradient for {name}")))
        };
        let mut grads = Vec::new();
        for i in 0..mlp.layers().len() {
            grads.push((
                find(format!("{prefix}.{i}.weight"))?,
                find(format!("{prefix}.{i}.bias"))?,
            ));
        }
        let layers = mlp
            .layers()
            .iter()
            .map(|l: &Linear| (l.weight().shallow_clone(), l.bias().shallow_clone()))
            .collect();
        Ok(Layers { layers, grads })
    }

    /// Output widths, layer by layer.
    fn widths(&self) -> Vec<i64> {
        self.layers.iter().map(|(w, _)| w.size()[0]).collect()
    }

    /// Writes each hidden layer's ReLU output into `hidden` and the last layer's output into
    /// `out`.
    fn forward(&self, input: &Tensor, hidden: &[Tensor], out: &Tensor) -> Result<()> {
        let last = self.layers.len() - 1;
        for (i, (weight, bias)) in self.layers.iter().enumerate() {
            let previous = if i == 0 { input } else { &hidden[i - 1] };
            let target = if i == last { out } else { &hidden[i] };
            let _ = bias.f_addmm_out(target, previous, &weight.f_tr()?)?;
            if i < last {
                let _ = target.shallow_clone().f_relu_()?;
            }
        }
        Ok(())
    }

    /// Back from `out_grad` (the gradient of the last layer's output): every weight and bias
    /// gradient, each hidden layer's gradient into `hidden_grads` (through the ReLU), and the
    /// input's gradient into `input_grad` when given.
    fn backward(
        &self,
        input: &Tensor,
        hidden: &[Tensor],
        hidden_grads: &[Tensor],
        out_grad: &Tensor,
        input_grad: Option<&Tensor>,
    ) -> Result<()> {
        let last = self.layers.len() - 1;
        for i in (0..=last).rev() {
            let grad = if i == last {
                out_grad
            } else {
                &hidden_grads[i]
            };
            let previous = if i == 0 { input } else { &hidden[i - 1] };
            let (weight, _) = &self.layers[i];
            let (weight_grad, bias_grad) = &self.grads[i];
            let _ = grad.f_tr()?.f_mm_out(weight_grad, previous)?;
            let _ = grad.f_sum_intlist_out(bias_grad, [0i64].as_slice(), false, Kind::Float)?;
            if i > 0 {
                let _ = grad.f_mm_out(&hidden_grads[i - 1], weight)?;
                relu_backward(&hidden_grads[i - 1], &hidden[i - 1])?;
            } else if let Some(input_grad) = input_grad {
                let _ = grad.f_mm_out(input_grad, weight)?;
            }
        }
        Ok(())
    }
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
        let zeros = |width: i64| Tensor::f_zeros([rows, width], (Kind::Float, Device::Cpu));
        let hidden = |widths: &[i64]| -> Result<Vec<Tensor>> {
            let inner = &widths[..widths.len().saturating_sub(1)];
            Ok(inner
                .iter()
                .map(|&w| zeros(w))
                .collect::<std::result::Result<_, _>>()?)
        };
        let last = |widths: &[i64]| {
            widths
                .last()
                .copied()
                .ok_or_else(|| Error::Internal("a network without layers".into()))
        };
        Ok(Buffers {
            rows,
            input: zeros(input)?,
            encoder: hidden(encoder)?,
            encoder_grads: hidden(encoder)?,
            encoded: zeros(last(encoder)?)?,
            encoded_grad: zeros(last(encoder)?)?,
            decoder_input: zeros(decoder_input)?,
            decoder_input_grad: zeros(decoder_input)?,
            decoder: hidden(decoder)?,
            decoder_grads: hidden(decoder)?,
            logits: zeros(last(decoder)?)?,
        })
    }
}

/// The first `n` rows of each buffer.
fn first_rows(buffers: &[Tensor], n: i64) -> Result<Vec<Tensor>> {
    Ok(buffers
        .iter()
        .map(|b| b.f_narrow(0, 0, n))
        .collect::<std::result::Result<_, _>>()?)
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
        let applies = [encoder, decoder].iter().all(|mlp| {
            mlp.activation() == Activation::Relu
                && !mlp.layers().is_empty()
                && mlp
                    .layers()
                    .iter()
                    .all(|l| fused_adam::applies(&[l.weight(), l.bias()]))
        });
        if !applies {
            return Ok(None);
        }
        // Every parameter the optimiser steps must be a layer's weight or bias, so that the
        // step writes each of its gradients.
        let views = adam.gradient_views()?;
        let layers = encoder.layers().len() + decoder.layers().len();
        if views.len() != 2 * layers
            || views.iter().any(|(name, _)| {
                !(name.starts_with("encoder.") || name.starts_with("decoder."))
                    || !(name.ends_with(".weight") || name.ends_with(".bias"))
            })
        {
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
        let (Some(&[rows, width]), Some(&encoded_width)) = (
            x.size().get(..2).filter(|_| x.dim() == 2),
            self.encoder.widths().last(),
        ) else {
            return Err(Error::Internal(
                "the VAE step needs (rows, width) rows".into(),
            ));
        };
        let k = match classes {
            Some(c) if c.dim() == 2 && c.size()[0] == rows => c.size()[1],
            Some(_) => return Err(Error::Internal("classes must be (rows, classes)".into())),
            None => 0,
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
        let encoder = first_rows(&b.encoder, rows)?;
        let encoder_grads = first_rows(&b.encoder_grads, rows)?;
        let decoder = first_rows(&b.decoder, rows)?;
        let decoder_grads = first_rows(&b.decoder_grads, rows)?;
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
            .backward(&input, &encoder, &encoder_grads, &encoded_grad, None)?;

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

/// A contiguous CPU float32 tensor's values.
fn values(t: &Tensor) -> Result<&[f32]> {
    check(t)?;
    // SAFETY: `t` is a contiguous CPU float32 tensor of `numel` elements (checked), alive for
    // the borrow.
    Ok(unsafe { std::slice::from_raw_parts(t.data_ptr() as *const f32, t.numel()) })
}

/// A contiguous CPU float32 tensor's values, to write; the tensor must not be read through any
/// other slice while this one lives.
#[allow(clippy::mut_from_ref)]
fn values_mut(t: &Tensor) -> Result<&mut [f32]> {
    check(t)?;
    // SAFETY: as for `values`; callers pass buffers that no other live slice covers.
    Ok(unsafe { std::slice::from_raw_parts_mut(t.data_ptr() as *mut f32, t.numel()) })
}

fn check(t: &Tensor) -> Result<()> {
    if fused_adam::applies(&[t]) {
        Ok(())
    } else {
        Err(Error::Internal(
            "the hand-written VAE step needs contiguous CPU float32 tensors".into(),
        ))
    }
}

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

/// Zeroes `grad` where the ReLU's output `activation` is not positive.
fn relu_backward(grad: &Tensor, activation: &Tensor) -> Result<()> {
    let (grad, activation) = (values_mut(grad)?, values(activation)?);
    // A select rather than a conditional store, so that the loop vectorises.
    for (g, &a) in grad.iter_mut().zip(activation) {
        *g = if a <= 0.0 { 0.0 } else { *g };
    }
    Ok(())
}
