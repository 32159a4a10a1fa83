//! Decimal text of `f64` values (text/plain, link-format attributes) with integer arithmetic
//! only: no floating-point operation, hence no soft-float division or multiplication, is on the
//! path, and neither `core::fmt` nor `str::parse::<f64>` (about 30 KiB of flash on thumbv7m).
//!
//! Parsing (`parse_f64`): the decimal is read as a significand `m` of at most 19 digits (later
//! digits are dropped, remembered as a sticky bit) and a decimal exponent `e`.
//! - Exact path: when `10^|e|` fits in 64 bits (`|e| <= 19`, after moving trailing zeros of a
//!   larger `e` into `m`), `m * 10^e` or `m * 2^64 / 10^|e|` is computed exactly in 128 bits
//!   and rounded once to nearest, ties to even, with the remainder as sticky bit: the result is
//!   the correctly rounded `f64`, as std's parser gives it. This covers every sensor value such
//!   as `23.5`, `0.1`, `-40` or `3.3e-5` and every decimal of up to 19 significant digits
//!   between about `1e-19` and `1e38`.
//! - Otherwise a 64-bit significand is scaled in 128-bit steps of at most `10^19` (each
//!   truncating by less than 2^-63, relative error below about 2e-18) and rounded once; the
//!   result is correctly rounded except for inputs within that distance of a halfway point
//!   between two doubles, where it may be one ulp off. With more than 19 significant digits the
//!   same holds for the exact path (the dropped digits are below 10^-18 relative).
//!
//! Writing (`format_f64`): the shortest decimal of at most 17 significant digits that reads back
//! to the same `f64`, under every correct parser and under `parse_f64`. A candidate is accepted
//! on the exact path by reading it back; otherwise only if it lies inside the rounding interval
//! with a margin larger than the scaling error, so a candidate within about 2e-18 of the
//! interval's edge is passed over for one digit more (the output still reads back exactly).

/// `(m * 2^64) / p` for `p > 0`, and whether the division left a remainder. Long division in
/// u64 steps: a u128 division compiles into about 700 bytes of inlined code on thumbv7m.
fn div_shifted(m: u64, p: u64) -> (u128, bool) {
    let (hi, mut rem) = (m / p, m % p);
    let mut lo = 0u64;
    for _ in 0..64 {
        // rem < p: doubling it overflows u64 at most by the carry bit.
        let carry = rem >> 63;
        rem <<= 1;
        lo <<= 1;
        if carry != 0 || rem >= p {
            rem = rem.wrapping_sub(p);
            lo |= 1;
        }
    }
    (u128::from(hi) << 64 | u128::from(lo), rem != 0)
}

/// `m * 2^k * 10^e` as `(m', k')` with `m'` normalized (top bit set), for `m > 0`. Works on
/// 64-bit mantissas in u128 steps of at most 10^19; each step truncates by less than 2^-63, so
/// the result is within about 1e-18 (relative) of the exact value.
fn mul_pow10(m: u64, k: i32, mut e: i32) -> (u64, i32) {
    let lz = m.leading_zeros();
    let (mut m, mut k) = (m << lz, k - lz as i32);
    while e != 0 {
        let step = e.unsigned_abs().min(19);
        let p = 10u64.pow(step);
        let x = if e > 0 {
            u128::from(m) * u128::from(p)
        } else {
            div_shifted(m, p).0
        };
        // m >= 2^63 and p < 2^64 keep x >= 2^63, so the shift is at most 64.
        let lz = x.leading_zeros();
        m = (x << lz >> 64) as u64;
        if e > 0 {
            k += 64 - lz as i32;
            e -= step as i32;
        } else {
            k -= lz as i32;
            e += step as i32;
        }
    }
    (m, k)
}

/// The `f64` nearest to `m * 2^k` (ties to even), for `m > 0`; `sticky` says that the exact
/// value is a little above `m * 2^k` (nonzero bits below `m` were dropped).
fn round_to_f64(m: u64, k: i32, sticky: bool) -> f64 {
    let lz = m.leading_zeros();
    let m = m << lz;
    // m is in [2^63, 2^64): its top bit has weight 2^lead.
    let lead = k - lz as i32 + 63;
    // 53 bits for a normal number, fewer below 2^-1022 (subnormal); with more than 64 bits to
    // drop the value is below half the smallest subnormal.
    let shift = 11 + (-1022 - lead).max(0);
    if shift > 64 {
        return 0.0;
    }
    let shift = shift as u32;
    let kept = m.checked_shr(shift).unwrap_or(0);
    let rest = m & u64::MAX.checked_shr(64 - shift).unwrap_or(0);
    let half = 1u64 << (shift - 1);
    let up = rest > half || (rest == half && (sticky || kept & 1 == 1));
    let kept = kept + u64::from(up);
    if shift > 11 {
        // Subnormal; a carry into bit 52 gives the smallest normal, which these bits encode.
        return f64::from_bits(kept);
    }
    // kept is in [2^52, 2^53]: 2^53 (after a carry) starts the next binade.
    let (kept, lead) = if kept >> 53 != 0 {
        (kept >> 1, lead + 1)
    } else {
        (kept, lead)
    };
    if lead > 1023 {
        return f64::INFINITY;
    }
    f64::from_bits(((lead + 1023) as u64) << 52 | (kept & ((1 << 52) - 1)))
}

/// [`round_to_f64`] for a 128-bit `x > 0`.
fn round_u128(x: u128, k: i32, sticky: bool) -> f64 {
    let drop = 64u32.saturating_sub(x.leading_zeros());
    let low = x & ((1u128 << drop) - 1);
    round_to_f64((x >> drop) as u64, k + drop as i32, sticky || low != 0)
}

/// `m * 10^e` (`m > 0`) correctly rounded when `10^|e|` fits in 64 bits after trailing zeros of
/// a large `e` moved into `m` (the module's exact path); `None` otherwise.
fn exact(mut m: u64, mut e: i32, sticky: bool) -> Option<f64> {
    while e > 19 {
        m = m.checked_mul(10)?;
        e -= 1;
    }
    if e < -19 {
        return None;
    }
    let p = 10u64.pow(e.unsigned_abs());
    Some(if e >= 0 {
        round_u128(u128::from(m) * u128::from(p), 0, sticky)
    } else {
        // Normalized first, so that the quotient keeps at least 64 significant bits.
        let lz = m.leading_zeros();
        let (q, rem) = div_shifted(m << lz, p);
        round_u128(q, -64 - lz as i32, sticky || rem)
    })
}

/// `m * 10^e` as `f64` (see the module documentation for its precision).
fn from_parts(m: u64, e: i32, sticky: bool) -> f64 {
    if m == 0 {
        return 0.0;
    }
    exact(m, e, sticky).unwrap_or_else(|| {
        // Any m below 2^64 times 10^±800 is infinite or zero: bound the loop.
        let (m, k) = mul_pow10(m, 0, e.clamp(-800, 800));
        round_to_f64(m, k, false)
    })
}

/// `f` as `(m, k)`, `f = m * 2^k`.
fn split(f: f64) -> (u64, i32) {
    let bits = f.to_bits();
    match (bits >> 52) as i32 {
        0 => (bits, -1074),
        exp => (bits & ((1 << 52) - 1) | 1 << 52, exp - 1075),
    }
}

/// True if every correct parser reads `m * 10^e` as `f` (positive, finite): on the exact path
/// by computing it, otherwise by checking that it lies within half an ulp of `f` with a margin
/// larger than the error of [`mul_pow10`].
fn reads_back(m: u64, e: i32, f: f64) -> bool {
    if let Some(x) = exact(m, e, false) {
        return x.to_bits() == f.to_bits();
    }
    let (md, kd) = mul_pow10(m, 0, e);
    let (mf, kf) = split(f);
    let (mf, kf) = mul_pow10(mf, kf, 0);
    // In 64-bit mantissas an ulp is 2^11 units (more for subnormals); mul_pow10 errs by < 64.
    let ulp_bits = (-1074 - kf).clamp(11, 63) as u32;
    kd == kf && md.abs_diff(mf) < (1 << (ulp_bits - 1)) - 64
}

/// Rounds positive finite `f` to `prec` (1..=17) significant digits: `(m, e)` with
/// `f ≈ m * 10^e`.
fn round_digits(f: f64, prec: u32) -> (u64, i32) {
    let lo = 10u64.pow(prec - 1);
    let (m, k) = split(f);
    // f is in [2^e2, 2^(e2+1)): estimate the decimal exponent, then correct the estimate.
    let e2 = k + 63 - m.leading_zeros() as i32;
    let mut s = prec as i32 - 1 - (e2 * 30103).div_euclid(100_000);
    let mut n = 0;
    for _ in 0..4 {
        let (mm, kk) = mul_pow10(m, k, s);
        // mm * 2^kk < 10^17 < 2^57 means kk < 0; round half up at the last bit kept.
        let shift = kk.unsigned_abs().saturating_sub(1);
        n = mm.checked_shr(shift).map_or(0, |x| x / 2 + (x & 1));
        if n < lo {
            s += 1;
        } else if n >= lo * 10 {
            s -= 1;
        } else {
            break;
        }
    }
    (n, -s)
}

/// Longest text [`format_f64`] writes (`-0.0000012345678901234567`, 17 digits).
pub(crate) const MAX_LEN: usize = 32;

/// Writes `f` into `out` as the shortest decimal that reads back to `f` (`NaN`, `Infinity`,
/// `-Infinity` for the non-finite values); returns the length.
pub(crate) fn format_f64(f: f64, out: &mut [u8; MAX_LEN]) -> usize {
    let bits = f.to_bits();
    let mag = bits & !(1 << 63);
    let mut len = 0;
    let mut put = |c: u8| {
        if let Some(slot) = out.get_mut(len) {
            *slot = c;
            len += 1;
        }
    };
    let special: Option<&[u8]> = match mag {
        m if m > f64::INFINITY.to_bits() => Some(b"NaN"),
        m if m == f64::INFINITY.to_bits() => Some(b"Infinity"),
        0 => Some(b"0"),
        _ => None,
    };
    if bits >> 63 != 0 && special != Some(b"NaN") {
        put(b'-');
    }
    if let Some(s) = special {
        s.iter().for_each(|&c| put(c));
        return len;
    }
    let f = f64::from_bits(mag);
    let (m, e) = (1..=16)
        .map(|p| round_digits(f, p))
        .find(|&(m, e)| reads_back(m, e, f))
        .unwrap_or_else(|| round_digits(f, 17));
    // Significant digits, trailing zeros dropped (m < 10^17).
    let mut digits = [0u8; 20];
    let mut v = m;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
    let first = digits.iter().position(|&d| d != b'0').unwrap_or(0);
    let last = digits.iter().rposition(|&d| d != b'0').unwrap_or(0);
    let digits = digits.get(first..=last).unwrap_or(&[]);
    let n = digits.len() as i32;
    // Exponent of the leading digit; plain notation in the range JavaScript uses too, else one
    // digit before the point and an exponent.
    let lead = e + 19 - first as i32;
    let (point, exp) = if (-6..21).contains(&lead) {
        (lead, None)
    } else {
        (0, Some(lead))
    };
    // Render the places 10^hi down to 10^lo; places outside the digits are zeros.
    let (lo, hi) = ((point - n + 1).min(0), point.max(0));
    for x in (lo..=hi).rev() {
        let d = usize::try_from(point - x)
            .ok()
            .and_then(|i| digits.get(i))
            .copied()
            .unwrap_or(b'0');
        put(d);
        if x == 0 && lo < 0 {
            put(b'.');
        }
    }
    if let Some(x) = exp {
        put(b'e');
        if x < 0 {
            put(b'-');
        }
        let x = x.unsigned_abs();
        for d in [x / 100, x / 10 % 10, x % 10]
            .into_iter()
            .skip_while(|&d| d == 0)
        {
            put(b'0' + d as u8);
        }
    }
    len
}

/// Parses a decimal without sign (`12`, `0`); `None` on anything else or overflow.
#[inline(never)] // one copy instead of one per use: smaller (`make size`)
pub(crate) fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |a, &c| {
        if c.is_ascii_digit() {
            a.checked_mul(10)?.checked_add(u64::from(c - b'0'))
        } else {
            None
        }
    })
}

/// A leading `-` or `+` off: (negative, rest).
pub(crate) fn split_sign(s: &[u8]) -> Option<(bool, &[u8])> {
    Some(match s.split_first()? {
        (b'-', rest) => (true, rest),
        (b'+', rest) => (false, rest),
        _ => (false, s),
    })
}

/// Parses a decimal float (`-12.5`, `1e-3`, `.5`, `NaN`, `Infinity`, `inf`); see the module
/// documentation for its precision.
pub(crate) fn parse_f64(s: &[u8]) -> Option<f64> {
    let (neg, s) = split_sign(s)?;
    let v = if s.eq_ignore_ascii_case(b"infinity") || s.eq_ignore_ascii_case(b"inf") {
        f64::INFINITY
    } else if s.eq_ignore_ascii_case(b"nan") {
        f64::NAN
    } else {
        let mut m: u64 = 0;
        let mut exp: i32 = 0;
        let mut digits = 0;
        let mut sticky = false;
        let mut seen_point = false;
        let mut i = 0;
        while let Some(&c) = s.get(i) {
            match c {
                b'0'..=b'9' => {
                    digits += 1;
                    if m < 1_000_000_000_000_000_000 {
                        m = m * 10 + u64::from(c - b'0');
                        if seen_point {
                            exp = exp.saturating_sub(1);
                        }
                    } else {
                        // Digits beyond 19 are dropped (remembered as the sticky bit),
                        // keeping the magnitude.
                        sticky |= c != b'0';
                        if !seen_point {
                            exp = exp.saturating_add(1);
                        }
                    }
                }
                b'.' if !seen_point => seen_point = true,
                _ => break,
            }
            i += 1;
        }
        if digits == 0 {
            return None;
        }
        // Trailing zeros were accumulated exactly: drop them to stay on the exact path.
        while m != 0 && m.is_multiple_of(10) {
            m /= 10;
            exp = exp.saturating_add(1);
        }
        if let Some(rest) = s.get(i..).filter(|r| !r.is_empty()) {
            let (e, digits) = rest.split_first()?;
            if *e != b'e' && *e != b'E' {
                return None;
            }
            let (eneg, digits) = split_sign(digits)?;
            // Exponents past ±9999 saturate: the result is 0 or infinite either way.
            let e = parse_u64(digits)?.min(9999) as i32;
            exp = exp.saturating_add(if eneg { -e } else { e });
        }
        from_parts(m, exp, sticky)
    };
    Some(if neg { -v } else { v })
}

#[cfg(test)]
#[path = "float_tests.rs"]
mod tests;
