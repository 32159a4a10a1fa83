//! Device-management and information-reporting operations (LwM2M 1.1 TS Transport section
//! 6.3 / 6.4): how each one maps onto a CoAP request, and the response the caller gets back.
//!
//! Requests are built with an empty Uri-Path; the event loop prefixes the client's alternate
//! root path and the target path when it sends them.

use lwm2m::coap::{code, content_format as cf};
use lwm2m::Path;
use serde_json::{json, Value as Json};

use crate::dm::codec;
use crate::dm::values::{self, hex, OwnedRecord};
use crate::error::ServerError;
use crate::transport::msg::{code_name, code_string, OutRequest};

/// A client's answer to an operation.
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    /// CoAP response code.
    pub code: u8,
    /// Content-Format of the payload, if given.
    pub content_format: Option<u16>,
    /// The payload (all Block2 blocks joined).
    pub payload: Vec<u8>,
    /// The Observe option value (notifications and established observations).
    pub observe: Option<u32>,
    /// The path of the request, the base for decoding the payload.
    pub path: Path,
    /// Location-Path segments (a Create's 2.01 names the new instance: `["3303", "1"]`).
    pub location: Vec<String>,
}

impl Response {
    /// True for 2.xx codes.
    pub fn is_success(&self) -> bool {
        self.code >> 5 == 2
    }

    /// Decodes the payload into values (empty if there is no payload).
    pub fn values(&self) -> Result<Vec<OwnedRecord>, ServerError> {
        if self.payload.is_empty() {
            return Ok(Vec::new());
        }
        let format = self.content_format.unwrap_or(cf::TEXT);
        Ok(codec::decode(format, &self.path, &self.payload)?)
    }

    /// The Location-Path as a path (`/3303/1`), if the response has one.
    pub fn location_path(&self) -> Option<String> {
        (!self.location.is_empty()).then(|| format!("/{}", self.location.join("/")))
    }

    /// True for a success whose payload this server cannot decode (a 2.xx that still failed).
    pub fn is_undecodable(&self) -> bool {
        self.is_success()
            && !self.payload.is_empty()
            && self.content_format != Some(cf::LINK_FORMAT)
            && self.values().is_err()
    }

    /// The JSON form: code, name, `location` (Create) and, by content format, decoded
    /// `values`, `links` (Discover) or, for a payload that cannot be decoded, `success: false`
    /// with `error` and `payload_hex`.
    pub fn to_json(&self) -> Json {
        let mut j = json!({
            "code": code_string(self.code),
            "status": code_name(self.code),
            "success": self.is_success(),
        });
        if let Some(f) = self.content_format {
            j["content_format"] = json!(f);
        }
        if let Some(o) = self.observe {
            j["observe"] = json!(o);
        }
        if let Some(l) = self.location_path() {
            j["location"] = json!(l);
        }
        if self.payload.is_empty() {
            return j;
        }
        match self.content_format {
            Some(cf::LINK_FORMAT) => {
                j["links"] = json!(String::from_utf8_lossy(&self.payload));
            }
            _ if !self.is_success() => {
                j["diagnostic"] = json!(String::from_utf8_lossy(&self.payload));
            }
            _ => match self.values() {
                Ok(v) => j["values"] = Json::Array(v.iter().map(OwnedRecord::to_json).collect()),
                Err(e) => {
                    j["success"] = json!(false);
                    j["error"] = json!(format!(
                        "undecodable payload ({}): {e}",
                        values::format_name(self.content_format.unwrap_or(cf::TEXT))
                    ));
                    j["payload_hex"] = json!(hex(&self.payload));
                }
            },
        }
        j
    }
}

/// Write-Attributes parameters (LwM2M 1.1 TS Core section 5.1.2). Numbers not given are left
/// untouched; names in `unset` are sent without value, which removes them on the client.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Attributes {
    /// Minimum period (s).
    pub pmin: Option<u32>,
    /// Maximum period (s).
    pub pmax: Option<u32>,
    /// Greater-than threshold.
    pub gt: Option<f64>,
    /// Less-than threshold.
    pub lt: Option<f64>,
    /// Step.
    pub st: Option<f64>,
    /// Minimum evaluation period (s).
    pub epmin: Option<u32>,
    /// Maximum evaluation period (s).
    pub epmax: Option<u32>,
    /// Attributes to remove.
    pub unset: Vec<String>,
}

const ATTR_NAMES: [&str; 7] = ["pmin", "pmax", "gt", "lt", "st", "epmin", "epmax"];

impl Attributes {
    /// Parses `name=value` pairs (a name without value unsets it).
    pub fn parse<'a>(
        pairs: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
    ) -> Result<Self, String> {
        let mut a = Attributes::default();
        for (k, v) in pairs {
            if !ATTR_NAMES.contains(&k) {
                return Err(format!("unknown attribute {k:?}"));
            }
            let Some(v) = v else {
                a.unset.push(k.to_owned());
                continue;
            };
            let int = || {
                v.parse::<u32>()
                    .map_err(|_| format!("{k} needs an integer"))
            };
            let num = || match v.parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(f),
                _ => Err(format!("{k} needs a number")),
            };
            match k {
                "pmin" => a.pmin = Some(int()?),
                "pmax" => a.pmax = Some(int()?),
                "epmin" => a.epmin = Some(int()?),
                "epmax" => a.epmax = Some(int()?),
                "gt" => a.gt = Some(num()?),
                "lt" => a.lt = Some(num()?),
                _ => a.st = Some(num()?),
            }
        }
        Ok(a)
    }

    /// Parses `pmin=10&pmax=60` or space-separated `pmin=10 pmax=60`.
    pub fn parse_str(s: &str) -> Result<Self, String> {
        Self::parse(s.split(['&', ' ']).filter(|x| !x.is_empty()).map(
            |x| match x.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (x, None),
            },
        ))
    }

    /// The Uri-Query items.
    pub fn query(&self) -> Vec<String> {
        let mut q = Vec::new();
        let ints = [
            ("pmin", self.pmin),
            ("pmax", self.pmax),
            ("epmin", self.epmin),
            ("epmax", self.epmax),
        ];
        for (k, v) in ints {
            if let Some(v) = v {
                q.push(format!("{k}={v}"));
            }
        }
        for (k, v) in [("gt", self.gt), ("lt", self.lt), ("st", self.st)] {
            if let Some(v) = v {
                q.push(format!("{k}={v}"));
            }
        }
        q.extend(self.unset.iter().cloned());
        q
    }

    /// True if nothing would be sent.
    pub fn is_empty(&self) -> bool {
        self.query().is_empty()
    }
}

fn with_format(mut r: OutRequest, payload: Vec<u8>, format: u16) -> OutRequest {
    r.content_format = Some(format);
    r.payload = payload;
    r
}

/// Read: GET with Accept.
pub fn read(format: u16) -> OutRequest {
    let mut r = OutRequest::new(code::GET, Vec::new());
    r.accept = Some(format);
    r
}

/// Discover: GET with Accept: application/link-format.
pub fn discover() -> OutRequest {
    read(cf::LINK_FORMAT)
}

/// Observe (GET, Observe=0) or active cancel (GET, Observe=1).
pub fn observe(format: u16, cancel: bool) -> OutRequest {
    let mut r = read(format);
    r.observe = Some(u32::from(cancel));
    r
}

/// Write: PUT (replace) or POST (partial update) of `records` encoded in `format` at `path`.
pub fn write(
    path: &Path,
    records: &[OwnedRecord],
    format: u16,
    replace: bool,
) -> Result<OutRequest, ServerError> {
    if path.len() < 2 {
        return Err(ServerError::InvalidArgument(
            "write needs an instance or resource path".into(),
        ));
    }
    if let Some(r) = records.iter().find(|r| !r.path.starts_with(path)) {
        return Err(ServerError::InvalidArgument(format!(
            "{} is outside {path}",
            r.path
        )));
    }
    let payload = codec::encode(format, path, records)?;
    let method = if replace { code::PUT } else { code::POST };
    Ok(with_format(
        OutRequest::new(method, Vec::new()),
        payload,
        format,
    ))
}

/// Execute: POST on a resource with optional text arguments (no Content-Format).
pub fn execute(path: &Path, args: Option<&str>) -> Result<OutRequest, ServerError> {
    if path.len() != 3 {
        return Err(ServerError::InvalidArgument(
            "execute needs a resource path".into(),
        ));
    }
    let mut r = OutRequest::new(code::POST, Vec::new());
    r.payload = args.unwrap_or("").as_bytes().to_vec();
    Ok(r)
}

/// Create: POST on the object. With `instance`, the payload names the new instance: records
/// under `/O/I` inside a TLV object-instance header, or SenML names below the base name
/// `/O/I/`; without values it is that header (or base name) alone. Without `instance` the
/// client picks the ID and the payload holds the resources of one instance (records under
/// `/O/0`). Returns the target path (the object) and the request.
pub fn create(
    object: u16,
    instance: Option<u16>,
    records: &[OwnedRecord],
    format: u16,
) -> Result<(Path, OutRequest), ServerError> {
    let inst_path = Path::instance(object, instance.unwrap_or(0));
    if let Some(r) = records.iter().find(|r| !r.path.starts_with(&inst_path)) {
        return Err(ServerError::InvalidArgument(format!(
            "{} is outside {inst_path}",
            r.path
        )));
    }
    let payload = match instance {
        Some(i) if records.is_empty() => empty_instance(object, i, format)?,
        Some(_) => codec::encode(format, &Path::object(object), records)?,
        None => codec::encode(format, &inst_path, records)?,
    };
    Ok((
        Path::object(object),
        with_format(OutRequest::new(code::POST, Vec::new()), payload, format),
    ))
}

/// The payload of a Create of instance `/object/instance` without resources.
fn empty_instance(object: u16, instance: u16, format: u16) -> Result<Vec<u8>, ServerError> {
    let bn = format!("/{object}/{instance}/");
    Ok(match format {
        // Object Instance TLV (type bits 00) of length 0, with an 8- or 16-bit identifier.
        cf::LWM2M_TLV => match u8::try_from(instance) {
            Ok(i) => vec![0x00, i],
            Err(_) => {
                let [hi, lo] = instance.to_be_bytes();
                vec![0x20, hi, lo]
            }
        },
        // [{-2: "/O/I/"}]: one record that sets only the base name.
        cf::SENML_CBOR => {
            let mut p = vec![0x81, 0xa1, 0x21, 0x60 | bn.len() as u8];
            p.extend(bn.as_bytes());
            p
        }
        cf::SENML_JSON => json!([{ "bn": bn }]).to_string().into_bytes(),
        _ => {
            return Err(ServerError::InvalidArgument(format!(
                "a Create without values needs tlv, senml-cbor or senml-json, not {}",
                values::format_name(format)
            )))
        }
    })
}

/// Delete: DELETE on an instance (or, in bootstrap, any path).
pub fn delete() -> OutRequest {
    OutRequest::new(code::DELETE, Vec::new())
}

/// Write-Attributes: PUT with only Uri-Query.
pub fn write_attributes(attrs: &Attributes) -> Result<OutRequest, ServerError> {
    if attrs.is_empty() {
        return Err(ServerError::InvalidArgument("no attributes given".into()));
    }
    let mut r = OutRequest::new(code::PUT, Vec::new());
    r.query = attrs.query();
    Ok(r)
}

/// Read-Composite: FETCH on the root with a list of paths, in SenML JSON when that is the
/// format asked for, else in SenML CBOR.
pub fn read_composite(paths: &[Path], format: u16) -> Result<OutRequest, ServerError> {
    if paths.is_empty() {
        return Err(ServerError::InvalidArgument("no paths given".into()));
    }
    let (list, list_format) = if format == cf::SENML_JSON {
        let names: Vec<Json> = paths.iter().map(|p| json!({"n": p.to_string()})).collect();
        (Json::Array(names).to_string().into_bytes(), cf::SENML_JSON)
    } else {
        (values::composite_paths_payload(paths), cf::SENML_CBOR)
    };
    let mut r = with_format(OutRequest::new(code::FETCH, Vec::new()), list, list_format);
    r.accept = Some(format);
    Ok(r)
}

/// Write-Composite: iPATCH on the root with records in `format` (SenML CBOR or SenML JSON).
pub fn write_composite(records: &[OwnedRecord], format: u16) -> Result<OutRequest, ServerError> {
    if records.is_empty() {
        return Err(ServerError::InvalidArgument("no values given".into()));
    }
    if format != cf::SENML_CBOR && format != cf::SENML_JSON {
        return Err(ServerError::InvalidArgument(
            "Write-Composite needs senml-cbor or senml-json".into(),
        ));
    }
    let payload = codec::encode(format, &Path::ROOT, records)?;
    Ok(with_format(
        OutRequest::new(code::IPATCH, Vec::new()),
        payload,
        format,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_parse_and_query() {
        let a = Attributes::parse_str("pmin=10&pmax=60&gt=20.5&st").unwrap();
        assert_eq!(a.pmin, Some(10));
        assert_eq!(a.pmax, Some(60));
        assert_eq!(a.gt, Some(20.5));
        assert_eq!(a.unset, vec!["st".to_string()]);
        assert_eq!(a.query(), vec!["pmin=10", "pmax=60", "gt=20.5", "st"]);
        assert!(Attributes::parse_str("pmin=x").is_err());
        assert!(Attributes::parse_str("foo=1").is_err());
        assert!(Attributes::parse_str("gt=inf").is_err());
        assert!(write_attributes(&Attributes::default()).is_err());
    }

    #[test]
    fn request_shapes() {
        let r = read(cf::LWM2M_TLV);
        assert_eq!(
            (r.code, r.accept, r.observe),
            (code::GET, Some(11542), None)
        );
        let o = observe(cf::SENML_CBOR, false);
        assert_eq!(o.observe, Some(0));
        assert_eq!(observe(cf::SENML_CBOR, true).observe, Some(1));
        assert_eq!(discover().accept, Some(cf::LINK_FORMAT));
        let e = execute(&Path::resource(3, 0, 4), Some("0='x'")).unwrap();
        assert_eq!((e.code, e.content_format), (code::POST, None));
        assert_eq!(e.payload, b"0='x'");
        assert!(execute(&Path::instance(3, 0), None).is_err());
        let c = read_composite(&[Path::resource(3, 0, 0)], cf::SENML_CBOR).unwrap();
        assert_eq!(
            (c.code, c.content_format, c.accept),
            (code::FETCH, Some(112), Some(112))
        );
        assert!(write(&Path::object(3), &[], cf::TEXT, true).is_err());
    }

    #[test]
    fn response_json_without_payload_and_with_links() {
        let r = Response {
            code: code::CHANGED,
            content_format: None,
            payload: Vec::new(),
            observe: None,
            path: Path::resource(3, 0, 14),
            location: Vec::new(),
        };
        assert_eq!(
            r.to_json(),
            json!({"code":"2.04","status":"Changed","success":true})
        );
        let d = Response {
            code: code::CONTENT,
            content_format: Some(cf::LINK_FORMAT),
            payload: b"</3/0>,</3/0/1>".to_vec(),
            observe: None,
            path: Path::object(3),
            location: Vec::new(),
        };
        assert_eq!(d.to_json()["links"], json!("</3/0>,</3/0/1>"));
        let e = Response {
            code: code::NOT_FOUND,
            content_format: None,
            payload: Vec::new(),
            observe: None,
            path: Path::object(3),
            location: Vec::new(),
        };
        assert_eq!(e.to_json()["success"], json!(false));
    }
}
#[cfg(test)]
mod create_tests {
    use super::*;
    use crate::dm::values::OwnedValue;

    #[test]
    fn create_carries_the_instance_id() {
        let recs = [OwnedRecord {
            path: Path::resource(3303, 2, 5700),
            value: OwnedValue::Float(20.5),
        }];
        for f in [cf::LWM2M_TLV, cf::SENML_CBOR, cf::SENML_JSON] {
            let (target, req) = create(3303, Some(2), &recs, f).unwrap();
            assert_eq!(target, Path::object(3303));
            assert_eq!((req.code, req.content_format), (code::POST, Some(f)));
            let back = codec::decode(f, &Path::object(3303), &req.payload).unwrap();
            assert_eq!(back, recs, "{f}");
        }
        // TLV: an Object Instance header (type 00, ID 2, length 7) around the resource.
        let (_, req) = create(3303, Some(2), &recs, cf::LWM2M_TLV).unwrap();
        assert_eq!(req.payload[..2], [0x07, 0x02]);
        // Without values: the header alone, or a base name alone.
        let empty = |i, f| create(3303, Some(i), &[], f).unwrap().1.payload;
        assert_eq!(empty(2, cf::LWM2M_TLV), [0x00, 0x02]);
        assert_eq!(empty(300, cf::LWM2M_TLV), [0x20, 0x01, 0x2c]);
        let mut want = vec![0x81, 0xa1, 0x21, 0x68];
        want.extend(b"/3303/2/");
        assert_eq!(empty(2, cf::SENML_CBOR), want);
        assert_eq!(empty(2, cf::SENML_JSON), br#"[{"bn":"/3303/2/"}]"#);
        assert!(create(3303, Some(2), &[], cf::LWM2M_CBOR).is_err());
        // The client picks the ID: resources of one instance, no instance header.
        let (_, req) = create(3303, None, &recs[..0], cf::LWM2M_TLV).unwrap();
        assert!(req.payload.is_empty());
        assert!(create(3303, Some(1), &recs, cf::LWM2M_TLV).is_err());
    }
}
