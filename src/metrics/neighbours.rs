//! Sweeps over the pairwise distances between two sets of feature rows, a block of rows at a
//! time so that memory stays bounded: each row's nearest neighbours, Gaussian-kernel sums and
//! counts of rows inside other rows' neighbourhood balls. All distances are Euclidean and are
//! handled squared (comparisons of squares order as the distances do). Blocks are computed in
//! float32 as `|a|^2 + |b|^2 - 2 a.b` (half the time of float64), on centred rows (see
//! [`Set`]); each row's nearest neighbours are then re-measured exactly in float64 among a
//! few more candidates than asked for, so that neighbour lists and ball radii do not depend on
//! float32 rounding.

use crate::error::Result;
use tch::{Kind, Tensor};

/// Rows of the left set per block (a block is `BLOCK x rows of the right set` float64 values).
const BLOCK: i64 = 512;

/// Called between blocks; an error (an interrupt) stops the sweep.
pub type Interrupt<'a> = &'a (dyn Fn() -> Result<()> + Sync);

fn squared_norms(x: &Tensor) -> Result<Tensor> {
    Ok(x.f_square()?.f_sum_dim_intlist(1, false, Kind::Float)?)
}

/// Candidates re-measured exactly beyond the `k` neighbours asked for.
const SPARE_CANDIDATES: i64 = 3;

/// A set of feature rows as the sweeps take it: centred (on a centre shared by the sets a sweep
/// compares), in float64 for exact distances and float32 for blocks.
pub struct Set {
    pub exact: Tensor,
    pub fast: Tensor,
}

impl Set {
    /// Float64 feature sets centred on the mean of the first.
    pub fn centred(sets: &[&Tensor]) -> Result<Vec<Set>> {
        let centre = sets[0].f_mean_dim(0, true, Kind::Double)?;
        sets.iter()
            .map(|x| {
                let exact = x.f_sub(&centre)?;
                Ok(Set {
                    fast: exact.f_to_kind(Kind::Float)?,
                    exact,
                })
            })
            .collect()
    }

    fn rows(&self) -> i64 {
        self.exact.size()[0]
    }
}

/// A bound on the float32 rounding of a block's squared distance, relative to the squared norms
/// of its rows.
const ROUNDING: f64 = 1e-5;

/// Whether each pair of a block `d` `(B, M)` (rows `a` against `b`, exact) lies strictly within
/// the squared radius (`(B, 1)` or `(1, M)`, float64); pairs within `tolerance` of the radius are
/// decided on their exact distance.
fn strictly_inside(
    d: &Tensor,
    radius: &Tensor,
    tolerance: f64,
    a: &Tensor,
    b: &Tensor,
) -> Result<Tensor> {
    let r = radius.f_to_kind(Kind::Float)?;
    let surely = d.f_lt_tensor(&r.f_sub_scalar(tolerance)?)?;
    let maybe = d.f_lt_tensor(&r.f_add_scalar(tolerance)?)?;
    let unsure = maybe.f_logical_xor(&surely)?.f_nonzero()?;
    if unsure.size()[0] == 0 {
        return Ok(surely);
    }
    let (i, j) = (unsure.f_select(1, 0)?, unsure.f_select(1, 1)?);
    let exact = a
        .f_index_select(0, &i)?
        .f_sub(&b.f_index_select(0, &j)?)?
        .f_square()?
        .f_sum_dim_intlist(1, false, Kind::Double)?;
    let bound = radius
        .f_expand([d.size()[0], d.size()[1]], false)?
        .f_index(&[Some(&i), Some(&j)])?;
    let mut decided = surely;
    let _ = decided.f_index_put_(&[Some(i), Some(j)], &exact.f_lt_tensor(&bound)?, false)?;
    Ok(decided)
}

/// The exact squared distances, ascending, from rows `a` `(B, D)` to their candidate rows of
/// `b` (indices `(B, C)`), the `k` smallest.
fn exact_nearest(a: &Tensor, b: &Tensor, candidates: &Tensor, k: i64) -> Result<Tensor> {
    let (rows, c) = (candidates.size()[0], candidates.size()[1]);
    let picked = b
        .f_index_select(0, &candidates.f_reshape([-1])?)?
        .f_view([rows, c, -1])?;
    let d = picked
        .f_sub(&a.f_unsqueeze(1)?)?
        .f_square()?
        .f_sum_dim_intlist(2, false, Kind::Double)?;
    Ok(d.f_topk(k, 1, false, true)?.0)
}

/// Squared distances `(B, M)` between the rows of `a` `(B, D)` and of `b` `(M, D)`, whose squared
/// norms are `a_norms` and `b_norms`.
fn squared_distances(a: &Tensor, a_norms: &Tensor, b: &Tensor, b_norms: &Tensor) -> Result<Tensor> {
    let mut d = a.f_mul_scalar(-2.0)?.f_matmul(&b.f_tr()?)?;
    let _ = d.f_add_(&a_norms.f_unsqueeze(1)?)?;
    let _ = d.f_add_(&b_norms.f_unsqueeze(0)?)?;
    let _ = d.f_clamp_min_(0.0)?;
    Ok(d)
}

/// The sum of `exp(-d^2 / (2 bandwidth^2))` over a block of squared distances.
fn kernel_sum(d: &Tensor, bandwidth: f64) -> Result<f64> {
    let mut k = d.f_mul_scalar(-0.5 / (bandwidth * bandwidth))?;
    let _ = k.f_exp_()?;
    Ok(f64::try_from(k.f_sum(Kind::Double)?)?)
}

/// What a sweep of a set against itself finds.
pub struct Within {
    /// Each row's squared distances to its `k` nearest other rows, ascending, `(N, k)`.
    pub nearest: Tensor,
    /// The kernel summed over all ordered pairs, each row with itself included.
    pub kernel_sum: f64,
}

/// Sweeps `set` `(N, D)` against itself; `k` must be below `N` (0: no neighbours).
pub fn within(set: &Set, k: i64, bandwidth: Option<f64>, interrupt: Interrupt) -> Result<Within> {
    let (x, n) = (&set.fast, set.rows());
    let norms = squared_norms(x)?;
    let (mut nearest, mut kernel) = (Vec::new(), 0.0);
    let mut start = 0;
    while start < n {
        interrupt()?;
        let size = BLOCK.min(n - start);
        let d = squared_distances(
            &x.f_narrow(0, start, size)?,
            &norms.f_narrow(0, start, size)?,
            x,
            &norms,
        )?;
        if let Some(bandwidth) = bandwidth {
            kernel += kernel_sum(&d, bandwidth)?;
        }
        // A row is not its own neighbour.
        let _ = d
            .f_narrow(1, start, size)?
            .f_diagonal(0, 0, 1)?
            .f_fill_(f64::INFINITY)?;
        if k > 0 {
            let candidates = d
                .f_topk((k + SPARE_CANDIDATES).min(n - 1), 1, false, false)?
                .1;
            let rows = set.exact.f_narrow(0, start, size)?;
            nearest.push(exact_nearest(&rows, &set.exact, &candidates, k)?);
        }
        start += size;
    }
    Ok(Within {
        nearest: cat_or_empty(&nearest, k)?,
        kernel_sum: kernel,
    })
}

/// Neighbourhood balls: each row's squared radius, for both sets of a cross sweep.
pub struct Balls<'a> {
    pub x: &'a Tensor,
    pub y: &'a Tensor,
}

/// What a sweep of `x` against `y` finds.
pub struct Cross {
    /// Each row of `x`: squared distances to its `k` nearest rows of `y`, ascending, `(N, k)`.
    pub x_nearest: Tensor,
    /// Each row of `y`: squared distances to its `k` nearest rows of `x`, ascending, `(M, k)`.
    pub y_nearest: Tensor,
    /// The kernel summed over all pairs.
    pub kernel_sum: f64,
    /// With balls: whether each row of `x` lies strictly inside some row of `y`'s ball, `(N,)`.
    pub x_inside_y: Option<Tensor>,
    /// With balls: how many balls of rows of `x` each row of `y` lies strictly inside, `(M,)`.
    pub y_inside_x: Option<Tensor>,
}

/// Sweeps `xs` `(N, D)` against `ys` `(M, D)`; `k` must be at most `N` and `M` (0: no
/// neighbours).
pub fn cross(
    xs: &Set,
    ys: &Set,
    k: i64,
    bandwidth: Option<f64>,
    balls: Option<Balls<'_>>,
    interrupt: Interrupt,
) -> Result<Cross> {
    let (x, y, n, m) = (&xs.fast, &ys.fast, xs.rows(), ys.rows());
    let (x_norms, y_norms) = (squared_norms(x)?, squared_norms(y)?);
    let y_max_norm = if m > 0 {
        f64::try_from(y_norms.f_max()?)?
    } else {
        0.0
    };
    let spare = k + SPARE_CANDIDATES;
    let mut x_nearest = Vec::new();
    // Each row of y's best candidates so far: (values, indices into x), `(C, M)` each.
    let mut y_best: Option<(Tensor, Tensor)> = None;
    let mut kernel = 0.0;
    let mut x_inside = Vec::new();
    let mut y_inside: Option<Tensor> = None;
    let mut start = 0;
    while start < n {
        interrupt()?;
        let size = BLOCK.min(n - start);
        let block_norms = x_norms.f_narrow(0, start, size)?;
        let d = squared_distances(&x.f_narrow(0, start, size)?, &block_norms, y, &y_norms)?;
        let rows = xs.exact.f_narrow(0, start, size)?;
        if let Some(bandwidth) = bandwidth {
            kernel += kernel_sum(&d, bandwidth)?;
        }
        if k > 0 {
            let candidates = d.f_topk(spare.min(m), 1, false, false)?.1;
            x_nearest.push(exact_nearest(&rows, &ys.exact, &candidates, k)?);
            let (values, index) = d.f_topk(spare.min(size), 0, false, false)?;
            let index = index.f_add_scalar(start)?;
            y_best = Some(match y_best {
                None => (values, index),
                Some((best, best_index)) => {
                    let values = Tensor::f_cat(&[best, values], 0)?;
                    let index = Tensor::f_cat(&[best_index, index], 0)?;
                    let (kept, at) = values.f_topk(spare.min(values.size()[0]), 0, false, false)?;
                    (kept, index.f_gather(0, &at, false)?)
                }
            });
        }
        if let Some(balls) = &balls {
            let x_radius = balls.x.f_narrow(0, start, size)?.f_unsqueeze(1)?;
            let y_radius = balls.y.f_unsqueeze(0)?;
            let tolerance = ROUNDING * (f64::try_from(block_norms.f_max()?)? + y_max_norm);
            let inside_y = strictly_inside(&d, &y_radius, tolerance, &rows, &ys.exact)?;
            x_inside.push(inside_y.f_any_dim(1, false)?);
            let counts = strictly_inside(&d, &x_radius, tolerance, &rows, &ys.exact)?
                .f_sum_dim_intlist(0, false, Kind::Int64)?;
            y_inside = Some(match y_inside {
                None => counts,
                Some(total) => total.f_add(&counts)?,
            });
        }
        start += size;
    }
    Ok(Cross {
        x_nearest: cat_or_empty(&x_nearest, k)?,
        y_nearest: match y_best {
            Some((_, index)) => {
                exact_nearest(&ys.exact, &xs.exact, &index.f_tr()?.f_contiguous()?, k)?
            }
            None => cat_or_empty(&[], k)?,
        },
        kernel_sum: kernel,
        x_inside_y: balls
            .as_ref()
            .map(|_| Tensor::f_cat(&x_inside, 0))
            .transpose()?,
        y_inside_x: y_inside,
    })
}

fn cat_or_empty(parts: &[Tensor], k: i64) -> Result<Tensor> {
    if parts.is_empty() {
        return Ok(Tensor::f_zeros([0, k], (Kind::Double, tch::Device::Cpu))?);
    }
    Ok(Tensor::f_cat(parts, 0)?)
}

/// The values of a tensor, as float64.
pub fn values(t: &Tensor) -> Result<Vec<f64>> {
    Ok(Vec::<f64>::try_from(
        t.f_to_kind(Kind::Double)?.f_contiguous()?.f_view([-1])?,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_interrupt() -> Result<()> {
        Ok(())
    }

    #[test]
    fn sweeps_find_the_nearest_rows_across_blocks() {
        // 1,100 points on a line, 0.5 apart: each point's nearest others are its neighbours.
        let x = Tensor::arange(1100, (Kind::Double, tch::Device::Cpu))
            .f_mul_scalar(0.5)
            .unwrap()
            .f_unsqueeze(1)
            .unwrap();
        let shifted = x.f_add_scalar(0.1).unwrap();
        let sets = Set::centred(&[&x, &shifted]).unwrap();
        let found = within(&sets[0], 2, Some(1.0), &no_interrupt).unwrap();
        let nearest = values(&found.nearest).unwrap();
        assert_eq!(&nearest[..2], &[0.25, 1.0]);
        assert_eq!(&nearest[2 * 600..2 * 601], &[0.25, 0.25]);
        let cross = cross(&sets[0], &sets[1], 1, None, None, &no_interrupt).unwrap();
        let to_y = values(&cross.x_nearest).unwrap();
        let to_x = values(&cross.y_nearest).unwrap();
        assert!(to_y.iter().chain(&to_x).all(|d| (d - 0.01).abs() < 1e-12));
    }
}
