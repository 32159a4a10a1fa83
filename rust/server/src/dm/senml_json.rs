//! The two JSON content formats of LwM2M, on the server side (the engine, built for devices,
//! has neither):
//! - SenML JSON (110, RFC 8428 with LwM2M 1.1 TS Transport section 7.4.4): encode and decode;
//! - LwM2M JSON (11543, LwM2M 1.0 TS section 6.4.4): decode only (1.0 clients answer in it).
//!
//! Value fields: SenML `v` (number), `vs` (string), `vb` (boolean), `vd` (opaque, base64url),
//! `vlo` (object link `"O:I"`); LwM2M JSON `v`, `sv` (string; opaque as base64), `bv`, `ov`.
//! Numbers are typed by the server's resource table ([`crate::dm::types`]): integer-typed
//! resources must hold whole numbers, unknown resources become integers when whole, else float.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::{DecodePaddingMode, Engine as _};
use lwm2m::{DataType, Path};
use serde_json::{json, Map, Value as Json};

use crate::dm::types;
use crate::dm::values::{OwnedRecord, OwnedValue};

/// Why a JSON payload could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonFormatError(pub String);

impl std::fmt::Display for JsonFormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JsonFormatError {}

fn err<T>(m: impl Into<String>) -> Result<T, JsonFormatError> {
    Err(JsonFormatError(m.into()))
}

/// Decodes a SenML JSON payload; names resolve against base names (`bn`) and, when a record
/// has neither, the request path `base`.
pub fn decode(base: &Path, payload: &[u8]) -> Result<Vec<OwnedRecord>, JsonFormatError> {
    let doc: Json = serde_json::from_slice(payload)
        .map_err(|e| JsonFormatError(format!("SenML JSON: not JSON: {e}")))?;
    let Json::Array(items) = doc else {
        return err("SenML JSON: not an array of records");
    };
    let mut bn: Option<String> = None;
    let mut out = Vec::new();
    for it in &items {
        let Json::Object(rec) = it else {
            return err("SenML JSON: a record is not an object");
        };
        if let Some(b) = rec.get("bn") {
            bn = Some(
                b.as_str()
                    .ok_or_else(|| bad("bn is not a string"))?
                    .to_owned(),
            );
        }
        let n = match rec.get("n") {
            Some(n) => n.as_str().ok_or_else(|| bad("n is not a string"))?,
            None => "",
        };
        let name = match &bn {
            Some(b) => format!("{b}{n}"),
            None if n.is_empty() => base.to_string(),
            None => n.to_owned(),
        };
        let path = Path::parse_str(&name).map_err(|_| bad(&format!("bad name {name:?}")))?;
        let value = match (rec.get("v"), rec.get("vs"), rec.get("vb"), rec.get("vd")) {
            (Some(v), None, None, None) => number(&path, v)?,
            (None, Some(Json::String(s)), None, None) => string(&path, s),
            (None, None, Some(Json::Bool(b)), None) => OwnedValue::Boolean(*b),
            (None, None, None, Some(Json::String(d))) => OwnedValue::Opaque(
                base64_decode(d).ok_or_else(|| bad(&format!("vd of {name} is not base64")))?,
            ),
            (None, None, None, None) => match rec.get("vlo") {
                Some(Json::String(l)) => objlnk(l).ok_or_else(|| bad("bad vlo"))?,
                // A record that only sets a base name (e.g. the instance of a Create).
                _ if rec.contains_key("bn") && n.is_empty() => continue,
                _ => return Err(bad(&format!("record {name} has no value"))),
            },
            _ => return Err(bad(&format!("record {name} has more than one value"))),
        };
        out.push(OwnedRecord { path, value });
    }
    Ok(out)
}

fn bad(m: &str) -> JsonFormatError {
    JsonFormatError(format!("SenML JSON: {m}"))
}

fn number(path: &Path, v: &Json) -> Result<OwnedValue, JsonFormatError> {
    let Json::Number(n) = v else {
        return Err(bad(&format!("v of {path} is not a number")));
    };
    let ty = types::type_of(path).filter(|t| *t != DataType::None);
    let f = n.as_f64().unwrap_or(f64::NAN);
    let whole = n
        .as_i64()
        .or_else(|| (f.fract() == 0.0).then_some(f as i64));
    Ok(match ty {
        Some(DataType::Float) => OwnedValue::Float(f),
        Some(DataType::Unsigned) => OwnedValue::Unsigned(
            n.as_u64()
                .ok_or_else(|| bad(&format!("{path} needs an unsigned integer")))?,
        ),
        Some(t @ (DataType::Integer | DataType::Time)) => {
            let i = whole.ok_or_else(|| bad(&format!("{path} needs an integer")))?;
            if t == DataType::Time {
                OwnedValue::Time(i)
            } else {
                OwnedValue::Integer(i)
            }
        }
        Some(DataType::Boolean) => match whole {
            Some(0) => OwnedValue::Boolean(false),
            Some(1) => OwnedValue::Boolean(true),
            _ => return Err(bad(&format!("{path} needs a boolean"))),
        },
        _ => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => OwnedValue::Integer(i),
            (None, Some(u)) => OwnedValue::Unsigned(u),
            _ => OwnedValue::Float(f),
        },
    })
}

fn string(path: &Path, s: &str) -> OwnedValue {
    match types::type_of(path) {
        Some(DataType::CoreLnk) => OwnedValue::CoreLnk(s.to_owned()),
        _ => OwnedValue::String(s.to_owned()),
    }
}

fn objlnk(s: &str) -> Option<OwnedValue> {
    let (o, i) = s.split_once(':')?;
    Some(OwnedValue::ObjLnk(o.parse().ok()?, i.parse().ok()?))
}

/// Encodes records (under `base`) as SenML JSON: the first record carries `bn` = `base` with a
/// trailing `/`, names are relative to it.
pub fn encode(base: &Path, records: &[OwnedRecord]) -> Result<Vec<u8>, JsonFormatError> {
    let prefix = if base.is_empty() {
        String::new()
    } else {
        format!("{base}/")
    };
    let mut out = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        let full = r.path.to_string();
        let mut rec = Map::new();
        if full == base.to_string() && !base.is_empty() {
            // The value of the request path itself: its full name, no relative part.
            rec.insert("bn".into(), json!(full));
        } else {
            let rel = full
                .strip_prefix(&prefix)
                .ok_or_else(|| JsonFormatError(format!("{full} is outside {base}")))?;
            if i == 0 || records.get(i - 1).is_some_and(|p| p.path == *base) {
                rec.insert("bn".into(), json!(prefix));
            }
            rec.insert("n".into(), json!(rel));
        }
        let (k, v) = match &r.value {
            OwnedValue::Integer(x) | OwnedValue::Time(x) => ("v", json!(x)),
            OwnedValue::Unsigned(x) => ("v", json!(x)),
            OwnedValue::Float(x) if x.is_finite() => ("v", json!(x)),
            OwnedValue::Float(_) => return err("SenML JSON cannot carry NaN or infinity"),
            OwnedValue::Boolean(b) => ("vb", json!(b)),
            OwnedValue::String(s) | OwnedValue::CoreLnk(s) => ("vs", json!(s)),
            OwnedValue::Opaque(b) => ("vd", json!(base64url(b))),
            OwnedValue::ObjLnk(o, i) => ("vlo", json!(format!("{o}:{i}"))),
        };
        rec.insert(k.into(), v);
        out.push(Json::Object(rec));
    }
    serde_json::to_vec(&out).map_err(|e| JsonFormatError(e.to_string()))
}

/// Decodes an LwM2M JSON (11543) payload: `{"bn":..,"e":[{"n":..,"v"|"sv"|"bv"|"ov":..}]}`,
/// names relative to `bn` (default: the request path `base`).
pub fn decode_lwm2m_json(base: &Path, payload: &[u8]) -> Result<Vec<OwnedRecord>, JsonFormatError> {
    let lbad = |m: &str| JsonFormatError(format!("LwM2M JSON: {m}"));
    let doc: Json = serde_json::from_slice(payload).map_err(|e| lbad(&format!("not JSON: {e}")))?;
    let bn = match doc.get("bn") {
        Some(Json::String(b)) => b.clone(),
        Some(_) => return Err(lbad("bn is not a string")),
        None => format!("{base}/"),
    };
    let Some(Json::Array(entries)) = doc.get("e") else {
        return Err(lbad("no \"e\" array"));
    };
    let mut out = Vec::new();
    for e in entries {
        let n = match e.get("n") {
            Some(Json::String(n)) => n.as_str(),
            Some(_) => return Err(lbad("n is not a string")),
            None => "",
        };
        let name = if n.is_empty() {
            bn.trim_end_matches('/').to_owned()
        } else {
            format!("{}/{n}", bn.trim_end_matches('/'))
        };
        let path = Path::parse_str(&name).map_err(|_| lbad(&format!("bad name {name:?}")))?;
        let value = match (e.get("v"), e.get("sv"), e.get("bv"), e.get("ov")) {
            (Some(v), None, None, None) => number(&path, v).map_err(|e| lbad(&e.0))?,
            (None, Some(Json::String(s)), None, None) => {
                if types::type_of(&path) == Some(DataType::Opaque) {
                    OwnedValue::Opaque(
                        base64_decode(s).ok_or_else(|| lbad(&format!("{name}: not base64")))?,
                    )
                } else {
                    string(&path, s)
                }
            }
            (None, None, Some(Json::Bool(b)), None) => OwnedValue::Boolean(*b),
            (None, None, None, Some(Json::String(l))) => {
                objlnk(l).ok_or_else(|| lbad(&format!("{name}: bad ov")))?
            }
            _ => return Err(lbad(&format!("entry {name} needs exactly one value"))),
        };
        out.push(OwnedRecord { path, value });
    }
    Ok(out)
}

/// base64url without padding (RFC 4648 section 5), as SenML `vd` wants.
pub fn base64url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// Lenient base64 engines: padding optional, trailing bits of the last character ignored
/// only where RFC 4648 allows (the `base64` crate checks them).
const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD_ANY: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE_ANY: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Decodes base64 in either alphabet (standard or URL-safe), with or without padding.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    STANDARD_ANY
        .decode(s)
        .or_else(|_| URL_SAFE_ANY.decode(s))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(path: Path, value: OwnedValue) -> OwnedRecord {
        OwnedRecord { path, value }
    }

    #[test]
    fn senml_json_device_example() {
        // LwM2M 1.1 TS Transport 7.4.4 style: base name, relative names, each value kind.
        let p = br#"[{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},
            {"n":"9","v":95},{"n":"13","v":1367491215},{"n":"22","vlo":"3:1"},
            {"bn":"/5/0/","n":"0","vd":"3q2-7w"},{"bn":"/3311/0/","n":"5850","vb":true},
            {"bn":"/3303/0/","n":"5700","v":21.5}]"#;
        let got = decode(&Path::ROOT, p).unwrap();
        assert_eq!(
            got,
            vec![
                rec(
                    Path::resource(3, 0, 0),
                    OwnedValue::String("Open Mobile Alliance".into())
                ),
                rec(Path::resource(3, 0, 9), OwnedValue::Integer(95)),
                rec(Path::resource(3, 0, 13), OwnedValue::Time(1367491215)),
                rec(Path::resource(3, 0, 22), OwnedValue::ObjLnk(3, 1)),
                rec(
                    Path::resource(5, 0, 0),
                    OwnedValue::Opaque(vec![0xde, 0xad, 0xbe, 0xef])
                ),
                rec(Path::resource(3311, 0, 5850), OwnedValue::Boolean(true)),
                rec(Path::resource(3303, 0, 5700), OwnedValue::Float(21.5)),
            ]
        );
    }

    #[test]
    fn senml_json_round_trip_and_names() {
        let recs = vec![
            rec(Path::resource(3, 0, 14), OwnedValue::String("+02".into())),
            rec(
                Path::resource(3, 0, 15),
                OwnedValue::String("Europe".into()),
            ),
        ];
        let base = Path::instance(3, 0);
        let bytes = encode(&base, &recs).unwrap();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            r#"[{"bn":"/3/0/","n":"14","vs":"+02"},{"n":"15","vs":"Europe"}]"#
        );
        assert_eq!(decode(&base, &bytes).unwrap(), recs);
        // The request path itself.
        let one = vec![rec(Path::resource(3, 0, 9), OwnedValue::Integer(7))];
        let bytes = encode(&Path::resource(3, 0, 9), &one).unwrap();
        assert_eq!(bytes, br#"[{"bn":"/3/0/9","v":7}]"#);
        assert_eq!(decode(&Path::resource(3, 0, 9), &bytes).unwrap(), one);
        // No bn, no n: the request path.
        assert_eq!(
            decode(&Path::resource(3, 0, 9), br#"[{"v":7}]"#).unwrap(),
            one
        );
        assert!(encode(&Path::instance(4, 0), &recs).is_err());
    }

    #[test]
    fn senml_json_rejects_bad_payloads() {
        for p in [
            &b"{"[..],
            br#"{"bn":"/3/0/"}"#,
            br#"[1]"#,
            br#"[{"n":"/3/0/9"}]"#,
            br#"[{"n":"/3/0/9","v":1,"vs":"x"}]"#,
            br#"[{"n":"/3/0/9","v":1.5}]"#,
            br#"[{"n":"/x","v":1}]"#,
            br#"[{"n":"/5/0/0","vd":"!!"}]"#,
            br#"[{"n":"/3/0/9","vs":5}]"#,
        ] {
            assert!(
                decode(&Path::ROOT, p).is_err(),
                "{}",
                String::from_utf8_lossy(p)
            );
        }
    }

    #[test]
    fn lwm2m_json_device_example() {
        // LwM2M 1.0 TS 6.4.4 (Device object, abridged): relative names, resource instances.
        let p = br#"{"bn":"/3/0/","e":[{"n":"0","sv":"Open Mobile Alliance"},
            {"n":"6/0","v":1},{"n":"9","v":100},{"n":"13","v":1367491215},
            {"n":"x","bv":true}]}"#;
        let err = decode_lwm2m_json(&Path::instance(3, 0), p).unwrap_err();
        assert!(err.0.contains("bad name"), "{err}");
        let p = br#"{"bn":"/3/0/","e":[{"n":"0","sv":"Open Mobile Alliance"},
            {"n":"6/0","v":1},{"n":"9","v":100},{"n":"13","v":1367491215},
            {"n":"22","ov":"3:0"}]}"#;
        let got = decode_lwm2m_json(&Path::instance(3, 0), p).unwrap();
        assert_eq!(got.len(), 5);
        assert_eq!(got[1].path, Path::resource_instance(3, 0, 6, 0));
        assert_eq!(got[1].value, OwnedValue::Integer(1));
        assert_eq!(got[3].value, OwnedValue::Time(1367491215));
        assert_eq!(got[4].value, OwnedValue::ObjLnk(3, 0));
        // Without bn the request path is the base; opaque resources are base64 in sv.
        let got = decode_lwm2m_json(
            &Path::instance(0, 0),
            br#"{"e":[{"n":"3","sv":"3q2+7w=="}]}"#,
        )
        .unwrap();
        assert_eq!(
            got[0].value,
            OwnedValue::Opaque(vec![0xde, 0xad, 0xbe, 0xef])
        );
        assert!(decode_lwm2m_json(&Path::ROOT, br#"[]"#).is_err());
        assert!(decode_lwm2m_json(&Path::ROOT, br#"{"e":[{"n":"1","v":1,"sv":"x"}]}"#).is_err());
    }

    #[test]
    fn base64_both_alphabets() {
        for data in [&b""[..], b"f", b"fo", b"foo", b"foob", &[0xfb, 0xff, 0xfe]] {
            assert_eq!(base64_decode(&base64url(data)).as_deref(), Some(data));
        }
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
        assert_eq!(base64_decode("+/8="), Some(vec![0xfb, 0xff]));
        assert_eq!(base64_decode("Zm9vYg"), Some(b"foob".to_vec()));
        assert_eq!(base64_decode("A"), None);
        assert_eq!(base64_decode("A*"), None);
    }
}
