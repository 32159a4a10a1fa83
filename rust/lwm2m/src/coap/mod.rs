//! A minimal RFC 7252 CoAP message codec: a zero-copy parsed view ([`Message`]) and a builder
//! ([`MessageBuilder`]) over a caller's buffer. Parsing never panics; malformed input is an error.
//!
//! Only the message format lives here. The message layer (CON retransmission, deduplication)
//! is the driver's job: gcoap on RIOT, the host runtime on Linux.

pub mod block;

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
        todo!("coap helper")
    }
}

impl<'a> Message<'a> {
    /// Parses a datagram. Never panics.
    pub fn parse(buf: &'a [u8]) -> Result<Self, ParseError> {
        let _ = buf;
        todo!("coap helper")
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
pub fn decode_uint(v: &[u8]) -> Result<u32, ()> {
    let _ = v;
    todo!("coap helper")
}

/// Encodes a uint in its shortest form (0 is the empty string). Returns the used bytes.
pub fn encode_uint(v: u32, out: &mut [u8; 4]) -> &[u8] {
    let _ = (v, out);
    todo!("coap helper")
}

/// Builds a CoAP message into a caller's buffer: header and token first, then options in
/// ascending order, then the payload.
#[derive(Debug)]
pub struct MessageBuilder<'b> {
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
        let _ = (buf, mtype, code, message_id, token);
        todo!("coap helper")
    }

    /// Changes the code.
    pub fn set_code(&mut self, code: u8) {
        let _ = code;
        todo!("coap helper")
    }

    /// The code set so far.
    pub fn code(&self) -> u8 {
        todo!("coap helper")
    }

    /// Changes the message ID.
    pub fn set_message_id(&mut self, mid: u16) {
        let _ = mid;
        todo!("coap helper")
    }

    /// Appends an option; numbers must not decrease.
    pub fn option(&mut self, number: u16, value: &[u8]) -> Result<(), BuildError> {
        let _ = (number, value);
        todo!("coap helper")
    }

    /// Appends a uint option in its shortest encoding.
    pub fn option_uint(&mut self, number: u16, value: u32) -> Result<(), BuildError> {
        let mut b = [0; 4];
        let v = encode_uint(value, &mut b);
        let v: &[u8] = v;
        let mut tmp = [0u8; 4];
        tmp[..v.len()].copy_from_slice(v);
        self.option(number, &tmp[..v.len()])
    }

    /// The buffer available for the payload (after room for the 0xFF marker). Write into it,
    /// then call [`MessageBuilder::set_payload_len`]. No options may follow.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        todo!("coap helper")
    }

    /// Sets how many bytes of [`MessageBuilder::payload_mut`] are payload.
    pub fn set_payload_len(&mut self, len: usize) -> Result<(), BuildError> {
        let _ = len;
        todo!("coap helper")
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
        todo!("coap helper")
    }

    /// Finishes the message: writes the payload marker if there is a payload and returns the
    /// total length.
    pub fn finish(self) -> usize {
        todo!("coap helper")
    }
}
