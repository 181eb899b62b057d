//! Per-column fidelity on raw values: the two-sample Kolmogorov-Smirnov statistic for
//! continuous columns, total variation distance for discrete ones, and the mean difference of
//! the continuous columns' Pearson correlation matrices.

use super::table::{ColumnKind, Columns, Rows};
use crate::error::Result;
use std::collections::BTreeMap;
use tch::{Device, Kind, Tensor};

/// `sup |F_a(t) - F_b(t)|` over the empirical distribution functions of `a` and `b` (both
/// non-empty): scipy's `ks_2samp(a, b).statistic`.
pub fn ks_statistic(mut a: Vec<f64>, mut b: Vec<f64>) -> f64 {
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j, mut worst) = (0, 0, 0.0f64);
    while i < a.len() && j < b.len() {
        // Step past every copy of the smaller value in both samples before comparing.
        let t = a[i].min(b[j]);
        while i < a.len() && a[i] <= t {
            i += 1;
        }
        while j < b.len() && b[j] <= t {
            j += 1;
        }
        worst = worst.max((i as f64 / na - j as f64 / nb).abs());
    }
    worst
}

/// `0.5 * sum_c |p_a(c) - p_b(c)|` over every value either sample has.
pub fn total_variation(a: &[f64], b: &[f64]) -> f64 {
    let mut counts: BTreeMap<u64, (usize, usize)> = BTreeMap::new();
    for v in a {
        counts.entry((v + 0.0).to_bits()).or_default().0 += 1;
    }
    for v in b {
        counts.entry((v + 0.0).to_bits()).or_default().1 += 1;
    }
    let (na, nb) = (a.len() as f64, b.len() as f64);
    0.5 * counts
        .values()
        .map(|&(ca, cb)| (ca as f64 / na - cb as f64 / nb).abs())
        .sum::<f64>()
}

/// Each column's KS statistic (continuous) or total variation distance (discrete).
pub fn fidelity(
    columns: &Columns,
    real: &Rows,
    generated: &Rows,
) -> Vec<(String, ColumnKind, f64)> {
    columns
        .kinds
        .iter()
        .enumerate()
        .map(|(j, kind)| {
            let (a, b): (Vec<f64>, Vec<f64>) =
                (real.column(j).collect(), generated.column(j).collect());
            let value = match kind {
                ColumnKind::Continuous => ks_statistic(a, b),
                ColumnKind::Discrete => total_variation(&a, &b),
            };
            (columns.names[j].clone(), *kind, value)
        })
        .collect()
}

/// The Pearson correlation matrix `(C, C)` of the columns `which` of `rows`; a constant column's
/// correlations are 0.
fn correlations(rows: &Rows, which: &[usize]) -> Result<Tensor> {
    let n = rows.rows();
    let mut values = Vec::with_capacity(n * which.len());
    for row in rows.values.chunks_exact(rows.cols) {
        values.extend(which.iter().map(|&j| row[j]));
    }
    let x = Tensor::f_from_slice(&values)?
        .f_view([n as i64, which.len() as i64])?
        .f_to_device(Device::Cpu)?;
    let centred = x.f_sub(&x.f_mean_dim(0, true, Kind::Double)?)?;
    let sd = centred
        .f_square()?
        .f_sum_dim_intlist(0, true, Kind::Double)?
        .f_sqrt()?;
    // A constant column divides by infinity: zeros.
    let scale = sd.f_where_scalarother(&sd.f_gt(0.0)?, f64::INFINITY)?;
    let z = centred.f_div(&scale)?;
    Ok(z.f_tr()?.f_matmul(&z)?)
}

/// The mean of `|corr_real - corr_generated|` over pairs of distinct continuous columns; NaN
/// with fewer than two.
pub fn correlation_difference(columns: &Columns, real: &Rows, generated: &Rows) -> Result<f64> {
    let which = columns.of(ColumnKind::Continuous);
    let c = which.len() as i64;
    if c < 2 {
        return Ok(f64::NAN);
    }
    let diff = correlations(real, &which)?
        .f_sub(&correlations(generated, &which)?)?
        .f_abs()?;
    let upper = diff.f_triu(1)?.f_sum(Kind::Double)?;
    Ok(f64::try_from(upper)? / (c * (c - 1) / 2) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ks_and_tvd_of_known_samples() {
        assert_eq!(ks_statistic(vec![1.0, 2.0, 3.0], vec![1.0, 2.0, 3.0]), 0.0);
        assert_eq!(ks_statistic(vec![1.0, 2.0], vec![3.0, 4.0]), 1.0);
        // Ties across samples: F_a(1) = 2/3, F_b(1) = 1/3.
        let ks = ks_statistic(vec![1.0, 1.0, 2.0], vec![1.0, 2.0, 2.0]);
        assert!((ks - 1.0 / 3.0).abs() < 1e-12);
        assert!(
            (total_variation(&[0.0, 0.0, 1.0, 1.0], &[0.0, 1.0, 1.0, 1.0]) - 0.25).abs() < 1e-12
        );
        assert!((total_variation(&[0.0], &[2.0]) - 1.0).abs() < 1e-12);
    }
}
