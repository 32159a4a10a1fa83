//! Driver tests on a fake wire with a manual clock.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use lwm2m::coap::{code, option, Message, MessageBuilder, MessageType};
use lwm2m::dm::Object;
use lwm2m::engine::{Engine, Identity, Millis, RegistrationState, ServerConfig};
use lwm2m::objects::security::mode;
use lwm2m::{Path, Value};

use super::*;

use crate::clock::{Clock, ManualClock, Rng};
use crate::objects::{HostDevice, Sensors};
use crate::transport::Transport;

type Wire = Rc<RefCell<(Vec<(Vec<u8>, SocketAddr)>, VecDeque<(Vec<u8>, SocketAddr)>)>>;

/// Answers a sent message (an auto-responding peer).
type Responder = Box<dyn Fn(&Message<'_>) -> Option<Vec<u8>>>;

/// A transport recording what is sent and delivering queued datagrams; waiting for an
/// empty wire advances the manual clock by the timeout, like a real sleep.
struct Fake {
    wire: Wire,
    local: SocketAddr,
    clock: ManualClock,
    responder: Option<Responder>,
}

impl Transport for Fake {
    fn send(&mut self, data: &[u8], to: SocketAddr) -> io::Result<()> {
        self.wire.borrow_mut().0.push((data.to_vec(), to));
        if let Some(r) = &self.responder {
            if let Some(answer) = Message::parse(data).ok().and_then(|m| r(&m)) {
                self.wire.borrow_mut().1.push_back((answer, to));
            }
        }
        Ok(())
    }
    fn recv(
        &mut self,
        buf: &mut [u8],
        timeout: Duration,
    ) -> io::Result<Option<(usize, SocketAddr)>> {
        let Some((d, from)) = self.wire.borrow_mut().1.pop_front() else {
            self.clock.advance(timeout.as_millis().max(1) as Millis);
            return Ok(None);
        };
        buf[..d.len()].copy_from_slice(&d);
        Ok(Some((d.len(), from)))
    }
    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }
}

/// A sent datagram: type, code, MID, token, destination, payload.
type Sent = (MessageType, u8, u16, Vec<u8>, SocketAddr, Vec<u8>);

const SERVER: &str = "127.0.0.1:5683";

fn server() -> SocketAddr {
    SERVER.parse().unwrap()
}

fn stranger() -> SocketAddr {
    "127.0.0.1:40000".parse().unwrap()
}

/// Sent datagrams, parsed into (type, code, mid, token, destination).
fn take_sent(w: &Wire) -> Vec<Sent> {
    w.borrow_mut()
        .0
        .drain(..)
        .map(|(d, to)| {
            let m = Message::parse(&d).unwrap();
            (
                m.mtype,
                m.code,
                m.message_id,
                m.token.to_vec(),
                to,
                m.payload.to_vec(),
            )
        })
        .collect()
}

fn msg(mtype: MessageType, c: u8, mid: u16, token: &[u8], opts: &[(u16, &[u8])]) -> Vec<u8> {
    let mut buf = [0u8; 128];
    let mut b = MessageBuilder::new(&mut buf, mtype, c, mid, token).unwrap();
    for (n, v) in opts {
        b.option(*n, v).unwrap();
    }
    let n = b.finish();
    buf[..n].to_vec()
}

/// Runs `f` with a started client on a fake wire and a manual clock.
fn with_client(
    uri: &str,
    accept_any: Option<u16>,
    f: impl FnOnce(&mut HostClient<'_, Fake, ManualClock>, &Wire, &ManualClock, &RefCell<Vec<Event>>),
) {
    with_responder(uri, accept_any, None, f)
}

fn with_responder(
    uri: &str,
    accept_any: Option<u16>,
    responder: Option<Responder>,
    f: impl FnOnce(&mut HostClient<'_, Fake, ManualClock>, &Wire, &ManualClock, &RefCell<Vec<Event>>),
) {
    let actions = Rc::new(Cell::new(None));
    let mut device = HostDevice::new("test", actions);
    let mut sensors = Sensors::new(1, 20.0);
    let mut objects: [&mut dyn Object; 2] = [&mut device, &mut sensors];
    let mut engine = Engine::new("test", &mut objects, 1).unwrap();
    engine
        .add_server(&ServerConfig {
            ssid: 1,
            uri,
            lifetime: 60,
            mode: TEST_MODE.with(Cell::get),
            identity: b"id",
            secret_key: b"k",
        })
        .unwrap();
    let wire: Wire = Rc::default();
    let clock = ManualClock::new(1_000);
    let events = RefCell::new(Vec::new());
    {
        let transport = Fake {
            wire: wire.clone(),
            local: "0.0.0.0:50000".parse().unwrap(),
            clock: clock.clone(),
            responder,
        };
        let opts = DriverOptions {
            accept_any_peer_as: accept_any,
            ..Default::default()
        };
        let sink = Box::new(|e: &Event| events.borrow_mut().push(e.clone()));
        let mut c = HostClient::new(
            engine,
            transport,
            clock.clone(),
            opts,
            Rng::from_seed(9),
            sink,
        );
        c.start();
        f(&mut c, &wire, &clock, &events);
    }
}

/// Delivers a datagram and lets the client handle it.
fn deliver(c: &mut HostClient<'_, Fake, ManualClock>, w: &Wire, from: SocketAddr, d: Vec<u8>) {
    w.borrow_mut().1.push_back((d, from));
    assert!(c.receive_once(Duration::ZERO).unwrap());
}

#[test]
fn register_with_retransmission_then_piggybacked_ack() {
    with_client(&format!("coap://{SERVER}"), None, |c, w, clock, events| {
        let sent = take_sent(w);
        assert_eq!(sent.len(), 1);
        let (t, code_, mid, token, to, payload) = sent[0].clone();
        assert_eq!((t, code_, to), (MessageType::Con, code::POST, server()));
        assert!(String::from_utf8_lossy(&payload).contains("</3303/0>"));
        // No answer: retransmitted with the same MID and token after ACK_TIMEOUT..x1.5.
        let due = c.next_deadline().unwrap();
        assert!((1_000 + 2_000..1_000 + 3_000).contains(&due), "{due}");
        clock.set(due);
        c.flush();
        let again = take_sent(w);
        assert_eq!(again.len(), 1);
        assert_eq!((again[0].2, &again[0].3), (mid, &token));
        // The piggy-backed 2.01 registers.
        let ack = msg(
            MessageType::Ack,
            code::CREATED,
            mid,
            &token,
            &[
                (option::LOCATION_PATH, b"rd"),
                (option::LOCATION_PATH, b"x1"),
            ],
        );
        deliver(c, w, server(), ack);
        assert_eq!(
            c.engine().registration_state(1),
            RegistrationState::Registered
        );
        assert_eq!(events.borrow().last(), Some(&Event::Registered { ssid: 1 }));
        assert_eq!(c.message_layer().pending_count(), 0);
    });
}

#[test]
fn separate_response_is_acked_and_registers() {
    with_client(&format!("coap://{SERVER}"), None, |c, w, _clock, events| {
        let (_, _, mid, token, ..) = take_sent(w)[0].clone();
        deliver(
            c,
            w,
            server(),
            msg(MessageType::Ack, code::EMPTY, mid, &[], &[]),
        );
        assert!(take_sent(w).is_empty());
        let sep = msg(
            MessageType::Con,
            code::CREATED,
            0x4242,
            &token,
            &[
                (option::LOCATION_PATH, b"rd"),
                (option::LOCATION_PATH, b"y"),
            ],
        );
        deliver(c, w, server(), sep);
        let sent = take_sent(w);
        assert_eq!(sent.len(), 1);
        assert_eq!(
            (sent[0].0, sent[0].1, sent[0].2),
            (MessageType::Ack, code::EMPTY, 0x4242)
        );
        assert_eq!(
            c.engine().registration_state(1),
            RegistrationState::Registered
        );
        assert!(events.borrow().contains(&Event::Registered { ssid: 1 }));
    });
}

#[test]
fn giving_up_reports_registration_failure() {
    with_client(&format!("coap://{SERVER}"), None, |c, w, clock, events| {
        for _ in 0..5 {
            clock.set(c.message_layer().next_timeout().unwrap());
            c.flush();
        }
        // 1 + 4 retransmissions, then the failure; the engine retries later.
        assert_eq!(take_sent(w).len(), 5);
        assert!(matches!(
            events.borrow().last(),
            Some(Event::RegistrationFailed { ssid: 1, reason }) if reason == "timeout"
        ));
        assert_eq!(
            c.engine().registration_state(1),
            RegistrationState::Registering
        );
    });
}

#[test]
fn identity_by_address_and_accept_any() {
    with_client(&format!("coap://{SERVER}"), None, |c, w, _, events| {
        take_sent(w);
        assert_eq!(c.identity_of(server()), Identity::Server(1));
        assert_eq!(c.identity_of(stranger()), Identity::Unauthenticated);
        let get = |mid| {
            msg(
                MessageType::Con,
                code::GET,
                mid,
                b"t",
                &[
                    (option::URI_PATH, b"3"),
                    (option::URI_PATH, b"0"),
                    (option::URI_PATH, b"1"),
                ],
            )
        };
        deliver(c, w, server(), get(1));
        deliver(c, w, stranger(), get(2));
        let sent = take_sent(w);
        assert_eq!(sent[0].0, MessageType::Ack);
        assert_eq!(
            (sent[0].1, sent[0].2, sent[0].4),
            (code::CONTENT, 1, server())
        );
        assert_eq!(sent[0].5, b"host");
        assert_eq!((sent[1].1, sent[1].4), (code::UNAUTHORIZED, stranger()));
        assert!(matches!(
            &events.borrow()[..],
            [.., Event::RequestServed { identity: Identity::Server(1), code: code::CONTENT, .. },
             Event::RequestServed { identity: Identity::Unauthenticated, code: code::UNAUTHORIZED, path, .. }]
            if path == "/3/0/1"
        ));
    });
    with_client(&format!("coap://{SERVER}"), Some(1), |c, _, _, _| {
        assert_eq!(c.identity_of(stranger()), Identity::Server(1));
    });
}

#[test]
fn non_request_gets_non_response_and_observe_rst_cancels() {
    with_client(
        &format!("coap://{SERVER}"),
        Some(1),
        |c, w, clock, events| {
            take_sent(w);
            let obs = msg(
                MessageType::Non,
                code::GET,
                7,
                b"ob",
                &[
                    (option::OBSERVE, b""),
                    (option::URI_PATH, b"3303"),
                    (option::URI_PATH, b"0"),
                    (option::URI_PATH, b"5700"),
                ],
            );
            deliver(c, w, stranger(), obs);
            let sent = take_sent(w);
            assert_eq!((sent[0].0, sent[0].1), (MessageType::Non, code::CONTENT));
            assert_ne!(sent[0].2, 7);
            assert_eq!(c.engine().observation_count(), 1);
            let now = clock.now();
            c.engine()
                .set_value(&Path::resource(3303, 0, 5700), Value::Float(25.0), now)
                .unwrap();
            c.flush();
            let n = take_sent(w);
            assert_eq!(n.len(), 1);
            assert_eq!(
                (n[0].0, &n[0].3, n[0].4),
                (MessageType::Non, &b"ob".to_vec(), stranger())
            );
            assert!(matches!(
                events.borrow().last(),
                Some(Event::NotificationSent { path, confirmable: false, .. }) if path == "/3303/0/5700"
            ));
            // The observer resets the notification: the observation ends.
            deliver(
                c,
                w,
                stranger(),
                msg(MessageType::Rst, code::EMPTY, n[0].2, &[], &[]),
            );
            assert_eq!(c.engine().observation_count(), 0);
            assert!(matches!(
                events.borrow().last(),
                Some(Event::ObservationEnded { reason, .. }) if reason == "reset"
            ));
        },
    );
}

thread_local! {
    /// Security mode of the server account `with_responder` configures.
    static TEST_MODE: Cell<u8> = const { Cell::new(mode::NOSEC) };
}

/// Each unusable (mode, URI) pair is reported with its reason and nothing is sent: no
/// fallback to NoSec.
#[test]
fn unsupported_security_is_reported_not_sent() {
    for (m, uri, want) in [
        (
            mode::RPK,
            "coaps://127.0.0.1:5684",
            "mode 1 (raw public key)",
        ),
        (
            mode::CERTIFICATE,
            "coaps://127.0.0.1:5684",
            "mode 2 (certificate)",
        ),
        (mode::EST, "coaps://127.0.0.1:5684", "mode 4"),
        (mode::RPK, "coap://127.0.0.1:5683", "mode 1"),
        (mode::PSK, "coap://127.0.0.1:5683", "needs a coaps:// URI"),
        // The fake transport has no DTLS: refused, not sent in clear.
        (mode::PSK, "coaps://127.0.0.1:5684", "no DTLS"),
    ] {
        TEST_MODE.with(|c| c.set(m));
        with_client(uri, None, |_, w, _, events| {
            assert!(take_sent(w).is_empty(), "mode {m} {uri}");
            let ev = events.borrow();
            assert!(
                matches!(&ev[0], Event::SendFailed { reason, .. } if reason.contains(want)),
                "mode {m} {uri}: {ev:?}"
            );
            assert!(!format!("{ev:?}").contains("\"k\""));
        });
    }
    TEST_MODE.with(|c| c.set(mode::NOSEC));
}

#[test]
fn coaps_server_is_reported_not_sent() {
    with_client("coaps://127.0.0.1:5684", None, |c, w, _, events| {
        assert!(take_sent(w).is_empty());
        let ev = events.borrow();
        assert!(matches!(
            &ev[0],
            Event::SendFailed { reason, .. } if reason.contains("needs security mode 0")
        ));
        assert!(matches!(&ev[1], Event::RegistrationFailed { ssid: 1, .. }));
        drop(ev);
        assert_eq!(
            c.engine().registration_state(1),
            RegistrationState::Registering
        );
    });
}

/// Answers Register with 2.01 and De-register with 2.02 (piggy-backed).
fn registrar(answer_delete: bool) -> Responder {
    Box::new(move |m: &Message<'_>| {
        let (c, opts): (u8, &[(u16, &[u8])]) = match m.code {
            code::POST => (
                code::CREATED,
                &[
                    (option::LOCATION_PATH, b"rd"),
                    (option::LOCATION_PATH, b"q"),
                ],
            ),
            code::DELETE if answer_delete => (code::DELETED, &[]),
            _ => return None,
        };
        Some(msg(MessageType::Ack, c, m.message_id, m.token, opts))
    })
}

#[test]
fn shutdown_deregisters_and_waits_for_the_answer() {
    let uri = format!("coap://{SERVER}");
    with_responder(&uri, None, Some(registrar(true)), |c, w, clock, events| {
        assert!(c.receive_once(Duration::ZERO).unwrap());
        assert_eq!(
            c.engine().registration_state(1),
            RegistrationState::Registered
        );
        take_sent(w);
        let t0 = clock.now();
        c.shutdown(Duration::from_secs(3));
        let sent = take_sent(w);
        assert_eq!(sent.len(), 1);
        assert_eq!((sent[0].0, sent[0].1), (MessageType::Con, code::DELETE));
        assert!(clock.now() - t0 < 3_000);
        assert!(matches!(
            events.borrow().last(),
            Some(Event::Deregistered { ssid: 1, result }) if result == "2.02"
        ));
    });
}

#[test]
fn shutdown_gives_up_after_its_timeout() {
    let uri = format!("coap://{SERVER}");
    with_responder(&uri, None, Some(registrar(false)), |c, w, clock, _| {
        assert!(c.receive_once(Duration::ZERO).unwrap());
        take_sent(w);
        let t0 = clock.now();
        c.shutdown(Duration::from_secs(3));
        // The clock only moved through the fake's simulated waits.
        assert!(
            (3_000..3_100).contains(&(clock.now() - t0)),
            "{}",
            clock.now() - t0
        );
        let sent = take_sent(w);
        // DELETE, and one retransmission after 2..3 s.
        assert!(sent.iter().all(|s| s.1 == code::DELETE));
        assert!((1..=2).contains(&sent.len()), "{}", sent.len());
    });
}

/// Issue 13, item 1: 10,000 remotes from distinct ports cost nothing lasting. The table stays
/// within its bound, an observer from before keeps its handle (its notifications still go
/// out), a newcomer after the flood gets a handle that can be notified, and idle handles are
/// forgotten; handles are never given to another address.
#[test]
fn peer_handles_of_idle_remotes_expire_and_observers_keep_theirs() {
    with_client(&format!("coap://{SERVER}"), Some(1), |c, w, clock, _| {
        let port = |p: u16| -> SocketAddr { SocketAddr::from(([127, 0, 0, 1], p)) };
        let observe = |mid, token: &[u8]| {
            msg(
                MessageType::Non,
                code::GET,
                mid,
                token,
                &[
                    (option::OBSERVE, b""),
                    (option::URI_PATH, b"3303"),
                    (option::URI_PATH, b"0"),
                    (option::URI_PATH, b"5700"),
                ],
            )
        };
        let get = |mid| {
            msg(
                MessageType::Non,
                code::GET,
                mid,
                b"g",
                &[(option::URI_PATH, b"3")],
            )
        };
        deliver(c, w, port(1000), observe(1, b"o1"));
        let first = c.peers().addr(0);
        assert_eq!(first, Some(port(1000)));
        for i in 0..10_000u16 {
            deliver(c, w, port(20_000 + i), get(i));
        }
        assert!(c.peers().len() <= MAX_PEERS, "{}", c.peers().len());
        assert!(c.peers().forgotten() >= (10_000 + 1 - MAX_PEERS) as u64);
        assert_eq!(c.peers().overflowed(), 0);
        deliver(c, w, port(2000), observe(2, b"o2"));
        take_sent(w);
        let now = clock.now();
        c.engine()
            .set_value(&Path::resource(3303, 0, 5700), Value::Float(30.0), now)
            .unwrap();
        c.flush();
        let mut to: Vec<SocketAddr> = take_sent(w).into_iter().map(|s| s.4).collect();
        to.sort();
        assert_eq!(to, [port(1000), port(2000)]);
        // Idle for long enough: only the observers' handles stay.
        clock.advance(PEER_IDLE_MS);
        deliver(c, w, port(3000), get(1));
        assert_eq!(c.peers().len(), 3);
        assert_eq!(c.peers().addr(0), Some(port(1000)));
        // A forgotten remote comes back with a new handle; its old one maps to nothing.
        let old = 1; // port 20000's first handle
        assert_eq!(c.peers().addr(old), None);
    });
}
