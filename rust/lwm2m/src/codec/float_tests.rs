//! Tests of the float text algorithm against std's formatting and parsing (the reference for
//! "correctly rounded" and "shortest").

use super::*;
use proptest::prelude::*;
use std::format;
use std::string::String;

/// What [`format_f64`] writes.
fn f(x: f64) -> String {
    let mut buf = [0u8; MAX_LEN];
    let n = format_f64(x, &mut buf);
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

/// Distance in ulps between two doubles of the same sign.
fn ulps(a: f64, b: f64) -> u64 {
    (a.to_bits() as i64)
        .wrapping_sub(b.to_bits() as i64)
        .unsigned_abs()
}

/// Number of significant digits of std's shortest round-trip text of `x`.
fn std_digits(x: f64) -> usize {
    let s = format!("{:e}", x.abs());
    s.split('e')
        .next()
        .unwrap()
        .bytes()
        .filter(u8::is_ascii_digit)
        .count()
}

#[test]
#[ignore = "a measurement, not a check: cargo test -p lwm2m --lib -- --ignored --nocapture longer"]
fn longer_than_shortest_share() {
    // How often the writer passes over the shortest candidate (module docs), over 10^6 doubles
    // with uniformly random bits.
    let (mut x, mut longer, mut total) = (0x9e37_79b9_7f4a_7c15u64, 0, 0);
    for _ in 0..1_000_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let v = f64::from_bits(x);
        if v.is_finite() && v != 0.0 {
            total += 1;
            longer += usize::from(digits(&f(v)) > std_digits(v));
        }
    }
    std::println!("longer than shortest: {longer} of {total}");
}

/// Number of significant digits of a decimal text.
fn digits(s: &str) -> usize {
    let mantissa = s.split('e').next().unwrap();
    let d: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    d.trim_start_matches('0').trim_end_matches('0').len().max(1)
}

#[test]
fn formats_like_javascript() {
    for (x, s) in [
        (0.0, "0"),
        (-0.0, "-0"),
        (23.5, "23.5"),
        (1e21, "1e21"),
        (1e-7, "1e-7"),
        (-1.25e-7, "-1.25e-7"),
        (5e-324, "5e-324"),
        (f64::MAX, "1.7976931348623157e308"),
        (-f64::NAN, "NaN"),
        (f64::NEG_INFINITY, "-Infinity"),
    ] {
        assert_eq!(f(x), s, "{x:e}");
    }
    let longest = -1.2345678901234567e-6;
    assert_eq!(f(longest), "-0.0000012345678901234567");
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
        let full = u128::from(m) << 64;
        let p128 = u128::from(p);
        assert_eq!(
            div_shifted(m, p),
            (full / p128, full % p128 != 0),
            "{m} {p}"
        );
    }
}

#[test]
fn rounding_to_f64_handles_ties_subnormals_and_overflow() {
    // 2^53 + 1 is a tie between 2^53 and 2^53 + 2: to even (down); a sticky bit tips it up.
    let tie = (1u64 << 53) + 1;
    assert_eq!(round_to_f64(tie, 0, false), 9007199254740992.0);
    assert_eq!(round_to_f64(tie, 0, true), 9007199254740994.0);
    // 2^53 + 3: tie, up to even.
    assert_eq!(round_to_f64(tie + 2, 0, false), 9007199254740996.0);
    // Smallest subnormal, half of it (tie to even: zero) and a little more.
    assert_eq!(round_to_f64(1, -1074, false), 5e-324);
    assert_eq!(round_to_f64(1, -1075, false), 0.0);
    assert_eq!(round_to_f64(1, -1075, true), 5e-324);
    assert_eq!(round_to_f64(3, -1076, false), 5e-324);
    // The largest subnormal rounds up into the smallest normal.
    assert_eq!(round_to_f64((1 << 53) - 1, -1075, false), f64::MIN_POSITIVE);
    assert_eq!(round_to_f64(u64::MAX, 960, false), f64::INFINITY);
    assert_eq!(round_to_f64(u64::MAX, 900, false), 1.0 * 2f64.powi(964));
    assert_eq!(round_to_f64(1, -2000, true), 0.0);
}

#[test]
fn regressions() {
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
fn exact_path_agrees_with_std() {
    // Halfway cases and values Clinger's fast path does not reach (m >= 2^53).
    for s in [
        "0.1",
        "3.3",
        "23.5",
        "1e22",
        "123456789012345e-22",
        "9007199254740991",
        "9007199254740993",
        "9007199254740995",
        "18446744073709551615",
        "1.8446744073709551615e-5",
        "4.9406564584124654e-324",
        "2.4703282292062327e-324",
        "2.4703282292062328e-324",
        "1.7976931348623157e308",
        "1.7976931348623159e308",
        "123456789012345678901234567890",
        "0.30000000000000004",
    ] {
        let ours = parse_f64(s.as_bytes()).unwrap();
        let std_v: f64 = s.parse().unwrap();
        assert_eq!(ours.to_bits(), std_v.to_bits(), "{s}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn floats_roundtrip(x in any::<f64>().prop_filter("NaN", |x| !x.is_nan())) {
        let s = f(x);
        let back = parse_f64(s.as_bytes()).unwrap();
        prop_assert!(ulps(back, x) == 0, "{} -> {} -> {}", x, s, back);
        let std_back: f64 = s.parse().unwrap();
        prop_assert!(ulps(std_back, x) == 0, "{} -> {} -> {} (std)", x, s, std_back);
        // Never longer than 17 digits (shortest on the exact path: see the next test).
        prop_assert!(digits(&s) <= 17, "{} -> {}", x, s);
    }

    #[test]
    fn shortest_on_the_exact_path(m in 1u64..100_000_000_000_000_000, e in -19i32..=19) {
        // Every double whose shortest decimal has an exponent within ±19 is written shortest.
        let x: f64 = format!("{m}e{e}").parse().unwrap();
        let s = f(x);
        let std_short = format!("{:e}", x);
        let (mant, exp) = std_short.split_once('e').unwrap();
        let last_place = exp.parse::<i32>().unwrap() + 1 - std_digits(x) as i32;
        if !(-19..=19).contains(&last_place) || mant.is_empty() {
            return Ok(());
        }
        prop_assert_eq!(digits(&s), std_digits(x), "{} -> {}", x, s);
    }

    #[test]
    fn decimal_floats_are_exact_and_short(m in -999_999_999i64..999_999_999, e in -12i32..12) {
        // A typical sensor reading m * 10^e: written with at most 9 digits, read back exactly
        // by this module and by std.
        let x: f64 = format!("{m}e{e}").parse().unwrap();
        let s = f(x);
        prop_assert_eq!(parse_f64(s.as_bytes()), Some(x));
        prop_assert_eq!(s.parse::<f64>().ok(), Some(x));
        prop_assert!(digits(&s) <= 9, "{}", s);
    }

    #[test]
    fn parser_is_exact_for_19_digits(m in any::<u64>(), e in -19i32..=19, frac in 0usize..20) {
        // Up to 19 significant digits with the last one at 10^-19..10^19: correctly rounded,
        // bit for bit what std reads.
        let m = m % 10_000_000_000_000_000_000;
        let d = format!("{m}");
        let cut = d.len().saturating_sub(frac);
        let s = format!("{}.{}e{}", &d[..cut], &d[cut..], e + (d.len() - cut) as i32);
        let ours = parse_f64(s.as_bytes()).unwrap();
        let std_v: f64 = s.parse().unwrap();
        prop_assert_eq!(ours.to_bits(), std_v.to_bits(), "{}", s);
    }

    #[test]
    fn parser_agrees_with_std(m in any::<u64>(), e in -340i32..320, frac in 0usize..20) {
        // Anywhere else within one ulp of a correctly rounded parser (exact except next to a
        // tie).
        let d = format!("{m}");
        let cut = d.len().saturating_sub(frac);
        let s = format!("{}.{}e{e}", &d[..cut], &d[cut..]);
        let ours = parse_f64(s.as_bytes()).unwrap();
        let std_v: f64 = s.parse().unwrap();
        prop_assert!(ulps(ours, std_v) <= 1, "{} -> {} vs {}", s, ours, std_v);
    }

    #[test]
    fn long_inputs_agree_with_std(d in "[1-9][0-9]{19,40}", e in -60i32..60) {
        // More than 19 digits: the rest is a sticky bit; within one ulp of std.
        let s = format!("{d}e{e}");
        let ours = parse_f64(s.as_bytes()).unwrap();
        let std_v: f64 = s.parse().unwrap();
        prop_assert!(ulps(ours, std_v) <= 1, "{} -> {} vs {}", s, ours, std_v);
    }

    #[test]
    fn shifted_division_is_exact(m in any::<u64>(), p in 1u64..) {
        let full = u128::from(m) << 64;
        let p128 = u128::from(p);
        prop_assert_eq!(div_shifted(m, p), (full / p128, full % p128 != 0));
    }
}
