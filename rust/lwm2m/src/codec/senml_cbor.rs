//! SenML CBOR (Content-Format 112, RFC 8428 with LwM2M 1.1 TS Core section 7.4.5 rules).

use super::{Record, RecordSource, TypeOf, Writer};
use crate::error::Result;
use crate::path::Path;

/// Encodes the records below `base`.
pub fn encode(base: &Path, src: &dyn RecordSource, w: &mut Writer<'_>) -> Result<()> {
    let _ = (base, src, w);
    todo!("codec helper")
}

/// Decodes a payload into records.
pub struct Decoder<'a, 't> {
    base: Path,
    payload: &'a [u8],
    type_of: TypeOf<'t>,
}

impl<'a, 't> Decoder<'a, 't> {
    /// A decoder for `payload`, relative to the request path `base`.
    pub fn new(base: &Path, payload: &'a [u8], type_of: TypeOf<'t>) -> Self {
        Decoder {
            base: *base,
            payload,
            type_of,
        }
    }
}

impl<'a> Iterator for Decoder<'a, '_> {
    type Item = Result<Record<'a>>;
    fn next(&mut self) -> Option<Self::Item> {
        let _ = (&self.base, &self.payload, &self.type_of);
        todo!("codec helper")
    }
}

/// Decodes the path list of a Read-Composite request (records with names only).
pub fn decode_paths(payload: &[u8]) -> impl Iterator<Item = Result<Path>> + '_ {
    let _ = payload;
    core::iter::empty()
}
