//! Every content format the server reads and writes: SenML JSON and LwM2M JSON by
//! [`super::senml_json`], the others (TLV, SenML CBOR, LwM2M CBOR, text, opaque) by the
//! engine's codecs, typed by the resource table ([`super::types`]).

use lwm2m::coap::content_format as cf;
use lwm2m::codec::{self, Decoder, Record, Writer};
use lwm2m::Path;

use super::senml_json;
use super::types;
use super::values::OwnedRecord;
use crate::error::ServerError;

/// Why a payload could not be encoded or decoded.
#[derive(Clone, Debug, PartialEq)]
pub enum CodecError {
    /// The engine's codecs (TLV, SenML CBOR, LwM2M CBOR, text, opaque).
    Engine(lwm2m::Error),
    /// The server's JSON formats ([`senml_json`]).
    Json(senml_json::JsonFormatError),
}

impl std::fmt::Display for CodecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CodecError::Engine(e) => write!(f, "{e}"),
            CodecError::Json(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CodecError {}

impl From<lwm2m::Error> for CodecError {
    fn from(e: lwm2m::Error) -> Self {
        CodecError::Engine(e)
    }
}

/// Decodes a payload in `format` relative to the request path `base`, using the built-in type
/// table for formats without types. SenML JSON and LwM2M JSON are decoded by
/// [`senml_json`], the others by the engine's codecs.
pub fn decode(format: u16, base: &Path, payload: &[u8]) -> Result<Vec<OwnedRecord>, CodecError> {
    match format {
        cf::SENML_JSON => return senml_json::decode(base, payload).map_err(CodecError::Json),
        cf::LWM2M_JSON => {
            return senml_json::decode_lwm2m_json(base, payload).map_err(CodecError::Json)
        }
        _ => {}
    }
    let type_of = |p: &Path| types::type_for_decoding(format, p);
    let dec = Decoder::new(format, base, payload, &type_of)?;
    let mut out = Vec::new();
    for r in dec {
        out.push(OwnedRecord::from_record(&r?));
    }
    Ok(out)
}

/// Encodes records (any order; they are sorted) in `format` for a request on `base`.
pub fn encode(format: u16, base: &Path, records: &[OwnedRecord]) -> Result<Vec<u8>, CodecError> {
    let mut sorted: Vec<&OwnedRecord> = records.iter().collect();
    sorted.sort_by_key(|r| r.path);
    if format == cf::SENML_JSON {
        let owned: Vec<OwnedRecord> = sorted.into_iter().cloned().collect();
        return senml_json::encode(base, &owned).map_err(CodecError::Json);
    }
    let recs: Vec<Record<'_>> = sorted
        .iter()
        .map(|r| Record {
            path: r.path,
            value: r.value.as_value(),
        })
        .collect();
    let src: &[Record<'_>] = &recs;
    // First pass only counts (an empty window), the second writes into an exact buffer.
    let mut w = Writer::window(&mut [], 0);
    codec::encode(format, base, &src, &mut w)?;
    let mut buf = vec![0u8; w.total()];
    let mut w = Writer::new(&mut buf);
    codec::encode(format, base, &src, &mut w)?;
    let n = w.total();
    buf.truncate(n);
    Ok(buf)
}

impl From<CodecError> for ServerError {
    fn from(e: CodecError) -> Self {
        match e {
            CodecError::Engine(e) => ServerError::Codec(e),
            CodecError::Json(e) => ServerError::Payload(e.0),
        }
    }
}
