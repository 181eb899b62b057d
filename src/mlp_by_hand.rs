//! An MLP's forward and backward passes written out by hand on the CPU, for the training steps
//! that skip autograd ([`crate::vae_step`], [`crate::gan_step`]): matrix products into buffers
//! kept from step to step, one Rust loop per activation, and every weight's and bias's
//! gradient written straight into the optimiser's flat buffer. On small networks autograd's
//! bookkeeping and allocations cost about as much as the matrix products.

use crate::error::{Error, Result};
use crate::fused_adam;
use crate::nets::{Activation, Linear, Mlp};
use tch::{Device, Kind, Tensor};

/// The slope of [`Activation::LeakyRelu`] below zero, as [`crate::nets::leaky_relu`] has it.
const LEAKY_SLOPE: f32 = 0.2;

/// One network's layers with their parts of the gradient buffer.
pub struct Layers {
    layers: Vec<(Tensor, Tensor)>,
    /// Each layer's weight and bias gradient: views into the optimiser's buffer.
    grads: Vec<(Tensor, Tensor)>,
    activation: Activation,
}

/// Whether an MLP's passes can be taken by hand: at least one layer, every weight and bias a
/// contiguous CPU float32 tensor.
pub fn applies(mlp: &Mlp) -> bool {
    !mlp.layers().is_empty()
        && mlp
            .layers()
            .iter()
            .all(|l| fused_adam::applies(&[l.weight(), l.bias()]))
}

/// Whether `views` (an optimiser's gradient views) are exactly the weights and biases of
/// layers under these prefixes, so that a hand-written step writes every gradient it steps.
pub fn covers(views: &[(String, Tensor)], mlps: &[(&Mlp, &str)]) -> bool {
    let layers: usize = mlps.iter().map(|(mlp, _)| mlp.layers().len()).sum();
    views.len() == 2 * layers
        && views.iter().all(|(name, _)| {
            mlps.iter()
                .any(|(_, prefix)| name.starts_with(&format!("{prefix}.")))
                && (name.ends_with(".weight") || name.ends_with(".bias"))
        })
}

impl Layers {
    /// `mlp`'s layers, named `{prefix}.{i}.weight` / `.bias` in `views`.
    pub fn new(mlp: &Mlp, prefix: &str, views: &[(String, Tensor)]) -> Result<Layers> {
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
        Ok(Layers {
            layers,
            grads,
            activation: mlp.activation(),
        })
    }

    /// Output widths, layer by layer.
    pub fn widths(&self) -> Vec<i64> {
        self.layers.iter().map(|(w, _)| w.size()[0]).collect()
    }

    /// Each layer's weight, `(out, in)`.
    pub fn weight(&self, i: usize) -> &Tensor {
        &self.layers[i].0
    }

    /// Each layer's weight gradient (a view into the optimiser's buffer).
    pub fn weight_grad(&self, i: usize) -> &Tensor {
        &self.grads[i].0
    }

    pub fn len(&self) -> usize {
        self.layers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// Writes each hidden layer's activation into `hidden` and the last layer's output into
    /// `out`.
    pub fn forward(&self, input: &Tensor, hidden: &[Tensor], out: &Tensor) -> Result<()> {
        let last = self.layers.len() - 1;
        for (i, (weight, bias)) in self.layers.iter().enumerate() {
            let previous = if i == 0 { input } else { &hidden[i - 1] };
            let target = if i == last { out } else { &hidden[i] };
            let _ = bias.f_addmm_out(target, previous, &weight.f_tr()?)?;
            if i < last {
                activate(self.activation, target)?;
            }
        }
        Ok(())
    }

    /// Back from `out_grad` (the gradient of the last layer's output): each hidden layer's
    /// gradient (before its activation) into `hidden_grads`, every weight and bias gradient
    /// when `weights`, and the input's gradient into `input_grad` when given.
    pub fn backward(
        &self,
        input: &Tensor,
        hidden: &[Tensor],
        hidden_grads: &[Tensor],
        out_grad: &Tensor,
        weights: bool,
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
            if weights {
                let (weight_grad, bias_grad) = &self.grads[i];
                let _ = grad.f_tr()?.f_mm_out(weight_grad, previous)?;
                let _ = grad.f_sum_intlist_out(bias_grad, [0i64].as_slice(), false, Kind::Float)?;
            }
            if i > 0 {
                let _ = grad.f_mm_out(&hidden_grads[i - 1], weight)?;
                activation_backward(self.activation, &hidden_grads[i - 1], &hidden[i - 1])?;
            } else if let Some(input_grad) = input_grad {
                let _ = grad.f_mm_out(input_grad, weight)?;
            }
        }
        Ok(())
    }
}

/// `(rows, width)` zeros on the CPU.
pub fn zero(rows: i64, width: i64) -> Result<Tensor> {
    Ok(Tensor::f_zeros([rows, width], (Kind::Float, Device::Cpu))?)
}

/// `(rows, width)` zeros on the CPU, one per width.
pub fn zeros(rows: i64, widths: &[i64]) -> Result<Vec<Tensor>> {
    widths.iter().map(|&w| zero(rows, w)).collect()
}

/// A batch's `(rows, width, classes)` from its `(rows, width)` values and optional
/// `(rows, classes)` one-hot classes; `step` names the step in the error.
pub fn batch_shape(x: &Tensor, classes: Option<&Tensor>, step: &str) -> Result<(i64, i64, i64)> {
    let Some(&[rows, width]) = x.size().get(..2).filter(|_| x.dim() == 2) else {
        return Err(Error::Internal(format!(
            "the {step} step needs (rows, width) rows"
        )));
    };
    let k = match classes {
        Some(c) if c.dim() == 2 && c.size()[0] == rows => c.size()[1],
        Some(_) => return Err(Error::Internal("classes must be (rows, classes)".into())),
        None => 0,
    };
    Ok((rows, width, k))
}

/// Rows `start..start + n` of each buffer.
pub fn rows_of(buffers: &[Tensor], start: i64, n: i64) -> Result<Vec<Tensor>> {
    Ok(buffers
        .iter()
        .map(|b| b.f_narrow(0, start, n))
        .collect::<std::result::Result<_, _>>()?)
}

/// A contiguous CPU float32 tensor's values.
pub(crate) fn values(t: &Tensor) -> Result<&[f32]> {
    check(t)?;
    if t.numel() == 0 {
        return Ok(&[]);
    }
    // SAFETY: `t` is a contiguous CPU float32 tensor of `numel` elements (checked), not empty
    // (so its data pointer is not null), alive for the borrow.
    Ok(unsafe { std::slice::from_raw_parts(t.data_ptr() as *const f32, t.numel()) })
}

/// A contiguous CPU float32 tensor's values, to write. Crate-private: its callers pass
/// buffers that no other live slice covers and that libtorch does not write while the slice
/// lives.
#[allow(clippy::mut_from_ref)]
pub(crate) fn values_mut(t: &Tensor) -> Result<&mut [f32]> {
    check(t)?;
    if t.numel() == 0 {
        return Ok(&mut []);
    }
    // SAFETY: as for `values`; callers pass buffers that no other live slice covers.
    Ok(unsafe { std::slice::from_raw_parts_mut(t.data_ptr() as *mut f32, t.numel()) })
}

fn check(t: &Tensor) -> Result<()> {
    if fused_adam::applies(&[t]) {
        Ok(())
    } else {
        Err(Error::Internal(
            "a hand-written step needs contiguous CPU float32 tensors".into(),
        ))
    }
}

/// The activation in place.
fn activate(activation: Activation, t: &Tensor) -> Result<()> {
    match activation {
        Activation::Relu => {
            let _ = t.shallow_clone().f_relu_()?;
        }
        Activation::LeakyRelu => {
            for v in values_mut(t)? {
                *v = if *v > 0.0 { *v } else { *v * LEAKY_SLOPE };
            }
        }
    }
    Ok(())
}

/// `grad` times the activation's slope at each value, read from its output `activation`
/// (which has the sign of its input).
pub fn activation_backward(activation: Activation, grad: &Tensor, output: &Tensor) -> Result<()> {
    let (grad, output) = (values_mut(grad)?, values(output)?);
    // Selects rather than conditional stores, so that the loops vectorise.
    match activation {
        Activation::Relu => {
            for (g, &a) in grad.iter_mut().zip(output) {
                *g = if a <= 0.0 { 0.0 } else { *g };
            }
        }
        Activation::LeakyRelu => {
            for (g, &a) in grad.iter_mut().zip(output) {
                *g = if a > 0.0 { *g } else { *g * LEAKY_SLOPE };
            }
        }
    }
    Ok(())
}
