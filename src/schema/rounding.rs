//! Generated values back in their columns' units: rounding integer columns, once per value of
//! every generated row.

/// `v.round()`, halves away from zero, bit for bit (signed zeros, NaN and infinities
/// included), without the call into libm that `f32::round` compiles to on x86-64's baseline
/// instruction set, once per generated value.
#[inline]
pub fn round(v: f32) -> f32 {
    // From 2^23 up every float32 is an integer; NaN and the infinities stay as they are.
    if v.is_nan() || v.abs() >= 8_388_608.0 {
        return v;
    }
    let whole = v as i32 as f32; // truncated towards zero, exactly
    let fraction = v - whole; // exact: |v - whole| < 1 and both share a binade or whole is 0
    let rounded = if fraction >= 0.5 {
        whole + 1.0
    } else if fraction <= -0.5 {
        whole - 1.0
    } else {
        whole
    };
    rounded.copysign(v)
}

/// A min-max-scaled model-space value `x` back in its column's units: held to [0, 1], scaled
/// onto `low..low + span`, and rounded for an integral column.
#[inline]
pub fn unit_value(x: f32, low: f32, span: f32, integral: bool) -> f32 {
    whole_if(integral, x.clamp(0.0, 1.0) * span + low)
}

/// `v`, rounded when `integral`.
#[inline]
pub fn whole_if(integral: bool, v: f32) -> f32 {
    if integral {
        round(v)
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(v: f32) {
        assert_eq!(round(v).to_bits(), v.round().to_bits(), "{v:e}");
    }

    #[test]
    fn rounds_as_the_standard_library_does_to_the_bit() {
        for v in [
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            -2.5,
            0.49999997,
            -0.49999997,
            0.3,
            -0.3,
            0.7,
            -0.7,
            1e-40,
            -1e-40,
            8_388_607.5,
            -8_388_607.5,
            8_388_608.0,
            16_777_217.0,
            1e30,
            -1e30,
            f32::MAX,
            f32::MIN,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ] {
            same(v);
        }
        assert!(round(f32::NAN).is_nan());
        // Every float32 bit pattern along a stride that visits each binade many times.
        for bits in (0..=u32::MAX).step_by(997) {
            let v = f32::from_bits(bits);
            if !v.is_nan() {
                same(v);
            }
        }
    }
}
