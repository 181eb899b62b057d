//! Sample-quality measures.

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
}
