//! Registration and bootstrap interfaces against a fake client on loopback.

mod common;

use common::*;
use lwm2m::coap::{code, content_format as cf, option, MessageType};
use lwm2m::Path;
use lwm2m_server::bootstrap::BootstrapConfig;
use lwm2m_server::{values, Event, OwnedValue};

#[test]
fn register_update_deregister() {
    let server = start(|_| {});
    let events = server.subscribe();
    let mut c = FakeClient::new(server.coap_addr());

    let id = c.register("node-1", 300, "</1/0>,</3/0>,</3303/0>;ver=1.1");
    let ev = wait_event(&events, |e| matches!(e, Event::Registered { .. }));
    let Event::Registered { registration, .. } = ev else {
        unreachable!()
    };
    assert_eq!(registration.endpoint, "node-1");
    assert_eq!(registration.id, id);
    assert_eq!(registration.lifetime, 300);
    assert_eq!(registration.version, "1.1");
    assert_eq!(registration.addr, c.sock.local_addr().unwrap());
    let objects: Vec<(u16, Option<&str>, &[u16])> = registration
        .links
        .objects
        .iter()
        .map(|o| (o.object, o.version.as_deref(), o.instances.as_slice()))
        .collect();
    assert_eq!(
        objects,
        [
            (1, None, &[0][..]),
            (3, None, &[0][..]),
            (3303, Some("1.1"), &[0][..])
        ]
    );
    let clients = server.clients();
    assert_eq!(clients.len(), 1);
    assert_eq!(clients[0].endpoint, "node-1");

    // Update with a new lifetime.
    let r = c.request(
        code::POST,
        &[
            (option::URI_PATH, b"rd".to_vec()),
            (option::URI_PATH, id.clone().into_bytes()),
            (option::URI_QUERY, b"lt=600".to_vec()),
        ],
        b"",
    );
    assert_eq!(r.code, code::CHANGED);
    let ev = wait_event(&events, |e| matches!(e, Event::Updated { .. }));
    assert!(matches!(ev, Event::Updated { registration } if registration.lifetime == 600));

    // Unknown registration ID.
    let r = c.request(
        code::POST,
        &[
            (option::URI_PATH, b"rd".to_vec()),
            (option::URI_PATH, b"nope".to_vec()),
        ],
        b"",
    );
    assert_eq!(r.code, code::NOT_FOUND);

    // De-register.
    let r = c.request(
        code::DELETE,
        &[
            (option::URI_PATH, b"rd".to_vec()),
            (option::URI_PATH, id.clone().into_bytes()),
        ],
        b"",
    );
    assert_eq!(r.code, code::DELETED);
    wait_event(&events, |e| matches!(e, Event::Deregistered { .. }));
    assert!(server.clients().is_empty());
    let r = c.request(
        code::DELETE,
        &[
            (option::URI_PATH, b"rd".to_vec()),
            (option::URI_PATH, id.into_bytes()),
        ],
        b"",
    );
    assert_eq!(r.code, code::NOT_FOUND);
    server.shutdown();
}

#[test]
fn register_rejects_missing_endpoint_and_bad_lifetime() {
    let server = start(|_| {});
    let mut c = FakeClient::new(server.coap_addr());
    for q in [&["lt=60"][..], &["ep=x", "lt=abc"]] {
        let mut opts = vec![(option::URI_PATH, b"rd".to_vec())];
        opts.extend(q.iter().map(|s| (option::URI_QUERY, s.as_bytes().to_vec())));
        assert_eq!(c.request(code::POST, &opts, b"").code, code::BAD_REQUEST);
    }
    assert!(server.clients().is_empty());
    // Unknown resources, and /ac from an address of no registration.
    let r = c.request(code::GET, &[(option::URI_PATH, b"nothing".to_vec())], b"");
    assert_eq!(r.code, code::NOT_FOUND);
    let r = c.request(code::POST, &[(option::URI_PATH, b"ac".to_vec())], b"x");
    assert_eq!(r.code, code::UNAUTHORIZED);
    server.shutdown();
}

#[test]
fn reregistration_replaces_old_one() {
    let server = start(|_| {});
    let events = server.subscribe();
    let mut c = FakeClient::new(server.coap_addr());
    let first = c.register("n", 300, "");
    let second = c.register("n", 300, "");
    assert_ne!(first, second);
    let ev = wait_event(&events, |e| {
        matches!(
            e,
            Event::Registered {
                replaced: Some(_),
                ..
            }
        )
    });
    assert!(matches!(ev, Event::Registered { replaced: Some(r), .. } if r == first));
    assert_eq!(server.clients().len(), 1);
    assert_eq!(server.client("n").unwrap().id, second);
    server.shutdown();
}

#[test]
fn lifetime_expiry_removes_registration() {
    let server = start(|_| {});
    let events = server.subscribe();
    let mut c = FakeClient::new(server.coap_addr());
    c.register("short", 1, "");
    let ev = wait_event(&events, |e| matches!(e, Event::Expired { .. }));
    assert_eq!(ev.endpoint(), "short");
    assert!(server.client("short").is_none());
    server.shutdown();
}

#[test]
fn duplicate_register_is_answered_once() {
    let server = start(|_| {});
    let events = server.subscribe();
    let mut c = FakeClient::new(server.coap_addr());
    let mid = c.mid();
    let req = encode(
        MessageType::Con,
        code::POST,
        mid,
        &[7],
        &[
            (option::URI_PATH, b"rd".to_vec()),
            (option::URI_QUERY, b"ep=dup".to_vec()),
        ],
        b"",
    );
    c.send(&req);
    let a = c.recv_where(|m| m.mtype == MessageType::Ack && m.mid == mid);
    c.send(&req);
    let b = c.recv_where(|m| m.mtype == MessageType::Ack && m.mid == mid);
    assert_eq!(a, b, "the retransmission gets the stored response");
    wait_event(&events, |e| matches!(e, Event::Registered { .. }));
    // No second registration event follows the duplicate.
    let more = events.recv_timeout(std::time::Duration::from_millis(300));
    assert!(!matches!(more, Ok(Event::Registered { .. })));
    assert_eq!(server.clients().len(), 1);
    server.shutdown();
}

#[test]
fn coap_ping_gets_reset() {
    let server = start(|_| {});
    let mut c = FakeClient::new(server.coap_addr());
    let mid = c.mid();
    c.send(&encode(MessageType::Con, code::EMPTY, mid, &[], &[], b""));
    let r = c.recv_where(|m| m.mid == mid);
    assert_eq!(r.mtype, MessageType::Rst);
    server.shutdown();
}

#[test]
fn bootstrap_sequence() {
    let server = start(|cfg| {
        cfg.bootstrap.insert(
            "*".into(),
            BootstrapConfig {
                server_uri: "coap://127.0.0.1:5683".into(),
                short_server_id: 5,
                lifetime: 120,
                discover: true,
                ..Default::default()
            },
        );
    });
    let events = server.subscribe();
    let mut c = FakeClient::new(server.coap_addr());
    let r = c.request(
        code::POST,
        &[
            (option::URI_PATH, b"bs".to_vec()),
            (option::URI_QUERY, b"ep=boot-me".to_vec()),
        ],
        b"",
    );
    assert_eq!(r.code, code::CHANGED);

    let del = c.recv_request();
    assert_eq!((del.code, del.uri_path()), (code::DELETE, vec![]));
    c.respond(&del, code::DELETED, &[], b"");

    let sec = c.recv_request();
    assert_eq!(sec.code, code::PUT);
    assert_eq!(sec.uri_path(), vec!["0", "1"]);
    assert_eq!(
        sec.uint(option::CONTENT_FORMAT),
        Some(u32::from(cf::LWM2M_TLV))
    );
    let recs = values::decode(cf::LWM2M_TLV, &Path::instance(0, 1), &sec.payload).unwrap();
    let uri = recs
        .iter()
        .find(|r| r.path == Path::resource(0, 1, 0))
        .unwrap();
    assert_eq!(
        uri.value,
        OwnedValue::String("coap://127.0.0.1:5683".into())
    );
    let ssid = recs
        .iter()
        .find(|r| r.path == Path::resource(0, 1, 10))
        .unwrap();
    assert_eq!(ssid.value, OwnedValue::Integer(5));
    c.respond(&sec, code::CHANGED, &[], b"");

    let srv = c.recv_request();
    assert_eq!(
        (srv.code, srv.uri_path()),
        (code::PUT, vec!["1".to_string(), "0".to_string()])
    );
    let recs = values::decode(cf::LWM2M_TLV, &Path::instance(1, 0), &srv.payload).unwrap();
    let lt = recs
        .iter()
        .find(|r| r.path == Path::resource(1, 0, 1))
        .unwrap();
    assert_eq!(lt.value, OwnedValue::Integer(120));
    c.respond(&srv, code::CHANGED, &[], b"");

    let disc = c.recv_request();
    assert_eq!(
        (disc.code, disc.uint(option::ACCEPT)),
        (code::GET, Some(40))
    );
    c.respond(
        &disc,
        code::CONTENT,
        &[(option::CONTENT_FORMAT, uint(40))],
        b"</0/1>,</1/0>",
    );

    let fin = c.recv_request();
    assert_eq!(
        (fin.code, fin.uri_path()),
        (code::POST, vec!["bs".to_string()])
    );
    c.respond(&fin, code::CHANGED, &[], b"");

    let mut steps = Vec::new();
    loop {
        match wait_event(&events, |_| true) {
            Event::Bootstrap { step, .. } => steps.push(step),
            Event::BootstrapFinished { endpoint } => {
                assert_eq!(endpoint, "boot-me");
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        steps,
        [
            "request",
            "delete",
            "write-security",
            "write-server",
            "discover",
            "finish"
        ]
    );
    server.shutdown();
}

#[test]
fn bootstrap_is_off_by_default() {
    let server = start(|_| {});
    let mut c = FakeClient::new(server.coap_addr());
    let r = c.request(
        code::POST,
        &[
            (option::URI_PATH, b"bs".to_vec()),
            (option::URI_QUERY, b"ep=x".to_vec()),
        ],
        b"",
    );
    assert_eq!(r.code, code::BAD_REQUEST);
    server.shutdown();
}

#[test]
fn ipv6_and_ipv4_peers_on_a_dual_stack_socket() {
    // Skips (passes) only on hosts without IPv6 loopback.
    if std::net::UdpSocket::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback; skipped");
        return;
    }
    let server = start(|cfg| cfg.coap_addr = "[::]:0".into());
    let port = server.coap_addr().port();
    let mut v6 = FakeClient::bind("[::1]:0", format!("[::1]:{port}").parse().unwrap());
    v6.register("six", 300, "");
    assert_eq!(
        server.client("six").unwrap().addr,
        v6.sock.local_addr().unwrap()
    );
    let mut v4 = FakeClient::new(format!("127.0.0.1:{port}").parse().unwrap());
    v4.register("four", 300, "");
    let addr = server.client("four").unwrap().addr;
    // Seen as an IPv4-mapped IPv6 address on a dual-stack socket.
    assert_eq!(addr.port(), v4.sock.local_addr().unwrap().port());
    server.shutdown();
}

#[test]
fn unsupported_versions_get_precondition_failed() {
    let server = start(|_| {});
    let mut c = FakeClient::new(server.coap_addr());
    let register = |c: &mut FakeClient, version: Option<&str>| {
        let mut opts = vec![
            (option::URI_PATH, b"rd".to_vec()),
            (option::URI_QUERY, b"ep=v".to_vec()),
        ];
        opts.extend(version.map(|v| (option::URI_QUERY, format!("lwm2m={v}").into_bytes())));
        c.request(code::POST, &opts, b"").code
    };
    for v in ["1.2", "2.0", "9.9", "1"] {
        assert_eq!(register(&mut c, Some(v)), code::PRECONDITION_FAILED, "{v}");
    }
    assert!(server.client("v").is_none());
    // A 1.2 client falls back to 1.1; a missing lwm2m= means 1.0.
    assert_eq!(register(&mut c, Some("1.1")), code::CREATED);
    assert_eq!(server.client("v").unwrap().version, "1.1");
    assert_eq!(register(&mut c, None), code::CREATED);
    assert_eq!(server.client("v").unwrap().version, "1.0");
    assert_eq!(register(&mut c, Some("1.0")), code::CREATED);
    server.shutdown();
}
