//! Owned LwM2M values and their JSON form for the API: decoding response payloads with the
//! engine's codecs, encoding write payloads, and converting JSON / command-line text into
//! typed values.
//!
//! A value renders as `{"path":"/3/0/1","value":...,"type":"string"}`. Opaque values are
//! hex strings, object links `"3:0"`, time values seconds since the epoch.

use lwm2m::coap::content_format as cf;
use lwm2m::codec::Record;
use lwm2m::{DataType, Path, Value};
use serde_json::{json, Value as Json};

use crate::dm::types;

/// The std endpoint's owned value, one type for host and server.
pub use lwm2m_endpoint::OwnedValue;

/// The server's JSON and text forms of an [`OwnedValue`] (API, console, events). Bring it into
/// scope (`use lwm2m_server::values::ValueJson`) to call these on a value.
pub trait ValueJson: Sized {
    /// The JSON form of the bare value (without path and type).
    fn to_json(&self) -> Json;
    /// A value from JSON. With a type, the JSON must fit it (numbers for numeric types, hex
    /// strings for opaque, `"O:I"` for object links; strings holding numbers are accepted
    /// too). Without a type it is inferred: integer, float, boolean or string.
    fn from_json(j: &Json, ty: Option<DataType>) -> Result<Self, String>;
    /// A value from text (command line, string JSON values). Without a type: integer, float,
    /// `true`/`false`, else string.
    fn from_text(s: &str, ty: Option<DataType>) -> Result<Self, String>;
}

impl ValueJson for OwnedValue {
    fn to_json(&self) -> Json {
        match self {
            OwnedValue::Integer(i) | OwnedValue::Time(i) => json!(i),
            OwnedValue::Unsigned(u) => json!(u),
            OwnedValue::Float(f) => json!(f),
            OwnedValue::Boolean(b) => json!(b),
            OwnedValue::String(s) | OwnedValue::CoreLnk(s) => json!(s),
            OwnedValue::Opaque(b) => json!(hex(b)),
            OwnedValue::ObjLnk(o, i) => json!(format!("{o}:{i}")),
        }
    }

    fn from_json(j: &Json, ty: Option<DataType>) -> Result<Self, String> {
        match (ty, j) {
            (_, Json::String(s)) => OwnedValue::from_text(s, ty.or(Some(DataType::String))),
            (Some(t), Json::Bool(b)) => Value::Boolean(*b)
                .coerce(t)
                .map(|v| OwnedValue::from_value(&v))
                .ok_or_else(|| format!("boolean does not fit type {}", types::type_name(t))),
            (None, Json::Bool(b)) => Ok(OwnedValue::Boolean(*b)),
            (ty, Json::Number(n)) => {
                let v = if let Some(i) = n.as_i64() {
                    Value::Integer(i)
                } else if let Some(u) = n.as_u64() {
                    Value::Unsigned(u)
                } else {
                    Value::Float(n.as_f64().unwrap_or(f64::NAN))
                };
                match ty {
                    None => Ok(OwnedValue::from_value(&v)),
                    Some(t) => v
                        .coerce(t)
                        .map(|v| OwnedValue::from_value(&v))
                        .ok_or_else(|| format!("{n} does not fit type {}", types::type_name(t))),
                }
            }
            (_, other) => Err(format!("unsupported JSON value {other}")),
        }
    }

    fn from_text(s: &str, ty: Option<DataType>) -> Result<Self, String> {
        let bad = |t: DataType| format!("{s:?} is not a valid {}", types::type_name(t));
        let Some(t) = ty else {
            return Ok(if let Ok(i) = s.parse::<i64>() {
                OwnedValue::Integer(i)
            } else if let Ok(f) = s.parse::<f64>() {
                OwnedValue::Float(f)
            } else if s == "true" || s == "false" {
                OwnedValue::Boolean(s == "true")
            } else {
                OwnedValue::String(s.to_owned())
            });
        };
        Ok(match t {
            DataType::String => OwnedValue::String(s.to_owned()),
            DataType::CoreLnk => OwnedValue::CoreLnk(s.to_owned()),
            DataType::Integer => OwnedValue::Integer(s.parse().map_err(|_| bad(t))?),
            DataType::Time => OwnedValue::Time(s.parse().map_err(|_| bad(t))?),
            DataType::Unsigned => OwnedValue::Unsigned(s.parse().map_err(|_| bad(t))?),
            DataType::Float => OwnedValue::Float(s.parse().map_err(|_| bad(t))?),
            DataType::Boolean => match s {
                "true" | "1" => OwnedValue::Boolean(true),
                "false" | "0" => OwnedValue::Boolean(false),
                _ => return Err(bad(t)),
            },
            DataType::Opaque => OwnedValue::Opaque(unhex(s).ok_or_else(|| bad(t))?),
            DataType::ObjLnk => {
                let (o, i) = s.split_once(':').ok_or_else(|| bad(t))?;
                OwnedValue::ObjLnk(
                    o.parse().map_err(|_| bad(t))?,
                    i.parse().map_err(|_| bad(t))?,
                )
            }
            DataType::None => return Err("executable resources have no value".into()),
        })
    }
}

/// A value at a path.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnedRecord {
    /// Resource or resource-instance path.
    pub path: Path,
    /// The value.
    pub value: OwnedValue,
}

impl OwnedRecord {
    /// Copies an engine record.
    pub fn from_record(r: &Record<'_>) -> Self {
        OwnedRecord {
            path: r.path,
            value: OwnedValue::from_value(&r.value),
        }
    }

    /// `{"path":"/3/0/1","value":...,"type":"string"}`.
    pub fn to_json(&self) -> Json {
        json!({
            "path": self.path.to_string(),
            "value": self.value.to_json(),
            "type": types::type_name(self.value.data_type()),
        })
    }
}

/// Lower-case hex of bytes.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Bytes from hex (either case, even length).
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.as_bytes();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.chunks(2)
        .map(|c| {
            let d = |x: u8| (x as char).to_digit(16);
            Some((d(*c.first()?)? * 16 + d(*c.get(1)?)?) as u8)
        })
        .collect()
}

/// Write records from a JSON body, relative to the request path `base`:
/// a bare value (`42`, `"x"`) or `{"value":..,"type":..}` for `base` itself; an array of
/// `{"path":..,"value":..,"type":..}`; or an object mapping paths (absolute, or relative to
/// `base` such as `"14"` or `"0/14"`) to values. Types default to the built-in table, else
/// are inferred from the JSON.
pub fn records_from_json(body: &Json, base: &Path) -> Result<Vec<OwnedRecord>, String> {
    fn one(path: Path, v: &Json, ty: Option<&Json>) -> Result<OwnedRecord, String> {
        let ty = match ty {
            Some(Json::String(t)) => {
                Some(types::parse_type_name(t).ok_or_else(|| format!("unknown type {t:?}"))?)
            }
            Some(_) => return Err("\"type\" must be a string".into()),
            None => types::type_of(&path).filter(|t| *t != DataType::None),
        };
        Ok(OwnedRecord {
            path,
            value: OwnedValue::from_json(v, ty)?,
        })
    }
    let resolve = |p: &str| -> Result<Path, String> {
        let bad = || format!("bad path {p:?}");
        if p.starts_with('/') {
            return Path::parse_str(p).map_err(|_| bad());
        }
        let rel = Path::parse_str(p).map_err(|_| bad())?;
        rel.ids()
            .iter()
            .try_fold(*base, |acc, id| acc.child(*id))
            .map_err(|_| bad())
    };
    match body {
        Json::Array(items) => items
            .iter()
            .map(|it| {
                let path = match it.get("path") {
                    Some(Json::String(p)) => resolve(p)?,
                    _ => return Err("each item needs a \"path\" string".to_string()),
                };
                let v = it.get("value").ok_or("each item needs a \"value\"")?;
                one(path, v, it.get("type"))
            })
            .collect(),
        Json::Object(m) if m.contains_key("value") => {
            let path = match m.get("path") {
                Some(Json::String(p)) => resolve(p)?,
                _ => *base,
            };
            one(path, &m["value"], m.get("type")).map(|r| vec![r])
        }
        Json::Object(m) => m.iter().map(|(k, v)| one(resolve(k)?, v, None)).collect(),
        v => one(*base, v, None).map(|r| vec![r]),
    }
}

/// Content-Format from a name (`senml-cbor`, `tlv`, `cbor`, `text`, `opaque`, `link`,
/// `senml-json`, `json`) or a number.
pub fn parse_format(s: &str) -> Option<u16> {
    Some(match s.to_ascii_lowercase().as_str() {
        "senml-cbor" | "senml_cbor" | "senmlcbor" => cf::SENML_CBOR,
        "senml-json" | "senml_json" => cf::SENML_JSON,
        "tlv" => cf::LWM2M_TLV,
        "cbor" | "lwm2m-cbor" | "lwm2m_cbor" => cf::LWM2M_CBOR,
        "json" | "lwm2m-json" => cf::LWM2M_JSON,
        "text" | "plain" => cf::TEXT,
        "opaque" | "octet-stream" => cf::OPAQUE,
        "link" | "link-format" => cf::LINK_FORMAT,
        n => n.parse().ok()?,
    })
}

/// A short name for a Content-Format.
pub fn format_name(f: u16) -> &'static str {
    match f {
        cf::SENML_CBOR => "senml-cbor",
        cf::SENML_JSON => "senml-json",
        cf::LWM2M_TLV => "tlv",
        cf::LWM2M_CBOR => "lwm2m-cbor",
        cf::LWM2M_JSON => "lwm2m-json",
        cf::TEXT => "text",
        cf::OPAQUE => "opaque",
        cf::LINK_FORMAT => "link",
        cf::CBOR => "cbor",
        _ => "unknown",
    }
}

/// The SenML CBOR payload of a Read-Composite / Observe-Composite request: an array of
/// records holding only a name (`[{0: "/3/0/0"}, ...]`, LwM2M 1.1 TS Transport 6.3.6).
pub fn composite_paths_payload(paths: &[Path]) -> Vec<u8> {
    fn head(out: &mut Vec<u8>, major: u8, n: usize) {
        let m = major << 5;
        if n < 24 {
            out.push(m | n as u8);
        } else if n < 256 {
            out.extend([m | 24, n as u8]);
        } else {
            out.push(m | 25);
            out.extend((n.min(u16::MAX as usize) as u16).to_be_bytes());
        }
    }
    let mut out = Vec::new();
    head(&mut out, 4, paths.len());
    for p in paths {
        let name = p.to_string();
        out.push(0xa1); // map of one pair
        out.push(0x00); // SenML label "n"
        head(&mut out, 3, name.len());
        out.extend(name.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_each_type() {
        let r = |path, value| OwnedRecord { path, value }.to_json();
        assert_eq!(
            r(Path::resource(3, 0, 1), OwnedValue::String("Model".into())),
            json!({"path":"/3/0/1","value":"Model","type":"string"})
        );
        assert_eq!(
            r(Path::resource(3, 0, 9), OwnedValue::Integer(-3)),
            json!({"path":"/3/0/9","value":-3,"type":"integer"})
        );
        assert_eq!(
            r(Path::resource(3303, 0, 5700), OwnedValue::Float(21.5)),
            json!({"path":"/3303/0/5700","value":21.5,"type":"float"})
        );
        assert_eq!(
            r(
                Path::resource(5, 0, 0),
                OwnedValue::Opaque(vec![0xde, 0xad])
            ),
            json!({"path":"/5/0/0","value":"dead","type":"opaque"})
        );
        assert_eq!(
            r(
                Path::resource_instance(2, 0, 2, 1),
                OwnedValue::ObjLnk(3, 0)
            ),
            json!({"path":"/2/0/2/1","value":"3:0","type":"objlnk"})
        );
        assert_eq!(
            r(Path::resource(3, 0, 13), OwnedValue::Time(1_700_000_000)),
            json!({"path":"/3/0/13","value":1700000000,"type":"time"})
        );
        assert_eq!(
            r(Path::resource(1, 0, 6), OwnedValue::Boolean(true)),
            json!({"path":"/1/0/6","value":true,"type":"boolean"})
        );
        assert_eq!(
            r(Path::resource(7, 0, 0), OwnedValue::Unsigned(u64::MAX)),
            json!({"path":"/7/0/0","value":u64::MAX,"type":"unsigned"})
        );
    }

    #[test]
    fn json_bodies_to_records() {
        let base = Path::resource(3, 0, 14);
        assert_eq!(
            records_from_json(&json!("+02"), &base).unwrap(),
            vec![OwnedRecord {
                path: base,
                value: OwnedValue::String("+02".into())
            }]
        );
        // The table types /1/0/1 as integer.
        let recs = records_from_json(&json!({"1": 300, "7": "U"}), &Path::instance(1, 0)).unwrap();
        assert_eq!(
            recs,
            vec![
                OwnedRecord {
                    path: Path::resource(1, 0, 1),
                    value: OwnedValue::Integer(300)
                },
                OwnedRecord {
                    path: Path::resource(1, 0, 7),
                    value: OwnedValue::String("U".into())
                },
            ]
        );
        let recs = records_from_json(
            &json!([{"path":"/3303/0/5700","value":20},{"path":"/9/0/1","value":"00ff","type":"opaque"}]),
            &Path::ROOT,
        )
        .unwrap();
        assert_eq!(recs[0].value, OwnedValue::Float(20.0));
        assert_eq!(recs[1].value, OwnedValue::Opaque(vec![0, 0xff]));
        let one = records_from_json(&json!({"value": 5, "type": "unsigned"}), &base).unwrap();
        assert_eq!(one[0].value, OwnedValue::Unsigned(5));
        assert!(records_from_json(&json!({"value": -5, "type": "unsigned"}), &base).is_err());
        assert!(records_from_json(&json!([{"value": 1}]), &base).is_err());
        assert!(records_from_json(&json!({"x/y": 1}), &base).is_err());
    }

    #[test]
    fn text_values() {
        assert_eq!(
            OwnedValue::from_text("12", None),
            Ok(OwnedValue::Integer(12))
        );
        assert_eq!(
            OwnedValue::from_text("1.5", None),
            Ok(OwnedValue::Float(1.5))
        );
        assert_eq!(
            OwnedValue::from_text("hi", None),
            Ok(OwnedValue::String("hi".into()))
        );
        assert_eq!(
            OwnedValue::from_text("3:1", Some(DataType::ObjLnk)),
            Ok(OwnedValue::ObjLnk(3, 1))
        );
        assert!(OwnedValue::from_text("x", Some(DataType::Integer)).is_err());
        assert!(OwnedValue::from_text("abc", Some(DataType::Opaque)).is_err());
    }

    #[test]
    fn formats() {
        assert_eq!(parse_format("tlv"), Some(11542));
        assert_eq!(parse_format("SenML-CBOR"), Some(112));
        assert_eq!(parse_format("cbor"), Some(11544));
        assert_eq!(parse_format("42"), Some(42));
        assert_eq!(parse_format("nope"), None);
        assert_eq!(format_name(11542), "tlv");
    }

    #[test]
    fn composite_request_payload() {
        let p = composite_paths_payload(&[Path::resource(3, 0, 0), Path::instance(1, 0)]);
        let mut want = vec![0x82, 0xa1, 0x00, 0x66];
        want.extend(b"/3/0/0");
        want.extend([0xa1, 0x00, 0x64]);
        want.extend(b"/1/0");
        assert_eq!(p, want);
        let long = composite_paths_payload(&[Path::resource_instance(65534, 65534, 65534, 65534)]);
        assert_eq!(&long[..5], &[0x81, 0xa1, 0x00, 0x78, 24]);
    }
}
