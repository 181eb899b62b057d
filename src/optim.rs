//! Adam (Kingma & Ba), kept in this crate so that its moments are plain tensors that can be
//! checkpointed alongside the weights.

use crate::error::{Error, Result};
use crate::fused_adam::{self, Coefficients};
use std::collections::BTreeMap;
use tch::Tensor;

/// What a network needs besides its weights to continue training exactly where it stopped:
/// its optimisers' moments and counters, under names unique within the network.
#[derive(Debug, Default)]
pub struct OptimiserState {
    pub tensors: BTreeMap<String, Tensor>,
    pub scalars: BTreeMap<String, f64>,
}

impl OptimiserState {
    pub fn scalar(&self, name: &str) -> Result<f64> {
        self.scalars
            .get(name)
            .copied()
            .ok_or_else(|| Error::Checkpoint(format!("optimiser state lacks {name:?}")))
    }

    /// Copies the saved tensor `name` into `into`, which must have its shape.
    fn load_into(&self, name: &str, into: &mut Tensor) -> Result<()> {
        let saved = self
            .tensors
            .get(name)
            .ok_or_else(|| Error::Checkpoint(format!("optimiser state lacks {name:?}")))?;
        if saved.size() != into.size() {
            return Err(Error::Checkpoint(format!(
                "optimiser tensor {name:?} has shape {:?}, the model expects {:?}",
                saved.size(),
                into.size()
            )));
        }
        let _guard = tch::no_grad_guard();
        into.f_copy_(saved)?;
        Ok(())
    }
}

/// Checks a learning rate: finite and positive.
pub fn check_lr(lr: f64) -> Result<()> {
    if lr.is_finite() && lr > 0.0 {
        Ok(())
    } else {
        Err(Error::Parameter(format!(
            "lr must be a positive number, got {lr}"
        )))
    }
}

/// The least second moment whose square root Adam takes.
const SQRT_FLOOR: f64 = 1e-30;

/// Adam over parameters that live in one flat buffer: each parameter's data is a view into it
/// (as are its moments' views), so that a step is a dozen whole-buffer operations rather than
/// a dozen per parameter tensor, which on small networks is most of the optimiser's time.
#[derive(Debug)]
pub struct Adam {
    names: Vec<String>,
    /// The live parameters, each a view into `flat`.
    params: Vec<Tensor>,
    /// Every parameter's values, end to end.
    flat: Tensor,
    /// Every parameter's gradient, gathered before each step.
    grads: Tensor,
    first: Tensor,
    second: Tensor,
    /// Room for a step's intermediate values off the CPU (see [`fused_adam`] for the CPU's
    /// step): a buffer allocated anew each step can cost more in page faults than the
    /// arithmetic.
    scratch: Tensor,
    steps: i32,
    lr: f64,
    /// What `lr` is multiplied by for the steps taken now (a budgeted fit's schedule); not
    /// saved: the training loop sets it for every epoch.
    lr_scale: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
}

/// Each of `params`' part of the flat `buffer` (laid end to end in their order), shaped like
/// it.
fn parts_of(buffer: &Tensor, params: &[Tensor]) -> Result<Vec<Tensor>> {
    let mut offset = 0;
    params
        .iter()
        .map(|p| {
            let length = p.numel() as i64;
            offset += length;
            Ok(buffer
                .f_narrow(0, offset - length, length)?
                .f_view(p.size().as_slice())?)
        })
        .collect()
}

impl Adam {
    /// Adam over the named parameters, which it moves into one buffer (their values and
    /// autograd identity unchanged).
    pub fn new(named: Vec<(String, Tensor)>, lr: f64, beta1: f64, beta2: f64) -> Result<Adam> {
        let (names, mut params): (Vec<String>, Vec<Tensor>) = named.into_iter().unzip();
        let total: i64 = params.iter().map(|p| p.numel() as i64).sum();
        let options = params
            .first()
            .map_or((tch::Kind::Float, tch::Device::Cpu), |p| {
                (p.kind(), p.device())
            });
        let flat = Tensor::f_zeros([total], options)?;
        {
            let _guard = tch::no_grad_guard();
            let views = parts_of(&flat, &params)?;
            for (p, mut view) in params.iter_mut().zip(views) {
                view.f_copy_(p)?;
                p.f_set_data(&view)?;
            }
        }
        Ok(Adam {
            names,
            params,
            grads: flat.f_zeros_like()?,
            scratch: flat.f_zeros_like()?,
            first: flat.f_zeros_like()?,
            second: flat.f_zeros_like()?,
            flat,
            steps: 0,
            lr,
            lr_scale: 1.0,
            beta1,
            beta2,
            eps: 1e-8,
        })
    }

    pub fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    pub fn set_lr_scale(&mut self, scale: f64) {
        self.lr_scale = scale;
    }

    /// Each parameter's name and part of the flat moment buffer `moments`.
    fn views(&self, moments: &Tensor) -> Result<Vec<(&str, Tensor)>> {
        Ok(self
            .names
            .iter()
            .map(String::as_str)
            .zip(parts_of(moments, &self.params)?)
            .collect())
    }

    /// Adds this optimiser's moments, step count and learning rate to `state` under `prefix`.
    pub fn save_state(&self, prefix: &str, state: &mut OptimiserState) -> Result<()> {
        for (suffix, moments) in [("m", &self.first), ("v", &self.second)] {
            for (name, view) in self.views(moments)? {
                state
                    .tensors
                    .insert(format!("{prefix}.{name}.{suffix}"), view.f_detach_copy()?);
            }
        }
        state
            .scalars
            .insert(format!("{prefix}.steps"), self.steps as f64);
        state.scalars.insert(format!("{prefix}.lr"), self.lr);
        Ok(())
    }

    /// Restores what [`Adam::save_state`] wrote under `prefix`.
    pub fn load_state(&mut self, prefix: &str, state: &OptimiserState) -> Result<()> {
        for (suffix, moments) in [("m", &self.first), ("v", &self.second)] {
            for (name, mut view) in self.views(moments)? {
                state.load_into(&format!("{prefix}.{name}.{suffix}"), &mut view)?;
            }
        }
        let steps = state.scalar(&format!("{prefix}.steps"))?;
        let lr = state.scalar(&format!("{prefix}.lr"))?;
        if !(steps >= 0.0 && steps <= i32::MAX as f64 && steps.fract() == 0.0) {
            return Err(Error::Checkpoint(format!(
                "optimiser step count {steps} is not a count"
            )));
        }
        check_lr(lr).map_err(|_| Error::Checkpoint(format!("optimiser lr {lr} is invalid")))?;
        self.steps = steps as i32;
        self.lr = lr;
        Ok(())
    }

    /// Back-propagates `loss` into this optimiser's parameters and takes one Adam step. The
    /// gradients come back from autograd rather than through each tensor's `.grad`, so no
    /// other tensor of the graph gets one and none is zeroed or accumulated into.
    pub fn backward_step(&mut self, loss: &Tensor) -> Result<()> {
        let grads = Tensor::f_run_backward(&[loss], &self.params, false, false)?;
        let _guard = tch::no_grad_guard();
        self.gather(&grads)?;
        self.update()
    }

    /// Each parameter's name and part of the gradient buffer, for a step that writes its
    /// gradients there itself and then calls [`Adam::step_written`]. The buffer is never
    /// reallocated, so the views stay valid.
    pub fn gradient_views(&self) -> Result<Vec<(String, Tensor)>> {
        Ok(self
            .views(&self.grads)?
            .into_iter()
            .map(|(name, view)| (name.to_string(), view))
            .collect())
    }

    /// One Adam step from the gradients written into [`Adam::gradient_views`].
    pub fn step_written(&mut self) -> Result<()> {
        let _guard = tch::no_grad_guard();
        self.update()
    }

    /// Lays `grads` (one per parameter, in order) end to end into the gradient buffer. A
    /// parameter without a gradient counts as a zero one: one that never had a gradient then
    /// keeps its value and zero moments, as if skipped.
    fn gather(&self, grads: &[Tensor]) -> Result<()> {
        let flat = grads
            .iter()
            .zip(&self.params)
            .map(|(g, p)| {
                if g.defined() {
                    g.f_reshape([-1])
                } else {
                    p.f_zeros_like()?.f_view([-1])
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let _ = Tensor::f_cat_out(&self.grads, &flat, 0)?;
        Ok(())
    }

    /// One Adam step from the gathered gradients, over the whole buffer at once.
    fn update(&mut self) -> Result<()> {
        self.steps += 1;
        let bias1 = 1.0 - self.beta1.powi(self.steps);
        let bias2 = 1.0 - self.beta2.powi(self.steps);
        let step_size = self.lr * self.lr_scale / bias1;
        if fused_adam::applies(&[&self.flat, &self.grads, &self.first, &self.second]) {
            let coefficients = Coefficients {
                beta2: self.beta2 as f32,
                one_minus_beta1: (1.0 - self.beta1) as f32,
                one_minus_beta2: (1.0 - self.beta2) as f32,
                inv_sqrt_bias2: (1.0 / bias2.sqrt()) as f32,
                step_size: step_size as f32,
                eps: self.eps as f32,
                sqrt_floor: SQRT_FLOOR as f32,
            };
            return fused_adam::step(
                &self.flat,
                &self.grads,
                &self.first,
                &self.second,
                coefficients,
            );
        }
        let (g, scratch) = (&self.grads, &mut self.scratch);
        let _ = self.first.f_lerp_(g, 1.0 - self.beta1)?;
        let _ = self.second.f_mul_scalar_(self.beta2)?;
        scratch.f_copy_(g)?;
        let _ = scratch.f_mul_scalar_(1.0 - self.beta2)?;
        let _ = self.second.f_addcmul_(g, scratch)?;
        // p -= step_size * m / (sqrt(v / bias2) + eps), in place: one addcdiv with the
        // denominator scaled by -1 / step_size. The floor keeps sqrt off zeros and subnormals,
        // which libtorch's CPU kernel takes 4-30 times longer over (a saturated GAN
        // discriminator's squared gradients underflow); it is far below eps, so the step is
        // unchanged.
        scratch.f_copy_(&self.second)?;
        let _ = scratch.f_clamp_min_(SQRT_FLOOR)?;
        let _ = scratch.f_sqrt_()?;
        let _ = scratch.f_div_scalar_(bias2.sqrt())?;
        let _ = scratch.f_add_scalar_(self.eps)?;
        let _ = scratch.f_mul_scalar_(-1.0 / step_size)?;
        let _ = self.flat.f_addcdiv_(&self.first, scratch)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn minimises_a_quadratic() {
        let x = Tensor::from_slice(&[3.0f32, -2.0]).set_requires_grad(true);
        let mut adam = Adam::new(vec![("x".into(), x.shallow_clone())], 0.1, 0.9, 0.999).unwrap();
        for _ in 0..300 {
            let loss = x.square().sum(Kind::Float);
            adam.backward_step(&loss).unwrap();
        }
        let norm = f64::try_from(x.norm()).unwrap();
        assert!(norm < 0.05, "{norm}");
        assert_eq!(x.device(), Device::Cpu);
    }

    /// Steps `x` `n` times from `start` with a fresh Adam, or with one restored from `state`.
    fn run(start: &[f32], n: usize, state: Option<&OptimiserState>) -> (Vec<f32>, OptimiserState) {
        let x = Tensor::from_slice(start).set_requires_grad(true);
        let mut adam = Adam::new(vec![("x".into(), x.shallow_clone())], 0.1, 0.9, 0.999).unwrap();
        if let Some(state) = state {
            adam.load_state("adam", state).unwrap();
        }
        for _ in 0..n {
            adam.backward_step(&x.square().sum(Kind::Float)).unwrap();
        }
        let mut saved = OptimiserState::default();
        adam.save_state("adam", &mut saved).unwrap();
        (Vec::<f32>::try_from(x.detach()).unwrap(), saved)
    }

    #[test]
    fn steps_follow_the_textbook_formula_over_several_tensors() {
        let a = Tensor::from_slice(&[1.0f32, -2.0, 0.5, 3.0, 0.0, -1.0])
            .reshape([2, 3])
            .set_requires_grad(true);
        let b = Tensor::from_slice(&[0.25f32, -0.75]).set_requires_grad(true);
        let named = vec![
            ("a".into(), a.shallow_clone()),
            ("b".into(), b.shallow_clone()),
        ];
        let mut adam = Adam::new(named, 0.1, 0.9, 0.999).unwrap();
        // loss = sum(a^2) + sum(3 b): gradients 2a and 3, followed in f64 beside the optimiser.
        let mut expected: Vec<f64> = [1.0, -2.0, 0.5, 3.0, 0.0, -1.0, 0.25, -0.75].to_vec();
        let (mut m, mut v) = (vec![0.0; 8], vec![0.0; 8]);
        for step in 1..=5 {
            let loss = a.square().sum(Kind::Float) + b.sum(Kind::Float) * 3.0;
            adam.backward_step(&loss).unwrap();
            for i in 0..8 {
                let g = if i < 6 { 2.0 * expected[i] } else { 3.0 };
                m[i] = 0.9 * m[i] + 0.1 * g;
                v[i] = 0.999 * v[i] + 0.001 * g * g;
                let (m_hat, v_hat) = (
                    m[i] / (1.0 - 0.9f64.powi(step)),
                    v[i] / (1.0 - 0.999f64.powi(step)),
                );
                expected[i] -= 0.1 * m_hat / (v_hat.sqrt() + 1e-8);
            }
        }
        let got: Vec<f32> =
            Vec::try_from(Tensor::cat(&[a.detach().reshape([-1]), b.detach()], 0)).unwrap();
        for (g, e) in got.iter().zip(&expected) {
            assert!((*g as f64 - e).abs() < 1e-5, "{got:?} vs {expected:?}");
        }
        // The parameters keep their shapes and stay leaves that autograd reaches.
        assert_eq!(a.size(), vec![2, 3]);
        assert!(a.requires_grad() && b.requires_grad());
    }

    #[test]
    fn a_step_gives_no_other_tensor_a_gradient() {
        let own = Tensor::from_slice(&[1.0f32, 2.0]).set_requires_grad(true);
        let other = Tensor::from_slice(&[3.0f32, 4.0]).set_requires_grad(true);
        let mut adam =
            Adam::new(vec![("own".into(), own.shallow_clone())], 0.1, 0.9, 0.999).unwrap();
        adam.backward_step(&(&own * &other).sum(Kind::Float))
            .unwrap();
        assert!(!other.grad().defined());
        assert_ne!(Vec::<f32>::try_from(own.detach()).unwrap(), vec![1.0, 2.0]);
    }

    #[test]
    fn saved_state_continues_exactly() {
        let (straight, _) = run(&[3.0, -2.0], 20, None);
        let (halfway, state) = run(&[3.0, -2.0], 10, None);
        assert_eq!(state.scalar("adam.steps").unwrap(), 10.0);
        let (resumed, _) = run(&halfway, 10, Some(&state));
        assert_eq!(straight, resumed);
        // A fresh optimiser from the same point takes different steps.
        let (restarted, _) = run(&halfway, 10, None);
        assert_ne!(straight, restarted);
    }

    #[test]
    fn load_rejects_missing_and_misshapen_state() {
        let (_, state) = run(&[1.0, 2.0], 1, None);
        let x = Tensor::zeros([3], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let mut adam = Adam::new(vec![("x".into(), x)], 0.1, 0.9, 0.999).unwrap();
        let err = adam.load_state("adam", &state).unwrap_err();
        assert!(err.to_string().contains("shape"), "{err}");
        let err = adam.load_state("other", &state).unwrap_err();
        assert!(err.to_string().contains("lacks"), "{err}");
    }
}
