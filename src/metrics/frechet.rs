//! The Fréchet distance between Gaussian fits of two feature sets (Dowson & Landau 1982; the
//! "FID" of Heusel et al. 2017 when the features are Inception activations).

use crate::error::{Error, Result};
use tch::{Kind, Tensor};

/// Mean `(D,)` and sample covariance `(D, D)` (ddof 1) of the rows of `x`.
fn gaussian(x: &Tensor) -> Result<(Tensor, Tensor)> {
    let n = x.size()[0];
    let mean = x.f_mean_dim(0, false, Kind::Double)?;
    let centred = x.f_sub(&mean)?;
    let cov = centred
        .f_tr()?
        .f_matmul(&centred)?
        .f_div_scalar((n - 1) as f64)?;
    Ok((mean, cov))
}

/// Eigenvalues of a symmetric matrix, negative rounding clipped to 0.
fn eigenvalues(m: &Tensor) -> Result<Tensor> {
    Ok(m.f_linalg_eigvalsh("L")?.f_clamp_min(0.0)?)
}

/// `||mu_x - mu_y||^2 + Tr(S_x + S_y - 2 (S_x S_y)^(1/2))`, computed through the symmetric
/// `S_x^(1/2) S_y S_x^(1/2)`, which has the eigenvalues of `S_x S_y`.
pub fn frechet_distance(x: &Tensor, y: &Tensor) -> Result<f64> {
    if x.size()[0] < 2 || y.size()[0] < 2 {
        return Err(Error::Shape(
            "the Fréchet distance needs at least 2 rows in each set".into(),
        ));
    }
    let (mx, sx) = gaussian(x)?;
    let (my, sy) = gaussian(y)?;
    let (values, vectors) = sx.f_linalg_eigh("L")?;
    let root = vectors
        .f_mul(&values.f_clamp_min(0.0)?.f_sqrt()?.f_unsqueeze(0)?)?
        .f_matmul(&vectors.f_tr()?)?;
    let product = root.f_matmul(&sy)?.f_matmul(&root)?;
    // Symmetrise away rounding before the eigen-solver.
    let product = product.f_add(&product.f_tr()?)?.f_mul_scalar(0.5)?;
    let trace_root = eigenvalues(&product)?.f_sqrt()?.f_sum(Kind::Double)?;
    let shift = mx.f_sub(&my)?.f_square()?.f_sum(Kind::Double)?;
    let traces = sx.f_trace()?.f_add(&sy.f_trace()?)?;
    let value = f64::try_from(shift)? + f64::try_from(traces)? - 2.0 * f64::try_from(trace_root)?;
    Ok(value.max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frechet_distance_of_shifted_and_scaled_gaussians() {
        // Fits N(0, I) and N(1, 4 I) in 3 dimensions exactly: 3 * 1 + 3 * (1 + 4 - 2 * 2) = 6.
        let base = Tensor::from_slice(&[
            1.0f64, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0, 0.0,
            0.0, -1.0,
        ])
        .view([6, 3])
        .f_mul_scalar(5f64.sqrt() / 2f64.sqrt())
        .unwrap();
        let scaled = base.f_mul_scalar(2.0).unwrap().f_add_scalar(1.0).unwrap();
        let d = frechet_distance(&base, &scaled).unwrap();
        assert!((d - 6.0).abs() < 1e-9, "{d}");
        assert!(frechet_distance(&base, &base).unwrap() < 1e-9);
    }
}
