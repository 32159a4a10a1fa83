//! text/plain (Content-Format 0) for a single resource value, LwM2M 1.1 TS Core section 7.4.1.
//!
//! Numbers are written and read by small integer routines instead of `core::fmt` and
//! `str::parse`, which together cost about 30 KiB of flash on thumbv7m; floats by
//! [`super::float`] (shortest round trip, no floating-point arithmetic; precision documented
//! there).

pub(crate) use super::float::parse_f64;
use super::float::{format_f64, parse_u64, split_sign, MAX_LEN};
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

/// Writes `f` as the shortest decimal that reads back to `f` (`NaN`, `Infinity`,
/// `-Infinity` for the non-finite values).
pub(crate) fn write_f64(w: &mut Writer<'_>, f: f64) -> Result<()> {
    let mut buf = [0u8; MAX_LEN];
    let n = format_f64(f, &mut buf);
    w.write(buf.get(..n).unwrap_or(&[]))
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

    proptest! {
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
