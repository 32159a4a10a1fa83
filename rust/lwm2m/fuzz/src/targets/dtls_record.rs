//! Fuzz target: the DTLS record wrapper (`lwm2m_dtls::DtlsEndpoint`) in the server role, fed
//! arbitrary datagrams from three hostile peers (two in one IPv6 /64, one IPv4) interleaved
//! with a real client's handshake and application data, whose records the input may also
//! corrupt, and with timer polls at input-chosen times.
//!
//! Oracles: no panic; state stays within the [`Config`] limits after every step; only the
//! real client (address and PSK identity) ever gets a session or delivers data.
//!
//! Input: a sequence of operations, each one byte (low 3 bits: which) and its arguments.
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use lwm2m_dtls::{Config, DtlsEndpoint, Event, Key, PskStore, Role};

const IDENTITY: &[u8] = b"fuzz-client";
const PSK: &[u8] = b"0123456789abcdef";
/// Operations per input (inputs are cut here).
const MAX_STEPS: usize = 64;

struct ServerStore;
impl PskStore for ServerStore {
    fn psk_for_identity(&self, identity: &[u8]) -> Option<Key> {
        (identity == IDENTITY).then(|| Key::new(PSK).expect("key"))
    }
}

struct ClientStore;
impl PskStore for ClientStore {
    fn client_credentials(&self, _: SocketAddr) -> Option<(Vec<u8>, Key)> {
        Some((IDENTITY.to_vec(), Key::new(PSK).expect("key")))
    }
}

/// The server's limits: small, so the input can reach them.
pub const CONFIG: Config = Config {
    max_sessions: 4,
    max_handshakes: 3,
    max_handshakes_per_source: 2,
    handshake_timeout: Duration::from_secs(30),
    half_open_timeout: Duration::from_secs(5),
    idle_timeout: Some(Duration::from_secs(60)),
};

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

/// Checks the events of the server endpoint; returns the number of sessions established.
fn check_events(events: &[Event], client: SocketAddr) -> usize {
    let mut connected = 0;
    for e in events {
        match e {
            Event::Connected { peer, identity } => {
                assert_eq!(*peer, client, "session for a peer without the key");
                assert_eq!(identity, IDENTITY);
                connected += 1;
            }
            Event::Data { peer, .. } => assert_eq!(*peer, client, "data from a hostile peer"),
            Event::Closed { .. } | Event::Alert { .. } => {}
        }
    }
    connected
}

/// The oracle on the server's state: within the configured limits.
pub fn check_bounds(server: &DtlsEndpoint) {
    let (s, h) = (server.session_count(), server.handshake_count());
    assert!(
        s + h <= CONFIG.max_sessions,
        "{s} sessions + {h} handshakes"
    );
    assert!(h <= CONFIG.max_handshakes, "{h} handshakes");
    assert!(s <= 1, "{s} sessions, one client has the key");
}

/// The input, read a byte at a time (zeros after its end).
struct Input<'a>(&'a [u8]);
impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let (b, r) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = r;
        b
    }
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.byte()).collect()
    }
}

/// Runs the target on one input; panics when an oracle fails.
pub fn run(data: &[u8]) {
    drive(data);
}

/// [`run`], returning how many sessions the server established (for the harness's own test).
pub fn drive(data: &[u8]) -> usize {
    let mut connected = 0;
    let hostile = [
        addr("[2001:db8::1]:5684"),
        addr("[2001:db8::2]:5684"),
        addr("192.0.2.7:40000"),
    ];
    let client_addr = addr("[2001:db8:1::9]:6000");
    let server_addr = addr("[2001:db8:2::1]:5684");
    let mut server = DtlsEndpoint::new(Role::Server, ServerStore, CONFIG).expect("server");
    let mut client =
        DtlsEndpoint::new(Role::Client, ClientStore, Config::default()).expect("client");
    let mut now = Instant::now();
    let mut to_client: Vec<Vec<u8>> = Vec::new();
    let mut input = Input(data);
    for _ in 0..MAX_STEPS {
        if input.0.is_empty() {
            break;
        }
        let op = input.byte();
        match op & 7 {
            // An arbitrary datagram from a hostile peer.
            0 | 1 => {
                let peer = hostile[usize::from(op >> 3) % hostile.len()];
                let len = usize::from(input.byte());
                let d = input.bytes(len);
                check_events(&server.handle_datagram(peer, &d), client_addr);
            }
            // The real client starts (or restarts) a handshake.
            2 => {
                let _ = client.connect(server_addr);
            }
            // Deliver queued datagrams both ways; with op 4, `op >> 3` (if non-zero) is
            // XORed into one byte (chosen by the next input byte) of the first client datagram.
            3 | 4 => {
                let flip = if op & 7 == 4 { op >> 3 } else { 0 };
                let mut first = true;
                while let Some(t) = client.poll_transmit() {
                    let mut bytes = t.bytes;
                    if first && flip != 0 && !bytes.is_empty() {
                        let i = usize::from(input.byte()) % bytes.len();
                        bytes[i] ^= flip;
                    }
                    first = false;
                    connected +=
                        check_events(&server.handle_datagram(client_addr, &bytes), client_addr);
                }
                for d in to_client.drain(..) {
                    let _ = client.handle_datagram(server_addr, &d);
                }
            }
            // Time passes (0 to 31 s) and both endpoints poll their timers.
            5 => {
                now += Duration::from_secs(u64::from(op >> 3));
                check_events(&server.poll_timers(now), client_addr);
                let _ = client.poll_timers(now);
            }
            // The client sends application data (if connected), the server answers.
            6 => {
                let len = usize::from(input.byte() & 0x3f);
                let d = input.bytes(len);
                let _ = client.send(server_addr, &d);
                let _ = server.send(client_addr, &d);
            }
            // The server closes the client's session or a hostile peer's state.
            _ => {
                let victim = if op & 8 == 0 {
                    client_addr
                } else {
                    hostile[usize::from(op >> 4) % hostile.len()]
                };
                server.close(victim);
            }
        }
        // Answers to hostile peers go nowhere; the client's wait for the next delivery.
        while let Some(t) = server.poll_transmit() {
            if t.peer == client_addr && to_client.len() < 64 {
                to_client.push(t.bytes);
            }
        }
        check_bounds(&server);
    }
    connected
}
