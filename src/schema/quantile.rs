//! The quantile transform of a continuous table column: each value maps to the normal score of
//! its rank among the training values, and back. Skewed, heavy-tailed and multi-modal columns all
//! become standard normal, which a Gaussian likelihood (or a generator's linear output) fits well;
//! generated values map back inside the training range, and point masses (a column that is often
//! exactly 0) come back as point masses.

/// At most this many reference quantiles are kept per column.
pub const MAX_POINTS: usize = 1000;
/// Ranks are kept this far from 0 and 1 (scikit-learn's bound), so that scores stay within
/// about +-5.2.
const RANK_BOUND: f64 = 1e-7;

/// The reference quantiles of `values` (finite, any order): `min(MAX_POINTS, n)` points at
/// evenly spaced ranks, the first the minimum and the last the maximum.
pub fn fit(values: &[f32]) -> Vec<f32> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    let n = sorted.len();
    let k = n.clamp(1, MAX_POINTS);
    if n == 0 {
        return vec![0.0];
    }
    (0..k)
        .map(|i| {
            let position = if k == 1 {
                0.0
            } else {
                i as f64 * (n - 1) as f64 / (k - 1) as f64
            };
            let low = position.floor() as usize;
            let high = (low + 1).min(n - 1);
            let frac = position - low as f64;
            (sorted[low] as f64 + frac * (sorted[high] as f64 - sorted[low] as f64)) as f32
        })
        .collect()
}

/// The rank of `x` in `[0, 1]` among `points` (sorted): linear between points, and for a value
/// equal to several points (a point mass) the middle of their ranks.
fn rank(points: &[f32], x: f32) -> f64 {
    let k = points.len();
    if k == 1 {
        return 0.5;
    }
    let step = 1.0 / (k - 1) as f64;
    let below = points.partition_point(|&p| p < x);
    let upto = points.partition_point(|&p| p <= x);
    if upto == 0 {
        return 0.0;
    }
    if below == k {
        return 1.0;
    }
    if below < upto {
        return (below + upto - 1) as f64 * 0.5 * step;
    }
    // points[below - 1] < x < points[below]
    let (low, high) = (points[below - 1] as f64, points[below] as f64);
    ((below - 1) as f64 + (x as f64 - low) / (high - low)) * step
}

/// The normal score of `x`.
pub fn forward(points: &[f32], x: f32) -> f32 {
    normal_quantile(rank(points, x).clamp(RANK_BOUND, 1.0 - RANK_BOUND)) as f32
}

/// The value whose normal score is `z` (inside the training range).
pub fn inverse(points: &[f32], z: f32) -> f32 {
    let k = points.len();
    if k == 1 || !z.is_finite() {
        return match z {
            z if z.is_nan() || k == 1 => points[k / 2],
            z if z > 0.0 => points[k - 1],
            _ => points[0],
        };
    }
    let position = normal_cdf(z as f64) * (k - 1) as f64;
    let low = (position.floor() as usize).min(k - 2);
    let frac = (position - low as f64).clamp(0.0, 1.0);
    let (a, b) = (points[low] as f64, points[low + 1] as f64);
    (a + frac * (b - a)) as f32
}

/// The standard normal distribution function.
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

/// The complementary error function (Numerical Recipes' Chebyshev fit, relative error below
/// 1.2e-7 everywhere).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// The standard normal quantile function for `p` in (0, 1) (Acklam's rational approximation,
/// relative error below 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const LOW: f64 = 0.024_25;
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_functions_invert_each_other() {
        for p in [1e-7, 0.001, 0.02, 0.3, 0.5, 0.77, 0.99, 1.0 - 1e-7] {
            let z = normal_quantile(p);
            assert!((normal_cdf(z) - p).abs() < 1e-6 * p.max(1e-1), "{p} {z}");
        }
        assert!((normal_quantile(0.975) - 1.959_964).abs() < 1e-5);
        assert!(normal_quantile(1e-7) > -5.3);
    }

    #[test]
    fn round_trips_skewed_values_inside_the_range() {
        let values: Vec<f32> = (0..5000).map(|i| ((i as f32) / 500.0).exp()).collect();
        let points = fit(&values);
        assert_eq!(points.len(), MAX_POINTS);
        assert_eq!(points[0], 1.0);
        assert_eq!(*points.last().unwrap(), values[4999]);
        for &v in values.iter().step_by(37) {
            let back = inverse(&points, forward(&points, v));
            assert!((back - v).abs() <= 1e-3 * v.abs(), "{v} -> {back}");
        }
        // Scores of the training values are about standard normal.
        let scores: Vec<f64> = values.iter().map(|&v| forward(&points, v) as f64).collect();
        let mean = scores.iter().sum::<f64>() / scores.len() as f64;
        let var = scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / scores.len() as f64;
        assert!(mean.abs() < 0.01 && (var - 1.0).abs() < 0.1, "{mean} {var}");
        // Beyond the range: the ends.
        assert_eq!(inverse(&points, 9.0), values[4999]);
        assert_eq!(inverse(&points, -9.0), 1.0);
        assert!(forward(&points, 1e30).is_finite() && forward(&points, -1e30).is_finite());
    }

    #[test]
    fn point_masses_stay_point_masses() {
        // 60% zeros, then 1..=400.
        let mut values = vec![0f32; 600];
        values.extend((1..=400).map(|i| i as f32));
        let points = fit(&values);
        let z = forward(&points, 0.0);
        assert!((normal_cdf(z as f64) - 0.3).abs() < 0.01, "{z}");
        let zeros = (0..100)
            .map(|i| inverse(&points, normal_quantile((i as f64 + 0.5) / 100.0) as f32))
            .filter(|&v| v == 0.0)
            .count();
        assert!((55..=65).contains(&zeros), "{zeros}");
        let constant = fit(&[3.0, 3.0]);
        assert_eq!(inverse(&constant, forward(&constant, 3.0)), 3.0);
        assert_eq!(inverse(&fit(&[7.0]), 0.3), 7.0);
    }
}
