//! A fake LwM2M client speaking raw CoAP over a loopback UDP socket, and helpers to start a
//! server and wait for events. Every wait is bounded.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::{SocketAddr, UdpSocket};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use lwm2m::coap::{code, option, Message, MessageBuilder, MessageType};
use lwm2m_server::layer::TransmissionParams;
use lwm2m_server::{Config, Event, Server, ServerHandle};

/// Upper bound of every wait in the tests.
pub const WAIT: Duration = Duration::from_secs(10);

/// A server on 127.0.0.1 with short timers.
pub fn start(modify: impl FnOnce(&mut Config)) -> ServerHandle {
    let mut cfg = Config {
        coap_addr: "127.0.0.1:0".into(),
        request_timeout: Duration::from_secs(8),
        expiry_check_interval: Duration::from_millis(50),
        transmission: TransmissionParams {
            ack_timeout: Duration::from_millis(300),
            ..Default::default()
        },
        ..Default::default()
    };
    // Tests of the other checks send many access requests at once; the rate limit has its
    // own tests (ac_limits.rs), which set it back.
    cfg.c2c.rate_limit.burst = 1_000;
    modify(&mut cfg);
    Server::start(cfg).expect("server starts")
}

/// The first event matching `pred` within [`WAIT`].
pub fn wait_event(rx: &Receiver<Event>, pred: impl Fn(&Event) -> bool) -> Event {
    let end = Instant::now() + WAIT;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        let ev = rx
            .recv_timeout(left)
            .expect("expected event did not arrive in time");
        if pred(&ev) {
            return ev;
        }
    }
}

/// An owned CoAP message.
#[derive(Clone, Debug, PartialEq)]
pub struct Msg {
    pub mtype: MessageType,
    pub code: u8,
    pub mid: u16,
    pub token: Vec<u8>,
    pub options: Vec<(u16, Vec<u8>)>,
    pub payload: Vec<u8>,
}

impl Msg {
    pub fn parse(b: &[u8]) -> Msg {
        let m = Message::parse(b).expect("server sent well-formed CoAP");
        Msg {
            mtype: m.mtype,
            code: m.code,
            mid: m.message_id,
            token: m.token.to_vec(),
            options: m.options().map(|o| (o.number, o.value.to_vec())).collect(),
            payload: m.payload.to_vec(),
        }
    }

    pub fn opts(&self, n: u16) -> Vec<&[u8]> {
        self.options
            .iter()
            .filter(|o| o.0 == n)
            .map(|o| o.1.as_slice())
            .collect()
    }

    pub fn strs(&self, n: u16) -> Vec<String> {
        self.opts(n)
            .iter()
            .map(|v| String::from_utf8(v.to_vec()).expect("utf-8 option"))
            .collect()
    }

    pub fn uint(&self, n: u16) -> Option<u32> {
        self.opts(n)
            .first()
            .map(|v| v.iter().fold(0u32, |a, b| a << 8 | u32::from(*b)))
    }

    pub fn uri_path(&self) -> Vec<String> {
        self.strs(option::URI_PATH)
    }
}

/// Encodes a message; options must be given in ascending order.
pub fn encode(
    mtype: MessageType,
    c: u8,
    mid: u16,
    token: &[u8],
    options: &[(u16, Vec<u8>)],
    payload: &[u8],
) -> Vec<u8> {
    let mut buf = vec![0u8; 2048 + payload.len()];
    let mut b = MessageBuilder::new(&mut buf, mtype, c, mid, token).unwrap();
    for (n, v) in options {
        b.option(*n, v).unwrap();
    }
    if !payload.is_empty() {
        b.payload(payload).unwrap();
    }
    let n = b.finish();
    buf.truncate(n);
    buf
}

/// Shortest uint option bytes.
pub fn uint(v: u32) -> Vec<u8> {
    let b = v.to_be_bytes();
    let skip = b.iter().take_while(|&&x| x == 0).count();
    b[skip..].to_vec()
}

pub struct FakeClient {
    pub sock: UdpSocket,
    pub server: SocketAddr,
    next_mid: u16,
    queue: VecDeque<Msg>,
    /// Message IDs of the server requests already handed out: a retransmission of one of them
    /// (the server did not see our ACK in time, e.g. on a loaded machine) is not a new request.
    seen: std::collections::HashSet<u16>,
}

impl FakeClient {
    pub fn new(server: SocketAddr) -> Self {
        Self::bind("127.0.0.1:0", server)
    }

    pub fn bind(local: &str, server: SocketAddr) -> Self {
        let sock = UdpSocket::bind(local).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        FakeClient {
            sock,
            server,
            next_mid: 0x1000,
            queue: VecDeque::new(),
            seen: Default::default(),
        }
    }

    pub fn mid(&mut self) -> u16 {
        self.next_mid = self.next_mid.wrapping_add(1);
        self.next_mid
    }

    pub fn send(&self, bytes: &[u8]) {
        self.sock.send_to(bytes, self.server).unwrap();
    }

    fn recv_raw(&self, until: Instant) -> Option<Msg> {
        let mut buf = [0u8; 4096];
        while Instant::now() < until {
            if let Ok((n, _)) = self.sock.recv_from(&mut buf) {
                return Some(Msg::parse(&buf[..n]));
            }
        }
        None
    }

    /// The next message matching `pred` within `within`; others are queued.
    pub fn recv_where_for(&mut self, within: Duration, pred: impl Fn(&Msg) -> bool) -> Option<Msg> {
        if let Some(i) = self.queue.iter().position(&pred) {
            return self.queue.remove(i);
        }
        let until = Instant::now() + within;
        while let Some(m) = self.recv_raw(until) {
            if pred(&m) {
                return Some(m);
            }
            self.queue.push_back(m);
        }
        None
    }

    pub fn recv_where(&mut self, pred: impl Fn(&Msg) -> bool) -> Msg {
        self.recv_where_for(WAIT, pred)
            .expect("expected message did not arrive in time")
    }

    /// The next request from the server (retransmissions of earlier ones are skipped).
    pub fn recv_request(&mut self) -> Msg {
        loop {
            let m = self.recv_where(|m| code::is_request(m.code));
            if self.seen.insert(m.mid) {
                return m;
            }
        }
    }

    /// Sends a CON request and returns the piggy-backed response.
    pub fn request(&mut self, c: u8, options: &[(u16, Vec<u8>)], payload: &[u8]) -> Msg {
        let mid = self.mid();
        let token = mid.to_be_bytes();
        self.send(&encode(MessageType::Con, c, mid, &token, options, payload));
        self.recv_where(|m| m.mtype == MessageType::Ack && m.mid == mid)
    }

    /// Answers the next `n` requests, which must be DELETEs, with 2.02; returns their paths.
    #[allow(dead_code)] // not every test binary revokes
    pub fn answer_deletes(&mut self, n: usize) -> Vec<String> {
        (0..n)
            .map(|_| {
                let d = self.recv_request();
                assert_eq!(d.code, code::DELETE);
                self.respond(&d, code::DELETED, &[], &[]);
                d.uri_path().join("/")
            })
            .collect()
    }

    /// Answers a request with a piggy-backed ACK.
    pub fn respond(&self, req: &Msg, c: u8, options: &[(u16, Vec<u8>)], payload: &[u8]) {
        self.send(&encode(
            MessageType::Ack,
            c,
            req.mid,
            &req.token,
            options,
            payload,
        ));
    }

    /// Registers; returns the registration ID from Location-Path.
    pub fn register(&mut self, ep: &str, lt: u32, links: &str) -> String {
        let mut opts = vec![(option::URI_PATH, b"rd".to_vec())];
        if !links.is_empty() {
            opts.push((option::CONTENT_FORMAT, uint(40)));
        }
        for q in [
            format!("ep={ep}"),
            format!("lt={lt}"),
            "lwm2m=1.1".into(),
            "b=U".into(),
        ] {
            opts.push((option::URI_QUERY, q.into_bytes()));
        }
        let r = self.request(code::POST, &opts, links.as_bytes());
        assert_eq!(r.code, code::CREATED, "register answered {r:?}");
        let loc = r.strs(option::LOCATION_PATH);
        assert_eq!(loc.len(), 2);
        assert_eq!(loc[0], "rd");
        loc[1].clone()
    }
}

// ---- client-to-client helpers ----

use lwm2m::c2c::access_request::{self, Grant};
use lwm2m::codec::Writer;
use lwm2m::Path;
use lwm2m_server::values::{self, OwnedRecord, OwnedValue};

/// The registration payload of a hosting client with a light, and C2C objects announced.
pub const HOST_LINKS: &str =
    "</1/0>,</3/0>,</3311/0>,</3311/1>,</3303/0>,</11000/0>,</11001/0>,</11002>";
/// A requesting client's registration payload.
pub const REQUESTER_LINKS: &str = "</1/0>,</3/0>,</11000>,</11001>";

/// The CBOR rights map of an access request.
pub fn rights_map(grants: &[(Path, u8)]) -> Vec<u8> {
    let g: Vec<Grant> = grants
        .iter()
        .map(|(path, rights)| Grant {
            path: *path,
            rights: *rights,
        })
        .collect();
    let mut buf = [0u8; 128];
    let mut w = Writer::new(&mut buf);
    access_request::encode(&g, &mut w).unwrap();
    w.window_data().to_vec()
}

/// Options of `POST /ac` with the given query items and Content-Format.
pub fn ac_options(query: &[&str], cf: Option<u32>) -> Vec<(u16, Vec<u8>)> {
    let mut o = vec![(option::URI_PATH, b"ac".to_vec())];
    if let Some(f) = cf {
        o.push((option::CONTENT_FORMAT, uint(f)));
    }
    o.extend(
        query
            .iter()
            .map(|q| (option::URI_QUERY, q.as_bytes().to_vec())),
    );
    o
}

impl FakeClient {
    /// Sends `POST /ac` (CON); returns (message ID, token).
    pub fn send_ac(&mut self, options: &[(u16, Vec<u8>)], payload: &[u8]) -> (u16, Vec<u8>) {
        let mid = self.mid();
        let token = vec![0xac, (mid >> 8) as u8, mid as u8];
        self.send(&encode(
            MessageType::Con,
            code::POST,
            mid,
            &token,
            options,
            payload,
        ));
        (mid, token)
    }

    /// The answer to an access request: the piggy-backed one, or (after an empty ACK) the
    /// separate response, which is ACKed.
    pub fn ac_answer(&mut self, mid: u16, token: &[u8]) -> Msg {
        let ack = self.recv_where(|m| m.mtype == MessageType::Ack && m.mid == mid);
        if ack.code != code::EMPTY {
            return ack;
        }
        self.separate_answer(token)
    }

    /// The separate response with `token`, ACKed.
    pub fn separate_answer(&mut self, token: &[u8]) -> Msg {
        let t = token.to_vec();
        let r = self.recv_where(move |m| {
            code::is_response(m.code) && m.token == t && m.mtype != MessageType::Ack
        });
        if r.mtype == MessageType::Con {
            self.send(&encode(MessageType::Ack, code::EMPTY, r.mid, &[], &[], &[]));
        }
        r
    }

    /// The whole access request with piggy-backed error answer expected.
    pub fn ac_error(&mut self, options: &[(u16, Vec<u8>)], payload: &[u8]) -> Msg {
        let (mid, token) = self.send_ac(options, payload);
        self.ac_answer(mid, &token)
    }
}

/// Decodes a request payload by its Content-Format, relative to its Uri-Path.
pub fn request_records(m: &Msg) -> Vec<OwnedRecord> {
    let f = m.uint(option::CONTENT_FORMAT).expect("content format") as u16;
    let segs: Vec<u16> = m.uri_path().iter().map(|s| s.parse().unwrap()).collect();
    let base = Path::from_ids(&segs).unwrap();
    values::decode(f, &base, &m.payload).expect("payload decodes")
}

/// The value at `path` in `recs`.
pub fn val(recs: &[OwnedRecord], path: Path) -> OwnedValue {
    recs.iter()
        .find(|r| r.path == path)
        .unwrap_or_else(|| panic!("no {path} in {recs:?}"))
        .value
        .clone()
}

/// The instance IDs of `object` among the records.
pub fn instances(recs: &[OwnedRecord], object: u16) -> Vec<u16> {
    let mut v: Vec<u16> = recs
        .iter()
        .filter(|r| r.path.object_id() == Some(object))
        .filter_map(|r| r.path.instance_id())
        .collect();
    v.dedup();
    v
}

/// Opaque bytes of a value.
pub fn opaque(v: OwnedValue) -> Vec<u8> {
    match v {
        OwnedValue::Opaque(b) => b,
        other => panic!("expected opaque, got {other:?}"),
    }
}

/// Integer of a value.
pub fn int(v: OwnedValue) -> i64 {
    match v {
        OwnedValue::Integer(i) => i,
        OwnedValue::Unsigned(u) => u as i64,
        other => panic!("expected integer, got {other:?}"),
    }
}

/// A server with C2C settings, a host `lamp` and a requester `switch` registered.
pub fn c2c_setup(
    policy: &str,
    modify: impl FnOnce(&mut Config),
) -> (ServerHandle, Receiver<Event>, FakeClient, FakeClient) {
    let server = start(|cfg| {
        cfg.c2c.policy = lwm2m_server::Policy::parse(policy).unwrap();
        modify(cfg);
    });
    let events = server.subscribe();
    let mut host = FakeClient::new(server.coap_addr());
    host.register("lamp", 300, HOST_LINKS);
    let mut req = FakeClient::new(server.coap_addr());
    req.register("switch", 300, REQUESTER_LINKS);
    (server, events, host, req)
}

/// Every event received so far (without waiting).
pub fn drain(rx: &Receiver<Event>) -> Vec<Event> {
    rx.try_iter().collect()
}

/// Drives one access request through a composite install: both clients accept. Returns the
/// records the host and the requester received (the requester's are empty without a message).
pub fn authorize(
    host: &mut FakeClient,
    req: &mut FakeClient,
    host_ep: &str,
    grants: &[(Path, u8)],
    credentials: bool,
) -> (Vec<OwnedRecord>, Vec<OwnedRecord>, Msg) {
    let q = format!("ep={host_ep}");
    let mut query = vec![q.as_str()];
    if credentials {
        query.push("c");
    }
    let (mid, token) = req.send_ac(&ac_options(&query, Some(60)), &rights_map(grants));
    let hp = host.recv_request();
    assert_eq!(hp.code, code::IPATCH);
    host.respond(&hp, code::CHANGED, &[], &[]);
    let rp = req.recv_request();
    assert_eq!(rp.code, code::IPATCH);
    req.respond(&rp, code::CHANGED, &[], &[]);
    let answer = req.ac_answer(mid, &token);
    assert_eq!(answer.code, code::CREATED);
    (request_records(&hp), request_records(&rp), answer)
}

/// A blocking HTTP/1.1 request; returns status and raw body.
pub fn http_raw(addr: SocketAddr, method: &str, target: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        s,
        "{method} {target} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status: u16 = resp.split(' ').nth(1).unwrap().parse().unwrap();
    let body = resp.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

/// [`http_raw`] with a JSON body.
pub fn http_json(
    addr: SocketAddr,
    method: &str,
    target: &str,
    body: &str,
) -> (u16, serde_json::Value) {
    let (s, b) = http_raw(addr, method, target, body);
    (s, serde_json::from_str(&b).unwrap())
}
