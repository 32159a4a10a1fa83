//! LwM2M content formats. Each format lives in its own module with an encoder (records to
//! bytes) and a decoder (bytes to records); this module holds the shared pieces and dispatches
//! by Content-Format number.
//!
//! Encoders pull records from a [`RecordSource`] that can be visited more than once (TLV needs
//! the size of an instance before its content), and write through a [`Writer`] that can keep
//! just one window of the output (a Block2 block) while counting the total length. No heap,
//! no intermediate buffer.

use crate::coap::content_format as cf;
use crate::error::{Error, Result};
use crate::path::Path;
use crate::value::{DataType, Value};

#[cfg(any(
    feature = "format-tlv",
    feature = "format-senml-cbor",
    feature = "format-lwm2m-cbor"
))]
mod binary32;
#[cfg(any(feature = "format-senml-cbor", feature = "format-lwm2m-cbor"))]
#[cfg_attr(
    not(all(feature = "format-senml-cbor", feature = "format-lwm2m-cbor")),
    allow(dead_code)
)]
mod cbor;
mod float;
pub mod link;
#[cfg(feature = "format-lwm2m-cbor")]
pub mod lwm2m_cbor;
pub mod opaque;
#[cfg(feature = "format-senml-cbor")]
pub mod senml_cbor;
pub mod text;
#[cfg(feature = "format-tlv")]
pub mod tlv;

/// Stand-in for the SenML CBOR module when the `format-senml-cbor` feature is off, so that the
/// engine's composite operations still build (and answer 4.15).
#[cfg(not(feature = "format-senml-cbor"))]
pub mod senml_cbor {
    use crate::error::{Error, Result};
    use crate::path::Path;

    /// Without SenML CBOR no composite request can be read: one
    /// [`Error::UnsupportedContentFormat`].
    pub fn decode_paths(_payload: &[u8]) -> impl Iterator<Item = Result<Path>> {
        core::iter::once(Err(Error::UnsupportedContentFormat))
    }
}

/// One value at one path: the unit every format encodes and decodes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Record<'a> {
    /// Full path of the value (a resource or a resource instance).
    pub path: Path,
    /// The value.
    pub value: Value<'a>,
}

/// A replayable sequence of records in ascending path order.
pub trait RecordSource {
    /// Calls `f` for every record whose path starts with `prefix`, in ascending path order.
    /// Errors returned by `f` stop the visit and are passed on.
    fn visit(&self, prefix: &Path, f: &mut dyn FnMut(&Record<'_>) -> Result<()>) -> Result<()>;
}

/// A slice of records (sorted by path) is a source; pass it as `&&records[..]`.
impl RecordSource for &[Record<'_>] {
    fn visit(&self, prefix: &Path, f: &mut dyn FnMut(&Record<'_>) -> Result<()>) -> Result<()> {
        for r in self.iter().filter(|r| r.path.starts_with(prefix)) {
            f(r)?;
        }
        Ok(())
    }
}

/// An array of records (sorted by path) is a source.
impl<const N: usize> RecordSource for [Record<'_>; N] {
    fn visit(&self, prefix: &Path, f: &mut dyn FnMut(&Record<'_>) -> Result<()>) -> Result<()> {
        (&self[..]).visit(prefix, f)
    }
}

/// An output sink that keeps the bytes in `[skip, skip + buf.len())` of the stream written to it
/// and counts the total. With `skip = 0` it is a plain buffer writer; with a Block2 offset it
/// renders exactly one block.
#[derive(Debug)]
pub struct Writer<'b> {
    buf: &'b mut [u8],
    skip: usize,
    total: usize,
    strict: bool,
}

impl<'b> Writer<'b> {
    /// A writer that fails with [`Error::RequestEntityTooLarge`] when `buf` is full.
    pub fn new(buf: &'b mut [u8]) -> Self {
        Writer {
            buf,
            skip: 0,
            total: 0,
            strict: true,
        }
    }

    /// A writer that keeps only the window `[skip, skip + buf.len())` of the stream and
    /// silently counts everything else.
    pub fn window(buf: &'b mut [u8], skip: usize) -> Self {
        Writer {
            buf,
            skip,
            total: 0,
            strict: false,
        }
    }

    /// Appends bytes.
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        let start = self.total;
        let end = start + data.len();
        self.total = end;
        let win_start = self.skip;
        let win_end = self.skip + self.buf.len();
        if self.strict && end > win_end {
            return Err(Error::RequestEntityTooLarge);
        }
        let lo = start.max(win_start);
        let hi = end.min(win_end);
        if lo < hi {
            self.buf[lo - win_start..hi - win_start].copy_from_slice(&data[lo - start..hi - start]);
        }
        Ok(())
    }

    /// Appends one byte.
    #[inline(never)] // one copy instead of one per use: smaller (`make size`)
    pub fn byte(&mut self, b: u8) -> Result<()> {
        self.write(&[b])
    }

    /// Total bytes written to the stream so far (inside the window or not).
    pub fn total(&self) -> usize {
        self.total
    }

    /// Bytes of the window that hold data.
    pub fn window_len(&self) -> usize {
        self.total.saturating_sub(self.skip).min(self.buf.len())
    }

    /// The data of the window.
    pub fn window_data(&self) -> &[u8] {
        &self.buf[..self.window_len()]
    }
}

impl core::fmt::Write for Writer<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.write(s.as_bytes()).map_err(|_| core::fmt::Error)
    }
}

/// Tells a decoder the declared type of a path (from the object definitions), so that formats
/// that do not carry types (TLV, text) can interpret their bytes. `None` for unknown paths.
pub type TypeOf<'t> = &'t dyn Fn(&Path) -> Option<DataType>;

/// True if the engine can encode this format for a Read of `path` (text and opaque only for a
/// single resource or resource instance).
pub fn can_encode(format: u16, path: &Path) -> bool {
    match format {
        #[cfg(feature = "format-tlv")]
        cf::LWM2M_TLV => true,
        #[cfg(feature = "format-senml-cbor")]
        cf::SENML_CBOR => true,
        #[cfg(feature = "format-lwm2m-cbor")]
        cf::LWM2M_CBOR => true,
        cf::TEXT | cf::OPAQUE => path.len() >= 3,
        _ => false,
    }
}

/// Encodes the records below `base` in `format`. `base` is the path of the request.
///
/// Errors: [`Error::NotAcceptable`] for a format this engine does not produce (or text / opaque
/// for more than one value, or opaque for a non-opaque value), errors of `src` or `w`.
pub fn encode(format: u16, base: &Path, src: &dyn RecordSource, w: &mut Writer<'_>) -> Result<()> {
    match format {
        #[cfg(feature = "format-tlv")]
        cf::LWM2M_TLV => tlv::encode(base, src, w),
        #[cfg(feature = "format-senml-cbor")]
        cf::SENML_CBOR => senml_cbor::encode(base, src, w),
        #[cfg(feature = "format-lwm2m-cbor")]
        cf::LWM2M_CBOR => lwm2m_cbor::encode(base, src, w),
        cf::TEXT => text::encode(base, src, w),
        cf::OPAQUE => opaque::encode(base, src, w),
        _ => Err(Error::NotAcceptable),
    }
}

/// A decoder for one payload: an iterator of records (or the first error, after which it ends).
pub enum Decoder<'a, 't> {
    /// TLV.
    #[cfg(feature = "format-tlv")]
    Tlv(tlv::Decoder<'a, 't>),
    /// SenML CBOR.
    #[cfg(feature = "format-senml-cbor")]
    SenmlCbor(senml_cbor::Decoder<'a, 't>),
    /// LwM2M CBOR.
    #[cfg(feature = "format-lwm2m-cbor")]
    Lwm2mCbor(lwm2m_cbor::Decoder<'a, 't>),
    /// text/plain (one value at `base`).
    Text(text::Decoder<'a, 't>),
    /// application/octet-stream (one value at `base`).
    Opaque(opaque::Decoder<'a>),
}

impl<'a, 't> Decoder<'a, 't> {
    /// A decoder for `payload` in `format`, interpreted relative to the request path `base`.
    /// [`Error::UnsupportedContentFormat`] for formats this engine does not accept.
    pub fn new(format: u16, base: &Path, payload: &'a [u8], type_of: TypeOf<'t>) -> Result<Self> {
        Ok(match format {
            #[cfg(feature = "format-tlv")]
            cf::LWM2M_TLV => Decoder::Tlv(tlv::Decoder::new(base, payload, type_of)),
            #[cfg(feature = "format-senml-cbor")]
            cf::SENML_CBOR => Decoder::SenmlCbor(senml_cbor::Decoder::new(base, payload, type_of)),
            #[cfg(feature = "format-lwm2m-cbor")]
            cf::LWM2M_CBOR => Decoder::Lwm2mCbor(lwm2m_cbor::Decoder::new(base, payload, type_of)),
            cf::TEXT => Decoder::Text(text::Decoder::new(base, payload, type_of)),
            cf::OPAQUE => Decoder::Opaque(opaque::Decoder::new(base, payload)),
            _ => return Err(Error::UnsupportedContentFormat),
        })
    }
}

impl<'a> Iterator for Decoder<'a, '_> {
    type Item = Result<Record<'a>>;
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            #[cfg(feature = "format-tlv")]
            Decoder::Tlv(d) => d.next(),
            #[cfg(feature = "format-senml-cbor")]
            Decoder::SenmlCbor(d) => d.next(),
            #[cfg(feature = "format-lwm2m-cbor")]
            Decoder::Lwm2mCbor(d) => d.next(),
            Decoder::Text(d) => d.next(),
            Decoder::Opaque(d) => d.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_writer_keeps_one_block() {
        let mut buf = [0u8; 4];
        let mut w = Writer::window(&mut buf, 3);
        w.write(b"ab").unwrap();
        w.write(b"cdefgh").unwrap();
        assert_eq!(w.total(), 8);
        assert_eq!(w.window_data(), b"defg");
    }

    #[test]
    fn dispatch_follows_the_format_features() {
        let base = Path::resource(3, 0, 9);
        let recs = [Record {
            path: base,
            value: Value::Integer(1),
        }];
        for (format, on) in [
            (cf::LWM2M_TLV, cfg!(feature = "format-tlv")),
            (cf::SENML_CBOR, cfg!(feature = "format-senml-cbor")),
            (cf::LWM2M_CBOR, cfg!(feature = "format-lwm2m-cbor")),
            (cf::TEXT, true),
            (cf::LINK_FORMAT, false),
        ] {
            assert_eq!(can_encode(format, &base), on, "{format}");
            let mut buf = [0u8; 32];
            let got = encode(format, &base, &&recs[..], &mut Writer::new(&mut buf));
            assert_eq!(got.err(), (!on).then_some(Error::NotAcceptable), "{format}");
            let got = Decoder::new(format, &base, b"", &|_| None).err();
            let want = (!on).then_some(Error::UnsupportedContentFormat);
            assert_eq!(got, want, "{format}");
        }
    }

    #[test]
    fn strict_writer_overflows() {
        let mut buf = [0u8; 4];
        let mut w = Writer::new(&mut buf);
        w.write(b"abc").unwrap();
        assert_eq!(w.write(b"de"), Err(Error::RequestEntityTooLarge));
    }
}
