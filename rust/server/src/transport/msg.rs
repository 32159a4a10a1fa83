//! Owned forms of the CoAP messages the server sends and receives, built and parsed with the
//! engine's zero-copy codec (`lwm2m::coap`) through the std endpoint's helpers
//! ([`lwm2m_endpoint::msg`]: code names, whole-message building, empty ACK / RST).

use crate::transport::PeerSecurity;
use lwm2m::coap::{option, Block, Message, MessageType};
use lwm2m_endpoint::msg::uint_bytes;
pub use lwm2m_endpoint::msg::{build, code_name, code_string, empty};
use std::net::SocketAddr;

/// A request the server sends to a client, before message ID and token are assigned.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OutRequest {
    /// Method code (GET, POST, ...).
    pub code: u8,
    /// Uri-Path segments (including the client's alternate path, if any).
    pub path: Vec<String>,
    /// Uri-Query items (`pmin=10`).
    pub query: Vec<String>,
    /// Observe option (0 register, 1 deregister).
    pub observe: Option<u32>,
    /// Content-Format of the payload.
    pub content_format: Option<u16>,
    /// Accept option.
    pub accept: Option<u16>,
    /// Block2 option (for fetching the next block of a response).
    pub block2: Option<Block>,
    /// Block1 (RFC 7959 2.5): send `payload` block-wise; this is the block to send now (its
    /// `more` flag is computed from the payload's length).
    pub block1: Option<Block>,
    /// Payload.
    pub payload: Vec<u8>,
}

impl OutRequest {
    /// A request with a method and Uri-Path segments.
    pub fn new(code: u8, path: Vec<String>) -> Self {
        OutRequest {
            code,
            path,
            ..Default::default()
        }
    }

    /// Encodes the request as a confirmable message.
    pub fn encode(&self, mid: u16, token: &[u8]) -> Option<Vec<u8>> {
        let mut opts: Vec<(u16, Vec<u8>)> = Vec::new();
        if let Some(o) = self.observe {
            opts.push((option::OBSERVE, uint_bytes(o)));
        }
        for seg in &self.path {
            opts.push((option::URI_PATH, seg.as_bytes().to_vec()));
        }
        if let Some(cf) = self.content_format {
            opts.push((option::CONTENT_FORMAT, uint_bytes(u32::from(cf))));
        }
        for q in &self.query {
            opts.push((option::URI_QUERY, q.as_bytes().to_vec()));
        }
        if let Some(a) = self.accept {
            opts.push((option::ACCEPT, uint_bytes(u32::from(a))));
        }
        if let Some(b) = self.block2 {
            opts.push((option::BLOCK2, uint_bytes(b.to_uint())));
        }
        let payload = match self.block1 {
            Some(b) => {
                let (part, more) = self.block1_part(b)?;
                opts.push((option::BLOCK1, uint_bytes(Block { more, ..b }.to_uint())));
                part
            }
            None => &self.payload[..],
        };
        build(MessageType::Con, self.code, mid, token, &opts, payload)
    }

    /// The bytes of Block1 block `b` of the payload, and whether more follow (`None` past
    /// the end).
    pub fn block1_part(&self, b: Block) -> Option<(&[u8], bool)> {
        let start = b.offset();
        if start > self.payload.len() || (start == self.payload.len() && start > 0) {
            return None;
        }
        let end = (start + b.size()).min(self.payload.len());
        Some((&self.payload[start..end], end < self.payload.len()))
    }
}

/// A request received from a client, copied out of the datagram.
#[derive(Clone, Debug, PartialEq)]
pub struct IncomingRequest {
    /// Source address.
    pub peer: SocketAddr,
    /// Method code.
    pub code: u8,
    /// Uri-Path segments (invalid UTF-8 is replaced).
    pub path: Vec<String>,
    /// Uri-Query items.
    pub query: Vec<String>,
    /// Content-Format of the payload, if given.
    pub content_format: Option<u16>,
    /// Payload.
    pub payload: Vec<u8>,
    /// How the request was authenticated.
    pub security: PeerSecurity,
    /// Block2 option (RFC 7959), if given and well-formed.
    pub block2: Option<Block>,
}

impl IncomingRequest {
    /// Copies a parsed request. `None` if an option value is malformed (non-UTF-8 query or
    /// path, oversized Content-Format).
    pub fn from_message(peer: SocketAddr, m: &Message<'_>) -> Option<Self> {
        let text = |v: &[u8]| std::str::from_utf8(v).ok().map(str::to_owned);
        let path = m.uri_path().map(text).collect::<Option<Vec<_>>>()?;
        let query = m.uri_query().map(text).collect::<Option<Vec<_>>>()?;
        let content_format = match m.option_uint(option::CONTENT_FORMAT) {
            None => None,
            Some(Ok(v)) => Some(u16::try_from(v).ok()?),
            Some(Err(())) => return None,
        };
        Some(IncomingRequest {
            peer,
            code: m.code,
            path,
            query,
            content_format,
            payload: m.payload.to_vec(),
            security: PeerSecurity::NoSec,
            block2: m.option(option::BLOCK2).and_then(Block::decode),
        })
    }
}

/// A response to an incoming request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reply {
    /// Response code.
    pub code: u8,
    /// Location-Path segments (Register answers `rd`, `<id>`).
    pub location: Vec<String>,
    /// Content-Format of the payload.
    pub content_format: Option<u16>,
    /// Payload.
    pub payload: Vec<u8>,
    /// Max-Age (s), e.g. when to retry after a 5.03 (RFC 7252 5.9.3.4); `None`: no option.
    pub max_age: Option<u32>,
    /// Block2 option of a block-wise response (RFC 7959).
    pub block2: Option<Block>,
    /// Size2 option: the whole representation's size in bytes (RFC 7959 4).
    pub size2: Option<u32>,
}

impl Reply {
    /// A reply with only a code.
    pub fn code(code: u8) -> Self {
        Reply {
            code,
            ..Default::default()
        }
    }

    /// Encodes the reply: a piggy-backed ACK for a CON request, a NON for a NON request.
    pub fn encode(&self, mtype: MessageType, mid: u16, token: &[u8]) -> Option<Vec<u8>> {
        let mut opts: Vec<(u16, Vec<u8>)> = self
            .location
            .iter()
            .map(|s| (option::LOCATION_PATH, s.as_bytes().to_vec()))
            .collect();
        if let Some(cf) = self.content_format {
            opts.push((option::CONTENT_FORMAT, uint_bytes(u32::from(cf))));
        }
        if let Some(age) = self.max_age {
            opts.push((option::MAX_AGE, uint_bytes(age)));
        }
        if let Some(b) = self.block2 {
            opts.push((option::BLOCK2, uint_bytes(b.to_uint())));
        }
        if let Some(s) = self.size2 {
            opts.push((option::SIZE2, uint_bytes(s)));
        }
        build(mtype, self.code, mid, token, &opts, &self.payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lwm2m::coap::code;

    #[test]
    fn block1_slices_the_payload() {
        let mut r = OutRequest::new(code::PUT, vec!["5".into(), "0".into(), "0".into()]);
        r.payload = (0..40u8).collect();
        let blk = |num| Block {
            num,
            more: false,
            szx: 0,
        };
        for (num, range, more) in [(0, 0..16, true), (1, 16..32, true), (2, 32..40, false)] {
            r.block1 = Some(blk(num));
            let bytes = r.encode(1, &[9]).unwrap();
            let m = Message::parse(&bytes).unwrap();
            assert_eq!(m.payload, &r.payload[range]);
            let b = Block::decode(m.option(option::BLOCK1).unwrap()).unwrap();
            assert_eq!((b.num, b.more, b.szx), (num, more, 0));
        }
        assert_eq!(r.block1_part(blk(3)), None);
        r.payload.clear();
        assert_eq!(r.block1_part(blk(0)), Some((&[][..], false)));
    }
}
