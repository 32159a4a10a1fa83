//! Fuzz target: OSCORE (`lwm2m_oscore`) on arbitrary messages. Byte 0 picks the mode:
//!
//! - even: the rest is a received datagram. The OSCORE option helpers must not panic, and
//!   `unprotect_request` (server context) and `unprotect_response` (client context, for a
//!   request it protected) either fail and leave no plaintext behind, or give a well-formed
//!   plain message of the right kind.
//! - odd: the rest is a plain CoAP request; if the client protects it, the server must
//!   unprotect it to the same code, token and payload, and the server's protected response
//!   must unprotect at the client; then the same protected request again is a replay.
use lwm2m::coap::{code, Message, MessageBuilder, MessageType};
use lwm2m_oscore::{
    echo_challenge, is_valid_option, protect_request, protect_response, request_kid,
    request_kid_context, unprotect_request, unprotect_response, Error, MemoryStore,
    SecurityContext,
};

const SECRET: &[u8] = &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
const SALT: &[u8] = &[0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
const CLIENT_ID: &[u8] = b"";
const SERVER_ID: &[u8] = &[1];
/// Room the protected form needs beyond the plain one (tag, option, flags).
const SLACK: usize = 64;

fn contexts() -> (SecurityContext, SecurityContext) {
    let client = SecurityContext::derive(SECRET, SALT, CLIENT_ID, SERVER_ID, None);
    let server = SecurityContext::derive(SECRET, SALT, SERVER_ID, CLIENT_ID, None);
    (
        client.expect("client context"),
        server.expect("server context"),
    )
}

/// Runs the target on one input; panics when an oracle fails.
pub fn run(data: &[u8]) {
    let Some((&mode, msg)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        received(msg);
    } else {
        round_trip(msg);
    }
}

fn received(msg: &[u8]) {
    let _ = is_valid_option(msg);
    let _ = request_kid(msg);
    let _ = request_kid_context(msg);
    let _ = echo_challenge(msg);
    let (mut client, mut server) = contexts();
    let mut out = vec![0u8; msg.len() + SLACK];
    let mut buf = msg.to_vec();
    match unprotect_request(&mut server, &mut buf, &mut out) {
        Ok((n, id)) => {
            let m = Message::parse(&out[..n]).expect("plain request parses");
            assert!(code::is_request(m.code));
            assert_eq!(id.kid(), CLIENT_ID);
        }
        Err(_) => assert!(out.iter().all(|&b| b == 0), "plaintext left behind"),
    }
    // A response to a request of the client's own.
    let mut store = MemoryStore::default();
    let mut wire = [0u8; 128];
    let (_, id) = protect_request(&mut client, &mut store, &get(), &mut wire).expect("protect");
    let mut buf = msg.to_vec();
    out.fill(0);
    match unprotect_response(&mut client, &id, &mut buf, &mut out) {
        Ok(n) => {
            let m = Message::parse(&out[..n]).expect("plain response parses");
            assert!(code::is_response(m.code) || m.code == code::EMPTY);
        }
        Err(_) => assert!(out.iter().all(|&b| b == 0), "plaintext left behind"),
    }
}

/// A plain `GET /3/0` request.
fn get() -> Vec<u8> {
    let mut buf = [0u8; 32];
    let mut b =
        MessageBuilder::new(&mut buf, MessageType::Con, code::GET, 7, &[1, 2]).expect("header");
    b.option(lwm2m::coap::option::URI_PATH, b"3").expect("path");
    b.option(lwm2m::coap::option::URI_PATH, b"0").expect("path");
    let n = b.finish();
    buf[..n].to_vec()
}

fn round_trip(plain: &[u8]) {
    let Ok(p) = Message::parse(plain) else {
        return;
    };
    if !code::is_request(p.code) {
        return;
    }
    let (mut client, mut server) = contexts();
    let mut store = MemoryStore::default();
    let mut wire = vec![0u8; plain.len() + SLACK];
    let Ok((n, id)) = protect_request(&mut client, &mut store, plain, &mut wire) else {
        return;
    };
    let protected = wire[..n].to_vec();
    let mut buf = protected.clone();
    let mut out = vec![0u8; n + SLACK];
    let (m, mut sid) = unprotect_request(&mut server, &mut buf, &mut out).expect("unprotect");
    let u = Message::parse(&out[..m]).expect("plain request parses");
    assert_eq!((u.code, u.token, u.payload), (p.code, p.token, p.payload));
    assert_eq!(sid.kid(), CLIENT_ID);
    // The same protected request again is a replay.
    let mut again = protected.clone();
    let mut out2 = vec![0u8; n + SLACK];
    assert!(matches!(
        unprotect_request(&mut server, &mut again, &mut out2),
        Err(Error::Replay)
    ));
    // The server's answer.
    let mut rbuf = [0u8; 64];
    let mut b = MessageBuilder::new(
        &mut rbuf,
        MessageType::Ack,
        code::CONTENT,
        p.message_id,
        p.token,
    )
    .expect("response header");
    b.payload(b"20").expect("payload");
    let rn = b.finish();
    let mut sstore = MemoryStore::default();
    let mut rwire = [0u8; 128];
    let k = protect_response(&mut server, &mut sstore, &mut sid, &rbuf[..rn], &mut rwire)
        .expect("protect response");
    let mut rout = [0u8; 128];
    let r = unprotect_response(&mut client, &id, &mut rwire[..k], &mut rout).expect("unprotect");
    let r = Message::parse(&rout[..r]).expect("plain response parses");
    assert_eq!(
        (r.code, r.token, r.payload),
        (code::CONTENT, p.token, &b"20"[..])
    );
}
