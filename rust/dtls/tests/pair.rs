//! Our client against our server, in memory: handshake, data, identity, and the negative cases
//! (wrong key, unknown identity, tampering, ClientHello floods, limits, close, timeouts).

mod common;

use std::time::{Duration, Instant};

use common::*;
use lwm2m_dtls::{AlertLevel, Config, Error, Event};

const ID: &[u8] = b"urn:dev:c2c:node-1";
const KEY: &[u8] = b"0123456789abcdef";

fn connected(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::Connected { .. }))
        .count()
}

fn data(events: &[Event]) -> Vec<Vec<u8>> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Data { plaintext, .. } => Some(plaintext.clone()),
            _ => None,
        })
        .collect()
}

fn handshake() -> (
    lwm2m_dtls::DtlsEndpoint,
    lwm2m_dtls::DtlsEndpoint,
    std::net::SocketAddr,
    std::net::SocketAddr,
) {
    let (ca, sa) = (addr("127.0.0.1:40001"), addr("127.0.0.1:5684"));
    let mut c = client(ID, KEY);
    let mut s = server(ServerStore::with(ID, KEY), Config::default());
    c.connect(sa).expect("connect");
    let t = pump(&mut c, ca, &mut s, sa);
    assert_eq!(
        t.a_events,
        vec![Event::Connected {
            peer: sa,
            identity: ID.to_vec()
        }]
    );
    assert_eq!(
        t.b_events,
        vec![Event::Connected {
            peer: ca,
            identity: ID.to_vec()
        }]
    );
    (c, s, ca, sa)
}

#[test]
fn handshake_and_data_both_ways() {
    let (mut c, mut s, ca, sa) = handshake();
    assert_eq!(s.session_identity(ca), Some(ID));
    assert_eq!(c.session_identity(sa), Some(ID));
    assert_eq!((s.session_count(), s.handshake_count()), (1, 0));
    assert_eq!(s.stats().hello_verify_requests, 1);

    c.send(sa, b"GET /3/0/0").expect("client send");
    let t = pump(&mut c, ca, &mut s, sa);
    assert_eq!(data(&t.b_events), vec![b"GET /3/0/0".to_vec()]);
    // Ciphertext does not contain the plaintext.
    assert!(!t.a_to_b[0].windows(10).any(|w| w == b"GET /3/0/0"));

    s.send(ca, b"2.05 ok").expect("server send");
    let t = pump(&mut c, ca, &mut s, sa);
    assert_eq!(data(&t.a_events), vec![b"2.05 ok".to_vec()]);
}

#[test]
fn two_clients_keep_their_own_identities() {
    let sa = addr("[::1]:5684");
    let (a1, a2) = (addr("[::1]:40001"), addr("[::1]:40002"));
    let mut store = ServerStore::with(b"alice", b"alice-key-16byte");
    store.0.insert(b"bob".to_vec(), b"bob-key".to_vec());
    let mut s = server(store, Config::default());
    let mut alice = client(b"alice", b"alice-key-16byte");
    let mut bob = client(b"bob", b"bob-key");
    alice.connect(sa).expect("connect");
    bob.connect(sa).expect("connect");
    pump(&mut alice, a1, &mut s, sa);
    pump(&mut bob, a2, &mut s, sa);
    assert_eq!(s.session_identity(a1), Some(&b"alice"[..]));
    assert_eq!(s.session_identity(a2), Some(&b"bob"[..]));
    let mut all: Vec<_> = s.sessions().map(|(a, i)| (a, i.to_vec())).collect();
    all.sort();
    assert_eq!(all, vec![(a1, b"alice".to_vec()), (a2, b"bob".to_vec())]);
}

#[test]
fn wrong_psk_gives_no_session_and_no_data() {
    let (ca, sa) = (addr("127.0.0.1:40001"), addr("127.0.0.1:5684"));
    let mut c = client(ID, b"WRONG-key-16byte");
    let mut s = server(ServerStore::with(ID, KEY), Config::default());
    c.connect(sa).expect("connect");
    let t = pump(&mut c, ca, &mut s, sa);
    assert_eq!(connected(&t.a_events) + connected(&t.b_events), 0);
    assert_eq!(s.session_count(), 0);
    assert_eq!(s.session_identity(ca), None);
    assert_eq!(c.send(sa, b"x"), Err(Error::NotConnected));
    assert_eq!(s.send(ca, b"x"), Err(Error::NotConnected));
    // tinydtls drops the undecryptable Finished silently; the handshake timeout frees it.
    assert_eq!(s.handshake_count(), 1);
    let t0 = Instant::now();
    assert!(s.poll_timers(t0).is_empty());
    let events = s.poll_timers(t0 + Duration::from_secs(31));
    assert_eq!(events, vec![Event::Closed { peer: ca }]);
    assert_eq!((s.session_count(), s.handshake_count()), (0, 0));
    assert_eq!(s.stats().handshake_timeouts, 1);
}

#[test]
fn unknown_identity_is_refused_with_an_alert() {
    let (ca, sa) = (addr("127.0.0.1:40001"), addr("127.0.0.1:5684"));
    let mut c = client(b"mallory", KEY);
    let mut s = server(ServerStore::with(ID, KEY), Config::default());
    c.connect(sa).expect("connect");
    let t = pump(&mut c, ca, &mut s, sa);
    assert_eq!(connected(&t.a_events) + connected(&t.b_events), 0);
    assert!(data(&t.b_events).is_empty());
    assert_eq!((s.session_count(), s.handshake_count()), (0, 0));
    assert_eq!(s.stats().handshakes_failed, 1);
    // The client learns of it by a fatal decrypt_error alert.
    assert!(t.a_events.contains(&Event::Alert {
        peer: sa,
        level: AlertLevel::Fatal,
        description: 51
    }));
    assert!(t.a_events.contains(&Event::Closed { peer: sa }));
    assert_eq!((c.session_count(), c.handshake_count()), (0, 0));
}

#[test]
fn tampered_records_are_dropped_and_the_session_survives() {
    let (mut c, mut s, ca, sa) = handshake();
    c.send(sa, b"read /3/0").expect("send");
    let record = c.poll_transmit().expect("record").bytes;
    assert_eq!(record.len(), 9 + lwm2m_dtls::RECORD_OVERHEAD);
    // Flip a bit in: the tag, the ciphertext, the explicit nonce, the sequence number (AAD),
    // and the content type (AAD).
    for i in [record.len() - 1, 21 + 3, 13, 10, 0] {
        let mut bad = record.clone();
        bad[i] ^= 0x01;
        let events = s.handle_datagram(ca, &bad);
        assert!(data(&events).is_empty(), "tampered byte {i} delivered");
        assert_eq!(s.session_identity(ca), Some(ID), "session lost at byte {i}");
    }
    // Truncated record.
    assert!(s
        .handle_datagram(ca, &record[..record.len() - 3])
        .is_empty());
    // The genuine record still gets through, once.
    assert_eq!(
        data(&s.handle_datagram(ca, &record)),
        vec![b"read /3/0".to_vec()]
    );
    assert!(
        s.handle_datagram(ca, &record).is_empty(),
        "replay delivered"
    );
}

#[test]
fn client_hello_flood_creates_no_state() {
    let sa = addr("127.0.0.1:5684");
    let mut s = server(ServerStore::with(ID, KEY), Config::default());
    let mut c = client(ID, KEY);
    c.connect(sa).expect("connect");
    let hello = c.poll_transmit().expect("ClientHello").bytes;
    for port in 1000..3000u16 {
        let from = addr(&format!("127.0.0.1:{port}"));
        assert!(s.handle_datagram(from, &hello).is_empty());
    }
    assert_eq!((s.session_count(), s.handshake_count()), (0, 0));
    assert_eq!(s.stats().hello_verify_requests, 2000);
    let mut hvrs = 0;
    while let Some(t) = s.poll_transmit() {
        // Each answer is a HelloVerifyRequest no larger than the ClientHello (no amplification).
        assert!(t.bytes.len() <= hello.len());
        assert_eq!(t.bytes[13], 3, "not a HelloVerifyRequest");
        hvrs += 1;
    }
    assert_eq!(hvrs, 2000);
}

#[test]
fn cookie_is_bound_to_the_address() {
    let (ca, sa) = (addr("127.0.0.1:40001"), addr("127.0.0.1:5684"));
    let mut s = server(ServerStore::with(ID, KEY), Config::default());
    let mut c = client(ID, KEY);
    c.connect(sa).expect("connect");
    let hello = c.poll_transmit().expect("ClientHello").bytes;
    s.handle_datagram(ca, &hello);
    let hvr = s.poll_transmit().expect("HVR").bytes;
    c.handle_datagram(sa, &hvr);
    let hello2 = c.poll_transmit().expect("ClientHello with cookie").bytes;
    // The same cookie from other ports creates nothing.
    for port in 2000..2100u16 {
        s.handle_datagram(addr(&format!("127.0.0.1:{port}")), &hello2);
    }
    assert_eq!(s.handshake_count(), 0);
    // A forged cookie from the right address creates nothing either.
    let mut forged = hello2.clone();
    let n = forged.len();
    // The cookie sits right before the cipher-suite list; flip a byte in the middle of the
    // ClientHello body's cookie (session id empty: offset 25 + 2 + 32 + 1 + 1).
    assert_eq!(forged[60], 16, "cookie length");
    forged[61.min(n - 1)] ^= 0xff;
    s.handle_datagram(ca, &forged);
    assert_eq!(s.handshake_count(), 0);
    // The real one does.
    s.handle_datagram(ca, &hello2);
    assert_eq!(s.handshake_count(), 1);
}

#[test]
fn handshakes_and_sessions_are_bounded() {
    let sa = addr("127.0.0.1:5684");
    let config = Config {
        max_sessions: 3,
        max_handshakes: 2,
        ..Config::default()
    };
    let mut s = server(ServerStore::with(ID, KEY), config);
    // Six hosts (six sources: the per-source limit is not what this test is about).
    let mut clients: Vec<_> = (0..6u16)
        .map(|i| {
            (
                client(ID, KEY),
                addr(&format!("127.0.0.{}:{}", 1 + i, 41000 + i)),
            )
        })
        .collect();
    // Flight 1: all ClientHellos answered statelessly.
    let mut hellos2 = Vec::new();
    for (c, ca) in &mut clients {
        c.connect(sa).expect("connect");
        let h = c.poll_transmit().expect("hello").bytes;
        s.handle_datagram(*ca, &h);
        let hvr = s.poll_transmit().expect("hvr").bytes;
        c.handle_datagram(sa, &hvr);
        hellos2.push(c.poll_transmit().expect("hello2").bytes);
    }
    assert_eq!(s.handshake_count(), 0);
    // Flight 3: only two handshakes admitted.
    for ((_, ca), h) in clients.iter().zip(&hellos2) {
        s.handle_datagram(*ca, h);
    }
    assert_eq!(s.handshake_count(), 2);
    assert_eq!(s.stats().capacity_drops, 4);
    // Finish the two admitted handshakes.
    let server_flights: Vec<_> = std::iter::from_fn(|| s.poll_transmit()).collect();
    for t in server_flights {
        if let Some((c, _)) = clients.iter_mut().find(|(_, a)| *a == t.peer) {
            c.handle_datagram(sa, &t.bytes);
        }
    }
    for (c, ca) in clients.iter_mut().take(2) {
        pump(c, *ca, &mut s, sa);
    }
    assert_eq!((s.session_count(), s.handshake_count()), (2, 0));
    // Retry the refused ones: one more fits (3 states total), the rest do not.
    for ((_, ca), h) in clients.iter().zip(&hellos2).skip(2) {
        s.handle_datagram(*ca, h);
    }
    assert_eq!(s.session_count() + s.handshake_count(), 3);
    assert_eq!(s.handshake_count(), 1);
    assert_eq!(s.stats().capacity_drops, 7);
}

#[test]
fn close_ends_the_session_and_later_records_are_rejected() {
    let (mut c, mut s, ca, sa) = handshake();
    c.send(sa, b"before").expect("send");
    let before = c.poll_transmit().expect("record").bytes;
    c.send(sa, b"after").expect("send");
    let after = c.poll_transmit().expect("record").bytes;
    assert_eq!(
        data(&s.handle_datagram(ca, &before)),
        vec![b"before".to_vec()]
    );

    assert!(s.close(ca));
    assert!(!s.close(ca));
    assert_eq!(s.session_identity(ca), None);
    assert_eq!((s.session_count(), s.handshake_count()), (0, 0));
    assert_eq!(s.send(ca, b"x"), Err(Error::NotConnected));
    let notify = s.poll_transmit().expect("close_notify");
    assert_eq!(notify.bytes[0], 21, "alert record");

    assert!(s.handle_datagram(ca, &after).is_empty());
    assert_eq!(s.stats().unknown_peer_drops, 1);
    assert_eq!(s.stats().closed_by_app, 1);

    // The client sees the close_notify and drops its side.
    let events = c.handle_datagram(sa, &notify.bytes);
    assert!(events.contains(&Event::Alert {
        peer: sa,
        level: AlertLevel::Warning,
        description: 0
    }));
    assert!(events.contains(&Event::Closed { peer: sa }));
    assert_eq!(c.session_count(), 0);
}

#[test]
fn close_identity_ends_all_sessions_of_an_account() {
    let sa = addr("127.0.0.1:5684");
    let mut store = ServerStore::with(b"alice", KEY);
    store.0.insert(b"bob".to_vec(), KEY.to_vec());
    let mut s = server(store, Config::default());
    let peers = [
        (b"alice", addr("127.0.0.1:41001")),
        (b"alice", addr("127.0.0.1:41002")),
        (b"bob\0\0", addr("127.0.0.1:41003")),
    ];
    for (id, ca) in peers {
        let id = if id.starts_with(b"bob") {
            &b"bob"[..]
        } else {
            &id[..]
        };
        let mut c = client(id, KEY);
        c.connect(sa).expect("connect");
        pump(&mut c, ca, &mut s, sa);
    }
    assert_eq!(s.session_count(), 3);
    let mut closed = s.close_identity(b"alice");
    closed.sort();
    assert_eq!(closed, vec![peers[0].1, peers[1].1]);
    assert_eq!(s.session_count(), 1);
    assert_eq!(s.session_identity(peers[2].1), Some(&b"bob"[..]));
}

#[test]
fn idle_sessions_close_when_configured() {
    let (ca, sa) = (addr("127.0.0.1:40001"), addr("127.0.0.1:5684"));
    let config = Config {
        idle_timeout: Some(Duration::from_secs(60)),
        ..Config::default()
    };
    let mut s = server(ServerStore::with(ID, KEY), config);
    let mut c = client(ID, KEY);
    c.connect(sa).expect("connect");
    pump(&mut c, ca, &mut s, sa);
    let t0 = Instant::now();
    assert!(s.poll_timers(t0).is_empty());
    // Traffic at t0+50 s restarts the idle clock.
    c.send(sa, b"ping").expect("send");
    pump(&mut c, ca, &mut s, sa);
    assert!(s.poll_timers(t0 + Duration::from_secs(50)).is_empty());
    assert!(s.poll_timers(t0 + Duration::from_secs(100)).is_empty());
    assert_eq!(
        s.poll_timers(t0 + Duration::from_secs(111)),
        vec![Event::Closed { peer: ca }]
    );
    assert_eq!(s.stats().idle_closes, 1);
}

#[test]
fn roles_and_limits_are_enforced() {
    let sa = addr("127.0.0.1:5684");
    let mut s = server(ServerStore::with(ID, KEY), Config::default());
    assert_eq!(s.connect(sa), Err(Error::WrongRole));
    let mut c = client(ID, KEY);
    c.connect(sa).expect("connect");
    assert_eq!(c.connect(sa), Err(Error::PeerExists));
    let hello = c.poll_transmit().expect("hello").bytes;
    // A client-role endpoint ignores ClientHellos.
    let mut other = client(ID, KEY);
    assert!(other.handle_datagram(sa, &hello).is_empty());
    assert!(other.poll_transmit().is_none());
    assert_eq!(other.stats().role_drops, 1);
    assert!(s.handle_datagram(sa, &[0x16, 0xfe]).is_empty());
    assert_eq!(s.stats().malformed_drops, 1);
    let (mut c, _s, _ca, sa) = handshake();
    let big = vec![0u8; lwm2m_dtls::MAX_PLAINTEXT_LEN + 1];
    assert_eq!(c.send(sa, &big), Err(Error::TooLarge(big.len())));
    assert!(c.send(sa, &big[1..]).is_ok());
}

/// Runs the cookie exchange for a fresh client at `ca` and returns its ClientHello with the
/// cookie (what an attacker that receives at its own address can send).
fn hello_with_cookie(s: &mut lwm2m_dtls::DtlsEndpoint, ca: std::net::SocketAddr) -> Vec<u8> {
    let sa = addr("127.0.0.1:5684");
    let mut c = client(ID, KEY);
    c.connect(sa).expect("connect");
    let h = c.poll_transmit().expect("hello").bytes;
    s.handle_datagram(ca, &h);
    let hvr = s.poll_transmit().expect("hvr").bytes;
    c.handle_datagram(sa, &hvr);
    c.poll_transmit().expect("hello with cookie").bytes
}

#[test]
fn a_flood_of_cookie_echoing_hellos_from_one_host_keeps_others_in() {
    let sa = addr("127.0.0.1:5684");
    let mut s = server(ServerStore::with(ID, KEY), Config::default());
    // 300 half-open handshakes from one host (127.0.0.2, one port each), each with a valid
    // cookie: the host holds at most its per-source share of the slots.
    for port in 0..300u16 {
        let from = addr(&format!("127.0.0.2:{}", 20000 + port));
        let h = hello_with_cookie(&mut s, from);
        s.handle_datagram(from, &h);
        while s.poll_transmit().is_some() {}
    }
    let per_source = Config::default().max_handshakes_per_source;
    assert_eq!(s.handshake_count(), per_source);
    assert_eq!(s.stats().source_replacements, 300 - per_source as u64);
    assert_eq!(s.stats().capacity_drops, 0);
    // A legitimate client on another host gets its session at once.
    let ca = addr("127.0.0.1:40001");
    let mut c = client(ID, KEY);
    c.connect(sa).expect("connect");
    let t = pump(&mut c, ca, &mut s, sa);
    assert_eq!(connected(&t.b_events), 1);
    assert_eq!(s.session_identity(ca), Some(ID));
}

#[test]
fn half_open_handshakes_expire_early_and_answered_ones_do_not() {
    let sa = addr("127.0.0.1:5684");
    let mut s = server(ServerStore::with(ID, KEY), Config::default());
    // Half-open: a valid ClientHello with cookie, then silence.
    let idle = addr("127.0.0.3:30000");
    let h = hello_with_cookie(&mut s, idle);
    s.handle_datagram(idle, &h);
    // Answered: a client with the wrong key gets through its flight, and the Finished it
    // sends is dropped by the server, so its handshake stays open but progressed.
    let wrong = addr("127.0.0.4:30001");
    let mut c = client(ID, b"WRONG-key-16byte");
    c.connect(sa).expect("connect");
    pump(&mut c, wrong, &mut s, sa);
    while s.poll_transmit().is_some() {}
    assert_eq!(s.handshake_count(), 2);
    let t0 = Instant::now();
    assert!(s.poll_timers(t0).is_empty());
    let half_open = Config::default().half_open_timeout;
    let events = s.poll_timers(t0 + half_open);
    assert_eq!(events, vec![Event::Closed { peer: idle }]);
    assert_eq!(s.handshake_count(), 1);
    let events = s.poll_timers(t0 + Config::default().handshake_timeout);
    assert_eq!(events, vec![Event::Closed { peer: wrong }]);
    assert_eq!(s.stats().handshake_timeouts, 2);
}

#[test]
fn a_restarting_client_replaces_its_own_half_open_handshake() {
    let sa = addr("127.0.0.1:5684");
    let config = Config {
        max_handshakes_per_source: 1,
        ..Config::default()
    };
    let mut s = server(ServerStore::with(ID, KEY), config);
    let old = addr("[2001:db8::1]:40001");
    let h = hello_with_cookie(&mut s, old);
    s.handle_datagram(old, &h);
    while s.poll_transmit().is_some() {}
    assert_eq!(s.handshake_count(), 1);
    // The same host (same /64) on a new port, after a restart: it gets in and the old
    // attempt is gone.
    let new = addr("[2001:db8::2]:40002");
    let mut c = client(ID, KEY);
    c.connect(sa).expect("connect");
    let t = pump(&mut c, new, &mut s, sa);
    assert_eq!(connected(&t.b_events), 1);
    assert_eq!(s.stats().source_replacements, 1);
    assert_eq!((s.session_count(), s.handshake_count()), (1, 0));
    // Another /64 is another source.
    let other = addr("[2001:db8:0:1::1]:40003");
    let h = hello_with_cookie(&mut s, other);
    s.handle_datagram(other, &h);
    assert_eq!(s.handshake_count(), 1);
    assert_eq!(s.stats().source_replacements, 1);
}
