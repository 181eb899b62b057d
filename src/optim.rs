//! Adam (Kingma & Ba), kept in this crate so that its moments are plain tensors that can be
//! checkpointed alongside the weights.

use crate::error::{Error, Result};
use tch::Tensor;

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
    pub fn new(params: Vec<Tensor>, lr: f64, beta1: f64, beta2: f64) -> Result<Adam> {
        let first = params
            .iter()
            .map(|p| p.f_zeros_like())
            .collect::<Result<Vec<_>, _>>()?;
        let second = params
            .iter()
            .map(|p| p.f_zeros_like())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Adam {
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
        let mut adam = Adam::new(vec![x.shallow_clone()], 0.1, 0.9, 0.999).unwrap();
        for _ in 0..300 {
            let loss = x.square().sum(Kind::Float);
            adam.backward_step(&loss).unwrap();
        }
        let norm = f64::try_from(x.norm()).unwrap();
        assert!(norm < 0.05, "{norm}");
        assert_eq!(x.device(), Device::Cpu);
    }
}
