//! genaug's own random numbers. libtorch's generators are process-global and shared with the
//! user's torch, so genaug never draws from them: every random tensor (initial weights, noise,
//! shuffles) comes from a xoshiro256++ generator owned by the calling thread for the extent of
//! one [`with_seed`] scope.

use crate::error::{Error, Result};
use crate::seed::SeedStream;
use crate::tensor_slices;
use std::cell::RefCell;
use tch::{Device, Kind, Tensor};

thread_local! {
    /// The generators of the seeded scopes open on this thread, innermost last.
    static SCOPES: RefCell<Vec<Xoshiro>> = const { RefCell::new(Vec::new()) };
}

/// xoshiro256++ (Blackman & Vigna): fast, 256 bits of state, good statistical quality.
#[derive(Debug, Clone)]
struct Xoshiro([u64; 4]);

impl Xoshiro {
    fn new(seed: u64) -> Xoshiro {
        let mut seeds = SeedStream::new(seed);
        Xoshiro([(); 4].map(|_| seeds.next_seed()))
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in 0..bound (Lemire's multiply-shift; the bias is below 2^-40 for any bound here).
    fn below(&mut self, bound: u64) -> u64 {
        ((self.next_u64() as u128 * bound as u128) >> 64) as u64
    }

    /// Standard normals by the Box-Muller transform, two per pair of uniforms. Pairs are taken
    /// in blocks, each step of the transform over a whole block, so that the square roots and
    /// stores do not wait on libm's calls in turn. The same values as pair by pair.
    fn fill_normal(&mut self, out: &mut [f32]) {
        const PAIRS: usize = 64;
        let (mut radius, mut angle) = ([0f64; PAIRS], [0f64; PAIRS]);
        for block in out.chunks_mut(2 * PAIRS) {
            let pairs = block.len().div_ceil(2);
            let (radius, angle) = (&mut radius[..pairs], &mut angle[..pairs]);
            for (r, a) in radius.iter_mut().zip(angle.iter_mut()) {
                *r = 1.0 - self.unit();
                *a = std::f64::consts::TAU * self.unit();
            }
            for r in radius.iter_mut() {
                *r = r.ln();
            }
            for r in radius.iter_mut() {
                *r = (-2.0 * *r).sqrt();
            }
            for ((pair, r), a) in block.chunks_mut(2).zip(radius.iter()).zip(angle.iter()) {
                pair[0] = (r * a.cos()) as f32;
                if let Some(second) = pair.get_mut(1) {
                    *second = (r * a.sin()) as f32;
                }
            }
        }
    }
}

/// Runs `f` with this thread's random numbers drawn from a generator seeded with `seed`.
/// Scopes nest: an inner scope's draws leave the outer scope's stream where it was.
pub fn with_seed<T, E: From<Error>>(
    seed: u64,
    f: impl FnOnce() -> std::result::Result<T, E>,
) -> std::result::Result<T, E> {
    struct Pop;
    impl Drop for Pop {
        fn drop(&mut self) {
            SCOPES.with_borrow_mut(|scopes| scopes.pop());
        }
    }
    SCOPES.with_borrow_mut(|scopes| scopes.push(Xoshiro::new(seed)));
    let _pop = Pop;
    f()
}

fn draw<T>(f: impl FnOnce(&mut Xoshiro) -> T) -> Result<T> {
    SCOPES.with_borrow_mut(|scopes| {
        scopes.last_mut().map(f).ok_or_else(|| {
            Error::Internal("random numbers were drawn outside a seeded scope".into())
        })
    })
}

fn numel(shape: &[i64]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(usize::try_from(d).ok()?))
        .ok_or_else(|| Error::Internal(format!("bad random tensor shape {shape:?}")))
}

/// A float32 tensor of `shape` on `device`, its values written by `fill` from this scope's
/// generator straight into the CPU tensor: no zeroing and no copy of what may be millions of
/// values.
fn drawn(
    shape: &[i64],
    device: Device,
    fill: impl FnOnce(&mut Xoshiro, &mut [f32]),
) -> Result<Tensor> {
    let values = Tensor::f_empty([numel(shape)? as i64], (Kind::Float, Device::Cpu))?;
    draw(|g| tensor_slices::values_mut(&values).map(|v| fill(g, v)))??;
    onto(values.f_reshape(shape)?, device)
}

/// `values` (on the CPU) on `device`. To a GPU without blocking, so that a training step's
/// noise does not make the host wait for the device: CUDA stages pageable memory before the
/// call returns, so `values` may be freed at once.
fn onto(values: Tensor, device: Device) -> Result<Tensor> {
    if device == Device::Cpu {
        return Ok(values);
    }
    let kind = values.kind();
    Ok(values.f_to_device_(device, kind, true, false)?)
}

/// Standard normal float32 values of `shape` on `device`.
pub fn normal(shape: &[i64], device: Device) -> Result<Tensor> {
    drawn(shape, device, |g, values| g.fill_normal(values))
}

/// Uniform float32 values in [low, high) of `shape` on `device`.
pub fn uniform(shape: &[i64], low: f64, high: f64, device: Device) -> Result<Tensor> {
    drawn(shape, device, |g, values| {
        for v in values.iter_mut() {
            *v = (low + (high - low) * g.unit()) as f32;
        }
    })
}

/// Standard Gumbel noise of `shape` (for drawing from categorical distributions by argmax),
/// finite everywhere.
pub fn gumbel(shape: &[i64], device: Device) -> Result<Tensor> {
    let u = uniform(shape, 0.0, 1.0, device)?.f_clamp(1e-10, 1.0 - 1e-7)?;
    Ok(u.f_log()?.f_neg()?.f_log()?.f_neg()?)
}

/// The category index `(N)` (or `(N, 1)` with `keepdim`) that `gumbel` noise of
/// `probabilities`' shape `(N, K)` draws from each row's probabilities (the Gumbel-max trick).
pub fn gumbel_max(probabilities: &Tensor, gumbel: &Tensor, keepdim: bool) -> Result<Tensor> {
    Ok(probabilities
        .f_clamp_min(1e-12)?
        .f_log()?
        .f_add(gumbel)?
        .f_argmax(1, keepdim)?)
}

/// A random permutation of `0..n` (Fisher-Yates).
pub fn permutation(n: usize) -> Result<Vec<i64>> {
    let mut order: Vec<i64> = (0..n as i64).collect();
    draw(|g| {
        for i in (1..n).rev() {
            order.swap(i, g.below(i as u64 + 1) as usize);
        }
    })?;
    Ok(order)
}

/// A random permutation of `0..n` as an Int64 tensor on `device`.
pub fn permutation_tensor(n: i64, device: Device) -> Result<Tensor> {
    let order = permutation(usize::try_from(n).unwrap_or(0))?;
    onto(Tensor::f_from_slice(&order)?, device)
}

/// Overwrites `var` (a parameter) with normal values of the given mean and standard deviation.
pub fn fill_normal(var: &mut Tensor, mean: f64, std: f64) -> Result<()> {
    let noise = normal(&var.size(), var.device())?;
    let _guard = tch::no_grad_guard();
    var.f_copy_(
        &noise
            .f_mul_scalar(std)?
            .f_add_scalar(mean)?
            .f_to_kind(var.kind())?,
    )?;
    Ok(())
}

/// Overwrites `var` (a parameter) with uniform values in [low, high).
pub fn fill_uniform(var: &mut Tensor, low: f64, high: f64) -> Result<()> {
    let values = uniform(&var.size(), low, high, var.device())?;
    let _guard = tch::no_grad_guard();
    var.f_copy_(&values.f_to_kind(var.kind())?)?;
    Ok(())
}

/// Normal noise shaped like `like`, on its device.
pub fn normal_like(like: &Tensor) -> Result<Tensor> {
    normal(&like.size(), like.device())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draws(seed: u64) -> Vec<f32> {
        with_seed::<_, Error>(seed, || {
            Ok(Vec::<f32>::try_from(normal(&[1000], Device::Cpu)?)?)
        })
        .unwrap()
    }

    #[test]
    fn same_seed_same_draws_and_nested_scopes_do_not_disturb() {
        assert_eq!(draws(5), draws(5));
        assert_ne!(draws(5), draws(6));
        let outer = with_seed::<_, Error>(5, || {
            let first = Vec::<f32>::try_from(normal(&[500], Device::Cpu)?)?;
            draws(9);
            let second = Vec::<f32>::try_from(normal(&[500], Device::Cpu)?)?;
            Ok([first, second].concat())
        })
        .unwrap();
        assert_eq!(outer, draws(5));
    }

    #[test]
    fn normals_are_the_box_muller_pairs_of_the_uniform_stream() {
        for n in [1, 2, 127, 128, 129, 1001, 200_001] {
            let mut reference = Xoshiro::new(3);
            let mut expected = Vec::new();
            while expected.len() < n {
                let radius = (-2.0 * (1.0 - reference.unit()).ln()).sqrt();
                let angle = std::f64::consts::TAU * reference.unit();
                expected.push((radius * angle.cos()) as f32);
                expected.push((radius * angle.sin()) as f32);
            }
            expected.truncate(n);
            let mut ours = vec![0f32; n];
            Xoshiro::new(3).fill_normal(&mut ours);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&ours), bits(&expected), "{n} values");
        }
    }

    #[test]
    fn normals_have_unit_moments_and_uniforms_stay_in_range() {
        let x = draws(1);
        let mean = x.iter().map(|&v| v as f64).sum::<f64>() / x.len() as f64;
        let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / x.len() as f64;
        assert!(mean.abs() < 0.1 && (var - 1.0).abs() < 0.15, "{mean} {var}");
        let u = with_seed::<_, Error>(2, || {
            Ok(Vec::<f32>::try_from(uniform(
                &[1000],
                -2.0,
                3.0,
                Device::Cpu,
            )?)?)
        })
        .unwrap();
        assert!(u.iter().all(|&v| (-2.0..3.0).contains(&v)));
    }

    #[test]
    fn permutations_are_permutations() {
        let mut p = with_seed(3, || permutation(100)).unwrap();
        assert_ne!(p, (0..100).collect::<Vec<i64>>());
        p.sort_unstable();
        assert_eq!(p, (0..100).collect::<Vec<i64>>());
    }

    #[test]
    fn drawing_outside_a_scope_is_an_error() {
        assert!(matches!(normal(&[2], Device::Cpu), Err(Error::Internal(_))));
    }

    #[test]
    fn libtorch_generator_is_untouched() {
        use tch::Kind;
        tch::manual_seed(11);
        let expected = Tensor::rand([4], (Kind::Float, Device::Cpu));
        tch::manual_seed(11);
        draws(3);
        assert!(Tensor::rand([4], (Kind::Float, Device::Cpu)).equal(&expected));
    }
}
