//! Access requests that fail: the answer code, and nothing sent to any client.

mod common;

use std::time::Duration;

use common::*;
use lwm2m::c2c::rights;
use lwm2m::coap::{code, MessageType};
use lwm2m::Path;
use lwm2m_server::Event;

const POLICY: &str = "deny requester=* host=lamp path=/3311/1\n\
                      allow requester=switch host=lamp path=/3311 rights=read,write\n";

/// Nothing reached the client within a short bounded wait.
fn quiet(c: &mut FakeClient) {
    let m = c.recv_where_for(Duration::from_millis(250), |m| code::is_request(m.code));
    assert!(m.is_none(), "unexpected request {m:?}");
}

fn decision(events: &std::sync::mpsc::Receiver<Event>) -> (String, String) {
    match wait_event(events, |e| matches!(e, Event::AccessRequest { .. })) {
        Event::AccessRequest {
            decision, reason, ..
        } => (decision, reason),
        _ => unreachable!(),
    }
}

#[test]
fn policy_deny_is_forbidden_and_installs_nothing() {
    let (server, events, mut host, mut req) = c2c_setup(POLICY, |_| {});
    let map = rights_map(&[(Path::instance(3311, 1), rights::READ)]);
    let r = req.ac_error(&ac_options(&["ep=lamp", "c"], Some(60)), &map);
    assert_eq!((r.mtype, r.code), (MessageType::Ack, code::FORBIDDEN));
    assert!(r.payload.is_empty(), "no reason leaks to the requester");
    let (d, reason) = decision(&events);
    assert_eq!(d, "denied");
    assert!(reason.contains("line 1"), "{reason}");
    // Rights beyond the allow rule: default deny.
    let map = rights_map(&[(Path::instance(3311, 0), rights::DELETE)]);
    let r = req.ac_error(&ac_options(&["ep=lamp", "c"], Some(60)), &map);
    assert_eq!(r.code, code::FORBIDDEN);
    assert!(decision(&events).1.contains("default deny"));
    // The C2C objects are never granted, even when registered and allowed.
    server.set_policy(lwm2m_server::Policy::parse("allow").unwrap());
    let map = rights_map(&[(Path::instance(11001, 0), rights::READ)]);
    assert_eq!(
        req.ac_error(&ac_options(&["ep=lamp", "c"], Some(60)), &map)
            .code,
        code::FORBIDDEN
    );
    quiet(&mut host);
    quiet(&mut req);
    assert_eq!(server.grants().as_array().unwrap().len(), 0);
    server.shutdown();
}

#[test]
fn malformed_requests_are_bad_requests_and_install_nothing() {
    let (server, events, mut host, mut req) = c2c_setup(POLICY, |_| {});
    let good = rights_map(&[(Path::instance(3311, 0), rights::READ)]);
    let unregistered = rights_map(&[(Path::instance(3311, 7), rights::READ)]);
    let no_object = rights_map(&[(Path::object(5), rights::CREATE)]);
    type Case<'a> = (&'a str, Vec<&'a str>, Option<u32>, Vec<u8>);
    let cases: Vec<Case> = vec![
        ("missing ep", vec!["c"], Some(60), good.clone()),
        ("empty ep", vec!["ep=", "c"], Some(60), good.clone()),
        ("two ep", vec!["ep=lamp", "ep=lamp"], Some(60), good.clone()),
        (
            "unknown query",
            vec!["ep=lamp", "x=1"],
            Some(60),
            good.clone(),
        ),
        (
            "unknown host",
            vec!["ep=nobody", "c"],
            Some(60),
            good.clone(),
        ),
        (
            "host is requester",
            vec!["ep=switch", "c"],
            Some(60),
            good.clone(),
        ),
        ("empty map", vec!["ep=lamp", "c"], Some(60), vec![0xa0]),
        ("bad CBOR", vec!["ep=lamp", "c"], Some(60), vec![0xff, 0x00]),
        ("no payload", vec!["ep=lamp", "c"], Some(60), vec![]),
        (
            "unregistered instance",
            vec!["ep=lamp", "c"],
            Some(60),
            unregistered,
        ),
        (
            "unregistered object",
            vec!["ep=lamp", "c"],
            Some(60),
            no_object,
        ),
        (
            "no content format",
            vec!["ep=lamp", "c"],
            None,
            good.clone(),
        ),
        (
            "text content format",
            vec!["ep=lamp", "c"],
            Some(0),
            good.clone(),
        ),
        // Without `c` the pair needs accounts from this server already.
        ("no account", vec!["ep=lamp"], Some(60), good.clone()),
    ];
    for (what, q, f, payload) in cases {
        let r = req.ac_error(&ac_options(&q, f), &payload);
        assert_eq!(
            (r.mtype, r.code),
            (MessageType::Ack, code::BAD_REQUEST),
            "{what}"
        );
        let (d, _) = decision(&events);
        assert_eq!(d, "malformed", "{what}");
    }
    // Other methods on /ac.
    let r = req.request(code::GET, &ac_options(&["ep=lamp"], None), b"");
    assert_eq!(r.code, code::METHOD_NOT_ALLOWED);
    quiet(&mut host);
    quiet(&mut req);
    assert_eq!(server.grants().as_array().unwrap().len(), 0);
    server.shutdown();
}

#[test]
fn unauthenticated_requester_is_unauthorized() {
    let (server, events, mut host, _req) = c2c_setup(POLICY, |_| {});
    // A socket of no registration asks in nobody's name.
    let mut stranger = FakeClient::new(server.coap_addr());
    let map = rights_map(&[(Path::instance(3311, 0), rights::READ)]);
    let r = stranger.ac_error(&ac_options(&["ep=lamp", "c"], Some(60)), &map);
    assert_eq!(r.code, code::UNAUTHORIZED);
    let (d, _) = decision(&events);
    assert_eq!(d, "unauthenticated");
    quiet(&mut host);
    server.shutdown();
}

#[test]
fn unreachable_host_is_service_unavailable_and_rolled_back() {
    let (server, events, mut host, mut req) = c2c_setup(POLICY, |c| {
        c.request_timeout = Duration::from_millis(1500);
    });
    let map = rights_map(&[(Path::instance(3311, 0), rights::READ)]);
    let (mid, token) = req.send_ac(&ac_options(&["ep=lamp", "c"], Some(60)), &map);
    // The host stays silent; the requester accepts its accounts.
    let rp = req.recv_request();
    assert_eq!(rp.code, code::IPATCH);
    let created = request_records(&rp);
    req.respond(&rp, code::CHANGED, &[], &[]);
    // The requester's new instances are deleted again.
    let mut deleted = Vec::new();
    for _ in 0..2 {
        let d = req.recv_request();
        assert_eq!(d.code, code::DELETE);
        deleted.push(d.uri_path().join("/"));
        req.respond(&d, code::DELETED, &[], &[]);
    }
    deleted.sort();
    let mut want: Vec<String> = [11000, 11001]
        .iter()
        .map(|o| format!("{o}/{}", instances(&created, *o)[0]))
        .collect();
    want.sort();
    assert_eq!(deleted, want);
    let answer = req.ac_answer(mid, &token);
    assert_eq!(answer.code, code::SERVICE_UNAVAILABLE);
    assert!(String::from_utf8_lossy(&answer.payload).contains("lamp"));
    let failed = wait_event(&events, |e| matches!(e, Event::C2cInstallFailed { .. }));
    assert!(matches!(failed, Event::C2cInstallFailed { .. }));
    assert_eq!(server.grants().as_array().unwrap().len(), 0);
    // The host saw the install (and retransmissions) but nothing else.
    let hp = host.recv_request();
    assert_eq!(hp.code, code::IPATCH);
    server.shutdown();
}
