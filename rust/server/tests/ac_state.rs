//! The C2C state file (`--state`): grants survive a restart (listing, revoking, no ID
//! collisions), a corrupt file stops the start, expired pairs are dropped, and no key material
//! is ever written to it.

mod common;

use std::path::PathBuf;

use common::*;
use lwm2m::c2c::rights;
use lwm2m::coap::code;
use lwm2m::Path;
use lwm2m_server::{Config, Event, Policy, Server, ServerHandle};

const POLICY: &str = "allow host=lamp path=/3311";

fn state_file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ac-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join(name);
    let _ = std::fs::remove_file(&f);
    f
}

fn with_state(policy: &str, file: &std::path::Path) -> impl FnOnce(&mut Config) {
    let (p, f) = (Policy::parse(policy).unwrap(), file.to_owned());
    move |c| {
        c.c2c.policy = p;
        c.c2c.state_file = Some(f);
    }
}

/// A restarted server with `lamp` and `switch` registered again (new sockets).
fn restart(file: &std::path::Path) -> (ServerHandle, FakeClient, FakeClient) {
    let server = start(with_state(POLICY, file));
    let mut host = FakeClient::new(server.coap_addr());
    host.register("lamp", 300, HOST_LINKS);
    let mut req = FakeClient::new(server.coap_addr());
    req.register("switch", 300, REQUESTER_LINKS);
    (server, host, req)
}

/// Text forms a 16-byte key could take in a JSON file.
fn key_forms(key: &[u8]) -> Vec<String> {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let mut b64 = String::new();
    for chunk in key.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |a, (i, x)| a | u32::from(*x) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            b64.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    let list: Vec<String> = key.iter().map(u8::to_string).collect();
    vec![
        hex.clone(),
        hex.to_uppercase(),
        b64,
        list.join(","),
        list.join(", "),
    ]
}

#[test]
fn grants_survive_a_restart_without_id_collisions_or_keys() {
    let file = state_file("restart.json");
    let (server, _events, mut host, mut req) = c2c_setup(POLICY, |c| {
        c.c2c.state_file = Some(file.clone());
    });
    let g = [(Path::instance(3311, 0), rights::READ)];
    let (h, r, _) = authorize(&mut host, &mut req, "lamp", &g, true);
    let sid = int(val(&h, Path::resource(11001, 1, 0)));
    let before = server.grants();
    assert_eq!(before.as_array().unwrap().len(), 1);
    server.shutdown();

    // The file names the grant but holds none of the key material installed.
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("\"/3311/0\""), "{text}");
    let key = opaque(val(&h, Path::resource(11000, 1, 5)));
    assert_eq!(opaque(val(&r, Path::resource(11000, 0, 5))), key);
    for f in key_forms(&key) {
        assert!(
            !text.contains(&f),
            "key form {f} in the state file:\n{text}"
        );
    }

    let (server, mut host, _req) = restart(&file);
    let after = server.grants();
    assert_eq!(after.as_array().unwrap().len(), 1);
    for k in [
        "id",
        "requester",
        "host",
        "path",
        "rights",
        "requester_short_id",
    ] {
        assert_eq!(after[0][k], before[0][k], "{k}");
    }
    // A second requester: its account at the host gets other IDs than the installed one,
    // and its grant another grant ID.
    let mut req2 = FakeClient::new(server.coap_addr());
    req2.register("switch-2", 300, REQUESTER_LINKS);
    let (h2, _, _) = authorize(&mut host, &mut req2, "lamp", &g, true);
    assert_eq!(instances(&h2, 11001), vec![2]);
    assert_eq!(instances(&h2, 11000), vec![2]);
    assert_ne!(int(val(&h2, Path::resource(11001, 2, 0))), sid);
    // It joins the 11002 instance installed before the restart.
    assert_eq!(instances(&h2, 11002), vec![0]);
    let ids: Vec<u64> = server
        .grants()
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![1, 2]);
    server.shutdown();
    let _ = std::fs::remove_file(&file);
}

#[test]
fn a_grant_is_revoked_after_a_restart() {
    let file = state_file("revoke.json");
    let (server, _events, mut host, mut req) = c2c_setup(POLICY, |c| {
        c.c2c.state_file = Some(file.clone());
    });
    let g = [(Path::instance(3311, 0), rights::READ)];
    let (h, _, _) = authorize(&mut host, &mut req, "lamp", &g, true);
    let sid = int(val(&h, Path::resource(11001, 1, 0)));
    let id = server.grants()[0]["id"].as_u64().unwrap();
    server.shutdown();

    let (server, mut host, mut req) = restart(&file);
    let s = server.clone();
    let revoke = std::thread::spawn(move || s.revoke(id));
    assert_eq!(
        host.answer_deletes(3),
        vec!["11002/0", "11001/1", "11000/1"]
    );
    assert_eq!(req.answer_deletes(2), vec!["11001/0", "11000/0"]);
    let report = revoke.join().unwrap().unwrap();
    assert_eq!(report["accounts_removed"], true, "{report}");
    assert_eq!(server.grants().as_array().unwrap().len(), 0);
    server.shutdown();

    // Restarted once more: nothing listed; a new account reuses the freed instance IDs but
    // not the Short Client ID handed out before the first restart.
    let (server, mut host, mut req) = restart(&file);
    assert_eq!(server.grants().as_array().unwrap().len(), 0);
    let (h, _, _) = authorize(&mut host, &mut req, "lamp", &g, true);
    assert_eq!(instances(&h, 11001), vec![1]);
    assert_ne!(int(val(&h, Path::resource(11001, 1, 0))), sid);
    server.shutdown();
    let _ = std::fs::remove_file(&file);
}

#[test]
fn a_corrupt_state_file_stops_the_start() {
    for (name, body) in [
        ("garbage.json", "{not json"),
        ("partial.json", "{\"version\": 1}"),
        (
            "wrong.json",
            "{\"version\":1,\"next_grant\":0,\"books\":{},\"pairs\":[],\"acls\":[],\
             \"grants\":[{\"id\":1}]}",
        ),
    ] {
        let file = state_file(name);
        std::fs::write(&file, body).unwrap();
        let cfg = Config {
            coap_addr: "127.0.0.1:0".into(),
            c2c: lwm2m_server::C2cConfig {
                state_file: Some(file.clone()),
                ..Default::default()
            },
            ..Default::default()
        };
        let err = Server::start(cfg).expect_err("a corrupt state file must stop the start");
        let msg = err.to_string();
        assert!(msg.contains("state file") && msg.contains(name), "{msg}");
        // Not silently reset.
        assert_eq!(std::fs::read_to_string(&file).unwrap(), body);
        let _ = std::fs::remove_file(&file);
    }
}

#[test]
fn expired_grants_are_dropped_and_their_ids_freed() {
    let file = state_file("expiry.json");
    let policy = "allow host=lamp path=/3311 lifetime=1";
    let (server, events, mut host, mut req) = c2c_setup(policy, |c| {
        c.c2c.state_file = Some(file.clone());
    });
    let g = [(Path::instance(3311, 0), rights::READ)];
    let (h, _, _) = authorize(&mut host, &mut req, "lamp", &g, true);
    assert_eq!(int(val(&h, Path::resource(11001, 1, 1))), 1, "lifetime 1 s");
    let id = server.grants()[0]["id"].as_u64().unwrap();
    let ev = wait_event(&events, |e| matches!(e, Event::GrantsExpired { .. }));
    assert_eq!(
        ev,
        Event::GrantsExpired {
            requester: "switch".into(),
            host: "lamp".into(),
            grants: vec![id],
        }
    );
    assert_eq!(ev.to_json()["event"], "grants-expired");
    assert_eq!(server.grants().as_array().unwrap().len(), 0);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved["grants"], serde_json::json!([]));
    assert_eq!(saved["pairs"], serde_json::json!([]));

    // The pair is gone: a renewal without `c` is refused, a new request with `c` reuses the
    // freed account instance IDs and writes into the 11002 instance that still exists.
    let opts = ac_options(&["ep=lamp"], Some(60));
    assert_eq!(req.ac_error(&opts, &rights_map(&g)).code, code::BAD_REQUEST);
    let (h, _, _) = authorize(&mut host, &mut req, "lamp", &g, true);
    assert_eq!(instances(&h, 11001), vec![1]);
    assert_eq!(instances(&h, 11002), vec![0]);
    assert!(
        !h.iter().any(|r| r.path == Path::resource(11002, 0, 0)),
        "11002/0 is written, not created again"
    );
    server.shutdown();
    let _ = std::fs::remove_file(&file);
}
