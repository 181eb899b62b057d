//! Per-model reproducibility on top of libtorch's process-global generator.
//!
//! Each model owns a [`SeedStream`]; every call that draws random numbers takes the next seed from
//! it (or the caller's own) and draws while holding [`TorchRng`], one process-wide lock, so that
//! two models drawing at once cannot interleave on the shared generator.

use crate::error::{Error, Result};
use std::cell::Cell;
use std::sync::{Mutex, MutexGuard};

static TORCH_RNG: Mutex<()> = Mutex::new(());

thread_local! {
    /// Whether this thread holds [`TORCH_RNG`] (a Python signal handler run during training
    /// could otherwise wait for it forever).
    static HOLDING: Cell<bool> = const { Cell::new(false) };
}

/// Exclusive use of libtorch's generators for as long as it is held.
pub struct TorchRng {
    _lock: MutexGuard<'static, ()>,
}

impl TorchRng {
    /// Waits until no other genaug call is drawing random numbers; an error on a thread that
    /// already holds the generators.
    pub fn lock() -> Result<TorchRng> {
        if HOLDING.get() {
            return Err(Error::Busy(
                "genaug is already drawing random numbers on this thread (training); call it \
                 again after fit returns"
                    .into(),
            ));
        }
        let lock = TORCH_RNG
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        HOLDING.set(true);
        Ok(TorchRng { _lock: lock })
    }

    pub fn seed(&mut self, seed: u64) {
        // libtorch takes an i64; the bit pattern is what matters.
        tch::manual_seed(seed as i64);
        if tch::Cuda::is_available() {
            tch::Cuda::manual_seed_all(seed);
        }
    }
}

impl Drop for TorchRng {
    fn drop(&mut self) {
        HOLDING.set(false);
    }
}

/// Seeds libtorch's generators with `seed` and runs `f` while no other genaug call can reseed them.
pub fn with_seed<T, E: From<Error>>(
    seed: u64,
    f: impl FnOnce() -> std::result::Result<T, E>,
) -> std::result::Result<T, E> {
    let mut rng = TorchRng::lock()?;
    rng.seed(seed);
    f()
}

/// The seed for one named part of a seeded run (building the network, an epoch, ...): each part
/// draws from its own seed, so a run resumed at any epoch draws what it would have drawn.
pub fn derive(seed: u64, part: u64) -> u64 {
    SeedStream::new(seed ^ part.wrapping_mul(0xD6E8_FEB8_6659_FD93)).next_seed()
}

/// A SplitMix64 sequence of seeds: cheap, stateless apart from one `u64`, and checkpointable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedStream {
    pub state: u64,
}

impl SeedStream {
    pub fn new(seed: u64) -> SeedStream {
        SeedStream { state: seed }
    }

    pub fn next_seed(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind, Tensor};

    #[test]
    fn same_seed_same_draws() {
        let draw = || Vec::<f32>::try_from(Tensor::randn([4], (Kind::Float, Device::Cpu)));
        let draw = |seed| with_seed::<_, Error>(seed, || Ok(draw()?)).unwrap();
        assert_eq!(draw(5), draw(5));
        assert_ne!(draw(5), draw(6));
    }

    #[test]
    fn the_lock_is_not_taken_twice_on_one_thread() {
        let held = TorchRng::lock().unwrap();
        assert!(matches!(TorchRng::lock(), Err(Error::Busy(_))));
        drop(held);
        assert!(TorchRng::lock().is_ok());
    }

    #[test]
    fn streams_are_deterministic_and_distinct() {
        let (mut a, mut b, mut c) = (SeedStream::new(1), SeedStream::new(1), SeedStream::new(2));
        let first = a.next_seed();
        assert_eq!(first, b.next_seed());
        assert_ne!(first, c.next_seed());
        assert_ne!(first, a.next_seed());
    }

    #[test]
    fn derived_seeds_differ_by_part_and_run() {
        assert_eq!(derive(3, 1), derive(3, 1));
        assert_ne!(derive(3, 1), derive(3, 2));
        assert_ne!(derive(3, 1), derive(4, 1));
    }
}
