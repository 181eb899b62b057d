//! Adam (Kingma & Ba), kept in this crate so that its moments are plain tensors that can be
//! checkpointed alongside the weights.

use crate::error::{Error, Result};
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

#[derive(Debug)]
pub struct Adam {
    names: Vec<String>,
    params: Vec<Tensor>,
    first: Vec<Tensor>,
    second: Vec<Tensor>,
    steps: i32,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
}

impl Adam {
    /// Adam over the named parameters.
    pub fn new(named: Vec<(String, Tensor)>, lr: f64, beta1: f64, beta2: f64) -> Result<Adam> {
        let (names, params): (Vec<String>, Vec<Tensor>) = named.into_iter().unzip();
        let first = params
            .iter()
            .map(|p| p.f_zeros_like())
            .collect::<Result<Vec<_>, _>>()?;
        let second = params
            .iter()
            .map(|p| p.f_zeros_like())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Adam {
            names,
            params,
            first,
            second,
            steps: 0,
            lr,
            beta1,
            beta2,
            eps: 1e-8,
        })
    }

    pub fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    /// Adds this optimiser's moments, step count and learning rate to `state` under `prefix`.
    pub fn save_state(&self, prefix: &str, state: &mut OptimiserState) -> Result<()> {
        for ((name, m), v) in self.names.iter().zip(&self.first).zip(&self.second) {
            state
                .tensors
                .insert(format!("{prefix}.{name}.m"), m.f_detach_copy()?);
            state
                .tensors
                .insert(format!("{prefix}.{name}.v"), v.f_detach_copy()?);
        }
        state
            .scalars
            .insert(format!("{prefix}.steps"), self.steps as f64);
        state.scalars.insert(format!("{prefix}.lr"), self.lr);
        Ok(())
    }

    /// Restores what [`Adam::save_state`] wrote under `prefix`.
    pub fn load_state(&mut self, prefix: &str, state: &OptimiserState) -> Result<()> {
        for ((name, m), v) in self.names.iter().zip(&mut self.first).zip(&mut self.second) {
            state.load_into(&format!("{prefix}.{name}.m"), m)?;
            state.load_into(&format!("{prefix}.{name}.v"), v)?;
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

    /// Clears the gradients of every parameter.
    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            p.zero_grad();
        }
    }

    /// Back-propagates `loss` and takes one Adam step.
    pub fn backward_step(&mut self, loss: &Tensor) -> Result<()> {
        self.zero_grad();
        loss.f_backward()?;
        self.step()
    }

    pub fn step(&mut self) -> Result<()> {
        self.steps += 1;
        let bias1 = 1.0 - self.beta1.powi(self.steps);
        let bias2 = 1.0 - self.beta2.powi(self.steps);
        let step_size = self.lr / bias1;
        let _guard = tch::no_grad_guard();
        for ((p, m), v) in self
            .params
            .iter_mut()
            .zip(&mut self.first)
            .zip(&mut self.second)
        {
            let g = p.f_grad()?;
            if !g.defined() {
                continue;
            }
            let _ = m.f_lerp_(&g, 1.0 - self.beta1)?;
            let _ = v.f_mul_scalar_(self.beta2)?;
            let _ = v.f_addcmul_(&g, &g.f_mul_scalar(1.0 - self.beta2)?)?;
            // p -= step_size * m / (sqrt(v / bias2) + eps), in place: one addcdiv with the
            // denominator scaled by -1 / step_size.
            let mut denom = v.f_sqrt()?;
            let _ = denom.f_div_scalar_(bias2.sqrt())?;
            let _ = denom.f_add_scalar_(self.eps)?;
            let _ = denom.f_mul_scalar_(-1.0 / step_size)?;
            let _ = p.f_addcdiv_(m, &denom)?;
        }
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
