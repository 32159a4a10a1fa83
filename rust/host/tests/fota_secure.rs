//! Firmware Update pull over the server account's security, on loopback: a client registered
//! over DTLS-PSK gets a `coaps://` Package URI and fetches every block over its DTLS session
//! (the server sees each block request as `dtls:<identity>`); a client registered over OSCORE
//! fetches a `coap://` URI on the same server with every GET OSCORE-protected (`oscore:<kid>`);
//! both images are stored byte for byte. A `coaps://` URI on an address where the client has no
//! PSK account ends at once with Update Result 7 (Invalid URI) and nothing is sent in clear to it. Every wait
//! bounded.

use std::path::PathBuf;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use lwm2m::coap::code;
use lwm2m::Path as LwPath;
use lwm2m_host::client::{self, wait_for_event, ClientConfig};
use lwm2m_host::oscore::OscoreParams;
use lwm2m_server::secure::{Credentials, PskEntry};
use lwm2m_server::{fota, Config, Event, OwnedRecord, OwnedValue, Server, ServerHandle};
use zeroize::Zeroizing;

const WAIT: Duration = Duration::from_secs(10);
const KEY: [u8; 16] = *b"fedcba9876543210";
const SECRET: &str = "0102030405060708090a0b0c0d0e0f10";

fn server() -> ServerHandle {
    Server::start(Config {
        coap_addr: "127.0.0.1:0".into(),
        coaps_addr: Some("127.0.0.1:0".into()),
        request_timeout: Duration::from_secs(8),
        credentials: Credentials {
            psk: vec![PskEntry {
                endpoint: "fw-dtls".into(),
                identity: b"fw-id".to_vec(),
                key: Zeroizing::new(KEY.to_vec()),
            }],
            oscore: vec![
                Credentials::parse_oscore_client(&format!("fw-oscore,{SECRET},aa,01,02")).unwrap(),
            ],
        },
        ..Default::default()
    })
    .expect("server starts")
}

fn image(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lwm2m-fota-sec-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn client_cfg(base: ClientConfig, dir: &std::path::Path) -> ClientConfig {
    let mut cfg = base;
    cfg.seed = Some(13);
    cfg.lifetime = 120;
    cfg.bind = Some("127.0.0.1:0".parse().unwrap());
    cfg.fota_dir = Some(dir.to_path_buf());
    cfg
}

/// The pull's outcome and the number of blocks the client received.
fn pull_outcome(rx: &Receiver<client::Event>) -> (Result<(), String>, u32) {
    match wait_for_event(rx, Duration::from_secs(60), |e| {
        matches!(e, client::Event::FotaPullEnded { .. })
    }) {
        Some(client::Event::FotaPullEnded { result, blocks, .. }) => (result, blocks),
        e => panic!("no end of the pull: {e:?}"),
    }
}

/// Pulls a 60 KB image to `ep` (registered on `server`); returns the security labels of the
/// server's progress events.
fn pull_and_check(
    server: &ServerHandle,
    events: &Receiver<Event>,
    ep: &str,
    dir: &std::path::Path,
    cev: &Receiver<client::Event>,
    scheme: &str,
) -> Vec<String> {
    let img = image(60 * 1024);
    let pkg = fota::package(&img, "app", "4.1").unwrap();
    let (r, uri) = server
        .fota_pull(ep, pkg.clone(), None)
        .expect("URI written");
    assert_eq!(r.code, code::CHANGED, "{}", r.to_json());
    assert!(uri.starts_with(&format!("{scheme}://")), "{uri}");
    let (result, blocks) = pull_outcome(cev);
    assert_eq!(result, Ok(()));
    assert_eq!(
        blocks as usize,
        pkg.len().div_ceil(client::DEFAULT_PULL_BLOCK)
    );
    assert_eq!(std::fs::read(dir.join("firmware.bin")).unwrap(), img);
    let st = server.fota_status(ep).unwrap();
    assert!(st["state"] == 2 && st["result"] == 0, "{st}");
    events
        .try_iter()
        .filter_map(|e| match e {
            Event::Block2Progress { security, .. } => Some(security),
            _ => None,
        })
        .collect()
}

#[test]
fn pull_over_dtls_session() {
    let dir = temp_dir("dtls");
    let server = server();
    let events = server.subscribe();
    let uri = format!("coaps://{}", server.coaps_addr().expect("coaps"));
    let mut base = ClientConfig::new("fw-dtls").dtls_server(&uri, b"fw-id", &KEY);
    base.servers[0].ssid = 1;
    let (c, cev) = client::spawn_with_events(client_cfg(base, &dir)).expect("client starts");
    wait_for_event(&events, WAIT, |e| matches!(e, Event::Registered { .. })).expect("registered");
    let labels = pull_and_check(&server, &events, "fw-dtls", &dir, &cev, "coaps");
    assert_eq!(labels.len(), 10, "one progress event per tenth: {labels:?}");
    assert!(labels.iter().all(|l| l == "dtls:fw-id"), "{labels:?}");
    // A coaps:// URI where the client has no PSK account (the plain endpoint): Result 7 at
    // once, without a datagram to it.
    let path = LwPath::resource(5, 0, 1);
    let bad = format!("coaps://{}/fw/1", server.coap_addr());
    let rec = OwnedRecord {
        path,
        value: OwnedValue::String(bad),
    };
    // Package URI is writable in Idle only: reset to Idle with an empty URI first.
    let empty = OwnedRecord {
        path,
        value: OwnedValue::String(String::new()),
    };
    let w = server
        .write("fw-dtls", &path, &[empty], None, true)
        .unwrap();
    assert_eq!(w.code, code::CHANGED);
    let w = server.write("fw-dtls", &path, &[rec], None, true).unwrap();
    assert_eq!(w.code, code::CHANGED);
    let (result, blocks) = pull_outcome(&cev);
    let why = result.unwrap_err();
    assert!(why.contains("PSK"), "{why}");
    assert_eq!(blocks, 0);
    let st = server.fota_status("fw-dtls").unwrap();
    assert!(st["state"] == 0 && st["result"] == 7, "{st}");
    c.stop();
    server.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pull_over_oscore() {
    let dir = temp_dir("oscore");
    let server = server();
    let events = server.subscribe();
    let params = OscoreParams::parse(&format!("{SECRET},aa,01,02")).unwrap();
    let base = ClientConfig::new("fw-oscore")
        .oscore_server(&format!("coap://{}", server.coap_addr()), params);
    let (c, cev) = client::spawn_with_events(client_cfg(base, &dir)).expect("client starts");
    wait_for_event(&events, WAIT, |e| matches!(e, Event::Registered { .. })).expect("registered");
    let labels = pull_and_check(&server, &events, "fw-oscore", &dir, &cev, "coap");
    assert_eq!(labels.len(), 10, "one progress event per tenth: {labels:?}");
    assert!(
        labels.iter().all(|l| l.starts_with("oscore:")),
        "{labels:?}"
    );
    c.stop();
    server.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}
