//! `--oscore-seqno-file`: after a server restart its OSCORE sequence numbers continue above
//! every one used before, so the client (which keeps its context and replay window) accepts
//! the server's requests instead of dropping them as replays.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use common::*;
use lwm2m::coap::{code, content_format as cf, option, Message, MessageType};
use lwm2m::Path;
use lwm2m_server::oscore::{Inbound, OscoreParams, OscorePeer, VolatileStore};
use lwm2m_server::secure::{seqno_path, Credentials};
use lwm2m_server::ServerHandle;

const SECRET: &str = "0102030405060708090a0b0c0d0e0f10";

/// A client holding one OSCORE context for the whole test (across server restarts).
struct OscoreClient {
    sock: UdpSocket,
    peer: OscorePeer,
    mid: u16,
}

impl OscoreClient {
    fn recv(&self, until: Instant) -> Option<Vec<u8>> {
        let mut buf = [0u8; 2048];
        while Instant::now() < until {
            if let Ok((n, _)) = self.sock.recv_from(&mut buf) {
                return Some(buf[..n].to_vec());
            }
        }
        None
    }

    /// Registers over OSCORE (answering an Echo challenge if the server asks).
    fn register(&mut self, server: SocketAddr) {
        self.mid += 1;
        let opts = vec![
            (option::URI_PATH, b"rd".to_vec()),
            (option::CONTENT_FORMAT, uint(40)),
            (option::URI_QUERY, b"ep=sec-o".to_vec()),
            (option::URI_QUERY, b"lt=300".to_vec()),
            (option::URI_QUERY, b"lwm2m=1.1".to_vec()),
        ];
        let plain = encode(
            MessageType::Con,
            code::POST,
            self.mid,
            &[0x52, self.mid as u8],
            &opts,
            b"</3/0>",
        );
        let wire = self.peer.protect(&plain).unwrap();
        self.sock.send_to(&wire, server).unwrap();
        let until = Instant::now() + WAIT;
        loop {
            let d = self.recv(until).expect("register answered");
            match self.peer.unprotect(&d) {
                Inbound::Verified { plain, .. } => {
                    let m = Message::parse(&plain).unwrap();
                    assert_eq!(m.code, code::CREATED);
                    return;
                }
                Inbound::Answer(a) => {
                    self.sock.send_to(&a, server).unwrap();
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    /// Answers the next request of the server; returns its Partial IV (sequence number), or
    /// `None` if the client's context dropped it (a replayed sequence number).
    fn serve_one(&mut self, server: SocketAddr) -> Option<u64> {
        let d = self.recv(Instant::now() + WAIT).expect("server request");
        let m = Message::parse(&d).unwrap();
        let o = m.option(option::OSCORE).expect("request is protected");
        let n = usize::from(o.first().copied().unwrap_or(0) & 7);
        let piv = o[1..=n].iter().fold(0u64, |a, &b| a << 8 | u64::from(b));
        let Inbound::Verified { plain, .. } = self.peer.unprotect(&d) else {
            return None;
        };
        let req = Message::parse(&plain).unwrap();
        let resp = encode(
            MessageType::Ack,
            code::CONTENT,
            req.message_id,
            req.token,
            &[(option::CONTENT_FORMAT, uint(u32::from(cf::TEXT)))],
            b"x",
        );
        let wire = self.peer.protect(&resp).unwrap();
        self.sock.send_to(&wire, server).unwrap();
        Some(piv)
    }
}

fn server(base: &std::path::Path) -> ServerHandle {
    let creds = Credentials {
        oscore: vec![
            Credentials::parse_oscore_client(&format!("sec-o,{SECRET},aa,01,02")).unwrap(),
        ],
        ..Default::default()
    };
    let base = base.to_owned();
    start(move |c| {
        c.credentials = creds;
        c.oscore_seqno_file = Some(base);
    })
}

/// Two reads; returns the sequence numbers of the server's requests (`None`: dropped).
fn two_reads(s: &ServerHandle, c: &mut OscoreClient) -> Vec<Option<u64>> {
    let to = s.coap_addr();
    (0..2)
        .map(|_| {
            let h = s.clone();
            let t = std::thread::spawn(move || {
                h.read("sec-o", &Path::resource(3, 0, 0), Some(cf::TEXT))
            });
            let piv = c.serve_one(to);
            let r = t.join().unwrap();
            if piv.is_some() {
                assert_eq!(r.unwrap().payload, b"x");
            }
            piv
        })
        .collect()
}

#[test]
fn server_sequence_numbers_are_never_reused_after_a_restart() {
    let dir = std::env::temp_dir().join(format!("server-seqno-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let base = dir.join("seqno");
    let file = seqno_path(&base, &[0x01]);
    let _ = std::fs::remove_file(&file);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let ctx = OscoreParams::parse(&format!("{SECRET},aa,01,02"))
        .unwrap()
        .context()
        .unwrap();
    let mut c = OscoreClient {
        sock,
        peer: OscorePeer::new(ctx, Box::new(VolatileStore)),
        mid: 0x100,
    };

    let mut seen = Vec::new();
    for round in 0..3 {
        let s = server(&base);
        c.register(s.coap_addr());
        let pivs = two_reads(&s, &mut c);
        assert!(
            pivs.iter().all(Option::is_some),
            "round {round}: the client dropped a server request as a replay: {pivs:?}"
        );
        seen.extend(pivs.into_iter().flatten());
        s.shutdown();
    }
    assert!(file.exists(), "limit file {}", file.display());
    let mut sorted = seen.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted, seen, "strictly increasing across restarts");

    // A corrupt file is an error at start, never a silent reset to 0.
    std::fs::write(&file, "many\n").unwrap();
    let creds = Credentials {
        oscore: vec![
            Credentials::parse_oscore_client(&format!("sec-o,{SECRET},aa,01,02")).unwrap(),
        ],
        ..Default::default()
    };
    let cfg = lwm2m_server::Config {
        coap_addr: "127.0.0.1:0".into(),
        credentials: creds,
        oscore_seqno_file: Some(base.clone()),
        ..Default::default()
    };
    assert!(lwm2m_server::Server::start(cfg).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
