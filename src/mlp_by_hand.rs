//! An MLP's forward and backward passes written out by hand on the CPU, for the training steps
//! that skip autograd ([`crate::vae_step`], [`crate::gan_step`]): matrix products into buffers
//! kept from step to step, one Rust loop per activation, and every weight's and bias's
//! gradient written straight into the optimiser's flat buffer. On small networks autograd's
//! bookkeeping and allocations cost about as much as the matrix products.

use crate::error::{Error, Result};
use crate::nets::{Activation, Linear, Mlp};
use crate::tensor_slices::{self, values, values_mut};
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
            .all(|l| tensor_slices::applies(l.weight()) && tensor_slices::applies(l.bias()))
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

/// `mlp`'s output for rows that need no gradient (generating), on the CPU: each product
/// without its bias, then the bias and the activation in one pass over it in place, where
/// libtorch's `addmm` first copies the bias into every row of its result and the activation
/// makes one more pass. The same values as `mlp.forward`, bit for bit, where MKL sums each
/// product in one part (layers of up to 384 inputs did, 512 did not: there the bias joins
/// after the first part and the last bit may differ). Other devices, or a network these
/// passes do not apply to, take `mlp.forward`.
pub fn infer(mlp: &Mlp, x: &Tensor) -> Result<Tensor> {
    if !applies(mlp) || x.device() != Device::Cpu || x.kind() != Kind::Float || x.dim() != 2 {
        return mlp.forward(x);
    }
    let last = mlp.layers().len() - 1;
    let mut h = x.shallow_clone();
    for (i, layer) in mlp.layers().iter().enumerate() {
        h = h.f_mm(&layer.weight().f_tr()?)?;
        if h.requires_grad() {
            return mlp.forward(x);
        }
        let activation = (i < last).then_some(mlp.activation());
        add_bias_and_activate(values_mut(&h)?, values(layer.bias())?, activation);
    }
    Ok(h)
}

/// Each row of `out` plus `bias`, then the activation, with torch's results for NaN and
/// signed zeros (ReLU keeps both, as `clamp_min` does).
fn add_bias_and_activate(out: &mut [f32], bias: &[f32], activation: Option<Activation>) {
    let rows = out.chunks_exact_mut(bias.len().max(1));
    match activation {
        None => rows.for_each(|row| row.iter_mut().zip(bias).for_each(|(v, b)| *v += b)),
        Some(Activation::Relu) => rows.for_each(|row| {
            for (v, b) in row.iter_mut().zip(bias) {
                let u = *v + b;
                *v = if u < 0.0 { 0.0 } else { u };
            }
        }),
        Some(Activation::LeakyRelu) => rows.for_each(|row| {
            for (v, b) in row.iter_mut().zip(bias) {
                *v = leaky(*v + b);
            }
        }),
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

/// The activation in place.
fn activate(activation: Activation, t: &Tensor) -> Result<()> {
    match activation {
        Activation::Relu => {
            let _ = t.shallow_clone().f_relu_()?;
        }
        Activation::LeakyRelu => {
            for v in values_mut(t)? {
                *v = leaky(*v);
            }
        }
    }
    Ok(())
}

/// [`Activation::LeakyRelu`] of one value.
#[inline]
fn leaky(v: f32) -> f32 {
    if v > 0.0 {
        v
    } else {
        v * LEAKY_SLOPE
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use tch::nn::VarStore;

    fn bits(t: &Tensor) -> Vec<u32> {
        Vec::<f32>::try_from(t.f_contiguous().unwrap().f_view([-1]).unwrap())
            .unwrap()
            .iter()
            .map(|v| v.to_bits())
            .collect()
    }

    #[test]
    fn inference_gives_the_forward_pass_to_the_bit() {
        for activation in [Activation::Relu, Activation::LeakyRelu] {
            for widths in [vec![42, 256, 256, 64], vec![7, 300, 100, 3], vec![5, 1]] {
                let vs = VarStore::new(Device::Cpu);
                let (mlp, x) = crate::rng::with_seed::<_, Error>(1, || {
                    let mlp = Mlp::with_activation(&vs.root(), &widths, activation)?;
                    Ok((mlp, crate::rng::normal(&[4099, widths[0]], Device::Cpu)?))
                })
                .unwrap();
                let _guard = tch::no_grad_guard();
                for rows in [0, 1, 4099] {
                    let x = x.narrow(0, 0, rows);
                    let ours = infer(&mlp, &x).unwrap();
                    let forward = mlp.forward(&x).unwrap();
                    assert_eq!(ours.size(), forward.size());
                    assert_eq!(
                        bits(&ours),
                        bits(&forward),
                        "{activation:?} {widths:?} {rows}"
                    );
                }
            }
        }
    }

    #[test]
    fn inference_under_autograd_keeps_the_graph() {
        let vs = VarStore::new(Device::Cpu);
        let mlp =
            crate::rng::with_seed::<_, Error>(2, || Mlp::new(&vs.root(), &[3, 8, 2])).unwrap();
        let x = Tensor::ones([4, 3], (Kind::Float, Device::Cpu));
        let out = infer(&mlp, &x).unwrap();
        assert!(out.requires_grad());
        assert_eq!(bits(&out), bits(&mlp.forward(&x).unwrap()));
    }
}
