//! OMA-TLV (Content-Format 11542), LwM2M 1.1 TS Core section 7.4.3.
//!
//! Each TLV is `type byte | identifier (8 or 16 bits) | length (0, 8, 16 or 24 bits) | value`.
//! The two top bits of the type byte say what the identifier names:
//!
//! | bits | TLV                 | level of its path |
//! |------|---------------------|-------------------|
//! | `00` | Object Instance     | `/O/I` (container)  |
//! | `01` | Resource Instance   | `/O/I/R/RI`         |
//! | `10` | Multiple Resource   | `/O/I/R` (container)|
//! | `11` | Resource with value | `/O/I/R`            |
//!
//! The encoder never buffers: a container's length is found by rendering its content into a
//! counting [`Writer`] first (one more visit of the source per nesting level).

use super::{Record, RecordSource, TypeOf, Writer};
use crate::error::{Error, Result};
use crate::path::Path;
use crate::value::{DataType, Value};

const OBJECT_INSTANCE: u8 = 0b00;
const RESOURCE_INSTANCE: u8 = 0b01;
const MULTIPLE_RESOURCE: u8 = 0b10;
const RESOURCE: u8 = 0b11;

/// Encodes the records below `base`: object instances for an object path, resources for an
/// instance path, one resource (or multiple resource) TLV for a resource path and one resource
/// instance TLV for a resource instance path. The root cannot be expressed in TLV
/// ([`Error::NotAcceptable`]).
pub fn encode(base: &Path, src: &dyn RecordSource, w: &mut Writer<'_>) -> Result<()> {
    match base.len() {
        0 => Err(Error::NotAcceptable),
        // For /O and /O/I the request path itself has no TLV: write its children.
        1 | 2 => write_level(src, w, base, base.len() + 1),
        // For /O/I/R and /O/I/R/RI the request path is the (only) TLV.
        n => write_level(src, w, base, n),
    }
}

/// Writes the TLVs at `level` (2..=4) of the records below `prefix`, one per distinct path
/// truncated to `level`, in source order.
#[inline(never)] // one copy instead of one per use: smaller (`make size`)
fn write_level(
    src: &dyn RecordSource,
    w: &mut Writer<'_>,
    prefix: &Path,
    level: usize,
) -> Result<()> {
    let mut last: Option<Path> = None;
    src.visit(prefix, &mut |r| {
        if r.path.len() < level {
            // A record above the TLV level (e.g. a resource value under an object path without
            // an instance) cannot be placed: the source is inconsistent.
            return Err(Error::InternalServerError);
        }
        let tlv = r.path.truncated(level);
        if last == Some(tlv) {
            // Already written as part of the container `tlv`.
            return Ok(());
        }
        last = Some(tlv);
        let id = *tlv.ids().last().ok_or(Error::InternalServerError)?;
        if r.path == tlv {
            let kind = if level == 4 {
                RESOURCE_INSTANCE
            } else {
                RESOURCE
            };
            write_header(w, kind, id, value_len(&r.value))?;
            write_value(w, &r.value)
        } else {
            let kind = if level == 2 {
                OBJECT_INSTANCE
            } else {
                MULTIPLE_RESOURCE
            };
            write_header(w, kind, id, content_len(src, &tlv)?)?;
            write_level(src, w, &tlv, level + 1)
        }
    })
}

/// Length of the content of the container TLV at `container` (the sum of its children's
/// TLVs), found by rendering them into a writer that only counts.
fn content_len(src: &dyn RecordSource, container: &Path) -> Result<usize> {
    let mut counter = Writer::window(&mut [], 0);
    write_level(src, &mut counter, container, container.len() + 1)?;
    Ok(counter.total())
}

fn write_header(w: &mut Writer<'_>, kind: u8, id: u16, len: usize) -> Result<()> {
    let mut hdr = [0u8; 6];
    hdr[0] = kind << 6;
    let mut n = 1;
    if id > 0xff {
        hdr[0] |= 0x20;
        hdr[1..3].copy_from_slice(&id.to_be_bytes());
        n += 2;
    } else {
        hdr[1] = id as u8;
        n += 1;
    }
    let len_bytes = (len as u32).to_be_bytes();
    let len_len = match len {
        0..=7 => {
            hdr[0] |= len as u8;
            0
        }
        8..=0xff => 1,
        0x100..=0xffff => 2,
        0x1_0000..=0xff_ffff => 3,
        // TLV cannot express more than 16 MiB; the engine never holds that much anyway.
        _ => return Err(Error::InternalServerError),
    };
    hdr[0] |= (len_len as u8) << 3;
    hdr[n..n + len_len].copy_from_slice(&len_bytes[4 - len_len..]);
    w.write(&hdr[..n + len_len])
}

/// Smallest of 1, 2, 4 or 8 bytes holding `v` in two's complement.
#[inline(never)] // one copy instead of one per use: smaller (`make size`)
fn int_width(v: i64) -> usize {
    if i8::try_from(v).is_ok() {
        1
    } else if i16::try_from(v).is_ok() {
        2
    } else if i32::try_from(v).is_ok() {
        4
    } else {
        8
    }
}

/// Width of an unsigned value: small enough that a peer reading it as signed (LwM2M 1.0 had
/// no unsigned type) still gets a non-negative number, except above `i64::MAX`.
fn uint_width(v: u64) -> usize {
    i64::try_from(v).map_or(8, int_width)
}

fn float_is_f32(f: f64) -> bool {
    f32_bits(f).is_some()
}

/// The 4-byte form of `f` when it holds `f` exactly; NaN always takes 8 bytes.
fn f32_bits(f: f64) -> Option<u32> {
    let nan = f.to_bits() & !(1 << 63) > f64::INFINITY.to_bits();
    super::binary32::narrow(f).filter(|_| !nan)
}

/// Number of bytes of the TLV value of `v`.
fn value_len(v: &Value<'_>) -> usize {
    match *v {
        Value::Integer(i) | Value::Time(i) => int_width(i),
        Value::Unsigned(u) => uint_width(u),
        Value::Float(f) if float_is_f32(f) => 4,
        Value::Float(_) => 8,
        Value::Boolean(_) => 1,
        Value::String(s) | Value::CoreLnk(s) => s.len(),
        Value::Opaque(b) => b.len(),
        Value::ObjLnk(..) => 4,
    }
}

fn write_value(w: &mut Writer<'_>, v: &Value<'_>) -> Result<()> {
    match *v {
        Value::Integer(i) | Value::Time(i) => w.write(&i.to_be_bytes()[8 - int_width(i)..]),
        Value::Unsigned(u) => w.write(&u.to_be_bytes()[8 - uint_width(u)..]),
        Value::Float(f) => match f32_bits(f) {
            Some(b) => w.write(&b.to_be_bytes()),
            None => w.write(&f.to_be_bytes()),
        },
        Value::Boolean(b) => w.byte(u8::from(b)),
        Value::String(s) | Value::CoreLnk(s) => w.write(s.as_bytes()),
        Value::Opaque(b) => w.write(b),
        Value::ObjLnk(o, i) => {
            w.write(&o.to_be_bytes())?;
            w.write(&i.to_be_bytes())
        }
    }
}

/// A container TLV being decoded: where it ends and the path it stands for.
#[derive(Clone, Copy)]
struct Frame {
    end: usize,
    path: Path,
}

/// Decodes a TLV payload into records with full paths, interpreting each value with the type
/// its path declares (an unknown path gives [`Value::Opaque`] so the engine can answer 4.04).
///
/// The TLVs at the top level are children of `base` (instances of `/O`, resources of `/O/I`,
/// instances of `/O/I/R`), or `base` itself when their ID is the last ID of `base` (the
/// resource TLV of a write to `/O/I/R`, the instance TLV of a create on `/O/I`).
pub struct Decoder<'a, 't> {
    base: Path,
    payload: &'a [u8],
    type_of: TypeOf<'t>,
    pos: usize,
    // An object instance holds at most a multiple resource: two open containers at most.
    stack: [Frame; 2],
    depth: usize,
    done: bool,
}

impl<'a, 't> Decoder<'a, 't> {
    /// A decoder for `payload`, relative to the request path `base`.
    pub fn new(base: &Path, payload: &'a [u8], type_of: TypeOf<'t>) -> Self {
        let empty = Frame {
            end: 0,
            path: Path::ROOT,
        };
        Decoder {
            base: *base,
            payload,
            type_of,
            pos: 0,
            stack: [empty; 2],
            depth: 0,
            done: false,
        }
    }

    /// Reads one TLV at `pos`: a value gives a record, a container is entered.
    fn step(&mut self) -> Result<Option<Record<'a>>> {
        let (end, parent, top) = match self.depth.checked_sub(1).and_then(|d| self.stack.get(d)) {
            Some(f) => (f.end, f.path, false),
            None => (self.payload.len(), self.base, true),
        };
        let input = self.payload.get(self.pos..end).ok_or(Error::BadRequest)?;
        let (kind, id, hdr_len, len) = parse_header(input)?;
        let total = hdr_len.checked_add(len).ok_or(Error::BadRequest)?;
        let value = input.get(hdr_len..total).ok_or(Error::BadRequest)?;
        let level = match kind {
            OBJECT_INSTANCE => 2,
            RESOURCE_INSTANCE => 4,
            _ => 3,
        };
        let path = if parent.len() + 1 == level {
            parent.child(id).map_err(|_| Error::BadRequest)?
        } else if top && parent.len() == level && parent.ids().last() == Some(&id) {
            parent
        } else {
            return Err(Error::BadRequest);
        };
        if kind == OBJECT_INSTANCE || kind == MULTIPLE_RESOURCE {
            let frame = self.stack.get_mut(self.depth).ok_or(Error::BadRequest)?;
            *frame = Frame {
                end: self.pos + total,
                path,
            };
            self.depth += 1;
            self.pos += hdr_len;
            return Ok(None);
        }
        self.pos += total;
        let value = decode_value(value, (self.type_of)(&path))?;
        Ok(Some(Record { path, value }))
    }
}

/// Splits a TLV header: (type bits, identifier, header length, value length).
fn parse_header(b: &[u8]) -> Result<(u8, u16, usize, usize)> {
    let t = *b.first().ok_or(Error::BadRequest)?;
    let id_len = if t & 0x20 != 0 { 2 } else { 1 };
    let len_len = usize::from((t >> 3) & 0b11);
    let hdr_len = 1 + id_len + len_len;
    let hdr = b.get(1..hdr_len).ok_or(Error::BadRequest)?;
    let (id_bytes, len_bytes) = hdr.split_at(id_len);
    let id = id_bytes.iter().fold(0u16, |a, &x| a << 8 | u16::from(x));
    let len = if len_len == 0 {
        usize::from(t & 0b111)
    } else {
        len_bytes
            .iter()
            .fold(0usize, |a, &x| a << 8 | usize::from(x))
    };
    Ok((t >> 6, id, hdr_len, len))
}

/// Interprets TLV value bytes as `ty`.
fn decode_value(b: &[u8], ty: Option<DataType>) -> Result<Value<'_>> {
    let be = |b: &[u8]| b.iter().fold(0u64, |a, &x| a << 8 | u64::from(x));
    let int = |b: &[u8]| match b.len() {
        // Sign-extend from the top bit of the first byte.
        1 | 2 | 4 | 8 => {
            let shift = 64 - 8 * b.len() as u32;
            Ok(((be(b) << shift) as i64) >> shift)
        }
        _ => Err(Error::BadRequest),
    };
    let text = |b| core::str::from_utf8(b).map_err(|_| Error::BadRequest);
    Ok(match ty {
        Some(DataType::Integer) => Value::Integer(int(b)?),
        Some(DataType::Time) => Value::Time(int(b)?),
        Some(DataType::Unsigned) => match b.len() {
            1 | 2 | 4 | 8 => Value::Unsigned(be(b)),
            _ => return Err(Error::BadRequest),
        },
        Some(DataType::Float) => match *b {
            [a, b, c, d] => Value::Float(super::binary32::widen(u32::from_be_bytes([a, b, c, d]))),
            [a, b, c, d, e, f, g, h] => Value::Float(f64::from_be_bytes([a, b, c, d, e, f, g, h])),
            _ => return Err(Error::BadRequest),
        },
        Some(DataType::Boolean) => match *b {
            [0] => Value::Boolean(false),
            [1] => Value::Boolean(true),
            _ => return Err(Error::BadRequest),
        },
        Some(DataType::String) => Value::String(text(b)?),
        Some(DataType::CoreLnk) => Value::CoreLnk(text(b)?),
        Some(DataType::ObjLnk) => match *b {
            [a, b, c, d] => Value::ObjLnk(u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d])),
            _ => return Err(Error::BadRequest),
        },
        // Opaque, and also executable or unknown paths: the engine decides (4.04 / 4.05).
        Some(DataType::Opaque) | Some(DataType::None) | None => Value::Opaque(b),
    })
}

impl<'a> Iterator for Decoder<'a, '_> {
    type Item = Result<Record<'a>>;
    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            while let Some(f) = self.depth.checked_sub(1).and_then(|d| self.stack.get(d)) {
                if self.pos < f.end {
                    break;
                }
                self.depth -= 1;
            }
            if self.depth == 0 && self.pos >= self.payload.len() {
                self.done = true;
                break;
            }
            match self.step() {
                Ok(None) => {}
                Ok(Some(r)) => return Some(Ok(r)),
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}

/// True if a payload for an object path starts with an Object Instance TLV. A Create on `/O`
/// whose payload holds bare resource TLVs (the server lets the client pick the instance ID)
/// must be decoded with the new instance's path as base instead.
pub fn starts_with_instance(payload: &[u8]) -> bool {
    payload.first().is_some_and(|t| t >> 6 == OBJECT_INSTANCE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::boxed::Box;
    use std::{vec, vec::Vec};

    fn rec(path: Path, value: Value<'_>) -> Record<'_> {
        Record { path, value }
    }

    fn enc(base: &Path, recs: &[Record<'_>]) -> Result<Vec<u8>> {
        let mut buf = [0u8; 512];
        let mut w = Writer::new(&mut buf);
        encode(base, &recs, &mut w)?;
        Ok(w.window_data().to_vec())
    }

    fn dec<'a>(base: &Path, payload: &'a [u8]) -> Vec<Result<Record<'a>>> {
        Decoder::new(base, payload, &device_types).collect()
    }

    /// Types of the Device (3), ACL (2) and Server (1) resources used below.
    fn device_types(p: &Path) -> Option<DataType> {
        use DataType::*;
        match (p.object_id()?, p.resource_id()?) {
            (3, 0..=3 | 14 | 15 | 16) => Some(String),
            (3, 6..=11) => Some(Integer),
            (3, 13) => Some(Time),
            (3, 4) => Some(None),
            (2, _) => Some(Integer),
            (1, 1) => Some(Unsigned),
            (1, 2) => Some(Float),
            (1, 6) => Some(Boolean),
            (1, 7) => Some(String),
            (1, 8) => Some(ObjLnk),
            (1, 9) => Some(Opaque),
            (1, 10) => Some(CoreLnk),
            _ => Option::None,
        }
    }

    fn device() -> Vec<Record<'static>> {
        let r = |res| Path::resource(3, 0, res);
        let ri = |res, i| Path::resource_instance(3, 0, res, i);
        vec![
            rec(r(0), Value::String("Open Mobile Alliance")),
            rec(r(1), Value::String("Lightweight M2M Client")),
            rec(r(2), Value::String("345000123")),
            rec(r(3), Value::String("1.0")),
            rec(ri(6, 0), Value::Integer(1)),
            rec(ri(6, 1), Value::Integer(5)),
            rec(ri(7, 0), Value::Integer(3800)),
            rec(ri(7, 1), Value::Integer(5000)),
            rec(ri(8, 0), Value::Integer(125)),
            rec(ri(8, 1), Value::Integer(900)),
            rec(r(9), Value::Integer(100)),
            rec(r(10), Value::Integer(15)),
            rec(ri(11, 0), Value::Integer(0)),
            rec(r(13), Value::Time(0x5182_428F)),
            rec(r(14), Value::String("+02:00")),
            rec(r(16), Value::String("U")),
        ]
    }

    /// LwM2M 1.1 TS Core 7.4.3.2, single Object Instance request example: Read /3/0.
    const DEVICE_TLV: [u8; 121] = [
        0xC8, 0x00, 0x14, b'O', b'p', b'e', b'n', b' ', b'M', b'o', b'b', b'i', b'l', b'e', b' ',
        b'A', b'l', b'l', b'i', b'a', b'n', b'c', b'e', //
        0xC8, 0x01, 0x16, b'L', b'i', b'g', b'h', b't', b'w', b'e', b'i', b'g', b'h', b't', b' ',
        b'M', b'2', b'M', b' ', b'C', b'l', b'i', b'e', b'n', b't', //
        0xC8, 0x02, 0x09, b'3', b'4', b'5', b'0', b'0', b'0', b'1', b'2', b'3', //
        0xC3, 0x03, b'1', b'.', b'0', //
        0x86, 0x06, 0x41, 0x00, 0x01, 0x41, 0x01, 0x05, //
        0x88, 0x07, 0x08, 0x42, 0x00, 0x0E, 0xD8, 0x42, 0x01, 0x13, 0x88, //
        0x87, 0x08, 0x41, 0x00, 0x7D, 0x42, 0x01, 0x03, 0x84, //
        0xC1, 0x09, 0x64, //
        0xC1, 0x0A, 0x0F, //
        0x83, 0x0B, 0x41, 0x00, 0x00, //
        0xC4, 0x0D, 0x51, 0x82, 0x42, 0x8F, //
        0xC6, 0x0E, b'+', b'0', b'2', b':', b'0', b'0', //
        0xC1, 0x10, 0x55,
    ];

    #[test]
    fn device_instance_example() {
        let recs = device();
        assert_eq!(enc(&Path::instance(3, 0), &recs).unwrap(), DEVICE_TLV);
        let got: Vec<_> = dec(&Path::instance(3, 0), &DEVICE_TLV)
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(got, recs);
    }

    #[test]
    fn device_object_read_wraps_instance() {
        // Read /3: the same resources inside an Object Instance TLV of 121 (0x79) bytes.
        let mut expect = vec![0x08, 0x00, 0x79];
        expect.extend_from_slice(&DEVICE_TLV);
        let recs = device();
        assert_eq!(enc(&Path::object(3), &recs).unwrap(), expect);
        let got: Vec<_> = dec(&Path::object(3), &expect)
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(got, recs);
    }

    #[test]
    fn acl_object_example() {
        // LwM2M 1.1 TS Core 7.4.3.2, multiple Object Instance request example B: Read /2.
        let expect = [
            0x08, 0x00, 0x0E, //
            0xC1, 0x00, 0x01, 0xC1, 0x01, 0x00, 0x83, 0x02, 0x41, 0x7F, 0x07, 0xC1, 0x03,
            0x7F, //
            0x08, 0x02, 0x12, //
            0xC1, 0x00, 0x03, 0xC1, 0x01, 0x00, 0x87, 0x02, 0x41, 0x7F, 0x07, 0x61, 0x01, 0x36,
            0x01, 0xC1, 0x03, 0x7F,
        ];
        let recs = [
            rec(Path::resource(2, 0, 0), Value::Integer(1)),
            rec(Path::resource(2, 0, 1), Value::Integer(0)),
            rec(Path::resource_instance(2, 0, 2, 127), Value::Integer(7)),
            rec(Path::resource(2, 0, 3), Value::Integer(127)),
            rec(Path::resource(2, 2, 0), Value::Integer(3)),
            rec(Path::resource(2, 2, 1), Value::Integer(0)),
            rec(Path::resource_instance(2, 2, 2, 127), Value::Integer(7)),
            rec(Path::resource_instance(2, 2, 2, 310), Value::Integer(1)),
            rec(Path::resource(2, 2, 3), Value::Integer(127)),
        ];
        assert_eq!(enc(&Path::object(2), &recs).unwrap(), expect);
        let got: Vec<_> = dec(&Path::object(2), &expect)
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(got, recs);
    }

    #[test]
    fn resource_and_resource_instance_reads() {
        let recs = device();
        // Read /3/0/7: one Multiple Resource TLV.
        let multi = [
            0x88, 0x07, 0x08, 0x42, 0x00, 0x0E, 0xD8, 0x42, 0x01, 0x13, 0x88,
        ];
        assert_eq!(enc(&Path::resource(3, 0, 7), &recs).unwrap(), multi);
        // Read /3/0/0: one Resource TLV; Read /3/0/7/1: one Resource Instance TLV.
        assert_eq!(
            enc(&Path::resource(3, 0, 9), &recs).unwrap(),
            [0xC1, 0x09, 0x64]
        );
        assert_eq!(
            enc(&Path::resource_instance(3, 0, 7, 1), &recs).unwrap(),
            [0x42, 0x01, 0x13, 0x88]
        );
        // Decoding them at the same paths gives full paths back.
        let got: Vec<_> = dec(&Path::resource(3, 0, 7), &multi)
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(got, recs[6..8]);
        assert_eq!(
            dec(
                &Path::resource_instance(3, 0, 7, 1),
                &[0x42, 0x01, 0x13, 0x88]
            ),
            [Ok(recs[7])]
        );
        assert_eq!(
            dec(&Path::resource(3, 0, 9), &[0xC1, 0x09, 0x64]),
            [Ok(recs[10])]
        );
    }

    #[test]
    fn root_is_not_acceptable() {
        assert_eq!(enc(&Path::ROOT, &device()), Err(Error::NotAcceptable));
        assert_eq!(dec(&Path::ROOT, &DEVICE_TLV), [Err(Error::BadRequest)]);
    }

    #[test]
    fn wide_ids_and_lengths() {
        // 16-bit resource ID 300, 0-byte length field.
        let r = [rec(Path::resource(1, 0, 300), Value::Opaque(&[0xAA]))];
        assert_eq!(
            enc(&Path::instance(1, 0), &r).unwrap(),
            [0xE1, 0x01, 0x2C, 0xAA]
        );
        // 8-bit length (8 bytes), 16-bit length (256 bytes), 24-bit length (65536 bytes).
        for (n, hdr) in [
            (8usize, &[0xC8u8, 0x09, 0x08][..]),
            (256, &[0xD0, 0x09, 0x01, 0x00]),
            (65536, &[0xD8, 0x09, 0x01, 0x00, 0x00]),
        ] {
            let data = vec![0x5A; n];
            let r = [rec(Path::resource(1, 0, 9), Value::Opaque(&data))];
            let mut buf = vec![0u8; n + 8];
            let mut w = Writer::new(&mut buf);
            encode(&Path::instance(1, 0), &&r[..], &mut w).unwrap();
            let out = w.window_data();
            assert_eq!(&out[..hdr.len()], hdr, "length {n}");
            assert_eq!(out.len(), hdr.len() + n);
            assert_eq!(dec(&Path::instance(1, 0), out), [Ok(r[0])]);
        }
    }

    #[test]
    fn value_encodings() {
        let cases: [(Value<'_>, &[u8]); 14] = [
            (Value::Integer(-1), &[0xFF]),
            (Value::Integer(128), &[0x00, 0x80]),
            (Value::Integer(-32769), &[0xFF, 0xFF, 0x7F, 0xFF]),
            (Value::Integer(1 << 40), &[0, 0, 1, 0, 0, 0, 0, 0]),
            (Value::Unsigned(200), &[0x00, 0xC8]),
            (Value::Unsigned(u64::MAX), &[0xFF; 8]),
            (Value::Float(1.5), &[0x3F, 0xC0, 0x00, 0x00]),
            (
                Value::Float(0.1),
                &[0x3F, 0xB9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9A],
            ),
            (Value::Boolean(true), &[0x01]),
            (Value::ObjLnk(0x42, 1), &[0x00, 0x42, 0x00, 0x01]),
            (Value::String("U"), b"U"),
            (Value::CoreLnk("</1>"), b"</1>"),
            (Value::Opaque(&[]), &[]),
            (Value::Time(0x5182_428F), &[0x51, 0x82, 0x42, 0x8F]),
        ];
        for (v, bytes) in cases {
            let mut buf = [0u8; 8];
            let mut w = Writer::new(&mut buf);
            write_value(&mut w, &v).unwrap();
            assert_eq!(w.window_data(), bytes, "{v:?}");
            assert_eq!(value_len(&v), bytes.len());
            assert_eq!(decode_value(bytes, Some(v.data_type())), Ok(v));
        }
        // One byte 0xC8 is 200 for an unsigned resource, not -56.
        assert_eq!(
            decode_value(&[0xC8], Some(DataType::Unsigned)),
            Ok(Value::Unsigned(200))
        );
        assert_eq!(
            decode_value(&[0xC8], Some(DataType::Integer)),
            Ok(Value::Integer(-56))
        );
        assert_eq!(decode_value(&[1, 2], None), Ok(Value::Opaque(&[1, 2])));
        assert_eq!(
            decode_value(&[1, 2], Some(DataType::None)),
            Ok(Value::Opaque(&[1, 2]))
        );
    }

    #[test]
    fn rejects_bad_values() {
        use DataType::*;
        for (b, t) in [
            (&[1u8, 2, 3][..], Integer),
            (&[], Integer),
            (&[1, 2, 3], Unsigned),
            (&[1, 2], Float),
            (&[2], Boolean),
            (&[0, 0], Boolean),
            (&[0xFF, 0xFE], String),
            (&[0xC3], CoreLnk),
            (&[0, 1, 2], ObjLnk),
        ] {
            assert_eq!(
                decode_value(b, Some(t)),
                Err(Error::BadRequest),
                "{b:?} as {t:?}"
            );
        }
    }

    #[test]
    fn rejects_bad_structure() {
        let inst = Path::instance(3, 0);
        for (base, payload) in [
            // Resource instance TLV at the top level of an instance.
            (inst, &[0x41, 0x00, 0x01][..]),
            // Object instance TLV inside a multiple resource.
            (inst, &[0x83, 0x06, 0x03, 0x00, 0x00]),
            // Resource TLV at the top level of an object.
            (Path::object(3), &[0xC1, 0x09, 0x64]),
            // Resource TLV whose ID is not the resource written.
            (Path::resource(3, 0, 9), &[0xC1, 0x0A, 0x64]),
            // Length beyond the payload; beyond the enclosing container.
            (inst, &[0xC8, 0x00, 0x05, b'a']),
            (inst, &[0x85, 0x06, 0x41, 0x00, 0x01, 0x41, 0x01, 0x05]),
            // Truncated headers.
            (inst, &[0xC8]),
            (inst, &[0xE1, 0x01]),
            (inst, &[0xD0, 0x00, 0x01]),
            // ID 65535 is reserved.
            (inst, &[0xE1, 0xFF, 0xFF, 0x01]),
        ] {
            let got = dec(&base, payload);
            assert_eq!(
                got.last(),
                Some(&Err(Error::BadRequest)),
                "{payload:02x?} at {base}"
            );
        }
        // The error ends the iteration, after the good records before it.
        let got = dec(
            &inst,
            &[0xC1, 0x09, 0x64, 0x41, 0x00, 0x01, 0xC1, 0x0A, 0x0F],
        );
        assert_eq!(got.len(), 2);
        assert!(got[0].is_ok());
    }

    #[test]
    fn unknown_resource_is_opaque_and_empty_containers_vanish() {
        let got = dec(
            &Path::instance(3, 0),
            &[0xC2, 0x63, 0x01, 0x02, 0x86, 0x06, 0x08, 0x01, 0x00],
        );
        assert_eq!(
            got,
            [Ok(rec(Path::resource(3, 0, 99), Value::Opaque(&[1, 2]))),]
                .into_iter()
                .chain([Err(Error::BadRequest)])
                .collect::<Vec<_>>()
        );
        // Instance 1 holding an empty multiple resource 6.
        assert_eq!(dec(&Path::object(3), &[0x02, 0x01, 0x80, 0x06]), []);
        assert_eq!(dec(&Path::instance(3, 0), &[]), []);
    }

    #[test]
    fn create_with_instance_tlv() {
        // A create on /3/0 may carry the instance TLV itself.
        let got = dec(&Path::instance(3, 0), &[0x03, 0x00, 0xC1, 0x09, 0x64]);
        assert_eq!(got, [Ok(rec(Path::resource(3, 0, 9), Value::Integer(100)))]);
        assert!(starts_with_instance(&[0x03, 0x00]));
        assert!(!starts_with_instance(&[0xC1, 0x09, 0x64]));
        assert!(!starts_with_instance(&[]));
    }

    #[test]
    fn windowed_output_matches_whole() {
        let recs = device();
        let mut buf = [0u8; 16];
        for skip in [0, 16, 32, 112] {
            let mut w = Writer::window(&mut buf, skip);
            encode(&Path::instance(3, 0), &&recs[..], &mut w).unwrap();
            assert_eq!(w.total(), DEVICE_TLV.len());
            assert_eq!(w.window_data(), &DEVICE_TLV[skip..(skip + 16).min(121)]);
        }
    }

    fn value_strategy() -> impl Strategy<Value = (DataType, Value<'static>)> {
        prop_oneof![
            any::<i64>().prop_map(|v| (DataType::Integer, Value::Integer(v))),
            any::<u64>().prop_map(|v| (DataType::Unsigned, Value::Unsigned(v))),
            any::<f64>()
                .prop_filter("NaN", |f| !f.is_nan())
                .prop_map(|v| (DataType::Float, Value::Float(v))),
            any::<f32>()
                .prop_filter("NaN", |f| !f.is_nan())
                .prop_map(|v| (DataType::Float, Value::Float(f64::from(v)))),
            any::<bool>().prop_map(|v| (DataType::Boolean, Value::Boolean(v))),
            any::<i64>().prop_map(|v| (DataType::Time, Value::Time(v))),
            (any::<u16>(), any::<u16>()).prop_map(|(o, i)| (DataType::ObjLnk, Value::ObjLnk(o, i))),
            "\\PC{0,300}".prop_map(|s| (
                DataType::String,
                Value::String(Box::leak(s.into_boxed_str()))
            )),
            proptest::collection::vec(any::<u8>(), 0..300).prop_map(|b| (
                DataType::Opaque,
                Value::Opaque(Box::leak(b.into_boxed_slice()))
            )),
        ]
    }

    proptest! {
        #[test]
        fn roundtrip(
            entries in proptest::collection::btree_map(
                (0u16..3, 0u16..400, proptest::option::of(0u16..300)),
                value_strategy(),
                0..20,
            ),
            level in 1usize..3,
        ) {
            // Resource paths must not also have resource instances: keep the first shape seen.
            let mut recs: Vec<Record<'static>> = Vec::new();
            let mut types = std::collections::HashMap::new();
            for ((inst, res, ri), (ty, v)) in entries {
                let path = match ri {
                    Some(ri) => Path::resource_instance(9, inst, res, ri),
                    None => Path::resource(9, inst, res),
                };
                if recs.iter().any(|r| r.path.truncated(3) == path.truncated(3) && r.path.len() != path.len()) {
                    continue;
                }
                let ty = *types.entry(path.truncated(3)).or_insert(ty);
                if ty != v.data_type() {
                    continue;
                }
                recs.push(rec(path, v));
            }
            let base = if level == 1 { Path::object(9) } else { Path::instance(9, 0) };
            let expect: Vec<_> = recs.iter().copied().filter(|r| r.path.starts_with(&base)).collect();
            let mut buf = vec![0u8; 1 << 16];
            let mut w = Writer::new(&mut buf);
            encode(&base, &&recs[..], &mut w).unwrap();
            let out = w.window_data();
            let type_of = |p: &Path| types.get(&p.truncated(3)).copied();
            let got: Vec<_> = Decoder::new(&base, out, &type_of).collect::<Result<_>>().unwrap();
            prop_assert_eq!(got, expect);
        }

        #[test]
        fn decoder_never_panics(payload in proptest::collection::vec(any::<u8>(), 0..64), level in 0usize..5) {
            let base = Path::resource_instance(3, 0, 7, 1).truncated(level);
            for r in Decoder::new(&base, &payload, &device_types).flatten() {
                prop_assert!(r.path.starts_with(&base));
            }
        }
    }
}
