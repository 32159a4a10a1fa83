//! Micro-benchmark: handshake bytes and round trips, and the per-record overhead of a CoAP Read
//! request and response, for our client and server talking in memory.
//!
//! `cargo run --release -p lwm2m-dtls --example dtls_sizes`

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use lwm2m_dtls::{Config, DtlsEndpoint, Event, Key, PskStore, Role};

struct Store(HashMap<Vec<u8>, Vec<u8>>, Vec<u8>, Vec<u8>);

impl PskStore for Store {
    fn psk_for_identity(&self, identity: &[u8]) -> Option<Key> {
        Key::new(self.0.get(identity)?).ok()
    }
    fn client_credentials(&self, _peer: SocketAddr) -> Option<(Vec<u8>, Key)> {
        Some((self.1.clone(), Key::new(&self.2).ok()?))
    }
}

#[derive(Default)]
struct Dir {
    datagrams: usize,
    bytes: usize,
}

/// Moves datagrams until both sides are quiet; counts flights per direction change.
fn exchange(
    c: &mut DtlsEndpoint,
    ca: SocketAddr,
    s: &mut DtlsEndpoint,
    sa: SocketAddr,
    up: &mut Dir,
    down: &mut Dir,
) -> (usize, Vec<Event>, Vec<Event>) {
    let (mut flights, mut ce, mut se) = (0, Vec::new(), Vec::new());
    loop {
        let a: Vec<_> = std::iter::from_fn(|| c.poll_transmit()).collect();
        let b_before = a.len();
        for t in a {
            up.datagrams += 1;
            up.bytes += t.bytes.len();
            se.extend(s.handle_datagram(ca, &t.bytes));
        }
        let b: Vec<_> = std::iter::from_fn(|| s.poll_transmit()).collect();
        flights += usize::from(b_before > 0) + usize::from(!b.is_empty());
        if b_before == 0 && b.is_empty() {
            return (flights, ce, se);
        }
        for t in b {
            down.datagrams += 1;
            down.bytes += t.bytes.len();
            ce.extend(c.handle_datagram(sa, &t.bytes));
        }
    }
}

fn endpoints() -> (DtlsEndpoint, DtlsEndpoint) {
    let id = b"urn:imei:490154203237518".to_vec();
    let key = b"0123456789abcdef".to_vec();
    let mut map = HashMap::new();
    map.insert(id.clone(), key.clone());
    let c = DtlsEndpoint::new(
        Role::Client,
        Store(HashMap::new(), id.clone(), key.clone()),
        Config::default(),
    );
    let s = DtlsEndpoint::new(Role::Server, Store(map, id, key), Config::default());
    (c.expect("client"), s.expect("server"))
}

fn main() {
    let (ca, sa): (SocketAddr, SocketAddr) = (
        "127.0.0.1:56830".parse().expect("addr"),
        "127.0.0.1:5684".parse().expect("addr"),
    );
    let (mut c, mut s) = endpoints();
    let (mut up, mut down) = (Dir::default(), Dir::default());
    c.connect(sa).expect("connect");
    let (flights, ce, se) = exchange(&mut c, ca, &mut s, sa, &mut up, &mut down);
    assert!(ce.iter().any(|e| matches!(e, Event::Connected { .. })));
    assert!(se.iter().any(|e| matches!(e, Event::Connected { .. })));
    println!("DTLS 1.2 PSK handshake, TLS_PSK_WITH_AES_128_CCM_8, 24-byte identity, with cookie exchange");
    println!(
        "  client -> server: {} datagrams, {} bytes",
        up.datagrams, up.bytes
    );
    println!(
        "  server -> client: {} datagrams, {} bytes",
        down.datagrams, down.bytes
    );
    println!(
        "  total: {} bytes, {} flights = {} round trips",
        up.bytes + down.bytes,
        flights,
        flights.div_ceil(2)
    );

    // CoAP Read of /3/0/0 (CON GET, 4-byte token, Uri-Path 3/0/0, Accept 112 SenML CBOR) ...
    let request: &[u8] = &[
        0x44, 0x01, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0xb1, b'3', 0x01, b'0', 0x01, b'0', 0x61,
        0x70,
    ];
    // ... and its piggybacked 2.05 with Content-Format 0 and "Open Mobile Alliance".
    let mut response = vec![0x64, 0x45, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0xc0, 0xff];
    response.extend_from_slice(b"Open Mobile Alliance");
    c.send(sa, request).expect("send");
    let req_record = c.poll_transmit().expect("record").bytes;
    s.send(ca, &response).expect("send");
    let resp_record = s.poll_transmit().expect("record").bytes;
    for (name, plain, rec) in [
        ("Read request ", request.len(), req_record.len()),
        ("Read response", response.len(), resp_record.len()),
    ] {
        println!(
            "CoAP {name}: {plain} bytes plaintext -> {rec} bytes record, overhead {} bytes",
            rec - plain
        );
    }
    assert!(s.close(ca));
    let notify = s.poll_transmit().expect("close_notify").bytes;
    println!("close_notify alert record: {} bytes", notify.len());

    // Informational only: in-memory handshake time (both sides in one thread, debug or release
    // as built).
    let n = 200;
    let start = Instant::now();
    for _ in 0..n {
        let (mut c, mut s) = endpoints();
        c.connect(sa).expect("connect");
        let (mut u, mut d) = (Dir::default(), Dir::default());
        exchange(&mut c, ca, &mut s, sa, &mut u, &mut d);
    }
    println!(
        "in-memory handshake (both sides, incl. context setup): {:.0} us average over {n}",
        start.elapsed().as_secs_f64() * 1e6 / f64::from(n)
    );
}
