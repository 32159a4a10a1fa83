//! Firmware Update push end to end: the project's server writes a manifest-wrapped image to
//! the host client's /5/0/0 with Block1, the client streams it into `--fota-dir` and runs its
//! hook on Update; a corrupted package ends with Update Result 5 and no image. Loopback only,
//! every wait bounded. Prints the transfer time and bytes on the wire of a 100 KB image (a
//! figure, not an assertion).

use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use lwm2m::coap::code;
use lwm2m_host::client::{self, wait_for_event, ClientConfig};
use lwm2m_server::{fota, Config, Event, Server, ServerHandle};

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
