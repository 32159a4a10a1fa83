//! Credentials: fresh per pair, never in events, HTTP output or CoAP answers; Short Client IDs
//! unique per host.

mod common;

use common::*;
use lwm2m::c2c::rights;
use lwm2m::coap::code;
use lwm2m::Path;

const POLICY: &str = "allow host=lamp path=/3311 rights=read";

fn base64(b: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |a, (i, x)| a | u32::from(*x) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
        if pad {
            out.push_str(&"=".repeat(3 - chunk.len()));
        }
    }
    out
}

/// Every text form a key could take in a log or a JSON document.
fn forms(key: &[u8]) -> Vec<String> {
    const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let debug = format!("{key:?}");
    vec![
        hex.clone(),
        hex.to_uppercase(),
        key.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":"),
        base64(key, STD, true),
        base64(key, STD, false),
        base64(key, URL, false),
        // Debug of a byte slice / array, and without the brackets.
        debug.clone(),
        debug.trim_matches(|c| c == '[' || c == ']').to_owned(),
    ]
}

#[test]
fn credentials_are_fresh_and_never_leak() {
    let (server, events, mut host, mut req) = c2c_setup(POLICY, |c| {
        c.http_addr = Some("127.0.0.1:0".into());
    });
    let api = server.http_addr().unwrap();
    let mut req2 = FakeClient::new(server.coap_addr());
    req2.register("switch-2", 300, REQUESTER_LINKS);
    let g = [(Path::instance(3311, 0), rights::READ)];
    let (h1, r1, a1) = authorize(&mut host, &mut req, "lamp", &g, true);
    let (h2, r2, a2) = authorize(&mut host, &mut req2, "lamp", &g, true);

    let sid1 = int(val(&h1, Path::resource(11001, 1, 0)));
    let sid2 = int(val(&h2, Path::resource(11001, 2, 0)));
    assert_ne!(sid1, sid2, "Short Client IDs are unique on one host");
    // Each requester has its own namespace: the host is 1 at both.
    assert_eq!(int(val(&r1, Path::resource(11001, 0, 0))), 1);
    assert_eq!(int(val(&r2, Path::resource(11001, 0, 0))), 1);
    // The second requester joins the 11002 instance of the first.
    assert_eq!(instances(&h2, 11002), vec![0]);
    assert_eq!(
        int(val(&h2, Path::resource_instance(11002, 0, 2, sid2 as u16))),
        1
    );
    assert_eq!(
        h2.iter()
            .filter(|r| r.path.object_id() == Some(11002))
            .count(),
        1
    );

    let key1 = opaque(val(&h1, Path::resource(11000, 1, 5)));
    let key2 = opaque(val(&h2, Path::resource(11000, 2, 5)));
    let id1 = opaque(val(&h1, Path::resource(11000, 1, 3)));
    let id2 = opaque(val(&h2, Path::resource(11000, 2, 3)));
    assert_ne!(key1, key2, "fresh key per pair");
    assert_ne!(id1, id2, "fresh identity per pair");
    assert_ne!(key1, [0u8; 16]);
    assert_eq!(opaque(val(&r1, Path::resource(11000, 0, 5))), key1);
    assert_eq!(opaque(val(&r2, Path::resource(11000, 0, 5))), key2);

    // Everything the operator or a log could see.
    let mut texts: Vec<String> = Vec::new();
    for path in [
        "/api/grants",
        "/api/clients",
        "/api/clients/lamp",
        "/api/policy",
        "/api/relays",
    ] {
        texts.push(http_raw(api, "GET", path, "").1);
    }
    // Revoking the first pair's grant: the shared 11002 instance keeps the second requester.
    let revoke = std::thread::spawn(move || http_raw(api, "DELETE", "/api/grants/1", ""));
    let acl = host.recv_request();
    assert_eq!(acl.code, code::PUT);
    assert_eq!(acl.uri_path(), vec!["11002", "0", "2"]);
    let rest = request_records(&acl);
    assert_eq!(rest.len(), 1);
    assert_eq!(
        rest[0].path,
        Path::resource_instance(11002, 0, 2, sid2 as u16)
    );
    host.respond(&acl, code::CHANGED, &[], &[]);
    for (c, n) in [(&mut host, 2), (&mut req, 2)] {
        for _ in 0..n {
            let d = c.recv_request();
            assert_eq!(d.code, code::DELETE);
            c.respond(&d, code::DELETED, &[], &[]);
        }
    }
    let (status, report) = revoke.join().unwrap();
    assert_eq!(status, 200, "{report}");
    texts.push(report);
    for a in [&a1, &a2] {
        texts.push(format!("{a:?}"));
    }
    let evs = drain(&events);
    assert!(evs.len() >= 6);
    for e in &evs {
        texts.push(e.to_json().to_string());
        texts.push(format!("{e:?}"));
    }
    for key in [&key1, &key2] {
        for f in forms(key) {
            for t in &texts {
                assert!(!t.contains(&f), "key form {f} leaked in {t}");
            }
        }
    }
    server.shutdown();
}
