//! Firmware Update end to end. Push: the project's server writes a manifest-wrapped image to
//! the host client's /5/0/0 with Block1, the client streams it into `--fota-dir` and runs its
//! hook on Update; a corrupted package ends with Update Result 5 and no image. Pull: the
//! server serves the package at `/fw/<id>` and writes that URI to /5/0/1, the client fetches
//! it with Block2 into `--fota-dir` (a 300 KB image, byte for byte); an unknown package ends
//! with Update Result 7, a corrupted one with 5, a `coaps://` URI without a PSK account with 7. Loopback only, every
//! wait bounded. Prints the transfer time and bytes on the wire of a 100 KB push and of the
//! 300 KB pull (figures, not assertions).

use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use lwm2m::coap::code;
use lwm2m::Path as LwPath;
use lwm2m_host::client::{self, wait_for_event, ClientConfig};
use lwm2m_server::{fota, Config, Event, OwnedRecord, OwnedValue, Server, ServerHandle};

const WAIT: Duration = Duration::from_secs(10);

fn wait_registered(rx: &Receiver<Event>) {
    wait_for_event(rx, WAIT, |e| matches!(e, Event::Registered { .. })).expect("registered");
}

fn image(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + i / 997) as u8).collect()
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lwm2m-fota-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn start(
    ep: &str,
    dir: &Path,
    hook: &str,
) -> (ServerHandle, Receiver<Event>, client::ClientHandle) {
    let server = Server::start(Config {
        coap_addr: "127.0.0.1:0".into(),
        request_timeout: Duration::from_secs(8),
        ..Default::default()
    })
    .expect("server starts");
    let events = server.subscribe();
    let mut cfg = ClientConfig::new(ep).server(&format!("coap://{}", server.coap_addr()));
    cfg.seed = Some(5);
    cfg.fota_dir = Some(dir.to_path_buf());
    cfg.fota_hook = Some(hook.into());
    let c = client::spawn(cfg, |_| {}).expect("client starts");
    wait_registered(&events);
    (server, events, c)
}

#[test]
fn push_verify_and_update() {
    let dir = temp_dir("push");
    let marker = dir.join("hook-ran");
    let hook = format!(
        "cmp \"$FOTA_IMAGE\" {0}/firmware.bin && touch {1}",
        dir.display(),
        marker.display()
    );
    let (server, events, c) = start("it-fota", &dir, &hook);
    let img = image(100 * 1024);
    let pkg = fota::package(&img, "app", "1.2.3").unwrap();
    let t0 = Instant::now();
    let r = server
        .fota_push("it-fota", pkg.clone(), 1024)
        .expect("push answered");
    let took = t0.elapsed();
    assert_eq!(r.code, code::CHANGED, "{}", r.to_json());
    assert_eq!(std::fs::read(dir.join("firmware.bin")).unwrap(), img);
    assert!(!dir.join("firmware.part").exists());
    let progress = events
        .try_iter()
        .filter(|e| matches!(e, Event::Block1Progress { .. }))
        .count();
    assert!((9..=10).contains(&progress), "{progress} progress events");
    let blocks = pkg.len().div_ceil(1024);
    // Figure: payload plus CoAP headers of request (~20 B options) and 2.31 / 2.04 (~10 B).
    println!(
        "fota push 100 KB: {} blocks of 1024 B in {:?} on loopback, about {} B on the wire",
        blocks,
        took,
        pkg.len() + blocks * 30
    );
    let st = server.fota_status("it-fota").unwrap();
    assert!(st["state"] == 2 && st["result"] == 0, "{st}");
    assert!(st["name"] == "app" && st["version"] == "1.2.3", "{st}");
    assert_eq!(server.fota_update("it-fota").unwrap().code, code::CHANGED);
    assert!(marker.exists(), "the hook ran on the stored image");
    let st = server.fota_status("it-fota").unwrap();
    assert!(st["state"] == 0 && st["result"] == 1, "{st}");
    c.stop();
    server.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn corrupted_image_is_result_5_and_failing_hook_is_8() {
    let dir = temp_dir("bad");
    let (server, _events, c) = start("it-fota-bad", &dir, "exit 1");
    let mut pkg = fota::package(&image(20 * 1024), "app", "9").unwrap();
    let n = pkg.len();
    pkg[n - 100] ^= 0x40;
    let r = server.fota_push("it-fota-bad", pkg, 512).unwrap();
    assert_eq!(r.code, code::BAD_REQUEST);
    assert!(!dir.join("firmware.bin").exists());
    assert!(!dir.join("firmware.part").exists());
    let st = server.fota_status("it-fota-bad").unwrap();
    assert!(st["state"] == 0 && st["result"] == 5, "{st}");
    // Update in Idle: 4.05.
    assert_eq!(
        server.fota_update("it-fota-bad").unwrap().code,
        code::METHOD_NOT_ALLOWED
    );
    // A good package, then a hook that fails: Update Result 8, the image stays (Downloaded).
    let pkg = fota::package(&image(3000), "app", "9").unwrap();
    assert_eq!(
        server.fota_push("it-fota-bad", pkg, 256).unwrap().code,
        code::CHANGED
    );
    assert_eq!(
        server.fota_update("it-fota-bad").unwrap().code,
        code::CHANGED
    );
    let st = server.fota_status("it-fota-bad").unwrap();
    assert!(st["state"] == 2 && st["result"] == 8, "{st}");
    c.stop();
    server.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A server and a client with `--fota-dir` (no hook), the client's events on a channel.
fn start_pull(
    ep: &str,
    dir: &Path,
) -> (
    ServerHandle,
    Receiver<Event>,
    client::ClientHandle,
    Receiver<client::Event>,
) {
    let server = Server::start(Config {
        coap_addr: "127.0.0.1:0".into(),
        request_timeout: Duration::from_secs(8),
        ..Default::default()
    })
    .expect("server starts");
    let events = server.subscribe();
    let mut cfg = ClientConfig::new(ep).server(&format!("coap://{}", server.coap_addr()));
    cfg.seed = Some(6);
    cfg.fota_dir = Some(dir.to_path_buf());
    let (c, client_events) = client::spawn_with_events(cfg).expect("client starts");
    wait_registered(&events);
    (server, events, c, client_events)
}

/// Waits for the end of the client's pull; its outcome and the progress lines before it.
fn pull_outcome(rx: &Receiver<client::Event>) -> (Result<(), String>, usize, u32) {
    let mut progress = 0;
    let ended = wait_for_event(rx, Duration::from_secs(60), |e| {
        progress += usize::from(matches!(e, client::Event::FotaPullProgress { .. }));
        matches!(e, client::Event::FotaPullEnded { .. })
    });
    match ended {
        Some(client::Event::FotaPullEnded { result, blocks, .. }) => (result, progress, blocks),
        e => panic!("no end of the pull: {e:?}"),
    }
}

#[test]
fn pull_300k_byte_for_byte() {
    let dir = temp_dir("pull");
    let (server, events, c, client_events) = start_pull("it-pull", &dir);
    let st = server.fota_status("it-pull").unwrap();
    assert!(st["state"] == 0, "{st}");
    let img = image(300 * 1024);
    let pkg = fota::package(&img, "app", "3.0").unwrap();
    let t0 = Instant::now();
    let (r, uri) = server
        .fota_pull("it-pull", pkg.clone(), None)
        .expect("URI written");
    assert_eq!(r.code, code::CHANGED, "{}", r.to_json());
    assert_eq!(uri, format!("coap://{}/fw/1", server.coap_addr()));
    let (result, progress, blocks) = pull_outcome(&client_events);
    let took = t0.elapsed();
    assert_eq!(result, Ok(()));
    assert_eq!(std::fs::read(dir.join("firmware.bin")).unwrap(), img);
    assert!(!dir.join("firmware.part").exists());
    assert_eq!(progress, 10, "one client progress line per tenth");
    assert_eq!(
        blocks as usize,
        pkg.len().div_ceil(client::DEFAULT_PULL_BLOCK)
    );
    let served = events
        .try_iter()
        .filter(|e| matches!(e, Event::Block2Progress { .. }))
        .count();
    assert_eq!(served, 10, "one server progress event per tenth");
    let st = server.fota_status("it-pull").unwrap();
    assert!(st["state"] == 2 && st["result"] == 0, "{st}");
    assert!(st["name"] == "app" && st["version"] == "3.0", "{st}");
    assert_eq!(server.fota_update("it-pull").unwrap().code, code::CHANGED);
    let st = server.fota_status("it-pull").unwrap();
    assert!(st["state"] == 0 && st["result"] == 1, "{st}");
    // Figure: each block is one CON GET (~20 B of header and options) and its piggy-backed
    // 2.05 (~12 B of header and options besides the payload); no loss on loopback.
    println!(
        "fota pull 300 KB: {blocks} blocks of {} B in {took:?} on loopback, {} datagrams, \
         about {} B on the wire",
        client::DEFAULT_PULL_BLOCK,
        2 * blocks,
        pkg.len() + blocks as usize * 32
    );
    c.stop();
    server.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

fn write_uri(server: &ServerHandle, ep: &str, uri: &str) -> u8 {
    let path = LwPath::resource(5, 0, 1);
    let rec = OwnedRecord {
        path,
        value: OwnedValue::String(uri.into()),
    };
    let r = server.write(ep, &path, &[rec], None, true).unwrap();
    r.code
}

#[test]
fn pull_unknown_is_7_corrupted_is_5_coaps_without_psk_is_7() {
    let dir = temp_dir("pull-bad");
    let (server, _events, c, client_events) = start_pull("it-pull-bad", &dir);
    // A package the server does not serve: 4.04, Update Result 7.
    let uri = format!("coap://{}/fw/99", server.coap_addr());
    assert_eq!(write_uri(&server, "it-pull-bad", &uri), code::CHANGED);
    let (result, _, _) = pull_outcome(&client_events);
    assert!(result.unwrap_err().contains("4.04"));
    let st = server.fota_status("it-pull-bad").unwrap();
    assert!(st["state"] == 0 && st["result"] == 7, "{st}");
    // A package whose image does not match its manifest's SHA-256: Update Result 5.
    let mut pkg = fota::package(&image(20 * 1024), "app", "9").unwrap();
    let n = pkg.len();
    pkg[n - 100] ^= 0x40;
    server.fota_pull("it-pull-bad", pkg, None).unwrap();
    let (result, _, _) = pull_outcome(&client_events);
    assert!(result.is_err());
    let st = server.fota_status("it-pull-bad").unwrap();
    assert!(st["state"] == 0 && st["result"] == 5, "{st}");
    assert!(!dir.join("firmware.bin").exists() && !dir.join("firmware.part").exists());
    // coaps:// from an address without a PSK server account (this client has none): Update
    // Result 7 at once (tests/fota_secure.rs fetches coaps:// over the account's session).
    let uri = format!("coaps://{}/fw/1", server.coap_addr());
    assert_eq!(write_uri(&server, "it-pull-bad", &uri), code::CHANGED);
    let st = server.fota_status("it-pull-bad").unwrap();
    assert!(st["state"] == 0 && st["result"] == 7, "{st}");
    c.stop();
    server.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}
