//! application/octet-stream (Content-Format 42): the raw bytes of one Opaque resource.

use super::{Record, RecordSource, Writer};
use crate::error::{Error, Result};
use crate::path::Path;
use crate::value::Value;

/// Encodes the single opaque value at `base`. [`Error::NotAcceptable`] if there is not exactly
/// one record or it is not opaque.
pub fn encode(base: &Path, src: &dyn RecordSource, w: &mut Writer<'_>) -> Result<()> {
    let mut count = 0;
    src.visit(base, &mut |r| {
        count += 1;
        match (count, r.value) {
            (1, Value::Opaque(b)) => w.write(b),
            _ => Err(Error::NotAcceptable),
        }
    })?;
    if count == 1 {
        Ok(())
    } else {
        Err(Error::NotAcceptable)
    }
}

/// Yields the payload as one opaque record at the request path.
pub struct Decoder<'a> {
    base: Path,
    payload: Option<&'a [u8]>,
}

impl<'a> Decoder<'a> {
    /// A decoder for `payload` at `base` (must be a resource or resource instance path).
    pub fn new(base: &Path, payload: &'a [u8]) -> Self {
        Decoder {
            base: *base,
            payload: Some(payload),
        }
    }
}

impl<'a> Iterator for Decoder<'a> {
    type Item = Result<Record<'a>>;
    fn next(&mut self) -> Option<Self::Item> {
        let payload = self.payload.take()?;
        if self.base.len() < 3 {
            return Some(Err(Error::BadRequest));
        }
        Some(Ok(Record {
            path: self.base,
            value: Value::Opaque(payload),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{vec, vec::Vec};

    #[test]
    fn roundtrip_single_opaque() {
        let p = Path::resource(5, 0, 0);
        let recs = [Record {
            path: p,
            value: Value::Opaque(&[1, 2, 3]),
        }];
        let mut buf = [0u8; 8];
        let mut w = Writer::new(&mut buf);
        encode(&p, &&recs[..], &mut w).unwrap();
        assert_eq!(w.window_data(), &[1, 2, 3]);
        let got: Vec<_> = Decoder::new(&p, &[9, 8]).collect();
        assert_eq!(
            got,
            vec![Ok(Record {
                path: p,
                value: Value::Opaque(&[9, 8])
            })]
        );
    }

    #[test]
    fn rejects_non_opaque_and_multiple() {
        let p = Path::resource(3, 0, 0);
        let recs = [Record {
            path: p,
            value: Value::String("x"),
        }];
        let mut buf = [0u8; 8];
        assert_eq!(
            encode(&p, &&recs[..], &mut Writer::new(&mut buf)),
            Err(Error::NotAcceptable)
        );
        assert!(matches!(
            Decoder::new(&Path::instance(3, 0), b"x").next(),
            Some(Err(Error::BadRequest))
        ));
    }
}
