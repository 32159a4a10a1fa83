//! The requesting client does not give up on a transient refusal (issue 13, item 7): a 4.01
//! without an owner server hint (a host rate limiting its hints, T1) starts the operation over
//! after a back-off, and the retries are bounded.
//!
//! A fake host on a UDP socket answers; every wait is bounded; nothing asserts on elapsed time.

use std::net::{SocketAddr, UdpSocket};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use lwm2m::coap::{code, content_format as cf, option, Message, MessageBuilder, MessageType};
use lwm2m::Path;
use lwm2m_host::client::{
    self, C2cRequest, C2cStep, ClientConfig, ClientHandle, Event as CEvent, C2C_RETRIES,
};
use lwm2m_server::{Config, Server, ServerHandle};

const TEMP: Path = Path::resource(3303, 0, 5700);
/// Longer than the longest back-off of one retry (base 2 s doubled per retry, plus jitter).
const WAIT: Duration = Duration::from_secs(40);

fn server() -> ServerHandle {
    Server::start(Config {
        coap_addr: "127.0.0.1:0".into(),
        ..Default::default()
    })
    .expect("server starts")
}

fn requester(s: &ServerHandle) -> (ClientHandle, Receiver<CEvent>) {
    let mut cfg = ClientConfig::new("req").server(&format!("coap://{}", s.coap_addr()));
    cfg.bind = Some("127.0.0.1:0".parse().unwrap());
    let (h, rx) = client::spawn_with_events(cfg).expect("client starts");
    client::wait_for_event(&rx, WAIT, |e| matches!(e, CEvent::Registered { .. }))
        .expect("registered");
    (h, rx)
}

/// The next plain GET at the fake host, answered with `c` (and `payload`).
fn answer_next(fake: &UdpSocket, c: u8, payload: &[u8]) -> Vec<u8> {
    let mut buf = [0u8; 1500];
    let (n, from): (usize, SocketAddr) = fake.recv_from(&mut buf).expect("a plain request");
    let m = Message::parse(&buf[..n]).unwrap();
    assert_eq!((m.mtype, m.code), (MessageType::Con, code::GET));
    let mut out = [0u8; 128];
    let mut b = MessageBuilder::new(&mut out, MessageType::Ack, c, m.message_id, m.token).unwrap();
    if !payload.is_empty() {
        b.option_uint(option::CONTENT_FORMAT, cf::TEXT.into())
            .unwrap();
        b.payload(payload).unwrap();
    }
    let len = b.finish();
    fake.send_to(&out[..len], from).unwrap();
    m.token.to_vec()
}

fn steps(rx: &Receiver<CEvent>, op: u32, until: impl Fn(&C2cStep) -> bool) -> Vec<C2cStep> {
    let mut out = Vec::new();
    let end = Instant::now() + WAIT;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(CEvent::C2c { op: o, step }) if o == op => {
                let done = until(&step);
                out.push(step);
                if done {
                    return out;
                }
            }
            Ok(_) => {}
            Err(_) => panic!("op {op}: steps so far {out:?}"),
        }
    }
}

#[test]
fn a_4_01_without_hint_is_asked_again_until_the_host_answers() {
    let s = server();
    let (req, rx) = requester(&s);
    let fake = UdpSocket::bind("127.0.0.1:0").unwrap();
    fake.set_read_timeout(Some(WAIT)).unwrap();
    let host = format!("coap://{}", fake.local_addr().unwrap());
    let op = req.c2c(C2cRequest::read("host", &host, TEMP)).unwrap();
    let first = answer_next(&fake, code::UNAUTHORIZED, b"");
    let before = steps(&rx, op, |s| matches!(s, C2cStep::RetryScheduled { .. }));
    assert!(
        matches!(
            before.last(),
            Some(C2cStep::RetryScheduled { attempt: 1, .. })
        ),
        "{before:?}"
    );
    // The retry is a new request (new token) to the same host; this time it answers.
    let second = answer_next(&fake, code::CONTENT, b"21.5");
    assert_ne!(first, second);
    let after = steps(&rx, op, |s| matches!(s, C2cStep::Response { .. }));
    assert!(
        matches!(after.last(), Some(C2cStep::Response { code: code::CONTENT, payload, .. }) if payload == b"21.5"),
        "{after:?}"
    );
    req.stop();
    s.shutdown();
}

#[test]
fn retries_after_4_01_without_hint_are_bounded() {
    let s = server();
    let (req, rx) = requester(&s);
    let fake = UdpSocket::bind("127.0.0.1:0").unwrap();
    fake.set_read_timeout(Some(WAIT)).unwrap();
    let host = format!("coap://{}", fake.local_addr().unwrap());
    let op = req.c2c(C2cRequest::read("host", &host, TEMP)).unwrap();
    let mut scheduled = 0;
    // The first request and each retry get 4.01 without hint.
    for _ in 0..=C2C_RETRIES {
        answer_next(&fake, code::UNAUTHORIZED, b"");
        let st = steps(&rx, op, |s| {
            matches!(s, C2cStep::RetryScheduled { .. } | C2cStep::Failed { .. })
        });
        match st.last() {
            Some(C2cStep::RetryScheduled { attempt, .. }) => {
                scheduled += 1;
                assert_eq!(*attempt, scheduled);
            }
            Some(C2cStep::Failed { reason }) => {
                assert!(reason.contains("retries used"), "{reason}");
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(scheduled, C2C_RETRIES);
    // Nothing more reaches the host.
    fake.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut buf = [0u8; 64];
    assert!(fake.recv_from(&mut buf).is_err());
    req.stop();
    s.shutdown();
}
