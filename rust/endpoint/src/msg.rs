//! Small owned-message helpers over the engine's zero-copy codec (`lwm2m::coap`): code
//! names, building a whole message from options in any order, empty ACK / RST.

use lwm2m::coap::{code, MessageBuilder, MessageType};

/// Renders a CoAP code as `c.dd` (e.g. `2.05`).
pub fn code_string(c: u8) -> String {
    format!("{}.{:02}", c >> 5, c & 0x1f)
}

/// The RFC 7252 name of a response code (`Content`, `Not Found`, ...).
pub fn code_name(c: u8) -> &'static str {
    match c {
        code::CREATED => "Created",
        code::DELETED => "Deleted",
        code::VALID => "Valid",
        code::CHANGED => "Changed",
        code::CONTENT => "Content",
        code::CONTINUE => "Continue",
        code::BAD_REQUEST => "Bad Request",
        code::UNAUTHORIZED => "Unauthorized",
        code::BAD_OPTION => "Bad Option",
        code::FORBIDDEN => "Forbidden",
        code::NOT_FOUND => "Not Found",
        code::METHOD_NOT_ALLOWED => "Method Not Allowed",
        code::NOT_ACCEPTABLE => "Not Acceptable",
        code::REQUEST_ENTITY_INCOMPLETE => "Request Entity Incomplete",
        code::PRECONDITION_FAILED => "Precondition Failed",
        code::REQUEST_ENTITY_TOO_LARGE => "Request Entity Too Large",
        code::UNSUPPORTED_CONTENT_FORMAT => "Unsupported Content-Format",
        code::INTERNAL_SERVER_ERROR => "Internal Server Error",
        code::NOT_IMPLEMENTED => "Not Implemented",
        code::SERVICE_UNAVAILABLE => "Service Unavailable",
        _ => "Unknown",
    }
}

/// The name of a request code (`GET`, `POST`, ...), else its `c.dd` text.
pub fn method_name(c: u8) -> String {
    match c {
        code::GET => "GET".into(),
        code::POST => "POST".into(),
        code::PUT => "PUT".into(),
        code::DELETE => "DELETE".into(),
        code::FETCH => "FETCH".into(),
        code::PATCH => "PATCH".into(),
        code::IPATCH => "iPATCH".into(),
        c => code_string(c),
    }
}

/// Shortest big-endian encoding of a CoAP uint option.
pub fn uint_bytes(v: u32) -> Vec<u8> {
    let b = v.to_be_bytes();
    let skip = b.iter().take_while(|&&x| x == 0).count();
    b.get(skip..).unwrap_or(&[]).to_vec()
}

/// Builds a message; `options` may be in any order (a stable sort keeps repeated options in
/// their given order). `None` if the message cannot be encoded.
pub fn build(
    mtype: MessageType,
    code: u8,
    mid: u16,
    token: &[u8],
    options: &[(u16, Vec<u8>)],
    payload: &[u8],
) -> Option<Vec<u8>> {
    let mut sorted: Vec<&(u16, Vec<u8>)> = options.iter().collect();
    sorted.sort_by_key(|o| o.0);
    let size =
        16 + token.len() + options.iter().map(|o| o.1.len() + 5).sum::<usize>() + payload.len();
    let mut buf = vec![0u8; size];
    let mut b = MessageBuilder::new(&mut buf, mtype, code, mid, token).ok()?;
    for (n, v) in sorted {
        b.option(*n, v).ok()?;
    }
    if !payload.is_empty() {
        b.payload(payload).ok()?;
    }
    let len = b.finish();
    buf.truncate(len);
    Some(buf)
}

/// An empty ACK or RST for a message ID.
pub fn empty(mtype: MessageType, mid: u16) -> Option<Vec<u8>> {
    build(mtype, code::EMPTY, mid, &[], &[], &[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use lwm2m::coap::{option, Message};

    #[test]
    fn code_rendering() {
        assert_eq!(code_string(code::CONTENT), "2.05");
        assert_eq!(code_string(code::NOT_FOUND), "4.04");
        assert_eq!(code_name(code::CHANGED), "Changed");
        assert_eq!(method_name(code::IPATCH), "iPATCH");
        assert_eq!(method_name(code::CONTENT), "2.05");
    }

    #[test]
    fn uint_option_is_shortest() {
        assert_eq!(uint_bytes(0), Vec::<u8>::new());
        assert_eq!(uint_bytes(40), vec![40]);
        assert_eq!(uint_bytes(11542), vec![0x2d, 0x16]);
    }

    #[test]
    fn build_sorts_options_and_empty_messages() {
        let opts = [
            (option::URI_QUERY, b"a=1".to_vec()),
            (option::URI_PATH, b"rd".to_vec()),
            (option::URI_PATH, b"x".to_vec()),
        ];
        let b = build(MessageType::Con, code::POST, 7, &[1], &opts, b"p").unwrap();
        let m = Message::parse(&b).unwrap();
        let path: Vec<&[u8]> = m.uri_path().collect();
        assert_eq!(path, [&b"rd"[..], b"x"]);
        assert_eq!(m.payload, b"p");
        assert_eq!(
            empty(MessageType::Rst, 0x1234),
            Some(vec![0x70, 0, 0x12, 0x34])
        );
    }
}
