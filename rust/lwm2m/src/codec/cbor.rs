//! The CBOR (RFC 8949) subset shared by [`super::senml_cbor`] and [`super::lwm2m_cbor`]: heads,
//! integers, text and byte strings, floats (half precision on input), booleans, tags and
//! indefinite-length maps.
//!
//! Hand-written rather than minicbor: the two formats need a few dozen lines of it, and
//! minicbor's generic encoder and decoder cost about 3 KiB more flash on thumbv7m.

use super::text::parse_objlnk;
use super::Writer;
use crate::error::{Error, Result};
use crate::value::{DataType, Value};

/// Major types (RFC 8949 section 3.1).
pub(super) const UINT: u8 = 0;
pub(super) const NINT: u8 = 1;
pub(super) const BYTES: u8 = 2;
pub(super) const TEXT: u8 = 3;
pub(super) const ARRAY: u8 = 4;
pub(super) const MAP: u8 = 5;
pub(super) const TAG: u8 = 6;
pub(super) const SIMPLE: u8 = 7;

/// Additional information 31: indefinite length, or the break stop code in major type 7.
const INDEFINITE: u8 = 31;
/// The break stop code.
pub(super) const BREAK: u8 = 0xff;

/// CBOR tag 1: epoch-based date/time (RFC 8949 section 3.4.2), used for LwM2M Time values.
pub(super) const EPOCH: u64 = 1;

// ---- writing ----

/// Writes a head with the shortest encoding of `arg`.
#[inline(never)] // one copy instead of one per use: smaller (`make size`)
pub(super) fn head(w: &mut Writer<'_>, major: u8, arg: u64) -> Result<()> {
    let mut b = [0u8; 9];
    let (info, n) = match arg {
        0..=23 => (arg as u8, 0),
        24..=0xff => (24, 1),
        0x100..=0xffff => (25, 2),
        0x1_0000..=0xffff_ffff => (26, 4),
        _ => (27, 8),
    };
    b[0] = major << 5 | info;
    b[1..=n].copy_from_slice(&arg.to_be_bytes()[8 - n..]);
    w.write(&b[..=n])
}

/// Writes a signed integer.
pub(super) fn int(w: &mut Writer<'_>, v: i64) -> Result<()> {
    if v < 0 {
        head(w, NINT, !(v as u64))
    } else {
        head(w, UINT, v as u64)
    }
}

/// Writes a text (`major` [`TEXT`]) or byte ([`BYTES`]) string.
#[inline(never)] // one copy instead of one per use: smaller (`make size`)
pub(super) fn string(w: &mut Writer<'_>, major: u8, s: &[u8]) -> Result<()> {
    head(w, major, s.len() as u64)?;
    w.write(s)
}

/// Writes a leaf value the way LwM2M CBOR does: Time as tag 1 on an integer, object links as
/// `"3:0"` text, floats in single precision when that holds the exact bits, else double (short
/// and lossless).
pub(super) fn value(w: &mut Writer<'_>, v: &Value<'_>) -> Result<()> {
    match *v {
        Value::Integer(x) => int(w, x),
        Value::Unsigned(x) => head(w, UINT, x),
        Value::Time(x) => {
            head(w, TAG, EPOCH)?;
            int(w, x)
        }
        Value::Float(x) => {
            if let Some(narrow) = super::binary32::narrow(x) {
                w.byte(0xfa)?;
                w.write(&narrow.to_be_bytes())
            } else {
                w.byte(0xfb)?;
                w.write(&x.to_be_bytes())
            }
        }
        Value::Boolean(b) => w.byte(0xf4 | u8::from(b)),
        Value::String(s) | Value::CoreLnk(s) => string(w, TEXT, s.as_bytes()),
        Value::Opaque(b) => string(w, BYTES, b),
        Value::ObjLnk(o, i) => string(w, TEXT, objlnk_text(o, i).as_bytes()),
    }
}

// ---- reading ----

/// A reader over a payload. Every failure (truncation, malformed items, wrong types) is
/// [`Error::BadRequest`].
pub(super) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// A decoded head: major type, additional information, argument (0 for indefinite lengths;
/// the raw bits of a float).
pub(super) type Head = (u8, u8, u64);

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// True when the whole payload has been read.
    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// The major type of the next item.
    pub(super) fn peek_major(&self) -> Result<u8> {
        self.buf
            .get(self.pos)
            .map(|b| b >> 5)
            .ok_or(Error::BadRequest)
    }

    /// Consumes a break stop code if one is next.
    pub(super) fn at_break(&mut self) -> bool {
        let brk = self.buf.get(self.pos) == Some(&BREAK);
        self.pos += usize::from(brk);
        brk
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8]> {
        let end = usize::try_from(n)
            .ok()
            .and_then(|n| self.pos.checked_add(n))
            .ok_or(Error::BadRequest)?;
        let s = self.buf.get(self.pos..end).ok_or(Error::BadRequest)?;
        self.pos = end;
        Ok(s)
    }

    #[inline(never)] // one copy instead of one per use: smaller (`make size`)
    pub(super) fn head(&mut self) -> Result<Head> {
        let b = *self.take(1)?.first().ok_or(Error::BadRequest)?;
        let (major, info) = (b >> 5, b & 0x1f);
        let arg = match info {
            0..=23 => u64::from(info),
            24..=27 => {
                let mut be = [0u8; 8];
                let n = 1 << (info - 24);
                be[8 - n..].copy_from_slice(self.take(n as u64)?);
                u64::from_be_bytes(be)
            }
            // Indefinite lengths are valid for strings and containers, break only in type 7.
            INDEFINITE if (BYTES..=MAP).contains(&major) || major == SIMPLE => 0,
            _ => return Err(Error::BadRequest),
        };
        Ok((major, info, arg))
    }

    /// The head of an item of type `major` with a definite length.
    fn definite(&mut self, major: u8) -> Result<u64> {
        match self.head()? {
            (m, info, arg) if m == major && info != INDEFINITE => Ok(arg),
            _ => Err(Error::BadRequest),
        }
    }

    /// An unsigned integer.
    pub(super) fn uint(&mut self) -> Result<u64> {
        self.definite(UINT)
    }

    /// The header of an array or map (`major`): its length, `None` if indefinite.
    pub(super) fn container(&mut self, major: u8) -> Result<Option<u64>> {
        match self.head()? {
            (m, INDEFINITE, _) if m == major => Ok(None),
            (m, _, n) if m == major => Ok(Some(n)),
            _ => Err(Error::BadRequest),
        }
    }

    /// A definite-length byte string.
    pub(super) fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.definite(BYTES)?;
        self.take(n)
    }

    /// A definite-length text string.
    pub(super) fn str(&mut self) -> Result<&'a str> {
        let n = self.definite(TEXT)?;
        core::str::from_utf8(self.take(n)?).map_err(|_| Error::BadRequest)
    }

    /// A boolean.
    pub(super) fn bool(&mut self) -> Result<bool> {
        match self.head()? {
            (SIMPLE, info @ (20 | 21), _) => Ok(info == 21),
            _ => Err(Error::BadRequest),
        }
    }

    /// A CBOR integer or float. Non-negative integers that fit are `Integer`, larger ones
    /// `Unsigned`; [`convert`] turns them into the declared type.
    pub(super) fn number(&mut self) -> Result<Value<'a>> {
        number(self.head()?)
    }
}

/// The number of an already read head (see [`Reader::number`]).
pub(super) fn number<'a>(h: Head) -> Result<Value<'a>> {
    Ok(match h {
        (UINT, _, v) => i64::try_from(v).map_or(Value::Unsigned(v), Value::Integer),
        (NINT, _, v) => Value::Integer(!i64::try_from(v).map_err(|_| Error::BadRequest)?),
        (SIMPLE, 25, h) => Value::Float(f16_to_f64(h as u16)),
        (SIMPLE, 26, f) => Value::Float(super::binary32::widen(f as u32)),
        (SIMPLE, 27, f) => Value::Float(f64::from_bits(f)),
        _ => return Err(Error::BadRequest),
    })
}

/// IEEE 754 binary16 to binary64 (exact: every half value is a double).
pub(super) fn f16_to_f64(h: u16) -> f64 {
    let neg = h & 0x8000 != 0;
    let exp = u64::from((h >> 10) & 0x1f);
    let man = u64::from(h & 0x3ff);
    let bits = match exp {
        0 if man == 0 => 0,
        0 => {
            // Subnormal: man * 2^-24; normalize in integers (no soft-float division).
            let shift = man.leading_zeros() - 53;
            ((1023 - 14 - u64::from(shift)) << 52) | ((man << shift & 0x3ff) << 42)
        }
        31 => (0x7ff << 52) | (man << 42),
        e => ((e + 1023 - 15) << 52) | (man << 42),
    };
    f64::from_bits(bits | (u64::from(neg) << 63))
}

/// Converts a decoded value to the declared type; `None` (unknown path) keeps it as decoded.
/// Object links also come as `"3:0"` text (LwM2M CBOR, and SenML `vs` from older peers).
pub(super) fn convert<'a>(v: Value<'a>, to: Option<DataType>) -> Result<Value<'a>> {
    match (to, v) {
        (None, v) => Ok(v),
        (Some(DataType::ObjLnk), Value::String(s)) => {
            parse_objlnk(s.as_bytes()).ok_or(Error::BadRequest)
        }
        (Some(t), v) => v.coerce(t).ok_or(Error::BadRequest),
    }
}

/// `"objID:instID"` for an object link.
pub(super) fn objlnk_text(o: u16, i: u16) -> Text {
    let mut t = Text::new();
    t.push_u16(o);
    t.push(b':');
    t.push_u16(i);
    t
}

/// A small ASCII buffer for path names and object links, formatted without `core::fmt`.
pub(super) struct Text {
    // "/65534/65534/65534/65534/" is 25 bytes.
    pub(super) buf: [u8; 32],
    len: usize,
}

impl Text {
    pub(super) fn new() -> Self {
        Text {
            buf: [0; 32],
            len: 0,
        }
    }

    /// Appends a byte; callers stay within the capacity by construction, extra bytes drop.
    pub(super) fn push(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    pub(super) fn push_u16(&mut self, v: u16) {
        let mut digits = [0u8; 5];
        let mut n = 0;
        let mut v = u32::from(v);
        loop {
            if let Some(slot) = digits.get_mut(n) {
                *slot = b'0' + (v % 10) as u8;
            }
            n += 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        for d in digits.iter().take(n).rev() {
            self.push(*d);
        }
    }

    /// IDs joined by `/`.
    pub(super) fn push_ids(&mut self, ids: &[u16]) {
        for (k, id) in ids.iter().enumerate() {
            if k > 0 {
                self.push(b'/');
            }
            self.push_u16(*id);
        }
    }

    pub(super) fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

#[cfg(test)]
pub(super) mod tests {
    //! Also the fixtures and generators of the two CBOR formats' tests.
    use super::*;
    use crate::codec::Record;
    use crate::path::Path;
    use proptest::prelude::*;
    use std::vec::Vec;

    pub(crate) fn hex(s: &str) -> Vec<u8> {
        let s: std::string::String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    pub(crate) fn rec(path: &str, value: Value<'static>) -> Record<'static> {
        Record {
            path: Path::parse_str(path).unwrap(),
            value,
        }
    }

    /// Types of the Device object (3) and the test objects of the spec examples.
    pub(crate) fn spec_types(p: &Path) -> Option<DataType> {
        use DataType::*;
        Some(match (p.object_id()?, p.resource_id()?) {
            (3, 0..=3 | 14..=16) => String,
            (3, 6..=11) => Integer,
            (3, 13) => Time,
            (0, 3) => Opaque,
            (3442, 130) | (72, 2) | (12, _) => Float,
            (65 | 34, 0) | (66, 2) => ObjLnk,
            (65 | 34, 1) | (66 | 67 | 31, 0 | 1) => String,
            (65 | 34, 2) => Integer,
            (1, 1) => Unsigned,
            (5, 1) => String,
            _ => return Option::None,
        })
    }

    #[derive(Clone, Debug)]
    pub(crate) enum Gen {
        Int(i64),
        Uns(u64),
        Float(f64),
        Bool(bool),
        Str(std::string::String),
        Bytes(Vec<u8>),
        Time(i64),
        ObjLnk(u16, u16),
        CoreLnk(std::string::String),
    }

    impl Gen {
        pub(crate) fn value(&self) -> Value<'_> {
            match self {
                Gen::Int(v) => Value::Integer(*v),
                Gen::Uns(v) => Value::Unsigned(*v),
                Gen::Float(v) => Value::Float(*v),
                Gen::Bool(v) => Value::Boolean(*v),
                Gen::Str(s) => Value::String(s),
                Gen::Bytes(b) => Value::Opaque(b),
                Gen::Time(v) => Value::Time(*v),
                Gen::ObjLnk(o, i) => Value::ObjLnk(*o, *i),
                Gen::CoreLnk(s) => Value::CoreLnk(s),
            }
        }
    }

    pub(crate) fn gen_value() -> impl Strategy<Value = Gen> {
        prop_oneof![
            any::<i64>().prop_map(Gen::Int),
            any::<u64>().prop_map(Gen::Uns),
            any::<f64>().prop_map(Gen::Float),
            any::<f32>().prop_map(|f| Gen::Float(f64::from(f))),
            any::<bool>().prop_map(Gen::Bool),
            ".{0,30}".prop_map(Gen::Str),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(Gen::Bytes),
            any::<i64>().prop_map(Gen::Time),
            (any::<u16>(), any::<u16>()).prop_map(|(o, i)| Gen::ObjLnk(o, i)),
            "</[0-9]{1,3}>".prop_map(Gen::CoreLnk),
        ]
    }

    /// A record set without duplicate or nested paths, sorted, and a base above its first path.
    pub(crate) fn gen_records() -> impl Strategy<Value = (Path, Vec<(Path, Gen)>)> {
        let entry = (
            0u16..4,
            0u16..3,
            0u16..6,
            proptest::option::of(0u16..3),
            gen_value(),
        );
        (proptest::collection::vec(entry, 1..25), 0usize..5).prop_map(|(entries, level)| {
            let mut multi = std::collections::BTreeMap::new();
            let mut out = std::collections::BTreeMap::new();
            for (o, i, r, ri, v) in entries {
                if *multi.entry((o, i, r)).or_insert(ri.is_some()) != ri.is_some() {
                    continue;
                }
                let p = match ri {
                    Some(ri) => Path::resource_instance(o, i, r, ri),
                    None => Path::resource(o, i, r),
                };
                out.entry(p).or_insert(v);
            }
            let recs: Vec<(Path, Gen)> = out.into_iter().collect();
            let base = recs[0].0.truncated(level);
            let recs = recs
                .into_iter()
                .filter(|(p, _)| p.starts_with(&base))
                .collect();
            (base, recs)
        })
    }

    /// Equality with floats compared by bits (NaN payloads included).
    pub(crate) fn same(a: &Value<'_>, b: &Value<'_>) -> bool {
        match (a, b) {
            (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
            _ => a == b,
        }
    }

    fn out(f: impl FnOnce(&mut Writer<'_>) -> Result<()>) -> Vec<u8> {
        let mut buf = [0u8; 64];
        let mut w = Writer::new(&mut buf);
        f(&mut w).unwrap();
        w.window_data().to_vec()
    }

    // RFC 8949 Appendix A.
    #[test]
    fn heads_are_shortest() {
        assert_eq!(out(|w| int(w, 0)), [0x00]);
        assert_eq!(out(|w| int(w, 23)), [0x17]);
        assert_eq!(out(|w| int(w, 24)), [0x18, 0x18]);
        assert_eq!(out(|w| int(w, 1000)), [0x19, 0x03, 0xe8]);
        assert_eq!(out(|w| int(w, 1_000_000)), [0x1a, 0x00, 0x0f, 0x42, 0x40]);
        assert_eq!(
            out(|w| head(w, UINT, u64::MAX)),
            [0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(out(|w| int(w, -1)), [0x20]);
        assert_eq!(out(|w| int(w, -1000)), [0x39, 0x03, 0xe7]);
        assert_eq!(
            out(|w| int(w, i64::MIN)),
            [0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(out(|w| string(w, TEXT, b"IETF")), b"\x64IETF");
        assert_eq!(
            out(|w| value(w, &Value::Float(100000.0))),
            [0xfa, 0x47, 0xc3, 0x50, 0x00]
        );
        assert_eq!(out(|w| value(w, &Value::Boolean(true))), [0xf5]);
    }

    #[test]
    fn reads_numbers() {
        fn num(b: &[u8]) -> Result<Value<'_>> {
            Reader::new(b).number()
        }
        assert_eq!(num(&[0x19, 0x03, 0xe8]), Ok(Value::Integer(1000)));
        assert_eq!(
            num(&[0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Ok(Value::Unsigned(u64::MAX))
        );
        assert_eq!(num(&[0x39, 0x03, 0xe7]), Ok(Value::Integer(-1000)));
        assert_eq!(
            num(&[0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Ok(Value::Integer(i64::MIN))
        );
        // -2^64 does not fit an i64.
        assert_eq!(
            num(&[0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Err(Error::BadRequest)
        );
        assert_eq!(num(&[0xf9, 0x3c, 0x00]), Ok(Value::Float(1.0)));
        assert_eq!(
            num(&[0xfa, 0x47, 0xc3, 0x50, 0x00]),
            Ok(Value::Float(100000.0))
        );
        assert_eq!(
            num(&[0xfb, 0x3f, 0xf1, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a]),
            Ok(Value::Float(1.1))
        );
        for bad in [
            &[0x19, 0x03][..],
            &[0x1c],
            &[0x1f],
            &[0x3f],
            &[0xf5],
            &[0x60],
            &[],
        ] {
            assert_eq!(num(bad), Err(Error::BadRequest), "{bad:?}");
        }
    }

    #[test]
    fn reads_strings_and_containers() {
        let mut r = Reader::new(b"\x64IETF\x43\x01\x02\x03\xbf\x9f\x82\xff");
        assert_eq!(r.str(), Ok("IETF"));
        assert_eq!(r.bytes(), Ok(&[1u8, 2, 3][..]));
        assert_eq!(r.container(MAP), Ok(None));
        assert_eq!(r.container(MAP), Err(Error::BadRequest));
        assert_eq!(r.container(ARRAY), Ok(Some(2)));
        assert!(r.at_break());
        assert!(r.at_end());
        assert_eq!(Reader::new(b"\x7f\x61a\xff").str(), Err(Error::BadRequest));
        assert_eq!(Reader::new(b"\x65IETF").str(), Err(Error::BadRequest));
        assert_eq!(Reader::new(b"\x1f").uint(), Err(Error::BadRequest));
    }

    #[test]
    fn half_floats() {
        assert_eq!(f16_to_f64(0x0001), 5.960464477539063e-8);
        assert_eq!(f16_to_f64(0x03ff), 6.097555160522461e-5);
        assert_eq!(f16_to_f64(0x0200), 3.0517578125e-5);
        assert_eq!(f16_to_f64(0x7bff), 65504.0);
        assert_eq!(f16_to_f64(0x3c00), 1.0);
        assert_eq!(f16_to_f64(0xfc00), f64::NEG_INFINITY);
        assert!(f16_to_f64(0x7e00).is_nan());
        assert_eq!(f16_to_f64(0x8000).to_bits(), (-0.0f64).to_bits());
        assert_eq!(f16_to_f64(0x8001), -5.960464477539063e-8);
        // Every half value against the division that defines subnormals.
        for h in 0..0x400u16 {
            assert_eq!(f16_to_f64(h), f64::from(h) / 16_777_216.0, "{h:#x}");
        }
    }
}
