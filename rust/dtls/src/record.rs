//! Just enough of the DTLS 1.2 record layer (RFC 6347, 4.1 and 4.2.2) to classify a datagram
//! before tinydtls sees it: the endpoint must know whether an incoming ClientHello could create
//! state (it carries a cookie) and whether an outgoing record is a HelloVerifyRequest.

/// Record header: type(1) version(2) epoch(2) sequence(6) length(2).
pub(crate) const RECORD_HEADER_LEN: usize = 13;
/// Handshake header: type(1) length(3) message_seq(2) fragment_offset(3) fragment_length(3).
pub(crate) const HANDSHAKE_HEADER_LEN: usize = 12;
/// CCM_8 record expansion: 8-byte explicit nonce plus 8-byte tag.
pub(crate) const CCM8_EXPANSION: usize = 16;

const CT_HANDSHAKE: u8 = 22;
const HT_CLIENT_HELLO: u8 = 1;
const HT_HELLO_VERIFY_REQUEST: u8 = 3;

/// What the first record of a datagram is, as far as admission control cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Not even one complete record header: tinydtls would drop it.
    Malformed,
    /// An epoch-0 ClientHello; `cookie_len` is the length of its cookie field.
    ClientHello { cookie_len: usize },
    /// Anything else (handled by tinydtls only if the peer already has state).
    Other,
}

/// Classifies the first record of `datagram`.
pub(crate) fn classify(datagram: &[u8]) -> Kind {
    let Some(header) = datagram.get(..RECORD_HEADER_LEN) else {
        return Kind::Malformed;
    };
    let content_type = header[0];
    let epoch = u16::from_be_bytes([header[3], header[4]]);
    let length = usize::from(u16::from_be_bytes([header[11], header[12]]));
    let Some(body) = datagram.get(RECORD_HEADER_LEN..RECORD_HEADER_LEN + length) else {
        return Kind::Malformed;
    };
    if content_type != CT_HANDSHAKE || epoch != 0 || body.first() != Some(&HT_CLIENT_HELLO) {
        return Kind::Other;
    }
    // ClientHello body: client_version(2) random(32) session_id<0..32> cookie<0..255> ...
    let hello = body.get(HANDSHAKE_HEADER_LEN..).unwrap_or(&[]);
    let session_id_len = usize::from(hello.get(34).copied().unwrap_or(0));
    let cookie_len = hello
        .get(35 + session_id_len)
        .copied()
        .map(usize::from)
        .unwrap_or(0);
    Kind::ClientHello { cookie_len }
}

/// True when `datagram` starts with an epoch-0 HelloVerifyRequest.
pub(crate) fn is_hello_verify_request(datagram: &[u8]) -> bool {
    matches!(
        datagram.get(..RECORD_HEADER_LEN + 1),
        Some([
            CT_HANDSHAKE,
            _,
            _,
            0,
            0,
            _,
            _,
            _,
            _,
            _,
            _,
            _,
            _,
            HT_HELLO_VERIFY_REQUEST
        ])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ClientHello as `openssl s_client -dtls1_2` sends it first (cookie empty), trimmed to
    /// the fields the classifier reads.
    fn client_hello(session_id: &[u8], cookie: &[u8]) -> Vec<u8> {
        let mut hello = vec![0xfe, 0xfd];
        hello.extend_from_slice(&[0xAA; 32]);
        hello.push(session_id.len() as u8);
        hello.extend_from_slice(session_id);
        hello.push(cookie.len() as u8);
        hello.extend_from_slice(cookie);
        hello.extend_from_slice(&[0x00, 0x02, 0xc0, 0xa8, 0x01, 0x00]);
        let n = hello.len() as u32;
        let mut hs = vec![HT_CLIENT_HELLO];
        hs.extend_from_slice(&n.to_be_bytes()[1..]);
        hs.extend_from_slice(&[0, 0, 0, 0, 0]);
        hs.extend_from_slice(&n.to_be_bytes()[1..]);
        hs.extend_from_slice(&hello);
        let mut rec = vec![CT_HANDSHAKE, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0];
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        rec
    }

    #[test]
    fn client_hello_without_and_with_cookie() {
        assert_eq!(
            classify(&client_hello(&[], &[])),
            Kind::ClientHello { cookie_len: 0 }
        );
        assert_eq!(
            classify(&client_hello(&[1, 2, 3], &[9; 16])),
            Kind::ClientHello { cookie_len: 16 }
        );
    }

    #[test]
    fn short_and_other_records() {
        assert_eq!(classify(&[]), Kind::Malformed);
        assert_eq!(classify(&[22, 0xfe, 0xfd, 0, 0]), Kind::Malformed);
        // Length field claims more than present.
        assert_eq!(
            classify(&[22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 1]),
            Kind::Malformed
        );
        // Application data, epoch 1.
        assert_eq!(
            classify(&[23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0]),
            Kind::Other
        );
        // Truncated ClientHello body: cookie length unknown, read as 0 (tinydtls rejects it).
        assert_eq!(
            classify(&[22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]),
            Kind::ClientHello { cookie_len: 0 }
        );
    }

    #[test]
    fn hello_verify_request_detected() {
        // RFC 6347 4.2.1 HelloVerifyRequest header as tinydtls emits it.
        let hvr = [
            22, 0xfe, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x1f, 3, 0, 0, 0x13, 0, 0, 0, 0, 0, 0, 0,
            0x13,
        ];
        assert!(is_hello_verify_request(&hvr));
        let mut hello = hvr;
        hello[13] = 1;
        assert!(!is_hello_verify_request(&hello));
        assert!(!is_hello_verify_request(&hvr[..5]));
    }
}
