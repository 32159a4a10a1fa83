//! Requests the host client cannot process as sent: an unknown critical option gets 4.02 (Bad
//! Option, RFC 7252 section 5.4.1), a request with an OSCORE option that no context verifies
//! gets the unprotected RFC 8613 section 8.2 answer (4.01 for an unknown kid, 4.02 for a
//! malformed option), each once per exchange (a retransmission gets the same answer replayed).
//! On loopback, every wait bounded.

use std::net::{SocketAddr, UdpSocket};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use lwm2m::coap::{code, option, Message, MessageBuilder, MessageType};
use lwm2m_host::client::{spawn_with_events, wait_for_event, ClientConfig, ClientHandle, Event};

const WAIT: Duration = Duration::from_secs(5);

/// A client that serves any NoSec peer as server 1 (its own server is a closed port).
fn client() -> (ClientHandle, Receiver<Event>) {
    let mut cfg = ClientConfig::new("bad-option").server("coap://127.0.0.1:9");
    cfg.bind = Some("127.0.0.1:0".parse().unwrap());
    cfg.accept_any_peer_as = Some(1);
    spawn_with_events(cfg).expect("client starts")
}

/// GET /3/0/0 with extra options.
fn get(mtype: MessageType, mid: u16, extra: &[(u16, &[u8])]) -> Vec<u8> {
    let mut buf = [0u8; 128];
    let mut b = MessageBuilder::new(&mut buf, mtype, code::GET, mid, &[0xb0, mid as u8]).unwrap();
    let mut opts: Vec<(u16, &[u8])> = vec![
        (option::URI_PATH, b"3"),
        (option::URI_PATH, b"0"),
        (option::URI_PATH, b"0"),
    ];
    opts.extend_from_slice(extra);
    opts.sort_by_key(|o| o.0);
    for (n, v) in opts {
        b.option(n, v).unwrap();
    }
    let n = b.finish();
    buf[..n].to_vec()
}

/// Sends `req` and returns the answer: (type, code, MID, token, Max-Age present, payload).
fn ask(
    sock: &UdpSocket,
    to: SocketAddr,
    req: &[u8],
) -> (MessageType, u8, u16, Vec<u8>, bool, Vec<u8>) {
    sock.send_to(req, to).unwrap();
    let mut rx = [0u8; 512];
    let (n, _) = sock
        .recv_from(&mut rx)
        .expect("an answer within the timeout");
    let m = Message::parse(&rx[..n]).expect("a CoAP message");
    (
        m.mtype,
        m.code,
        m.message_id,
        m.token.to_vec(),
        m.option(option::MAX_AGE) == Some(&[][..]),
        m.payload.to_vec(),
    )
}

/// Counts `RequestServed` events with `code` until none arrives for a short while.
fn served_with(events: &Receiver<Event>, c: u8) -> usize {
    let mut n = 0;
    while let Some(e) = wait_for_event(events, Duration::from_millis(300), |_| true) {
        if matches!(e, Event::RequestServed { code, .. } if code == c) {
            n += 1;
        }
    }
    n
}

fn socket() -> UdpSocket {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(WAIT)).unwrap();
    sock
}

#[test]
fn unknown_critical_option_gets_bad_option() {
    let (c, events) = client();
    let to = c.local_addr();
    let sock = socket();
    // Critical (odd) unknown options, small and large numbers: 4.02 piggy-backed on the ACK.
    for (mid, num) in [(0x100u16, 25u16), (0x101, 2049), (0x102, 65001)] {
        let req = get(MessageType::Con, mid, &[(num, b"x")]);
        let (t, c_, m, tok, _, _) = ask(&sock, to, &req);
        assert_eq!(
            (t, c_, m),
            (MessageType::Ack, code::BAD_OPTION, mid),
            "option {num}"
        );
        assert_eq!(tok, [0xb0, mid as u8]);
    }
    // A NON request gets a NON 4.02.
    let (t, c_, _, tok, _, _) = ask(&sock, to, &get(MessageType::Non, 0x103, &[(25, b"x")]));
    assert_eq!((t, c_), (MessageType::Non, code::BAD_OPTION));
    assert_eq!(tok, [0xb0, 0x03]);
    // The same option number + 1 is elective: ignored, the read succeeds.
    let (_, c_, ..) = ask(&sock, to, &get(MessageType::Con, 0x104, &[(26, b"x")]));
    assert_eq!(c_, code::CONTENT);
    // A retransmission of the first request is answered from the cache, not served again.
    let (_, c_, m, ..) = ask(&sock, to, &get(MessageType::Con, 0x100, &[(25, b"x")]));
    assert_eq!((c_, m), (code::BAD_OPTION, 0x100));
    assert_eq!(served_with(&events, code::BAD_OPTION), 4);
    c.stop();
}

#[test]
fn unverified_oscore_request_gets_rfc8613_answer() {
    let (c, events) = client();
    let to = c.local_addr();
    let sock = socket();
    // Well formed (Partial IV 5, kid 07), but the client has no OSCORE context at all.
    let unknown = get(
        MessageType::Con,
        0x200,
        &[(option::OSCORE, &[0x09, 0x05, 0x07])],
    );
    let (t, c_, m, _, max_age_0, payload) = ask(&sock, to, &unknown);
    assert_eq!((t, c_, m), (MessageType::Ack, code::UNAUTHORIZED, 0x200));
    assert!(max_age_0, "Max-Age 0");
    assert_eq!(payload, b"Security context not found");
    // Malformed option (reserved flag bits set).
    let bad = get(MessageType::Con, 0x201, &[(option::OSCORE, b"x")]);
    let (_, c_, m, _, max_age_0, payload) = ask(&sock, to, &bad);
    assert_eq!((c_, m), (code::BAD_OPTION, 0x201));
    assert!(max_age_0, "Max-Age 0");
    assert_eq!(payload, b"Failed to decode COSE");
    // Its retransmission gets the same answer, replayed.
    let (_, c_, m, ..) = ask(&sock, to, &bad);
    assert_eq!((c_, m), (code::BAD_OPTION, 0x201));
    let mut counts = (0, 0);
    while let Some(e) = wait_for_event(&events, Duration::from_millis(300), |_| true) {
        match e {
            Event::RequestServed {
                code: code::UNAUTHORIZED,
                ..
            } => counts.0 += 1,
            Event::RequestServed {
                code: code::BAD_OPTION,
                ..
            } => counts.1 += 1,
            _ => {}
        }
    }
    assert_eq!(counts, (1, 1));
    c.stop();
}
