//! Shared test helpers: credential stores, an in-memory link between two endpoints, a UDP
//! driver for interoperability runs, child processes that die with the test, and a tiny CoAP
//! responder.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use lwm2m_dtls::{Config, DtlsEndpoint, Event, Key, PskStore, Role};

/// Upper bound for any interop exchange; loops stop there instead of hanging.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Server-side store: identity -> key.
#[derive(Default, Clone)]
pub struct ServerStore(pub HashMap<Vec<u8>, Vec<u8>>);

impl ServerStore {
    pub fn with(identity: &[u8], key: &[u8]) -> Self {
        let mut s = Self::default();
        s.0.insert(identity.to_vec(), key.to_vec());
        s
    }
}

impl PskStore for ServerStore {
    fn psk_for_identity(&self, identity: &[u8]) -> Option<Key> {
        Key::new(self.0.get(identity)?).ok()
    }
}

/// Client-side store: one identity and key for every server.
#[derive(Clone)]
pub struct ClientStore {
    pub identity: Vec<u8>,
    pub key: Vec<u8>,
}

impl PskStore for ClientStore {
    fn client_credentials(&self, _peer: SocketAddr) -> Option<(Vec<u8>, Key)> {
        Some((self.identity.clone(), Key::new(&self.key).ok()?))
    }
}

pub fn server(store: ServerStore, config: Config) -> DtlsEndpoint {
    DtlsEndpoint::new(Role::Server, store, config).expect("server endpoint")
}

pub fn client(identity: &[u8], key: &[u8]) -> DtlsEndpoint {
    let store = ClientStore {
        identity: identity.to_vec(),
        key: key.to_vec(),
    };
    DtlsEndpoint::new(Role::Client, store, Config::default()).expect("client endpoint")
}

pub fn addr(s: &str) -> SocketAddr {
    s.parse().expect("literal address")
}

/// Counts of one in-memory exchange.
#[derive(Debug, Default)]
pub struct Traffic {
    pub a_events: Vec<Event>,
    pub b_events: Vec<Event>,
    pub a_to_b: Vec<Vec<u8>>,
    pub b_to_a: Vec<Vec<u8>>,
    /// Number of flights (maximal runs of datagrams in one direction).
    pub flights: usize,
}

/// Delivers queued datagrams between `a` (at `a_addr`) and `b` (at `b_addr`) until both queues
/// are empty. Datagrams for other destinations are dropped.
pub fn pump(
    a: &mut DtlsEndpoint,
    a_addr: SocketAddr,
    b: &mut DtlsEndpoint,
    b_addr: SocketAddr,
) -> Traffic {
    let mut t = Traffic::default();
    for _ in 0..100 {
        let mut moved = false;
        let from_a: Vec<_> = std::iter::from_fn(|| a.poll_transmit()).collect();
        if from_a.iter().any(|x| x.peer == b_addr) {
            t.flights += 1;
        }
        for x in from_a.into_iter().filter(|x| x.peer == b_addr) {
            moved = true;
            t.a_to_b.push(x.bytes.clone());
            t.b_events.extend(b.handle_datagram(a_addr, &x.bytes));
        }
        let from_b: Vec<_> = std::iter::from_fn(|| b.poll_transmit()).collect();
        if from_b.iter().any(|x| x.peer == a_addr) {
            t.flights += 1;
        }
        for x in from_b.into_iter().filter(|x| x.peer == a_addr) {
            moved = true;
            t.b_to_a.push(x.bytes.clone());
            t.a_events.extend(a.handle_datagram(b_addr, &x.bytes));
        }
        if !moved {
            break;
        }
    }
    t
}

/// An endpoint bound to a loopback UDP socket.
pub struct UdpEndpoint {
    pub sock: UdpSocket,
    pub ep: DtlsEndpoint,
}

impl UdpEndpoint {
    pub fn bind(ep: DtlsEndpoint) -> Self {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind loopback");
        Self { sock, ep }
    }

    pub fn local(&self) -> SocketAddr {
        self.sock.local_addr().expect("local addr")
    }

    pub fn flush(&mut self) {
        while let Some(t) = self.ep.poll_transmit() {
            let _ = self.sock.send_to(&t.bytes, t.peer);
        }
    }

    /// Waits up to `wait` for one datagram, feeds it, runs timers and sends what is queued.
    pub fn step(&mut self, wait: Duration) -> Vec<Event> {
        let mut events = Vec::new();
        self.sock
            .set_read_timeout(Some(wait))
            .expect("read timeout");
        let mut buf = [0u8; 2048];
        if let Ok((n, from)) = self.sock.recv_from(&mut buf) {
            events.extend(self.ep.handle_datagram(from, &buf[..n]));
        }
        events.extend(self.ep.poll_timers(Instant::now()));
        self.flush();
        events
    }
}

/// A child process killed (with its group) when dropped; its stdout and stderr lines arrive on
/// `lines`.
pub struct Peer {
    pub child: Child,
    pub stdin: Option<ChildStdin>,
    pub lines: Receiver<String>,
}

impl Peer {
    pub fn spawn(program: &str, args: &[&str]) -> Option<Self> {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .ok()?;
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take()?;
        let err = child.stderr.take()?;
        for stream in [Box::new(out) as Box<dyn Read + Send>, Box::new(err)] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let stdin = child.stdin.take();
        Some(Self {
            child,
            stdin,
            lines,
        })
    }

    /// Lines received so far.
    pub fn drain(&self, into: &mut Vec<String>) {
        while let Ok(l) = self.lines.try_recv() {
            into.push(l);
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// True if `program` can be run; interop tests skip (with a message) when it cannot.
pub fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// A UDP port that was free a moment ago (and whose successor too, for libcoap's DTLS port).
pub fn free_port_pair() -> u16 {
    for _ in 0..50 {
        let a = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let p = a.local_addr().expect("addr").port();
        if p < u16::MAX && UdpSocket::bind(("127.0.0.1", p + 1)).is_ok() {
            return p;
        }
    }
    panic!("no free port pair");
}

/// Answers any CoAP request with 2.05 Content "ok" (piggybacked ACK for CON, NON for NON);
/// `None` for anything that is not a request.
pub fn coap_ok_response(request: &[u8]) -> Option<Vec<u8>> {
    let first = *request.first()?;
    let tkl = usize::from(first & 0x0f);
    let code = *request.get(1)?;
    if first >> 6 != 1 || tkl > 8 || code == 0 || code >> 5 != 0 {
        return None;
    }
    let token = request.get(4..4 + tkl)?;
    let ty = (first >> 4) & 0x3;
    let (rty, mid) = match ty {
        0 => (2u8, [*request.get(2)?, *request.get(3)?]),
        _ => (1u8, [0x12, 0x34]),
    };
    let mut out = vec![0x40 | (rty << 4) | first & 0x0f, 0x45, mid[0], mid[1]];
    out.extend_from_slice(token);
    out.push(0xff);
    out.extend_from_slice(b"ok");
    Some(out)
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
