//! A contiguous CPU float32 tensor's values as a Rust slice, for the loops that libtorch has no
//! single operation for (the hand-written training steps, noise, decoding generated rows).

use crate::error::{Error, Result};
use tch::{Device, Kind, Tensor};

/// Whether `t` can be read or written as a slice: a contiguous CPU float32 tensor.
pub fn applies(t: &Tensor) -> bool {
    t.device() == Device::Cpu && t.kind() == Kind::Float && t.is_contiguous()
}

/// A contiguous CPU float32 tensor's values.
pub(crate) fn values(t: &Tensor) -> Result<&[f32]> {
    check(t)?;
    if t.numel() == 0 {
        return Ok(&[]);
    }
    // SAFETY: `t` is a contiguous CPU float32 tensor of `numel` elements (checked), not empty
    // (so its data pointer is not null), alive for the borrow.
    Ok(unsafe { std::slice::from_raw_parts(t.data_ptr() as *const f32, t.numel()) })
}

/// A contiguous CPU float32 tensor's values, to write. Crate-private: its callers pass
/// tensors that no other live slice covers and that libtorch does not write while the slice
/// lives.
#[allow(clippy::mut_from_ref)]
pub(crate) fn values_mut(t: &Tensor) -> Result<&mut [f32]> {
    check(t)?;
    if t.numel() == 0 {
        return Ok(&mut []);
    }
    // SAFETY: as for `values`; callers pass tensors that no other live slice covers.
    Ok(unsafe { std::slice::from_raw_parts_mut(t.data_ptr() as *mut f32, t.numel()) })
}

fn check(t: &Tensor) -> Result<()> {
    if applies(t) {
        Ok(())
    } else {
        Err(Error::Internal(
            "a slice of a tensor needs a contiguous CPU float32 tensor".into(),
        ))
    }
}
