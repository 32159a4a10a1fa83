//! The host client against the project's server over DTLS-PSK and over OSCORE, on loopback:
//! register, read, write, observe, de-register; and the negative cases (wrong PSK, unknown
//! identity, tampered ciphertext, replayed OSCORE request, unknown kid, NoSec impostors), each
//! asserting that nothing is answered in clear and no state changes. Every wait is bounded.

use std::net::{SocketAddr, UdpSocket};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lwm2m::coap::{code, content_format as cf, option, Message, MessageBuilder, MessageType};
use lwm2m::Path;
use lwm2m_host::client::{self, wait_for_event, ClientConfig, ClientHandle};
use lwm2m_host::oscore::{OscoreParams, OscorePeer, VolatileStore};
use lwm2m_server::secure::{Credentials, PskEntry};
use lwm2m_server::{bootstrap, Config, Event, OwnedRecord, OwnedValue, Server, ServerHandle};
use zeroize::Zeroizing;

const WAIT: Duration = Duration::from_secs(10);
const KEY: [u8; 16] = *b"0123456789abcdef";
const KEY_HEX: &str = "30313233343536373839616263646566";
const SECRET: &str = "0102030405060708090a0b0c0d0e0f10";

fn wait_server(rx: &Receiver<Event>, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
    let end = Instant::now() + WAIT;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(e) if pred(&e) => return e,
            Ok(_) => {}
            Err(_) => panic!("server event {what} did not arrive within {WAIT:?}"),
        }
    }
}

fn credentials() -> Credentials {
    Credentials {
        psk: vec![PskEntry {
            endpoint: "sec-dtls".into(),
            identity: b"dtls-id".to_vec(),
            key: Zeroizing::new(KEY.to_vec()),
        }],
        oscore: vec![
            Credentials::parse_oscore_client(&format!("sec-oscore,{SECRET},aa,01,02")).unwrap(),
        ],
    }
}

fn server() -> ServerHandle {
    Server::start(Config {
        coap_addr: "127.0.0.1:0".into(),
        coaps_addr: Some("127.0.0.1:0".into()),
        request_timeout: Duration::from_secs(5),
        credentials: credentials(),
        ..Default::default()
    })
    .expect("server starts")
}

/// Everything the client reported, as text (to check no key material shows).
type Log = Arc<Mutex<Vec<String>>>;

fn start_client(cfg: ClientConfig) -> (ClientHandle, Receiver<client::Event>, Log) {
    let log = Log::default();
    let l = log.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let h = client::spawn(cfg, move |e| {
        if let Ok(mut l) = l.lock() {
            l.push(format!("{e} {e:?}"));
        }
        let _ = tx.send(e.clone());
    })
    .expect("client starts");
    (h, rx, log)
}

fn base(ep: &str) -> ClientConfig {
    let mut cfg = ClientConfig::new(ep);
    cfg.temperatures = 1;
    cfg.lights = 1;
    cfg.lifetime = 120;
    cfg.seed = Some(11);
    cfg.bind = Some("127.0.0.1:0".parse().unwrap());
    cfg
}

fn dtls_client(s: &ServerHandle, ep: &str, id: &[u8], key: &[u8]) -> ClientConfig {
    let uri = format!("coaps://{}", s.coaps_addr().expect("coaps"));
    let mut c = base(ep).dtls_server(&uri, id, key);
    c.servers[0].ssid = 1;
    c
}

fn oscore_params(sid: &str, rid: &str) -> OscoreParams {
    OscoreParams::parse(&format!("{SECRET},aa,{sid},{rid}")).unwrap()
}

fn oscore_client(s: &ServerHandle, ep: &str, params: OscoreParams) -> ClientConfig {
    base(ep).oscore_server(&format!("coap://{}", s.coap_addr()), params)
}

/// Register, read, write, observe (one notification), de-register.
fn full_scenario(s: &ServerHandle, events: &Receiver<Event>, c: ClientHandle, ep: &str) {
    let reg = s.client(ep).expect("registered");
    let on = Path::resource(3311, 0, 5850);
    let r = s
        .read(ep, &Path::instance(3, 0), Some(cf::SENML_CBOR))
        .unwrap();
    assert_eq!(r.code, code::CONTENT);
    let rec = OwnedRecord {
        path: on,
        value: OwnedValue::Boolean(true),
    };
    let w = s
        .write(ep, &on, &[rec], Some(cf::SENML_CBOR), true)
        .unwrap();
    assert_eq!(w.code, code::CHANGED);
    assert_eq!(s.read(ep, &on, Some(cf::TEXT)).unwrap().payload, b"1");
    let temp = Path::resource(3303, 0, 5700);
    let o = s.observe(ep, &temp, Some(cf::TEXT)).unwrap();
    assert_eq!(o.code, code::CONTENT);
    // Notification numbers increase (over OSCORE they travel in the outer Observe option).
    let mut last = o.observe.expect("observation established");
    for v in [42.5, 43.5] {
        c.set_value(temp, client::OwnedValue::Float(v)).unwrap();
        let want = v.to_string();
        let n = wait_server(events, "notification", |e| {
            matches!(e, Event::Notification { endpoint, response, .. }
                if endpoint == ep && response.payload == want.as_bytes())
        });
        let Event::Notification { response, .. } = n else {
            unreachable!()
        };
        let obs = response.observe.expect("notification without Observe");
        assert!(obs > last, "{obs} after {last}");
        last = obs;
    }
    c.stop();
    wait_server(
        events,
        "deregistered",
        |e| matches!(e, Event::Deregistered { registration } if registration.endpoint == ep),
    );
    assert!(s.client(ep).is_none());
    let _ = reg;
}

fn assert_no_key(log: &Log) {
    let text = log.lock().unwrap().join("\n");
    for needle in [KEY_HEX, "0123456789abcdef", SECRET, "[48, 49, 50, 51"] {
        assert!(!text.contains(needle), "key material in the client log");
    }
}

#[test]
fn dtls_register_read_write_observe_deregister() {
    let s = server();
    let events = s.subscribe();
    let (c, cev, log) = start_client(dtls_client(&s, "sec-dtls", b"dtls-id", &KEY));
    let e = wait_server(&events, "registered", |e| {
        matches!(e, Event::Registered { .. })
    });
    assert!(wait_for_event(&cev, WAIT, |e| matches!(
        e,
        client::Event::Registered { .. }
    ))
    .is_some());
    let reg = s.client("sec-dtls").unwrap();
    assert_eq!(reg.to_json(Instant::now())["security"], "dtls:dtls-id");
    let ev_text = e.to_json().to_string();
    assert!(!ev_text.contains(KEY_HEX));
    full_scenario(&s, &events, c, "sec-dtls");
    assert_no_key(&log);
    s.shutdown();
}

#[test]
fn oscore_register_read_write_observe_deregister() {
    let s = server();
    let events = s.subscribe();
    let (c, cev, log) = start_client(oscore_client(&s, "sec-oscore", oscore_params("01", "02")));
    wait_server(&events, "registered", |e| {
        matches!(e, Event::Registered { .. })
    });
    assert!(wait_for_event(&cev, WAIT, |e| matches!(
        e,
        client::Event::Registered { .. }
    ))
    .is_some());
    let reg = s.client("sec-oscore").unwrap();
    assert_eq!(reg.to_json(Instant::now())["security"], "oscore:01");
    // `--oscore` became an OSCORE (21) instance that the account's Security res 17 links.
    let inst = client::server_oscore_instance(0);
    let (link, ids) = c
        .with_engine(move |e, _| {
            let link = e.security().by_ssid(1).and_then(|s| s.oscore);
            let ids = e
                .oscore()
                .instances
                .get(inst)
                .map(|o| (o.sender_id.to_vec(), o.recipient_id.to_vec()));
            (link, ids)
        })
        .unwrap();
    assert_eq!(link, Some((21, inst)));
    assert_eq!(ids, Some((vec![1], vec![2])));
    full_scenario(&s, &events, c, "sec-oscore");
    assert_no_key(&log);
    s.shutdown();
}

/// Wrong key, unknown identity, an identity bound to another endpoint: no registration, and
/// the client reports failures without any key bytes.
#[test]
fn dtls_wrong_key_and_unknown_identity_register_nothing() {
    let s = server();
    let mut logs = Vec::new();
    for (ep, id, key) in [
        ("sec-dtls", &b"dtls-id"[..], &b"fedcba9876543210"[..]),
        ("sec-dtls", b"stranger", &KEY[..]),
    ] {
        let mut cfg = dtls_client(&s, ep, id, key);
        cfg.tx.ack_timeout = Duration::from_millis(200);
        let (c, _cev, log) = start_client(cfg);
        std::thread::sleep(Duration::from_millis(1500));
        assert!(
            s.clients().is_empty(),
            "{ep} registered with bad credentials"
        );
        c.stop();
        logs.push(log);
    }
    for l in &logs {
        assert_no_key(l);
    }
    s.shutdown();
}

/// A NoSec client cannot register (or replace the registration of) an endpoint that has
/// credentials, and a secure registration is not updated or removed from the clear channel.
#[test]
fn nosec_impostor_is_refused() {
    let s = server();
    let events = s.subscribe();
    let (c, _cev, _) = start_client(dtls_client(&s, "sec-dtls", b"dtls-id", &KEY));
    wait_server(&events, "registered", |e| {
        matches!(e, Event::Registered { .. })
    });
    let reg = s.client("sec-dtls").unwrap();

    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut buf = [0u8; 256];
    for (c_, path, query) in [
        (code::POST, vec!["rd"], vec!["ep=sec-dtls", "lt=60"]),
        (code::POST, vec!["rd", reg.id.as_str()], vec!["lt=5"]),
        (code::DELETE, vec!["rd", reg.id.as_str()], vec![]),
    ] {
        let mut b = MessageBuilder::new(&mut buf, MessageType::Con, c_, 77, &[9]).unwrap();
        for p in &path {
            b.option(option::URI_PATH, p.as_bytes()).unwrap();
        }
        for q in &query {
            b.option(option::URI_QUERY, q.as_bytes()).unwrap();
        }
        let n = b.finish();
        sock.send_to(&buf[..n], s.coap_addr()).unwrap();
        let mut rx = [0u8; 256];
        let (m, _) = sock.recv_from(&mut rx).expect("an answer");
        assert_eq!(Message::parse(&rx[..m]).unwrap().code, code::FORBIDDEN);
    }
    let after = s.client("sec-dtls").unwrap();
    assert_eq!((after.id, after.lifetime), (reg.id, reg.lifetime));
    c.stop();
    s.shutdown();
}

/// Sends `datagram` to `to` from a fresh socket; returns whatever comes back within `wait`.
fn probe(to: SocketAddr, datagram: &[u8], wait: Duration) -> Option<Vec<u8>> {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(wait)).unwrap();
    sock.send_to(datagram, to).unwrap();
    let mut b = [0u8; 512];
    sock.recv_from(&mut b).ok().map(|(n, _)| b[..n].to_vec())
}

fn register_request(ep: &str) -> Vec<u8> {
    let mut buf = [0u8; 128];
    let mut b = MessageBuilder::new(&mut buf, MessageType::Con, code::POST, 5, &[1, 2]).unwrap();
    b.option(option::URI_PATH, b"rd").unwrap();
    b.option(option::URI_QUERY, format!("ep={ep}").as_bytes())
        .unwrap();
    let n = b.finish();
    buf[..n].to_vec()
}

/// OSCORE: a tampered request, a replayed one and one under an unknown kid get no answer at
/// all (in clear or not) and register nothing; the genuine one registers.
#[test]
fn oscore_tampered_replayed_and_unknown_kid_are_dropped() {
    let s = server();
    let to = s.coap_addr();
    let mut good = OscorePeer::new(
        oscore_params("01", "02").context().unwrap(),
        Box::new(VolatileStore),
    );
    let wire = good.protect(&register_request("sec-oscore")).unwrap();
    let mut tampered = wire.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x40;
    let short = Duration::from_millis(700);
    assert_eq!(probe(to, &tampered, short), None, "tampered answered");
    assert!(s.clients().is_empty());

    let mut stranger = OscorePeer::new(
        oscore_params("07", "02").context().unwrap(),
        Box::new(VolatileStore),
    );
    let w = stranger.protect(&register_request("sec-oscore")).unwrap();
    assert_eq!(probe(to, &w, short), None, "unknown kid answered");
    assert!(s.clients().is_empty());

    let answer = probe(to, &wire, WAIT).expect("genuine request answered");
    let m = Message::parse(&answer).unwrap();
    assert!(m.option(option::OSCORE).is_some(), "answer is protected");
    assert_eq!(s.clients().len(), 1);
    let id = s.clients()[0].id.clone();
    // Replay from another address (the server's dedup is per address): dropped.
    assert_eq!(probe(to, &wire, short), None, "replay answered");
    assert_eq!(s.clients().len(), 1);
    assert_eq!(s.clients()[0].id, id, "replay changed nothing");
    s.shutdown();
}

/// DTLS: a record with a flipped ciphertext bit is dropped and the session goes on.
#[test]
fn dtls_tampered_record_is_dropped() {
    use lwm2m_dtls::{Config as DConfig, DtlsEndpoint, Event as DEvent, Key, PskStore, Role};
    struct Store;
    impl PskStore for Store {
        fn client_credentials(&self, _: SocketAddr) -> Option<(Vec<u8>, Key)> {
            Some((b"dtls-id".to_vec(), Key::new(&KEY).ok()?))
        }
    }
    let s = server();
    let to = s.coaps_addr().unwrap();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut ep = DtlsEndpoint::new(Role::Client, Store, DConfig::default()).unwrap();
    ep.connect(to).unwrap();
    let end = Instant::now() + WAIT;
    let mut buf = [0u8; 2048];
    let mut connected = false;
    while !connected && Instant::now() < end {
        while let Some(t) = ep.poll_transmit() {
            sock.send_to(&t.bytes, t.peer).unwrap();
        }
        if let Ok((n, from)) = sock.recv_from(&mut buf) {
            connected |= ep
                .handle_datagram(from, &buf[..n])
                .iter()
                .any(|e| matches!(e, DEvent::Connected { .. }));
        }
    }
    assert!(connected, "handshake");
    while let Some(t) = ep.poll_transmit() {
        sock.send_to(&t.bytes, t.peer).unwrap();
    }
    ep.send(to, &register_request("sec-dtls")).unwrap();
    let mut rec = ep.poll_transmit().unwrap().bytes;
    let last = rec.len() - 1;
    rec[last] ^= 1;
    sock.send_to(&rec, to).unwrap();
    assert!(
        sock.recv_from(&mut buf).is_err(),
        "tampered record answered"
    );
    assert!(s.clients().is_empty());
    s.shutdown();
}

/// OSCORE client restart with a persisted sequence-number file: the client resumes above
/// every used number; the server (whose window is known) accepts it at once, and the client
/// (whose window is unknown) recovers its window with an Echo exchange on the first request
/// from the server.
#[test]
fn oscore_client_restart_recovers_with_echo() {
    let dir = std::env::temp_dir().join(format!("oscore-restart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("seqno");
    let _ = std::fs::remove_file(&file);
    let s = server();
    let events = s.subscribe();
    for round in 0..2 {
        let mut cfg = oscore_client(&s, "sec-oscore", oscore_params("01", "02"));
        cfg.oscore_seqno_file = Some(file.clone());
        let (c, _cev, _) = start_client(cfg);
        wait_server(&events, "registered", |e| {
            matches!(e, Event::Registered { .. })
        });
        let r = s
            .read("sec-oscore", &Path::resource(3, 0, 2), Some(cf::TEXT))
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!((round, r.payload.as_slice()), (round, &b"sec-oscore"[..]));
        c.stop();
        wait_server(&events, "deregistered", |e| {
            matches!(e, Event::Deregistered { .. })
        });
        assert!(file.exists(), "seqno persisted");
    }
    let _ = std::fs::remove_dir_all(&dir);
    s.shutdown();
}

/// A bootstrap server provisions the DM account with OSCORE (an OSCORE instance and the
/// Security instance's res 17 link); the client then registers over OSCORE, which the DM
/// server demands of this endpoint, and is served over it.
#[test]
fn bootstrap_provisions_oscore_then_register_over_oscore() {
    let ep = "bs-oscore";
    let dm = Server::start(Config {
        coap_addr: "127.0.0.1:0".into(),
        request_timeout: Duration::from_secs(5),
        credentials: Credentials {
            psk: Vec::new(),
            oscore: vec![
                Credentials::parse_oscore_client(&format!("{ep},{SECRET},aa,03,04")).unwrap(),
            ],
        },
        ..Default::default()
    })
    .expect("DM server starts");
    let dm_events = dm.subscribe();
    let spec = format!(
        "{ep},coap://{},ssid=7,oscore={SECRET}:aa:03:04,oscore-instance=40000",
        dm.coap_addr()
    );
    let (bs_ep, bs_cfg) = bootstrap::parse_spec(&spec).unwrap();
    let bs = Server::start(Config {
        coap_addr: "127.0.0.1:0".into(),
        request_timeout: Duration::from_secs(5),
        bootstrap: [(bs_ep, bs_cfg)].into_iter().collect(),
        ..Default::default()
    })
    .expect("bootstrap server starts");
    let bs_events = bs.subscribe();
    let mut cfg = base(ep);
    cfg.bootstrap = Some(format!("coap://{}", bs.coap_addr()));
    let (c, _cev, log) = start_client(cfg);
    wait_server(
        &bs_events,
        "write-oscore",
        |e| matches!(e, Event::Bootstrap { step, .. } if step == "write-oscore"),
    );
    wait_server(
        &dm_events,
        "registered",
        |e| matches!(e, Event::Registered { registration, .. } if registration.endpoint == ep),
    );
    let reg = dm.client(ep).expect("registered");
    assert_eq!(reg.to_json(Instant::now())["security"], "oscore:03");
    let r = dm
        .read(ep, &Path::resource(3, 0, 2), Some(cf::TEXT))
        .unwrap();
    assert_eq!(r.payload, ep.as_bytes());
    let link = c
        .with_engine(|e, _| e.security().by_ssid(7).and_then(|s| s.oscore))
        .unwrap();
    assert_eq!(link, Some((21, 40000)));
    c.stop();
    wait_server(&dm_events, "deregistered", |e| {
        matches!(e, Event::Deregistered { .. })
    });
    assert_no_key(&log);
    bs.shutdown();
    dm.shutdown();
}
