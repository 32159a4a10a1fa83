//! Fuzz target: the `POST /ac` payload decoder (`lwm2m::c2c::access_request::decode`), which
//! the server runs on every access request. Decoded grants must encode again (shortest CBOR
//! forms, so never longer than the input) and decode to the same grants.
//!
//! The server's query parsing (`ep=`, `c`) is private to `lwm2m_server::ac` and is reached
//! only through the server's socket, so it is not fuzzed here.
use lwm2m::c2c::access_request::{decode, encode};
use lwm2m::codec::Writer;

/// Runs the target on one input; panics when an oracle fails.
pub fn run(data: &[u8]) {
    let Ok(grants) = decode(data) else {
        return;
    };
    check(data, &grants);
}

/// The oracle: `grants` (decoded from `data`) encode to at most `data.len()` bytes that decode
/// to the same grants.
pub fn check(data: &[u8], grants: &[lwm2m::c2c::access_request::Grant]) {
    let mut buf = [0u8; 256];
    let mut w = Writer::new(&mut buf);
    encode(grants, &mut w).expect("decoded grants encode");
    let bytes = w.window_data();
    assert!(bytes.len() <= data.len(), "re-encoding is longer");
    let again = decode(bytes).expect("re-decode");
    assert_eq!(again.as_slice(), grants);
}
