//! A minimal RFC 7252 CoAP message codec: a zero-copy parsed view ([`Message`]) and a builder
//! ([`MessageBuilder`]) over a caller's buffer. Parsing never panics; malformed input is an error.
//!
//! Besides the message format, two platform-independent pieces of CoAP that drivers share:
//! [`dedup`], the duplicate detection of incoming requests (RFC 7252 section 4.5), and
//! [`observe`], the observer's ordering of notifications (RFC 7641 section 3.4). The rest of
//! the message layer (CON retransmission, message IDs) is the driver's job: gcoap on RIOT, the
//! host runtime on Linux.

pub mod block;
pub mod dedup;
pub mod observe;

pub use block::Block;

/// CoAP codes as `class << 5 | detail`.
pub mod code {
    #![allow(missing_docs)]
    pub const EMPTY: u8 = 0x00;
    pub const GET: u8 = 0x01;
    pub const POST: u8 = 0x02;
    pub const PUT: u8 = 0x03;
    pub const DELETE: u8 = 0x04;
    pub const FETCH: u8 = 0x05;
    pub const PATCH: u8 = 0x06;
    pub const IPATCH: u8 = 0x07;
    pub const CREATED: u8 = 0x41;
    pub const DELETED: u8 = 0x42;
    pub const VALID: u8 = 0x43;
    pub const CHANGED: u8 = 0x44;
    pub const CONTENT: u8 = 0x45;
    pub const CONTINUE: u8 = 0x5f;
    pub const BAD_REQUEST: u8 = 0x80;
    pub const UNAUTHORIZED: u8 = 0x81;
    pub const BAD_OPTION: u8 = 0x82;
    pub const FORBIDDEN: u8 = 0x83;
    pub const NOT_FOUND: u8 = 0x84;
    pub const METHOD_NOT_ALLOWED: u8 = 0x85;
    pub const NOT_ACCEPTABLE: u8 = 0x86;
    pub const REQUEST_ENTITY_INCOMPLETE: u8 = 0x88;
    pub const PRECONDITION_FAILED: u8 = 0x8c;
    pub const REQUEST_ENTITY_TOO_LARGE: u8 = 0x8d;
    pub const UNSUPPORTED_CONTENT_FORMAT: u8 = 0x8f;
    pub const INTERNAL_SERVER_ERROR: u8 = 0xa0;
    pub const NOT_IMPLEMENTED: u8 = 0xa1;
    pub const SERVICE_UNAVAILABLE: u8 = 0xa3;

    /// True for request codes (class 0, non-empty).
    pub const fn is_request(c: u8) -> bool {
        c != 0 && c >> 5 == 0
    }
    /// True for response codes (class 2..=5).
    pub const fn is_response(c: u8) -> bool {
        c >> 5 >= 2
    }
}

/// Option numbers (RFC 7252, 7641, 7959, 8613, 9175).
pub mod option {
    #![allow(missing_docs)]
    pub const IF_MATCH: u16 = 1;
    pub const URI_HOST: u16 = 3;
    pub const ETAG: u16 = 4;
    pub const IF_NONE_MATCH: u16 = 5;
    pub const OBSERVE: u16 = 6;
    pub const URI_PORT: u16 = 7;
    pub const LOCATION_PATH: u16 = 8;
    pub const OSCORE: u16 = 9;
    pub const URI_PATH: u16 = 11;
    pub const CONTENT_FORMAT: u16 = 12;
    pub const MAX_AGE: u16 = 14;
    pub const URI_QUERY: u16 = 15;
    pub const ACCEPT: u16 = 17;
    pub const LOCATION_QUERY: u16 = 20;
    pub const BLOCK2: u16 = 23;
    pub const BLOCK1: u16 = 27;
    pub const SIZE2: u16 = 28;
    pub const PROXY_URI: u16 = 35;
    pub const PROXY_SCHEME: u16 = 39;
    pub const SIZE1: u16 = 60;
    pub const ECHO: u16 = 252;
    pub const NO_RESPONSE: u16 = 258;

    /// Odd option numbers are critical (RFC 7252 section 5.4.6).
    pub const fn is_critical(n: u16) -> bool {
        n & 1 == 1
    }
}

/// Content-Format numbers used by LwM2M.
pub mod content_format {
    #![allow(missing_docs)]
    pub const TEXT: u16 = 0;
    pub const LINK_FORMAT: u16 = 40;
    pub const OPAQUE: u16 = 42;
    pub const CBOR: u16 = 60;
    pub const SENML_JSON: u16 = 110;
    pub const SENML_CBOR: u16 = 112;
    pub const LWM2M_TLV: u16 = 11542;
    pub const LWM2M_JSON: u16 = 11543;
    pub const LWM2M_CBOR: u16 = 11544;
}

/// CoAP message type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageType {
    /// Confirmable.
    Con = 0,
    /// Non-confirmable.
    Non = 1,
    /// Acknowledgement.
    Ack = 2,
    /// Reset.
    Rst = 3,
}

/// Why a datagram is not a well-formed CoAP message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Shorter than the 4-byte header, or the token / an option runs past the end.
    Truncated,
    /// Version is not 1.
    BadVersion,
    /// Token length 9..=15.
    BadTokenLength,
    /// Option delta or length nibble 15 outside the payload marker, or an option number overflow.
    BadOption,
    /// A payload marker followed by an empty payload.
    EmptyPayload,
    /// An empty message (code 0.00) with a token, options or payload.
    BadEmpty,
}

/// Why a message could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildError {
    /// The buffer is too small.
    NoSpace,
    /// Options must be added in ascending number order.
    OptionOrder,
    /// Token longer than 8 bytes.
    BadToken,
}

/// One option of a parsed message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoapOption<'a> {
    /// Option number.
    pub number: u16,
    /// Raw option value.
    pub value: &'a [u8],
}

/// A parsed CoAP message borrowing from the datagram. The options were validated by
/// [`Message::parse`], so iterating them cannot fail.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    /// Message type.
    pub mtype: MessageType,
    /// Code.
    pub code: u8,
    /// Message ID.
    pub message_id: u16,
    /// Token (0..=8 bytes).
    pub token: &'a [u8],
    options: &'a [u8],
    /// Payload (empty if none).
    pub payload: &'a [u8],
}

/// Iterator over the options of a [`Message`], in wire order.
#[derive(Clone, Debug)]
pub struct Options<'a> {
    rest: &'a [u8],
    number: u16,
}

impl<'a> Iterator for Options<'a> {
    type Item = CoapOption<'a>;
    fn next(&mut self) -> Option<CoapOption<'a>> {
        // The bytes were validated by `Message::parse`, so an error here only means "the end".
        let (o, rest) = take_option(self.rest, self.number).ok()?;
        self.rest = rest;
        self.number = o.number;
        Some(o)
    }
}

/// Reads an extended option delta or length (RFC 7252 section 3.1) for nibble `nib`.
fn take_ext(nib: u8, rest: &mut &[u8]) -> Result<u32, ParseError> {
    Ok(match nib {
        13 => {
            let (&b, r) = rest.split_first().ok_or(ParseError::Truncated)?;
            *rest = r;
            u32::from(b) + 13
        }
        14 => {
            let (b, r) = rest.split_first_chunk().ok_or(ParseError::Truncated)?;
            *rest = r;
            u32::from(u16::from_be_bytes(*b)) + 269
        }
        15 => return Err(ParseError::BadOption),
        n => u32::from(n),
    })
}

/// Reads one option (not the payload marker) following option number `prev`.
fn take_option(buf: &[u8], prev: u16) -> Result<(CoapOption<'_>, &[u8]), ParseError> {
    let (&b, mut rest) = buf.split_first().ok_or(ParseError::Truncated)?;
    let delta = take_ext(b >> 4, &mut rest)?;
    let len = take_ext(b & 0xf, &mut rest)?;
    let number = u16::try_from(u32::from(prev) + delta).map_err(|_| ParseError::BadOption)?;
    let (value, rest) = rest
        .split_at_checked(len as usize)
        .ok_or(ParseError::Truncated)?;
    Ok((CoapOption { number, value }, rest))
}

impl<'a> Message<'a> {
    /// Parses a datagram. Never panics.
    pub fn parse(buf: &'a [u8]) -> Result<Self, ParseError> {
        let (&[b0, code, m0, m1], rest) = buf.split_first_chunk().ok_or(ParseError::Truncated)?;
        if b0 >> 6 != 1 {
            return Err(ParseError::BadVersion);
        }
        let tkl = usize::from(b0 & 0xf);
        if tkl > 8 {
            return Err(ParseError::BadTokenLength);
        }
        if code == code::EMPTY && (tkl != 0 || !rest.is_empty()) {
            return Err(ParseError::BadEmpty);
        }
        let (token, start) = rest.split_at_checked(tkl).ok_or(ParseError::Truncated)?;
        let mut rest = start;
        let mut number = 0;
        let mut payload: &[u8] = &[];
        while let Some((&b, tail)) = rest.split_first() {
            if b == 0xff {
                payload = tail;
                if payload.is_empty() {
                    return Err(ParseError::EmptyPayload);
                }
                break;
            }
            let (o, r) = take_option(rest, number)?;
            number = o.number;
            rest = r;
        }
        // `rest` is a suffix of `start`, so this cannot fail.
        let options = start
            .get(..start.len() - rest.len())
            .ok_or(ParseError::Truncated)?;
        Ok(Message {
            mtype: match (b0 >> 4) & 3 {
                0 => MessageType::Con,
                1 => MessageType::Non,
                2 => MessageType::Ack,
                _ => MessageType::Rst,
            },
            code,
            message_id: u16::from_be_bytes([m0, m1]),
            token,
            options,
            payload,
        })
    }

    /// All options, in wire order.
    pub fn options(&self) -> Options<'a> {
        Options {
            rest: self.options,
            number: 0,
        }
    }

    /// Values of every option with this number, in order.
    pub fn option_values(&self, number: u16) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.options()
            .filter(move |o| o.number == number)
            .map(|o| o.value)
    }

    /// The first value of an option, if present.
    pub fn option(&self, number: u16) -> Option<&'a [u8]> {
        self.option_values(number).next()
    }

    /// The first value of a uint option; `None` if absent, `Some(Err(()))` if longer than 4 bytes.
    #[inline(never)] // one copy instead of one per use: smaller (`make size`)
    pub fn option_uint(&self, number: u16) -> Option<Result<u32, ()>> {
        self.option(number).map(decode_uint)
    }

    /// The Uri-Path segments.
    pub fn uri_path(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.option_values(option::URI_PATH)
    }

    /// The Uri-Query items.
    pub fn uri_query(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.option_values(option::URI_QUERY)
    }

    /// The first critical option whose number `known` does not accept (RFC 7252 5.4.1:
    /// a request with one gets 4.02 Bad Option).
    pub fn unknown_critical_option(&self, known: impl Fn(u16) -> bool) -> Option<u16> {
        self.options()
            .map(|o| o.number)
            .find(|&n| option::is_critical(n) && !known(n))
    }
}

/// Decodes a CoAP uint option value (big-endian, at most 4 bytes, leading zeros allowed).
#[allow(clippy::result_unit_err)]
pub fn decode_uint(v: &[u8]) -> Result<u32, ()> {
    if v.len() > 4 {
        return Err(());
    }
    Ok(v.iter().fold(0, |a, &b| (a << 8) | u32::from(b)))
}

/// Encodes a uint in its shortest form (0 is the empty string). Returns the used bytes.
pub fn encode_uint(v: u32, out: &mut [u8; 4]) -> &[u8] {
    *out = v.to_be_bytes();
    &out[(v.leading_zeros() / 8) as usize..]
}

/// Largest encodable option delta or length (nibble 14: 269 + 0xffff).
const MAX_EXT: usize = 269 + 0xffff;

/// Writes the extended form of `v` at `out[*at..]` and returns its nibble.
fn put_ext(v: usize, out: &mut [u8; 5], at: &mut usize) -> u8 {
    if v < 13 {
        v as u8
    } else if v < 269 {
        out[*at] = (v - 13) as u8;
        *at += 1;
        13
    } else {
        out[*at..*at + 2].copy_from_slice(&((v - 269) as u16).to_be_bytes());
        *at += 2;
        14
    }
}

/// Builds a CoAP message into a caller's buffer: header and token first, then options in
/// ascending order, then the payload.
#[derive(Debug)]
pub struct MessageBuilder<'b> {
    // Invariants: `len >= 4 + TKL` and `len + 1 + payload_len <= buf.len()` when
    // `payload_len > 0`, so the fixed-index accesses below cannot panic.
    buf: &'b mut [u8],
    len: usize,
    last_option: u16,
    payload_len: usize,
}

impl<'b> MessageBuilder<'b> {
    /// Starts a message.
    pub fn new(
        buf: &'b mut [u8],
        mtype: MessageType,
        code: u8,
        message_id: u16,
        token: &[u8],
    ) -> Result<Self, BuildError> {
        if token.len() > 8 {
            return Err(BuildError::BadToken);
        }
        let len = 4 + token.len();
        let head = buf.get_mut(..len).ok_or(BuildError::NoSpace)?;
        let [m0, m1] = message_id.to_be_bytes();
        head[..4].copy_from_slice(&[0x40 | (mtype as u8) << 4 | token.len() as u8, code, m0, m1]);
        head[4..].copy_from_slice(token);
        Ok(MessageBuilder {
            buf,
            len,
            last_option: 0,
            payload_len: 0,
        })
    }

    /// Changes the code.
    pub fn set_code(&mut self, code: u8) {
        // `new` made sure of the header: no bounds-check panic at each inlined use.
        if let Some(c) = self.buf.get_mut(1) {
            *c = code;
        }
    }

    /// The code set so far.
    pub fn code(&self) -> u8 {
        self.buf[1]
    }

    /// Changes the message ID.
    pub fn set_message_id(&mut self, mid: u16) {
        self.buf[2..4].copy_from_slice(&mid.to_be_bytes());
    }

    /// Appends an option; numbers must not decrease, and no option may follow a non-empty
    /// payload.
    pub fn option(&mut self, number: u16, value: &[u8]) -> Result<(), BuildError> {
        if number < self.last_option || self.payload_len != 0 {
            return Err(BuildError::OptionOrder);
        }
        if value.len() > MAX_EXT {
            return Err(BuildError::NoSpace);
        }
        let mut head = [0u8; 5];
        let mut at = 1;
        let d = put_ext(usize::from(number - self.last_option), &mut head, &mut at);
        let l = put_ext(value.len(), &mut head, &mut at);
        head[0] = d << 4 | l;
        let end = self.len + at + value.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(BuildError::NoSpace)?;
        let (h, v) = dst.split_at_mut(at);
        h.copy_from_slice(&head[..at]);
        v.copy_from_slice(value);
        self.len = end;
        self.last_option = number;
        Ok(())
    }

    /// Appends a uint option in its shortest encoding.
    #[inline(never)] // one copy instead of one per use: smaller (`make size`)
    pub fn option_uint(&mut self, number: u16, value: u32) -> Result<(), BuildError> {
        let mut b = [0; 4];
        self.option(number, encode_uint(value, &mut b))
    }

    /// The buffer available for the payload (after room for the 0xFF marker). Write into it,
    /// then call [`MessageBuilder::set_payload_len`]. No options may follow a non-empty payload;
    /// until then, an option overwrites whatever was written here.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        self.buf.get_mut(self.len + 1..).unwrap_or_default()
    }

    /// Sets how many bytes of [`MessageBuilder::payload_mut`] are payload.
    pub fn set_payload_len(&mut self, len: usize) -> Result<(), BuildError> {
        if len > self.buf.len().saturating_sub(self.len + 1) {
            return Err(BuildError::NoSpace);
        }
        self.payload_len = len;
        Ok(())
    }

    /// Copies a payload.
    pub fn payload(&mut self, data: &[u8]) -> Result<(), BuildError> {
        let p = self.payload_mut();
        if p.len() < data.len() {
            return Err(BuildError::NoSpace);
        }
        p[..data.len()].copy_from_slice(data);
        self.set_payload_len(data.len())
    }

    /// Drops all options and payload, keeping header and token (to turn a half-built response
    /// into an error response).
    pub fn reset_options(&mut self) {
        self.len = 4 + usize::from(self.buf[0] & 0xf);
        self.last_option = 0;
        self.payload_len = 0;
    }

    /// Finishes the message: writes the payload marker if there is a payload and returns the
    /// total length.
    pub fn finish(self) -> usize {
        if self.payload_len == 0 {
            return self.len;
        }
        // A payload was accepted by `set_payload_len`, so the marker's byte exists.
        if let Some(m) = self.buf.get_mut(self.len) {
            *m = 0xff;
        }
        self.len + 1 + self.payload_len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    fn opts(m: &Message<'_>) -> Vec<(u16, Vec<u8>)> {
        m.options().map(|o| (o.number, o.value.to_vec())).collect()
    }

    /// CON GET /3/0/1, MID 0x1234, token ab cd.
    const GET_301: [u8; 12] = [
        0x42, 0x01, 0x12, 0x34, 0xab, 0xcd, // ver 1, CON, TKL 2, 0.01, MID, token
        0xb1, b'3', // delta 11 (Uri-Path), len 1
        0x01, b'0', // delta 0, len 1
        0x01, b'1',
    ];

    /// ACK 2.05, MID 0x1234, token 7f, Content-Format 11542 (TLV), payload c1 00 2a.
    const ACK_CONTENT: [u8; 12] = [
        0x61, 0x45, 0x12, 0x34, 0x7f, // ver 1, ACK, TKL 1, 2.05, MID, token
        0xc2, 0x2d, 0x16, // delta 12 (Content-Format), len 2, 11542
        0xff, 0xc1, 0x00, 0x2a,
    ];

    /// NON POST without token: Uri-Path of 13 bytes (length 13 -> ext 0), Size1 (delta 49 ->
    /// ext 36) of 13 bytes, option 2048 (delta 1988 -> ext 1719) of 300 bytes (ext 31).
    fn extended() -> Vec<u8> {
        let mut v = std::vec![0x50, 0x02, 0x00, 0x01];
        v.extend([0xbd, 0x00]);
        v.extend(b"abcdefghijklm");
        v.extend([0xdd, 0x24, 0x00]);
        v.extend([7u8; 13]);
        v.extend([0xee, 0x06, 0xb7, 0x00, 0x1f]);
        v.extend([9u8; 300]);
        v
    }

    #[test]
    fn parse_get() {
        let m = Message::parse(&GET_301).unwrap();
        assert_eq!(m.mtype, MessageType::Con);
        assert_eq!(m.code, code::GET);
        assert_eq!(m.message_id, 0x1234);
        assert_eq!(m.token, [0xab, 0xcd]);
        assert_eq!(m.uri_path().collect::<Vec<_>>(), [b"3", b"0", b"1"]);
        assert_eq!(m.uri_query().count(), 0);
        assert!(m.payload.is_empty());
        assert_eq!(m.unknown_critical_option(|n| n == option::URI_PATH), None);
        assert_eq!(m.unknown_critical_option(|_| false), Some(11));
    }

    #[test]
    fn parse_ack_content() {
        let m = Message::parse(&ACK_CONTENT).unwrap();
        assert_eq!(m.mtype, MessageType::Ack);
        assert_eq!(m.code, code::CONTENT);
        assert_eq!(m.token, [0x7f]);
        assert_eq!(
            m.option_uint(option::CONTENT_FORMAT),
            Some(Ok(u32::from(content_format::LWM2M_TLV)))
        );
        assert_eq!(m.option_uint(option::ACCEPT), None);
        assert_eq!(m.payload, [0xc1, 0x00, 0x2a]);
        assert_eq!(m.options().count(), 1);
    }

    #[test]
    fn parse_extended() {
        let v = extended();
        let m = Message::parse(&v).unwrap();
        assert_eq!(m.mtype, MessageType::Non);
        assert_eq!(m.token, b"");
        assert_eq!(
            opts(&m),
            [
                (11, b"abcdefghijklm".to_vec()),
                (60, std::vec![7; 13]),
                (2048, std::vec![9; 300])
            ]
        );
        assert!(m.payload.is_empty());
    }

    #[test]
    fn parse_empty_messages() {
        for (b, t) in [
            (0x40, MessageType::Con),
            (0x60, MessageType::Ack),
            (0x70, MessageType::Rst),
        ] {
            let v = [b, 0x00, 0xbe, 0xef];
            let m = Message::parse(&v).unwrap();
            assert_eq!((m.mtype, m.code, m.message_id), (t, code::EMPTY, 0xbeef));
            assert_eq!(
                (m.token, m.payload, m.options().count()),
                (&[][..], &[][..], 0)
            );
        }
        for bad in [
            &[0x61, 0x00, 0, 0, 0xaa][..], // token
            &[0x60, 0x00, 0, 0, 0xb1, b'3'],
            &[0x60, 0x00, 0, 0, 0xff, 1],
            &[0x70, 0x00, 0, 0, 0xff], // marker, nothing
            &[0x61, 0x00, 0, 0],       // TKL 1, token missing
        ] {
            assert_eq!(
                Message::parse(bad).unwrap_err(),
                ParseError::BadEmpty,
                "{bad:02x?}"
            );
        }
    }

    #[test]
    fn truncated_everywhere() {
        // Prefixes ending on an option boundary are valid messages with fewer options.
        for n in 0..GET_301.len() {
            let r = Message::parse(&GET_301[..n]);
            match n {
                6 | 8 | 10 => assert_eq!(r.unwrap().options().count(), (n - 6) / 2),
                _ => assert_eq!(r.unwrap_err(), ParseError::Truncated, "{n}"),
            }
        }
        let v = extended();
        for n in 0..v.len() {
            let r = Message::parse(&v[..n]);
            match n {
                4 | 19 | 35 => assert!(r.is_ok(), "{n}"),
                _ => assert_eq!(r.unwrap_err(), ParseError::Truncated, "{n}"),
            }
        }
        for n in 0..ACK_CONTENT.len() {
            let r = Message::parse(&ACK_CONTENT[..n]);
            match n {
                5 | 8 => assert!(r.is_ok()),
                9 => assert_eq!(r.unwrap_err(), ParseError::EmptyPayload),
                10.. => assert_eq!(r.unwrap().payload, &ACK_CONTENT[9..n]),
                _ => assert_eq!(r.unwrap_err(), ParseError::Truncated, "{n}"),
            }
        }
    }

    #[test]
    fn hostile() {
        use ParseError::*;
        for tkl in 9..=15u8 {
            let mut v = std::vec![0x40 | tkl, 0x01, 0, 0];
            v.extend([0; 15]);
            assert_eq!(Message::parse(&v).unwrap_err(), BadTokenLength);
        }
        for b0 in [0x01, 0x81, 0xc1, 0x3f] {
            assert_eq!(Message::parse(&[b0, 1, 0, 0, 0]).unwrap_err(), BadVersion);
        }
        let cases: &[(&[u8], ParseError)] = &[
            (&[0xf0], BadOption),             // delta 15, not a marker
            (&[0xf1, 0], BadOption),          // delta 15, len 1
            (&[0x1f, 0], BadOption),          // len 15
            (&[0xb1, b'a', 0x1f], BadOption), // len 15 after a good option
            // delta 14, ext 0xffff: 65804 > 65535
            (&[0xe0, 0xff, 0xff], BadOption),
            // 65535 is fine, one more overflows
            (&[0xe0, 0xfe, 0xf2, 0x10], BadOption),
            (&[0xd0], Truncated),
            (&[0xe0, 0x00], Truncated),
            (&[0x0d], Truncated),
            (&[0x0e, 0x00], Truncated),
            (&[0x0e, 0x00, 0x00], Truncated), // len 269, no value
            (&[0xff], EmptyPayload),
            (&[0xb1, b'a', 0xff], EmptyPayload),
        ];
        for (opts, err) in cases {
            let mut v = std::vec![0x41, 0x01, 0, 0, 0x55];
            v.extend(*opts);
            assert_eq!(Message::parse(&v).unwrap_err(), *err, "{opts:02x?}");
        }
        let m = Message::parse(&[0x40, 0x01, 0, 0, 0xe0, 0xfe, 0xf2]).unwrap();
        assert_eq!(opts(&m), [(65535, std::vec![])]);
    }

    #[test]
    fn uint() {
        assert_eq!(decode_uint(&[]), Ok(0));
        assert_eq!(decode_uint(&[0, 0, 0, 1]), Ok(1));
        assert_eq!(decode_uint(&[0x2d, 0x16]), Ok(11542));
        assert_eq!(decode_uint(&[0xff; 4]), Ok(u32::MAX));
        assert_eq!(decode_uint(&[0, 0, 0, 0, 1]), Err(()));
        let mut b = [0; 4];
        assert_eq!(encode_uint(0, &mut b), b"");
        assert_eq!(encode_uint(255, &mut b), [0xff]);
        assert_eq!(encode_uint(256, &mut b), [1, 0]);
        assert_eq!(encode_uint(0x01_0000, &mut b), [1, 0, 0]);
        assert_eq!(encode_uint(u32::MAX, &mut b), [0xff; 4]);
    }

    fn build<'b>(buf: &'b mut [u8], mid: u16, token: &[u8]) -> MessageBuilder<'b> {
        MessageBuilder::new(buf, MessageType::Con, code::GET, mid, token).unwrap()
    }

    #[test]
    fn build_vectors() {
        let mut buf = [0; 64];
        let mut b = build(&mut buf, 0x1234, &[0xab, 0xcd]);
        for s in [b"3", b"0", b"1"] {
            b.option(option::URI_PATH, s).unwrap();
        }
        let n = b.finish();
        assert_eq!(buf[..n], GET_301);

        let mut buf = [0; 64];
        let mut b = MessageBuilder::new(&mut buf, MessageType::Ack, 0, 0x1234, &[0x7f]).unwrap();
        b.set_code(code::CONTENT);
        assert_eq!(b.code(), code::CONTENT);
        b.option_uint(option::CONTENT_FORMAT, 11542).unwrap();
        b.payload(&[0xc1, 0x00, 0x2a]).unwrap();
        let n = b.finish();
        assert_eq!(buf[..n], ACK_CONTENT);

        let v = extended();
        let mut buf = [0; 400];
        let mut b = MessageBuilder::new(&mut buf, MessageType::Non, code::POST, 1, &[]).unwrap();
        b.option(11, b"abcdefghijklm").unwrap();
        b.option(60, &[7; 13]).unwrap();
        b.option(2048, &[9; 300]).unwrap();
        let n = b.finish();
        assert_eq!(buf[..n], v[..]);

        let mut buf = [0; 4];
        let mut b = MessageBuilder::new(&mut buf, MessageType::Rst, 0, 0, &[]).unwrap();
        b.set_message_id(0xbeef);
        assert_eq!(b.finish(), 4);
        assert_eq!(buf, [0x70, 0x00, 0xbe, 0xef]);
    }

    #[test]
    fn build_errors() {
        let mut buf = [0; 16];
        let r = MessageBuilder::new(&mut buf, MessageType::Con, 1, 0, &[0; 9]);
        assert_eq!(r.unwrap_err(), BuildError::BadToken);
        let r = MessageBuilder::new(&mut buf[..5], MessageType::Con, 1, 0, &[1, 2]);
        assert_eq!(r.unwrap_err(), BuildError::NoSpace);
        let r = MessageBuilder::new(&mut buf[..3], MessageType::Con, 1, 0, &[]);
        assert_eq!(r.unwrap_err(), BuildError::NoSpace);

        let mut b = build(&mut buf, 0, &[]);
        b.option(11, b"a").unwrap();
        b.option(11, b"b").unwrap();
        assert_eq!(b.option(4, b""), Err(BuildError::OptionOrder));
        b.option(12, &[]).unwrap();
        // 9 bytes used; 7 left, the marker takes one.
        assert_eq!(b.payload_mut().len(), 6);
        assert_eq!(b.set_payload_len(7), Err(BuildError::NoSpace));
        assert_eq!(b.payload(&[0; 7]), Err(BuildError::NoSpace));
        // Delta 48 needs an extended byte: 2 + value.
        assert_eq!(b.option(60, &[0; 6]), Err(BuildError::NoSpace));
        assert_eq!(b.option(60, &[0; 5]), Ok(()));
        assert_eq!(b.payload_mut().len(), 0);
        assert_eq!(b.set_payload_len(1), Err(BuildError::NoSpace));
        assert_eq!(b.set_payload_len(0), Ok(()));
        assert_eq!(b.finish(), 16);
    }

    #[test]
    fn option_after_payload_look_then_error() {
        let mut buf = [0; 32];
        let mut b = build(&mut buf, 7, &[0xaa]);
        b.option(11, b"x").unwrap();
        b.payload_mut()[..4].copy_from_slice(b"junk");
        // The engine changes its mind: an error response with an option and no payload.
        b.set_code(code::BAD_REQUEST);
        b.option(12, &[0]).unwrap();
        b.set_payload_len(0).unwrap();
        b.option(60, &[1]).unwrap();
        b.payload(b"ok").unwrap();
        assert_eq!(b.option(60, &[1]), Err(BuildError::OptionOrder));
        assert_eq!(b.option(100, &[1]), Err(BuildError::OptionOrder));
        let n = b.finish();
        let m = Message::parse(&buf[..n]).unwrap();
        assert_eq!(m.code, code::BAD_REQUEST);
        assert_eq!(
            opts(&m),
            [(11, b"x".to_vec()), (12, std::vec![0]), (60, std::vec![1])]
        );
        assert_eq!(m.payload, b"ok");
    }

    #[test]
    fn reset_options() {
        let mut buf = [0; 32];
        let mut b = build(&mut buf, 7, &[0xaa, 0xbb]);
        b.option(60, b"xyz").unwrap();
        b.payload(b"data").unwrap();
        b.reset_options();
        b.set_code(code::NOT_FOUND);
        b.option(12, &[]).unwrap(); // lower than 60: the order starts over
        let n = b.finish();
        assert_eq!(buf[..n], [0x42, 0x84, 0, 7, 0xaa, 0xbb, 0xc0]);
    }

    fn build_all(
        buf: &mut [u8],
        t: MessageType,
        c: u8,
        mid: u16,
        tok: &[u8],
        os: &[(u16, Vec<u8>)],
        pl: &[u8],
    ) -> Result<usize, BuildError> {
        let mut b = MessageBuilder::new(buf, t, c, mid, tok)?;
        for (n, v) in os {
            b.option(*n, v)?;
        }
        b.payload(pl)?;
        Ok(b.finish())
    }

    proptest! {
        #[test]
        fn round_trip(
            t in 0..4u8,
            c in 1..=255u8,
            mid: u16,
            tok in proptest::collection::vec(any::<u8>(), 0..=8),
            mut os in proptest::collection::vec(
                (prop_oneof![0..300u16, any::<u16>()],
                 proptest::collection::vec(any::<u8>(), 0..300)),
                0..8,
            ),
            pl in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            os.sort_by_key(|o| o.0);
            let t = [MessageType::Con, MessageType::Non, MessageType::Ack, MessageType::Rst]
                [usize::from(t)];
            let mut buf = std::vec![0; 4096];
            let n = build_all(&mut buf, t, c, mid, &tok, &os, &pl).unwrap();
            let m = Message::parse(&buf[..n]).unwrap();
            prop_assert_eq!(m.mtype, t);
            prop_assert_eq!(m.code, c);
            prop_assert_eq!(m.message_id, mid);
            prop_assert_eq!(m.token, &tok[..]);
            prop_assert_eq!(opts(&m), os.clone());
            prop_assert_eq!(m.payload, &pl[..]);
            // The exact size fits; one byte less does not.
            let mut exact = std::vec![0; n];
            prop_assert_eq!(build_all(&mut exact, t, c, mid, &tok, &os, &pl), Ok(n));
            prop_assert_eq!(&exact[..], &buf[..n]);
            let mut short = std::vec![0; n - 1];
            prop_assert_eq!(
                build_all(&mut short, t, c, mid, &tok, &os, &pl),
                Err(BuildError::NoSpace)
            );
        }

        #[test]
        fn parse_never_panics(v in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(m) = Message::parse(&v) {
                let used: usize = m.options().map(|o| o.value.len()).sum();
                prop_assert!(used + m.token.len() + m.payload.len() + 4 <= v.len());
            }
        }

        #[test]
        fn uint_round_trip(v: u32) {
            let mut b = [0; 4];
            let e = encode_uint(v, &mut b);
            prop_assert_eq!(e.first().copied().map(|b| b != 0), (v != 0).then_some(true));
            prop_assert_eq!(decode_uint(e), Ok(v));
        }
    }
}
