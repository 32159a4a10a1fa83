//! SenML CBOR (Content-Format 112, RFC 8428 with LwM2M 1.1 TS Core section 7.4.5 rules).
//!
//! A payload is one definite-length array of maps keyed by the integer labels of RFC 8428
//! section 6 (`bn` -2, `n` 0, `v` 2, `vs` 3, `vb` 4, `vd` 8) plus the LwM2M text label `"vlo"`
//! for object links. The encoder writes the layout of LwM2M 1.1 TS Core table 7.4.4-2, which is
//! also what Leshan and Wakaama write: the first record carries the request path as base name
//! (`"/3/0/"`, with names relative to it such as `"0"` or `"7/1"`; the bare path `"/3/0/0"`
//! when the request names the single value), and later records carry only `n` and the value.

use super::cbor::{self, convert, Reader, Text, ARRAY, MAP, TEXT};
use super::text::parse_objlnk;
use super::{Record, RecordSource, TypeOf, Writer};
use crate::error::{Error, Result};
use crate::path::Path;
use crate::value::Value;

// RFC 8428 section 6 labels.
const BN: i64 = -2;
const BV: i64 = -5;
const BS: i64 = -6;
const N: i64 = 0;
const V: i64 = 2;
const VS: i64 = 3;
const VB: i64 = 4;
const S: i64 = 5;
const VD: i64 = 8;
// LwM2M 1.1 TS Core 7.4.5: object links have no integer label.
const VLO: &str = "vlo";

/// Encodes the records below `base` as one SenML pack.
///
/// Floats go out as CBOR single precision when that is exact, else double precision, so a
/// value always decodes to the same bits. Time values are plain integers (`v`), object links
/// `"vlo": "3:0"`, CoRE links `vs`.
pub fn encode(base: &Path, src: &dyn RecordSource, w: &mut Writer<'_>) -> Result<()> {
    let mut count: u64 = 0;
    src.visit(base, &mut |_| {
        count += 1;
        Ok(())
    })?;
    cbor::head(w, ARRAY, count)?;
    let mut done: u64 = 0;
    src.visit(base, &mut |r| {
        // The second visit must see what the first counted, or the array header lies.
        if done == count {
            return Err(Error::InternalServerError);
        }
        let rel = r.path.ids().get(base.len()..).unwrap_or(&[]);
        let entries = if rel.is_empty() { 1 } else { 2 };
        if done == 0 {
            let mut bn = Text::new();
            bn.push(b'/');
            bn.push_ids(base.ids());
            if !rel.is_empty() && !base.is_root() {
                bn.push(b'/');
            }
            cbor::head(w, MAP, entries + 1)?;
            cbor::int(w, BN)?;
            cbor::string(w, TEXT, bn.as_bytes())?;
        } else if rel.is_empty() {
            // A second value at the base path itself has no name to tell it apart.
            return Err(Error::InternalServerError);
        } else {
            cbor::head(w, MAP, entries)?;
        }
        if !rel.is_empty() {
            let mut n = Text::new();
            n.push_ids(rel);
            cbor::int(w, N)?;
            cbor::string(w, TEXT, n.as_bytes())?;
        }
        done += 1;
        put_value(w, &r.value)
    })?;
    if done == count {
        Ok(())
    } else {
        Err(Error::InternalServerError)
    }
}

fn put_value(w: &mut Writer<'_>, v: &Value<'_>) -> Result<()> {
    let label = match *v {
        Value::Integer(_) | Value::Unsigned(_) | Value::Float(_) | Value::Time(_) => V,
        Value::Boolean(_) => VB,
        Value::String(_) | Value::CoreLnk(_) => VS,
        Value::Opaque(_) => VD,
        Value::ObjLnk(..) => {
            cbor::string(w, TEXT, VLO.as_bytes())?;
            return cbor::value(w, v);
        }
    };
    cbor::int(w, label)?;
    match *v {
        // SenML has no time type: a plain number.
        Value::Time(t) => cbor::int(w, t),
        _ => cbor::value(w, v),
    }
}

/// Decodes a SenML pack into records (Write, Write-Composite, Send payloads).
///
/// Names resolve as RFC 8428 says (the last base name seen, concatenated with the record's
/// name) and must lie at or below the request path `base` and name a resource or resource
/// instance. Each record needs exactly one value. With a declared type from `type_of` the value
/// is converted to it (CBOR integers to Unsigned, Time, Float...; `"3:0"` strings to object
/// links); without one it is passed on as decoded so the engine can answer 4.04.
/// `bt`, `t`, `bver`, `bu`, `u`, `ut` and unknown labels are ignored; `bv`, `bs` and `s` (which
/// would change the meaning of values), labels ending in `_` (RFC 8428 section 4.4) and
/// indefinite-length items are rejected. Every failure is [`Error::BadRequest`]; the iterator
/// ends after the first.
pub struct Decoder<'a, 't> {
    base: Path,
    type_of: TypeOf<'t>,
    records: Records<'a>,
}

impl<'a, 't> Decoder<'a, 't> {
    /// A decoder for `payload`, relative to the request path `base`.
    pub fn new(base: &Path, payload: &'a [u8], type_of: TypeOf<'t>) -> Self {
        Decoder {
            base: *base,
            type_of,
            records: Records::new(payload),
        }
    }

    fn record(&self, path: Path, value: Option<Value<'a>>) -> Result<Record<'a>> {
        if path.len() < 3 {
            return Err(Error::BadRequest);
        }
        let value = convert(value.ok_or(Error::BadRequest)?, (self.type_of)(&path))?;
        Ok(Record { path, value })
    }
}

impl<'a> Iterator for Decoder<'a, '_> {
    type Item = Result<Record<'a>>;
    fn next(&mut self) -> Option<Self::Item> {
        let item = self.records.next(&self.base)?;
        let r = item.and_then(|(path, value)| self.record(path, value));
        self.records.done |= r.is_err();
        Some(r)
    }
}

/// Decodes the SenML pack of a Read-Composite or Observe-Composite request (LwM2M 1.1 TS Core
/// table 7.4.4-6): records that carry only names, each a full path. A record with a value, or
/// any malformed input, yields [`Error::BadRequest`] and ends the iteration.
pub fn decode_paths(payload: &[u8]) -> PathDecoder<'_> {
    PathDecoder {
        records: Records::new(payload),
    }
}

/// The iterator of [`decode_paths`].
pub struct PathDecoder<'a> {
    records: Records<'a>,
}

impl Iterator for PathDecoder<'_> {
    type Item = Result<Path>;
    fn next(&mut self) -> Option<Self::Item> {
        let r = self
            .records
            .next(&Path::ROOT)?
            .and_then(|(path, value)| match value {
                None => Ok(path),
                Some(_) => Err(Error::BadRequest),
            });
        self.records.done |= r.is_err();
        Some(r)
    }
}

/// The record-level parser under [`Decoder`] and [`PathDecoder`]: resolved name and value.
struct Records<'a> {
    d: Reader<'a>,
    /// Records left in the array; `None` until the array header is read.
    left: Option<u32>,
    /// The base name in force (RFC 8428: it carries over to later records).
    bn: &'a str,
    done: bool,
}

impl<'a> Records<'a> {
    fn new(payload: &'a [u8]) -> Self {
        Records {
            d: Reader::new(payload),
            left: None,
            bn: "",
            done: false,
        }
    }

    fn next(&mut self, base: &Path) -> Option<Result<(Path, Option<Value<'a>>)>> {
        if self.done {
            return None;
        }
        let r = self.step(base);
        self.done = !matches!(r, Ok(Some(_)));
        r.transpose()
    }

    fn step(&mut self, base: &Path) -> Result<Option<(Path, Option<Value<'a>>)>> {
        let d = &mut self.d;
        let left = match self.left {
            Some(n) => n,
            // No more records than payload bytes: u32 keeps the decoder state small.
            None => d
                .container(ARRAY)?
                .and_then(|n| u32::try_from(n).ok())
                .ok_or(Error::BadRequest)?,
        };
        if left == 0 {
            return if d.at_end() {
                Ok(None)
            } else {
                Err(Error::BadRequest)
            };
        }
        self.left = Some(left - 1);
        let entries = d.container(MAP)?.ok_or(Error::BadRequest)?;
        let mut name: Option<&'a str> = None;
        let mut value: Option<Value<'a>> = None;
        for _ in 0..entries {
            // Text labels: "vlo", or unknown ones (ignored unless they must be understood).
            let label = if d.peek_major()? == TEXT {
                match d.str()? {
                    VLO => None,
                    k if k.ends_with('_') => return Err(Error::BadRequest),
                    _ => Some(i64::MAX),
                }
            } else {
                match d.number()? {
                    Value::Integer(l) => Some(l),
                    _ => return Err(Error::BadRequest),
                }
            };
            let v = match label {
                Some(BN) => {
                    self.bn = d.str()?;
                    continue;
                }
                Some(N) => {
                    if name.replace(d.str()?).is_some() {
                        return Err(Error::BadRequest);
                    }
                    continue;
                }
                Some(V) => d.number()?,
                Some(VS) => Value::String(d.str()?),
                Some(VB) => Value::Boolean(d.bool()?),
                Some(VD) => Value::Opaque(d.bytes()?),
                None => parse_objlnk(d.str()?.as_bytes()).ok_or(Error::BadRequest)?,
                Some(BV | BS | S) => return Err(Error::BadRequest),
                // bver, bt, bu, t, u, ut and labels we do not know carry nothing we use.
                Some(_) => {
                    skip_scalar(d)?;
                    continue;
                }
            };
            if value.replace(v).is_some() {
                return Err(Error::BadRequest);
            }
        }
        let path = resolve(self.bn, name.unwrap_or(""))?;
        if !path.starts_with(base) {
            return Err(Error::BadRequest);
        }
        Ok(Some((path, value)))
    }
}

/// The path named by base name `bn` and name `n` (RFC 8428 section 4.5.1: concatenation).
fn resolve(bn: &str, n: &str) -> Result<Path> {
    let mut t = Text::new();
    // Anything longer than "/65534/65534/65534/65534" cannot be a valid path.
    if bn.len() + n.len() > t.buf.len() {
        return Err(Error::BadRequest);
    }
    for b in bn.bytes().chain(n.bytes()) {
        t.push(b);
    }
    let s = core::str::from_utf8(t.as_bytes()).map_err(|_| Error::BadRequest)?;
    Path::parse_str(s).map_err(|_| Error::BadRequest)
}

/// Skips a label's value when it is a scalar; containers, tags and indefinite items are
/// rejected.
fn skip_scalar(d: &mut Reader<'_>) -> Result<()> {
    match d.peek_major()? {
        cbor::TEXT => d.str().map(drop),
        cbor::BYTES => d.bytes().map(drop),
        cbor::SIMPLE => match d.head()? {
            // Booleans, null, undefined, simple values and floats; not a break.
            (_, info, _) if info < 28 => Ok(()),
            _ => Err(Error::BadRequest),
        },
        _ => d.number().map(drop),
    }
}

#[cfg(test)]
mod tests {
    use super::super::cbor::f16_to_f64;
    use super::super::cbor::tests::{gen_records, hex, rec, same, spec_types};
    use super::*;
    use crate::value::DataType;
    use proptest::prelude::*;
    use std::vec;
    use std::vec::Vec;

    fn enc(base: &Path, recs: &[Record<'_>]) -> Result<Vec<u8>> {
        let mut buf = [0u8; 1024];
        let mut w = Writer::new(&mut buf);
        encode(base, &recs, &mut w)?;
        Ok(w.window_data().to_vec())
    }

    fn dec<'a>(base: &Path, payload: &'a [u8], t: TypeOf<'_>) -> Result<Vec<Record<'a>>> {
        Decoder::new(base, payload, t).collect()
    }

    fn device_records() -> Vec<Record<'static>> {
        vec![
            rec("/3/0/0", Value::String("Open Mobile Alliance")),
            rec("/3/0/1", Value::String("Lightweight M2M Client")),
            rec("/3/0/2", Value::String("345000123")),
            rec("/3/0/3", Value::String("1.0")),
            rec("/3/0/6/0", Value::Integer(1)),
            rec("/3/0/6/1", Value::Integer(5)),
            rec("/3/0/7/0", Value::Integer(3800)),
            rec("/3/0/7/1", Value::Integer(5000)),
            rec("/3/0/8/0", Value::Integer(125)),
            rec("/3/0/8/1", Value::Integer(900)),
            rec("/3/0/9", Value::Integer(100)),
            rec("/3/0/10", Value::Integer(15)),
            rec("/3/0/11/0", Value::Integer(0)),
            rec("/3/0/13", Value::Time(1367491215)),
            rec("/3/0/14", Value::String("+02:00")),
            rec("/3/0/16", Value::String("U")),
        ]
    }

    // Read /3/0 of the Device object: LwM2M 1.1 TS Core table 7.4.4-2, bytes as in Leshan's
    // AbstractSenMLTest.givenSenMLCborExample and Wakaama's senml_cbor_test_1.
    const DEVICE_3_0: &str = "90a321652f332f302f00613003744f70656e204d6f62696c6520416c6c69616e6365a200613103764c696768747765696768
        74204d324d20436c69656e74a20061320369333435303030313233a20061330363312e30a20063362f300201a20063362f310205a20063372f
        3002190ed8a20063372f3102191388a20063382f3002187da20063382f3102190384a2006139021864a200623130020fa2006431312f300200
        a200623133021a5182428fa20062313403662b30323a3030a200623136036155";

    #[test]
    fn encodes_spec_device_example() {
        let out = enc(&Path::instance(3, 0), &device_records()).unwrap();
        assert_eq!(out, hex(DEVICE_3_0));
    }

    #[test]
    fn decodes_spec_device_example() {
        let payload = hex(DEVICE_3_0);
        let got = dec(&Path::instance(3, 0), &payload, &spec_types).unwrap();
        assert_eq!(got, device_records());
        // Without declared types the values come as decoded (integers stay Integer).
        let raw = dec(&Path::instance(3, 0), &payload, &|_| None).unwrap();
        assert_eq!(raw[13].value, Value::Integer(1367491215));
    }

    #[test]
    fn block2_windows_concatenate_to_the_whole() {
        let whole = hex(DEVICE_3_0);
        let mut joined = Vec::new();
        for skip in (0..whole.len()).step_by(16) {
            let mut buf = [0u8; 16];
            let mut w = Writer::window(&mut buf, skip);
            encode(&Path::instance(3, 0), &device_records().as_slice(), &mut w).unwrap();
            assert_eq!(w.total(), whole.len());
            joined.extend_from_slice(w.window_data());
        }
        assert_eq!(joined, whole);
    }

    // Leshan SenMLCborSerializerTest: [{-2: "/0/0/3", 8: h'ABCDEF'}].
    #[test]
    fn single_opaque_resource() {
        let r = [rec("/0/0/3", Value::Opaque(&[0xab, 0xcd, 0xef]))];
        let bytes = hex("81a221662f302f302f330843abcdef");
        assert_eq!(enc(&Path::resource(0, 0, 3), &r).unwrap(), bytes);
        assert_eq!(
            dec(&Path::resource(0, 0, 3), &bytes, &spec_types).unwrap(),
            r
        );
    }

    // Leshan SenMLCborSerializerTest: [{2: 300.0 (half float), -2: "/3442/0/130"}].
    #[test]
    fn half_float_value() {
        let bytes = hex("81a202f95cb0216b2f333434322f302f313330");
        let got = dec(&Path::resource(3442, 0, 130), &bytes, &spec_types).unwrap();
        assert_eq!(got, [rec("/3442/0/130", Value::Float(300.0))]);
        assert_eq!(f16_to_f64(0x0001), 5.960464477539063e-8);
        assert_eq!(f16_to_f64(0x7bff), 65504.0);
        assert_eq!(f16_to_f64(0xfc00), f64::NEG_INFINITY);
        assert!(f16_to_f64(0x7e00).is_nan());
        assert_eq!(f16_to_f64(0x8000).to_bits(), (-0.0f64).to_bits());
    }

    #[test]
    fn floats_are_single_when_exact() {
        let out = enc(
            &Path::resource(12, 0, 3),
            &[rec("/12/0/3", Value::Float(1.5))],
        )
        .unwrap();
        assert_eq!(out, hex("81a221672f31322f302f3302fa3fc00000"));
        // Wakaama senml_cbor_test_10 (expectE): [{-2: "/12/0/3", 2: 56.789}] as a double.
        let out = enc(
            &Path::resource(12, 0, 3),
            &[rec("/12/0/3", Value::Float(56.789))],
        )
        .unwrap();
        assert_eq!(out, hex("81a221672f31322f302f3302fb404c64fdf3b645a2"));
    }

    // LwM2M 1.1 TS Core table 7.4.4-3 (Wakaama senml_cbor_test_2): base time and time labels
    // are ignored, the three records keep their values.
    #[test]
    fn ignores_time_labels() {
        let bytes = hex(
            "83a521642f37322f221a0184876a0063312f3202fb40366666666666660624a30063312f3202fb4036e66666
             66666606381da30063312f3202fb403819999999999a063831",
        );
        let got = dec(&Path::object(72), &bytes, &spec_types).unwrap();
        let vals: Vec<_> = got.iter().map(|r| (r.path, r.value)).collect();
        let p = Path::resource(72, 1, 2);
        assert_eq!(
            vals,
            [
                (p, Value::Float(22.4)),
                (p, Value::Float(22.9)),
                (p, Value::Float(24.1))
            ]
        );
    }

    // LwM2M 1.1 TS Core table 7.4.4-4 (Wakaama senml_cbor_test_3): a root read with object
    // links, base name "/" and names from the object ID.
    const ROOT_OBJLNK: &str = "8ca321612f0068
        36352f302f302f3063766c6f6436363a30a2006836352f302f302f3163766c6f6436363a31a2006636352f302f
        31036d38363133383030373535353030a2006636352f302f320201a2006636362f302f30036a6d7953657276696365
        31a2006636362f302f31036f496e7465726e65742e31352e323334a2006636362f302f3263766c6f6436373a30a2
        006636362f312f30036a6d795365727669636532a2006636362f312f31036f496e7465726e65742e31352e323335
        a2006636362f312f3263766c6f6b36353533353a3635353335a2006636372f302f30036b38352e37362e37362e38
        34a2006636372f302f31036d38352e37362e3235352e323535";

    fn root_records() -> Vec<Record<'static>> {
        vec![
            rec("/65/0/0/0", Value::ObjLnk(66, 0)),
            rec("/65/0/0/1", Value::ObjLnk(66, 1)),
            rec("/65/0/1", Value::String("8613800755500")),
            rec("/65/0/2", Value::Integer(1)),
            rec("/66/0/0", Value::String("myService1")),
            rec("/66/0/1", Value::String("Internet.15.234")),
            rec("/66/0/2", Value::ObjLnk(67, 0)),
            rec("/66/1/0", Value::String("myService2")),
            rec("/66/1/1", Value::String("Internet.15.235")),
            rec("/66/1/2", Value::ObjLnk(65535, 65535)),
            rec("/67/0/0", Value::String("85.76.76.84")),
            rec("/67/0/1", Value::String("85.76.255.255")),
        ]
    }

    #[test]
    fn root_example_with_object_links() {
        let bytes = hex(ROOT_OBJLNK);
        assert_eq!(enc(&Path::ROOT, &root_records()).unwrap(), bytes);
        let types = |p: &Path| match (p.object_id(), p.resource_id()) {
            (Some(67), _) => Some(DataType::String),
            _ => spec_types(p),
        };
        assert_eq!(dec(&Path::ROOT, &bytes, &types).unwrap(), root_records());
    }

    // LwM2M 1.1 TS Core table 7.4.4-5 (Wakaama senml_cbor_test_4): one resource.
    #[test]
    fn single_resource_example() {
        let bytes = hex("81a221662f332f302f3003744f70656e204d6f62696c6520416c6c69616e6365");
        let r = [rec("/3/0/0", Value::String("Open Mobile Alliance"))];
        assert_eq!(enc(&Path::resource(3, 0, 0), &r).unwrap(), bytes);
        assert_eq!(
            dec(&Path::resource(3, 0, 0), &bytes, &spec_types).unwrap(),
            r
        );
    }

    // LwM2M 1.1 TS Core table 7.4.4-6 (Wakaama senml_cbor_test_5): Read-Composite request.
    #[test]
    fn composite_read_paths() {
        let bytes = hex("83a100662f332f302f30a100662f332f302f39a100662f312f302f31");
        let got: Result<Vec<_>> = decode_paths(&bytes).collect();
        assert_eq!(
            got.unwrap(),
            [
                Path::resource(3, 0, 0),
                Path::resource(3, 0, 9),
                Path::resource(1, 0, 1)
            ]
        );
        // A record with a value is refused, and the iteration ends there.
        let with_value = hex("82a200662f332f302f390201a100662f332f302f30");
        let mut it = decode_paths(&with_value);
        assert_eq!(it.next(), Some(Err(Error::BadRequest)));
        assert_eq!(it.next(), None);
        // And a values decoder refuses records without values.
        assert_eq!(
            dec(&Path::ROOT, &bytes, &spec_types),
            Err(Error::BadRequest)
        );
    }

    // LwM2M 1.1 TS Core table 7.4.4-7 (Wakaama senml_cbor_test_6): Write-Composite.
    #[test]
    fn composite_write_example() {
        let bytes = hex(
            "83a200662f332f302f3003744f70656e204d6f62696c6520416c6c69616e6365a200662f332f302f3902185f
             a200662f312f302f31021a00015180",
        );
        let types = |p: &Path| match p.resource_id() {
            Some(9) => Some(DataType::Integer),
            _ => spec_types(p),
        };
        assert_eq!(
            dec(&Path::ROOT, &bytes, &types).unwrap(),
            [
                rec("/3/0/0", Value::String("Open Mobile Alliance")),
                rec("/3/0/9", Value::Integer(95)),
                rec("/1/0/1", Value::Unsigned(86400)),
            ]
        );
    }

    // Wakaama senml_cbor_test_8 (labels in any order), test_9 and test_14 (bn without a
    // trailing slash, name with a leading one), test_10 (bn after n in the same record).
    #[test]
    fn name_resolution_variants() {
        let t8 = hex(
            "84a321682f36352f3534332f00613003654c574d324da2021907df006131a20063322f3004f5a204f40063322f31",
        );
        let types = |p: &Path| {
            Some(match p.resource_id()? {
                0 => DataType::String,
                1 => DataType::Integer,
                _ => DataType::Boolean,
            })
        };
        assert_eq!(
            dec(&Path::instance(65, 543), &t8, &types).unwrap(),
            [
                rec("/65/543/0", Value::String("LWM2M")),
                rec("/65/543/1", Value::Integer(2015)),
                rec("/65/543/2/0", Value::Boolean(true)),
                rec("/65/543/2/1", Value::Boolean(false)),
            ]
        );
        let t9 = hex("81a321642f322f3300622f30021904d2");
        let got = dec(&Path::instance(2, 3), &t9, &|_| Some(DataType::Integer)).unwrap();
        assert_eq!(got, [rec("/2/3/0", Value::Integer(1234))]);
        let t14 = hex("81a321662f352f302f3100622f31036468747470");
        let got = dec(&Path::resource(5, 0, 1), &t14, &spec_types).unwrap();
        assert_eq!(got, [rec("/5/0/1/1", Value::String("http"))]);
        let t10 = hex(
            "84a4006131021904d221662f31322f302f221a0012d687a200613302fb404c64fdf3b645a2a20063322f3002fb
             3fcd70a3d70a3d71a20063322f3102fbc04a0013a92a3055",
        );
        let got = dec(&Path::instance(12, 0), &t10, &spec_types).unwrap();
        let paths: Vec<_> = got.iter().map(|r| r.path).collect();
        assert_eq!(
            paths,
            [
                Path::resource(12, 0, 1),
                Path::resource(12, 0, 3),
                Path::resource_instance(12, 0, 2, 0),
                Path::resource_instance(12, 0, 2, 1)
            ]
        );
        assert_eq!(got[0].value, Value::Float(1234.0));
        assert_eq!(got[3].value, Value::Float(-52.0006));
    }

    #[test]
    fn rejects_malformed_input() {
        let ok = hex(DEVICE_3_0);
        let base = Path::instance(3, 0);
        // Every strict prefix is truncated somewhere.
        for n in 0..ok.len() {
            let got = dec(&base, &ok[..n], &spec_types);
            assert_eq!(got, Err(Error::BadRequest), "prefix {n}");
        }
        let bad_cases: &[(&str, &str)] = &[
            ("9fa221662f332f302f300301ff", "indefinite array"),
            ("81bf21662f332f302f300301ff", "indefinite map"),
            ("81a2217f662f332f302f30ff0301", "indefinite text"),
            ("81a20001 0301", "name of the wrong type"),
            ("81a221662f332f302f300362ffff", "bad UTF-8 in vs"),
            ("81a221662f342f302f300301", "name outside the base"),
            ("81a2216a2f332f302f302f312f320301", "five levels"),
            ("81a121662f332f302f30", "no value"),
            ("81a221642f332f300301", "value at an instance"),
            ("81a321662f332f302f3003012401", "bv changes values"),
            (
                "81a321662f332f302f30030163615f5f01",
                "must-understand label",
            ),
            ("81a321662f332f302f30030104f5", "two values"),
            (
                "81a321662f332f302f30030101820102",
                "container under an unknown label",
            ),
            ("81a221662f332f302f30030100", "trailing bytes"),
            ("a0", "not an array"),
            ("81a22163ffffff0301", "bad UTF-8 in bn"),
            ("81a221662f332f302f3002f6", "null value"),
        ];
        for (h, what) in bad_cases {
            let bytes = hex(h);
            let types = |_: &Path| Some(DataType::String);
            assert_eq!(dec(&base, &bytes, &types), Err(Error::BadRequest), "{what}");
        }
        // A declared type the value cannot take.
        let bytes = hex("81a221662f332f302f360220");
        let got = dec(&base, &bytes, &|_| Some(DataType::Unsigned));
        assert_eq!(got, Err(Error::BadRequest));
        // The iterator stops after an error.
        let mut it = Decoder::new(&base, &bytes, &|_| Some(DataType::Unsigned));
        assert!(matches!(it.next(), Some(Err(_))));
        assert_eq!(it.next(), None);
    }

    #[test]
    fn accepts_known_labels_and_objlnk_as_string() {
        // [{-2: "/3/0/6", -1: 10, 1: "V", 7: 60, "x": 1, 3: "1:2"}] read as an object link.
        let bytes = hex("81a621662f332f302f36200a01615607183c617801036331 3a32");
        let got = dec(&Path::ROOT, &bytes, &|_| Some(DataType::ObjLnk)).unwrap();
        assert_eq!(got, [rec("/3/0/6", Value::ObjLnk(1, 2))]);
        assert_eq!(parse_objlnk(b"65535:0"), Some(Value::ObjLnk(65535, 0)));
        for bad in ["65536:0", ":1", "1:", "1", "+1:2", "1:2:3"] {
            assert_eq!(parse_objlnk(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn encoder_refuses_inconsistent_sources() {
        let base = Path::resource(3, 0, 0);
        let two = [
            rec("/3/0/0", Value::Integer(1)),
            rec("/3/0/0", Value::Integer(2)),
        ];
        assert_eq!(enc(&base, &two), Err(Error::InternalServerError));
        let mut small = [0u8; 4];
        let mut w = Writer::new(&mut small);
        let r = encode(&base, &&two[..1], &mut w);
        assert_eq!(r, Err(Error::RequestEntityTooLarge));
        assert_eq!(enc(&Path::object(9), &two).unwrap(), [0x80]);
    }

    proptest! {
        #[test]
        fn roundtrip((base, set) in gen_records()) {
            let recs: Vec<Record<'_>> =
                set.iter().map(|(p, g)| Record { path: *p, value: g.value() }).collect();
            let mut buf = std::vec![0u8; 8192];
            let mut w = Writer::new(&mut buf);
            encode(&base, &recs.as_slice(), &mut w).unwrap();
            let bytes = w.window_data().to_vec();
            let types = |p: &Path| recs.iter().find(|r| r.path == *p).map(|r| r.value.data_type());
            let got: Vec<Record<'_>> = Decoder::new(&base, &bytes, &types).collect::<Result<_>>().unwrap();
            prop_assert_eq!(got.len(), recs.len());
            for (g, r) in got.iter().zip(&recs) {
                prop_assert_eq!(g.path, r.path);
                prop_assert!(same(&g.value, &r.value), "{:?} != {:?}", g.value, r.value);
            }
        }
    }
}
