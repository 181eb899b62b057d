//! Quick tensor measures of a batch of samples, for the GAN's mode-collapse probe.

use crate::error::Result;
use tch::{Kind, Tensor};

/// Mean Euclidean distance between distinct rows of `x` `(N, D)`; 0 for fewer than two rows.
pub fn mean_pairwise_distance(x: &Tensor) -> Result<f64> {
    let n = x.size()[0];
    if n < 2 {
        return Ok(0.0);
    }
    let total = Tensor::f_cdist(x, x, 2.0, None)?.f_sum(Kind::Double)?;
    Ok(f64::try_from(total)? / (n * (n - 1)) as f64)
}

/// The squared maximum mean discrepancy between the rows of `x` `(N, D)` and `y` `(M, D)` (the
/// biased estimate, >= 0, 0 for identical sets) under a Gaussian kernel whose bandwidth is the
/// median distance between rows of `x`.
pub fn mmd(x: &Tensor, y: &Tensor) -> Result<f64> {
    let xx = Tensor::f_cdist(x, x, 2.0, None)?;
    let positive = xx.f_masked_select(&xx.f_gt(0.0)?)?;
    let bandwidth = if positive.numel() > 0 {
        f64::try_from(positive.f_median()?)?
    } else {
        1.0
    };
    let kernel_mean = |distances: &Tensor| -> Result<f64> {
        let k = distances
            .f_square()?
            .f_div_scalar(-2.0 * bandwidth * bandwidth)?
            .f_exp()?;
        Ok(f64::try_from(k.f_mean(Kind::Double)?)?)
    };
    let value = kernel_mean(&xx)? + kernel_mean(&Tensor::f_cdist(y, y, 2.0, None)?)?
        - 2.0 * kernel_mean(&Tensor::f_cdist(x, y, 2.0, None)?)?;
    Ok(value.max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_pairwise_distance_of_known_rows() {
        // Distances 3, 4 and 5 between the three pairs.
        let x = Tensor::from_slice(&[0.0f32, 0.0, 3.0, 0.0, 0.0, 4.0]).view([3, 2]);
        assert!((mean_pairwise_distance(&x).unwrap() - 4.0).abs() < 1e-5);
        assert_eq!(mean_pairwise_distance(&x.narrow(0, 0, 1)).unwrap(), 0.0);
    }

    #[test]
    fn mmd_is_zero_for_equal_sets_and_grows_with_a_shift() {
        tch::manual_seed(0);
        let x = Tensor::randn([200, 3], (Kind::Float, tch::Device::Cpu));
        let same = Tensor::randn([200, 3], (Kind::Float, tch::Device::Cpu));
        assert!(mmd(&x, &x).unwrap() < 1e-9);
        let near = mmd(&x, &same).unwrap();
        let shifted = mmd(&x, &(&same + 1.0)).unwrap();
        let collapsed = mmd(&x, &same.zeros_like()).unwrap();
        assert!(near < 0.05, "{near}");
        assert!(
            shifted > 5.0 * near && collapsed > 5.0 * near,
            "{near} {shifted} {collapsed}"
        );
    }
}
