//! IEEE 754 binary32 <-> binary64 on the bits, for the binary formats (TLV, CBOR) that send a
//! float in 4 bytes when that is exact: the same results as `as f32` / `f64::from` (NaN: the
//! quiet bit set, the payload's top bits kept), without the soft-float conversion and compare
//! routines on FPU-less targets.

/// The binary32 bits of `f` when `f64::from(f as f32)` gives back the same bits of `f` (NaN:
/// a quiet NaN whose low 29 payload bits are zero); `None` when narrowing would change it.
pub(crate) fn narrow(f: f64) -> Option<u32> {
    let bits = f.to_bits();
    let sign = ((bits >> 32) as u32) & 0x8000_0000;
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1 << 52) - 1);
    let low_zero = |n: u32| frac & ((1u64 << n) - 1) == 0;
    let magnitude = match exp {
        0 if frac == 0 => 0,
        // Infinity, or a NaN that survives the round trip.
        0x7ff if frac == 0 || (frac >> 51 == 1 && low_zero(29)) => {
            0x7f80_0000 | (frac >> 29) as u32
        }
        _ => {
            let e = exp - 1023;
            if (-126..=127).contains(&e) && low_zero(29) {
                ((e + 127) as u32) << 23 | (frac >> 29) as u32
            } else if (-149..-126).contains(&e) {
                // A binary32 subnormal: k * 2^-149 with k = (frac | 2^52) >> shift exactly.
                let m = frac | 1 << 52;
                let shift = (-97 - e) as u32;
                if m & ((1u64 << shift) - 1) != 0 {
                    return None;
                }
                (m >> shift) as u32
            } else {
                return None;
            }
        }
    };
    Some(sign | magnitude)
}

/// `f64::from(f32::from_bits(bits))` (NaN: quieted, as the conversion does).
pub(crate) fn widen(bits: u32) -> f64 {
    let sign = u64::from(bits & 0x8000_0000) << 32;
    let exp = (bits >> 23) & 0xff;
    let frac = u64::from(bits & 0x7f_ffff);
    let magnitude = match exp {
        0 if frac == 0 => 0,
        0 => {
            // Subnormal: frac * 2^-149, normal in binary64.
            let shift = frac.leading_zeros() - 40;
            (u64::from(1023 - 126 - shift) << 52) | ((frac << shift) & 0x7f_ffff) << 29
        }
        0xff if frac == 0 => 0x7ff << 52,
        0xff => 0x7ff << 52 | 1 << 51 | frac << 29,
        e => u64::from(e + 1023 - 127) << 52 | frac << 29,
    };
    f64::from_bits(sign | magnitude)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the conversions do.
    fn reference(f: f64) -> Option<u32> {
        let n = f as f32;
        (f64::from(n).to_bits() == f.to_bits()).then_some(n.to_bits())
    }

    #[test]
    fn edges() {
        for f in [
            0.0,
            -0.0,
            1.0,
            -1.5,
            0.1,
            f64::from(f32::MAX),
            f64::from(f32::MIN_POSITIVE),
            f64::from(f32::MIN_POSITIVE) / 2.0,
            f64::from(f32::from_bits(1)),
            f64::from(f32::from_bits(1)) / 2.0,
            f64::from(f32::from_bits(0x7f_ffff)),
            f64::from(f32::MAX) * 2.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
            f64::from_bits(0x7ff0_0000_0000_0001),
            f64::from_bits(0x7ff8_0000_2000_0000),
            f64::from_bits(0x7ffc_0000_0000_0000),
            5e-324,
            1e300,
        ] {
            assert_eq!(narrow(f), reference(f), "{f:e} {:#x}", f.to_bits());
        }
        for b in [
            0,
            1,
            0x7f_ffff,
            0x80_0000,
            0x3f80_0000,
            0x7f80_0000,
            0xff80_0000,
            0x7fc0_0000,
            0x8000_0001,
        ] {
            assert_eq!(
                widen(b).to_bits(),
                f64::from(f32::from_bits(b)).to_bits(),
                "{b:#x}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        #[test]
        fn narrow_matches_conversion(bits in any::<u64>(), b32 in any::<u32>()) {
            // Random doubles, and doubles that are binary32 values (the interesting case).
            let f = f64::from_bits(bits);
            prop_assert_eq!(narrow(f), reference(f), "{:#x}", bits);
            let g = f64::from(f32::from_bits(b32));
            prop_assert_eq!(narrow(g), reference(g), "{:#x}", b32);
        }

        #[test]
        fn widen_matches_conversion(b in any::<u32>()) {
            // Signaling NaNs come back quiet from both.
            prop_assert_eq!(widen(b).to_bits(), f64::from(f32::from_bits(b)).to_bits(), "{:#x}", b);
        }
    }
}
