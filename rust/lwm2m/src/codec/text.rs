//! text/plain (Content-Format 0) for a single resource value, LwM2M 1.1 TS Core section 7.4.1.
//!
//! Numbers are written and read by the small routines below instead of `core::fmt` and
//! `str::parse::<f64>`, which together cost about 30 KiB of flash on thumbv7m.
//!
//! Float precision: `parse_f64` is correctly rounded when the significand (digits without the
//! point, trailing zeros moved into the exponent or back) is below 2^53 and the decimal exponent
//! is within ±22 (Clinger's fast path), which covers sensor values such as `23.5`, `0.1` or
//! `3.3e-5`. Otherwise it scales a 64-bit mantissa in u128 steps (relative error below about
//! 2e-18) and rounds once, so it is correctly rounded except for inputs within that distance of
//! a halfway point between two doubles, where it may be one ulp off. The writer emits the
//! shortest decimal (at most 17 significant digits) that reads back to the same `f64`: on the
//! exact path it checks by reading, otherwise it requires the decimal to lie inside the
//! rounding interval with a margin larger than the scaling error, so both this parser and any
//! correct one read the text back exactly.

use super::{Record, RecordSource, TypeOf, Writer};
use crate::error::{Error, Result};
use crate::path::Path;
use crate::value::{DataType, Value};

/// Encodes the one value at `base` (a resource or resource instance). [`Error::NotAcceptable`]
/// for anything else (several values, a multiple resource, an object, opaque data).
pub fn encode(base: &Path, src: &dyn RecordSource, w: &mut Writer<'_>) -> Result<()> {
    let mut count = 0;
    src.visit(base, &mut |r| {
        count += 1;
        if count > 1 || r.path != *base {
            return Err(Error::NotAcceptable);
        }
        write_value(w, &r.value)
    })?;
    if count == 1 {
        Ok(())
    } else {
        Err(Error::NotAcceptable)
    }
}

fn write_value(w: &mut Writer<'_>, v: &Value<'_>) -> Result<()> {
    match *v {
        Value::Integer(i) | Value::Time(i) => write_i64(w, i),
        Value::Unsigned(u) => write_u64(w, u),
        Value::Float(f) => write_f64(w, f),
        Value::Boolean(b) => w.byte(if b { b'1' } else { b'0' }),
        Value::String(s) | Value::CoreLnk(s) => w.write(s.as_bytes()),
        Value::ObjLnk(o, i) => {
            write_u64(w, o.into())?;
            w.byte(b':')?;
            write_u64(w, i.into())
        }
        Value::Opaque(_) => Err(Error::NotAcceptable),
    }
}

/// Writes `v` in decimal.
pub(crate) fn write_u64(w: &mut Writer<'_>, mut v: u64) -> Result<()> {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    w.write(&buf[i..])
}

/// Writes `v` in decimal.
pub(crate) fn write_i64(w: &mut Writer<'_>, v: i64) -> Result<()> {
    if v < 0 {
        w.byte(b'-')?;
    }
    write_u64(w, v.unsigned_abs())
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
            div_shifted(m, p)
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

/// `(m * 2^64) / p` for `p > 0`. Long division in u64 steps: a u128 division compiles into
/// about 700 bytes of inlined code on thumbv7m.
fn div_shifted(m: u64, p: u64) -> u128 {
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
    u128::from(hi) << 64 | u128::from(lo)
}

/// `x * 2^k`.
fn ldexp(mut x: f64, mut k: i32) -> f64 {
    let pow2 = |k: i32| f64::from_bits(((1023 + k) as u64) << 52);
    while k > 1000 {
        x *= pow2(1000);
        k -= 1000;
    }
    while k < -1000 {
        x *= pow2(-1000);
        k += 1000;
    }
    x * pow2(k)
}

/// `m * 10^e` as f64 (see the module documentation for its precision).
fn from_parts(mut m: u64, mut e: i32) -> f64 {
    if m == 0 {
        return 0.0;
    }
    // `1.5e30` is `15000000e23`: move zeros into m while it stays exact, so that what the
    // writer checked on the exact path is read on the exact path.
    while e > 22 && m < (1 << 53) / 10 {
        m *= 10;
        e -= 1;
    }
    if m < 1 << 53 && (-22..=22).contains(&e) {
        // Clinger's fast path: both operands exact, one rounding.
        let p = (0..e.unsigned_abs()).fold(1.0, |p, _| p * 10.0);
        return if e >= 0 { m as f64 * p } else { m as f64 / p };
    }
    // Any m below 2^64 times 10^±800 is infinite or zero: bound the loop.
    let (mut m, mut k) = mul_pow10(m, 0, e.clamp(-800, 800));
    // A subnormal result keeps fewer than 53 bits: round once, here, at the right bit (the
    // conversion to f64 and the scaling below are then exact).
    let drop = (-1074 - k).clamp(0, 65) as u32;
    if drop > 11 {
        let half = m.checked_shr(drop - 1).unwrap_or(0) & 1;
        m = m.checked_shr(drop).unwrap_or(0) + half;
        k += drop as i32;
    }
    ldexp(m as f64, k)
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
    if m < 1 << 53 && (-22..=22).contains(&e) {
        return from_parts(m, e) == f;
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

/// Writes `f` as the shortest decimal that [`parse_f64`] reads back to `f` (`NaN`, `Infinity`,
/// `-Infinity` for the non-finite values).
pub(crate) fn write_f64(w: &mut Writer<'_>, f: f64) -> Result<()> {
    if f.is_nan() {
        return w.write(b"NaN");
    }
    if f.is_sign_negative() {
        w.byte(b'-')?;
    }
    let f = f.abs();
    if f.is_infinite() {
        return w.write(b"Infinity");
    }
    if f == 0.0 {
        return w.byte(b'0');
    }
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
    let mut out = [0u8; 32];
    let mut len = 0;
    let (lo, hi) = ((point - n + 1).min(0), point.max(0));
    for x in (lo..=hi).rev() {
        let d = usize::try_from(point - x)
            .ok()
            .and_then(|i| digits.get(i))
            .copied()
            .unwrap_or(b'0');
        let dot = x == 0 && lo < 0;
        for c in [Some(d), dot.then_some(b'.')].into_iter().flatten() {
            if let Some(slot) = out.get_mut(len) {
                *slot = c;
                len += 1;
            }
        }
    }
    w.write(out.get(..len).unwrap_or(&[]))?;
    match exp {
        Some(x) => {
            w.byte(b'e')?;
            write_i64(w, x.into())
        }
        None => Ok(()),
    }
}

/// Parses a decimal without sign (`12`, `0`); `None` on anything else or overflow.
fn parse_u64(s: &[u8]) -> Option<u64> {
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

/// Parses an optionally signed decimal integer.
fn parse_i64(s: &[u8]) -> Option<i64> {
    let (neg, s) = split_sign(s)?;
    let m = parse_u64(s)?;
    if neg {
        0i64.checked_sub_unsigned(m)
    } else {
        i64::try_from(m).ok()
    }
}

/// A leading `-` or `+` off: (negative, rest).
fn split_sign(s: &[u8]) -> Option<(bool, &[u8])> {
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
                    } else if !seen_point {
                        // Digits beyond 19 are dropped (truncation), keeping the magnitude.
                        exp = exp.saturating_add(1);
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
        from_parts(m, exp)
    };
    Some(if neg { -v } else { v })
}

/// Parses `"objID:instID"` (decimal, each at most 65535); also used by the CBOR formats.
pub(super) fn parse_objlnk(b: &[u8]) -> Option<Value<'static>> {
    let colon = b.iter().position(|&c| c == b':')?;
    let id = |s| parse_u64(s).and_then(|v| u16::try_from(v).ok());
    Some(Value::ObjLnk(
        id(b.get(..colon)?)?,
        id(b.get(colon + 1..)?)?,
    ))
}

/// Parses the text of a value of type `ty`.
fn parse_value(b: &[u8], ty: Option<DataType>) -> Result<Value<'_>> {
    let bad = Error::BadRequest;
    let text = || core::str::from_utf8(b).map_err(|_| bad);
    Ok(match ty {
        Some(DataType::Integer) => Value::Integer(parse_i64(b).ok_or(bad)?),
        Some(DataType::Time) => Value::Time(parse_i64(b).ok_or(bad)?),
        Some(DataType::Unsigned) => Value::Unsigned(parse_u64(b).ok_or(bad)?),
        Some(DataType::Float) => Value::Float(parse_f64(b).ok_or(bad)?),
        Some(DataType::Boolean) => match b {
            b"0" => Value::Boolean(false),
            b"1" => Value::Boolean(true),
            _ => return Err(bad),
        },
        Some(DataType::String) => Value::String(text()?),
        Some(DataType::CoreLnk) => Value::CoreLnk(text()?),
        Some(DataType::ObjLnk) => parse_objlnk(b).ok_or(bad)?,
        // Opaque data travels as application/octet-stream.
        Some(DataType::Opaque) => return Err(Error::UnsupportedContentFormat),
        // Executable or unknown: the engine answers 4.05 / 4.04.
        Some(DataType::None) | None => Value::Opaque(b),
    })
}

/// Decodes a payload into one record at the request path.
pub struct Decoder<'a, 't> {
    base: Path,
    payload: Option<&'a [u8]>,
    type_of: TypeOf<'t>,
}

impl<'a, 't> Decoder<'a, 't> {
    /// A decoder for `payload`, relative to the request path `base` (which must be a resource
    /// or resource instance).
    pub fn new(base: &Path, payload: &'a [u8], type_of: TypeOf<'t>) -> Self {
        Decoder {
            base: *base,
            payload: Some(payload),
            type_of,
        }
    }
}

impl<'a> Iterator for Decoder<'a, '_> {
    type Item = Result<Record<'a>>;
    fn next(&mut self) -> Option<Self::Item> {
        let payload = self.payload.take()?;
        if self.base.len() < 3 {
            return Some(Err(Error::BadRequest));
        }
        Some(
            parse_value(payload, (self.type_of)(&self.base)).map(|value| Record {
                path: self.base,
                value,
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::string::String;
    use std::vec::Vec;

    fn text(v: Value<'_>) -> Result<String> {
        let p = Path::resource(3, 0, 1);
        let recs = [Record { path: p, value: v }];
        let mut buf = [0u8; 64];
        let mut w = Writer::new(&mut buf);
        encode(&p, &&recs[..], &mut w)?;
        Ok(String::from_utf8(w.window_data().to_vec()).unwrap())
    }

    fn f(x: f64) -> String {
        text(Value::Float(x)).unwrap()
    }

    fn types(p: &Path) -> Option<DataType> {
        use DataType::*;
        match p.resource_id()? {
            0 => Some(Integer),
            1 => Some(Unsigned),
            2 => Some(Float),
            3 => Some(Boolean),
            4 => Some(String),
            5 => Some(ObjLnk),
            6 => Some(Time),
            7 => Some(CoreLnk),
            8 => Some(Opaque),
            9 => Some(None),
            _ => Option::None,
        }
    }

    fn dec(res: u16, payload: &[u8]) -> Vec<Result<Record<'_>>> {
        Decoder::new(&Path::resource(3, 0, res), payload, &types).collect()
    }

    fn dec_value(res: u16, payload: &[u8]) -> Result<Value<'_>> {
        let mut got = dec(res, payload);
        assert_eq!(got.len(), 1);
        got.pop().unwrap().map(|r| r.value)
    }

    #[test]
    fn encodes_values() {
        assert_eq!(text(Value::Integer(-42)).unwrap(), "-42");
        assert_eq!(
            text(Value::Integer(i64::MIN)).unwrap(),
            "-9223372036854775808"
        );
        assert_eq!(
            text(Value::Unsigned(u64::MAX)).unwrap(),
            "18446744073709551615"
        );
        assert_eq!(text(Value::Time(1_367_491_215)).unwrap(), "1367491215");
        assert_eq!(text(Value::Boolean(true)).unwrap(), "1");
        assert_eq!(text(Value::Boolean(false)).unwrap(), "0");
        assert_eq!(
            text(Value::String("Open Mobile Alliance")).unwrap(),
            "Open Mobile Alliance"
        );
        assert_eq!(text(Value::CoreLnk("</3/0>")).unwrap(), "</3/0>");
        assert_eq!(text(Value::ObjLnk(3, 0)).unwrap(), "3:0");
        assert_eq!(text(Value::ObjLnk(65535, 65535)).unwrap(), "65535:65535");
        assert_eq!(text(Value::Opaque(b"x")), Err(Error::NotAcceptable));
    }

    #[test]
    fn encodes_floats_shortest() {
        for (x, s) in [
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (23.5, "23.5"),
            (-23.5, "-23.5"),
            (0.1, "0.1"),
            (3.3, "3.3"),
            (1.0 / 3.0, "0.3333333333333333"),
            (0.30000000000000004, "0.30000000000000004"),
            (100.0, "100"),
            (1e20, "100000000000000000000"),
            (1e21, "1e21"),
            (1.5e300, "1.5e300"),
            (1e-6, "0.000001"),
            (1.25e-7, "1.25e-7"),
            (f64::from(1.1f32), "1.100000023841858"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (1.5e30, "1.5e30"),
            (f64::MAX, "1.7976931348623157e308"),
            (5e-324, "5e-324"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            (f64::NAN, "NaN"),
        ] {
            assert_eq!(f(x), s, "{x:e}");
        }
    }

    #[test]
    fn only_one_value_at_the_base() {
        let p = Path::resource(3, 0, 7);
        let recs = [
            Record {
                path: Path::resource_instance(3, 0, 7, 0),
                value: Value::Integer(1),
            },
            Record {
                path: Path::resource_instance(3, 0, 7, 1),
                value: Value::Integer(2),
            },
        ];
        let mut buf = [0u8; 16];
        for base in [p, Path::instance(3, 0), Path::resource(3, 0, 8)] {
            let mut w = Writer::new(&mut buf);
            assert_eq!(encode(&base, &&recs[..], &mut w), Err(Error::NotAcceptable));
        }
        let mut w = Writer::new(&mut buf);
        encode(&Path::resource_instance(3, 0, 7, 1), &&recs[..], &mut w).unwrap();
        assert_eq!(w.window_data(), b"2");
    }

    #[test]
    fn decodes_values() {
        assert_eq!(dec_value(0, b"-42"), Ok(Value::Integer(-42)));
        assert_eq!(dec_value(0, b"+7"), Ok(Value::Integer(7)));
        assert_eq!(
            dec_value(0, b"-9223372036854775808"),
            Ok(Value::Integer(i64::MIN))
        );
        assert_eq!(
            dec_value(1, b"18446744073709551615"),
            Ok(Value::Unsigned(u64::MAX))
        );
        assert_eq!(dec_value(2, b"23.5"), Ok(Value::Float(23.5)));
        assert_eq!(dec_value(2, b"-1e-3"), Ok(Value::Float(-0.001)));
        assert_eq!(dec_value(2, b".5"), Ok(Value::Float(0.5)));
        assert_eq!(dec_value(2, b"7"), Ok(Value::Float(7.0)));
        assert_eq!(dec_value(2, b"1E2"), Ok(Value::Float(100.0)));
        assert_eq!(
            dec_value(2, b"-Infinity"),
            Ok(Value::Float(f64::NEG_INFINITY))
        );
        assert_eq!(dec_value(2, b"1e400"), Ok(Value::Float(f64::INFINITY)));
        assert_eq!(dec_value(2, b"1e-400"), Ok(Value::Float(0.0)));
        assert!(matches!(dec_value(2, b"nan"), Ok(Value::Float(x)) if x.is_nan()));
        assert_eq!(dec_value(3, b"1"), Ok(Value::Boolean(true)));
        assert_eq!(dec_value(3, b"0"), Ok(Value::Boolean(false)));
        assert_eq!(dec_value(4, "héllo".as_bytes()), Ok(Value::String("héllo")));
        assert_eq!(dec_value(4, b""), Ok(Value::String("")));
        assert_eq!(dec_value(5, b"3:0"), Ok(Value::ObjLnk(3, 0)));
        assert_eq!(dec_value(6, b"1367491215"), Ok(Value::Time(1_367_491_215)));
        assert_eq!(dec_value(7, b"</1/0>"), Ok(Value::CoreLnk("</1/0>")));
        assert_eq!(dec_value(8, b"AAEC"), Err(Error::UnsupportedContentFormat));
        assert_eq!(dec_value(9, b"x"), Ok(Value::Opaque(b"x")));
        assert_eq!(dec_value(99, b"x"), Ok(Value::Opaque(b"x")));
        let got = dec(0, b"5");
        assert_eq!(got[0].as_ref().unwrap().path, Path::resource(3, 0, 0));
    }

    #[test]
    fn rejects_garbage() {
        for (res, bad) in [
            (0, &b""[..]),
            (0, b"1.0"),
            (0, b" 1"),
            (0, b"9223372036854775808"),
            (0, b"-9223372036854775809"),
            (0, b"--1"),
            (1, b"-1"),
            (1, b"18446744073709551616"),
            (2, b""),
            (2, b"."),
            (2, b"1e"),
            (2, b"1e+"),
            (2, b"1.2.3"),
            (2, b"0x10"),
            (2, b"1f"),
            (3, b"true"),
            (3, b"2"),
            (4, &[0xff]),
            (5, b"3"),
            (5, b"3:65536"),
            (5, b":0"),
            (5, b"3:0:1"),
            (6, b"now"),
        ] {
            assert_eq!(dec_value(res, bad), Err(Error::BadRequest), "{res} {bad:?}");
        }
        let got: Vec<_> = Decoder::new(&Path::instance(3, 0), b"1", &types).collect();
        assert_eq!(got, [Err(Error::BadRequest)]);
    }

    #[test]
    fn shifted_division_matches_u128() {
        for (m, p) in [
            (1u64 << 63, 10u64),
            (u64::MAX, 1),
            (u64::MAX, 7),
            (u64::MAX, 10u64.pow(19)),
            (0x8000_0000_0000_0001, 10u64.pow(19) - 1),
            (12_345_678_901_234_567_890, 3),
        ] {
            assert_eq!(
                div_shifted(m, p),
                (u128::from(m) << 64) / u128::from(p),
                "{m} {p}"
            );
        }
    }

    #[test]
    fn float_regressions() {
        // Found by proptest: trailing zeros off the exact path, subnormal double rounding, a
        // shorter candidate only this module's (then less precise) parser accepted.
        for x in [
            9.24127305e19,
            -6.145524185953221e-294,
            1.7821778919950817e-308,
            5.6310047675770936e305,
            1.417708e36,
        ] {
            let s = f(x);
            assert_eq!(parse_f64(s.as_bytes()), Some(x), "{s}");
            assert_eq!(s.parse::<f64>(), Ok(x), "{s}");
        }
        assert_eq!(f(9.24127305e19), "92412730500000000000");
        // Found by fuzzing: written as 1.417708e36 after an exact check of 141770800000000e22.
        assert_eq!(f(1.417708e36), "1.417708e36");
    }

    #[test]
    fn float_fast_path_is_exact() {
        // Values a correct parser gives for these strings (checked against std's parser).
        for s in [
            "0.1",
            "3.3",
            "23.5",
            "1e22",
            "123456789012345e-22",
            "9007199254740991",
        ] {
            assert_eq!(parse_f64(s.as_bytes()), s.parse().ok(), "{s}");
        }
    }

    proptest! {
        #[test]
        fn floats_roundtrip(x in any::<f64>().prop_filter("NaN", |x| !x.is_nan())) {
            let s = f(x);
            let back = parse_f64(s.as_bytes()).unwrap();
            // Through this module: exact or within a few ulps (see the module docs).
            let ulps = (back.to_bits() as i64).wrapping_sub(x.to_bits() as i64).unsigned_abs();
            prop_assert!(ulps == 0, "{} -> {} -> {}", x, s, back);
            // Through a correct parser the same.
            let std_back: f64 = s.parse().unwrap();
            let ulps = (std_back.to_bits() as i64).wrapping_sub(x.to_bits() as i64).unsigned_abs();
            prop_assert!(ulps == 0, "{} -> {} -> {} (std)", x, s, std_back);
        }

        #[test]
        fn decimal_floats_are_exact_and_short(m in -999_999_999i64..999_999_999, e in -12i32..12) {
            // A typical sensor reading m * 10^e: written with at most 9 digits, read back exactly
            // by this module and by std.
            let x: f64 = std::format!("{m}e{e}").parse().unwrap();
            let s = f(x);
            prop_assert_eq!(parse_f64(s.as_bytes()), Some(x));
            prop_assert_eq!(s.parse::<f64>().ok(), Some(x));
            prop_assert!(s.bytes().filter(u8::is_ascii_digit).count() <= 9 + 12, "{}", s);
            let digits: String = s.chars().filter(|c| c.is_ascii_digit()).collect();
            prop_assert!(digits.trim_matches('0').len() <= 9, "{}", s);
        }

        #[test]
        fn parser_agrees_with_std(m in any::<u64>(), e in -340i32..320, frac in 0usize..20) {
            // Within one ulp of a correctly rounded parser (exact except next to a tie).
            let digits = std::format!("{m}");
            let cut = digits.len().saturating_sub(frac);
            let s = std::format!("{}.{}e{e}", &digits[..cut], &digits[cut..]);
            let ours = parse_f64(s.as_bytes()).unwrap();
            let std_v: f64 = s.parse().unwrap();
            let ulps = (ours.to_bits() as i64).wrapping_sub(std_v.to_bits() as i64).unsigned_abs();
            prop_assert!(ulps <= 1, "{} -> {} vs {}", s, ours, std_v);
        }

        #[test]
        fn shifted_division_is_exact(m in any::<u64>(), p in 1u64..) {
            prop_assert_eq!(div_shifted(m, p), (u128::from(m) << 64) / u128::from(p));
        }

        #[test]
        fn integers_roundtrip(i in any::<i64>(), u in any::<u64>()) {
            let (si, su) = (text(Value::Integer(i)).unwrap(), text(Value::Unsigned(u)).unwrap());
            prop_assert_eq!(dec_value(0, si.as_bytes()), Ok(Value::Integer(i)));
            prop_assert_eq!(dec_value(1, su.as_bytes()), Ok(Value::Unsigned(u)));
        }

        #[test]
        fn decoder_never_panics(payload in proptest::collection::vec(any::<u8>(), 0..40), res in 0u16..11) {
            let _ = dec(res, &payload);
        }
    }
}
