//! Access requests that succeed: the installs the fake clients see, resource by resource.

mod common;

use std::time::Duration;

use common::*;
use lwm2m::c2c::rights;
use lwm2m::coap::{code, content_format as cf, option, MessageType};
use lwm2m::Path;
use lwm2m_server::c2c::{InstallMode, SecurityMode};
use lwm2m_server::values::OwnedValue;
use lwm2m_server::Event;

const POLICY: &str = "allow requester=switch host=lamp path=/3311 rights=read,write lifetime=600";

fn installed(events: &std::sync::mpsc::Receiver<lwm2m_server::Event>) -> Event {
    wait_event(events, |e| {
        matches!(
            e,
            Event::C2cInstalled { .. } | Event::C2cInstallFailed { .. }
        )
    })
}

#[test]
fn full_flow_with_credentials() {
    let (server, events, mut host, mut req) = c2c_setup(POLICY, |_| {});
    let map = rights_map(&[(Path::instance(3311, 0), rights::READ | rights::WRITE)]);
    let (mid, token) = req.send_ac(&ac_options(&["ep=lamp", "c"], Some(60)), &map);
    let ack = req.recv_where(|m| m.mtype == MessageType::Ack && m.mid == mid);
    assert_eq!(ack.code, code::EMPTY, "the answer comes after the installs");

    // One message to the host.
    let hp = host.recv_request();
    assert_eq!(hp.code, code::IPATCH);
    assert!(hp.uri_path().is_empty());
    let f = hp.uint(option::CONTENT_FORMAT).unwrap() as u16;
    assert!(f == cf::SENML_CBOR || f == cf::LWM2M_CBOR);
    let h = request_records(&hp);
    // 11001/0 and 11000/0 are registered by the host: the server picks instance 1.
    assert_eq!(instances(&h, 11001), vec![1]);
    assert_eq!(instances(&h, 11000), vec![1]);
    assert_eq!(instances(&h, 11002), vec![0]);
    assert_eq!(instances(&h, 21), Vec::<u16>::new());
    let sid_at_host = int(val(&h, Path::resource(11001, 1, 0)));
    assert!((1..=65534).contains(&sid_at_host));
    let sid = sid_at_host as u16;
    assert_eq!(int(val(&h, Path::resource(11001, 1, 1))), 600);
    assert_eq!(
        val(&h, Path::resource(11001, 1, 6)),
        OwnedValue::Boolean(false)
    );
    assert_eq!(
        val(&h, Path::resource(11001, 1, 7)),
        OwnedValue::String("U".into())
    );
    assert_eq!(
        val(&h, Path::resource(11001, 1, 9)),
        OwnedValue::String("switch".into())
    );
    let req_addr = req.sock.local_addr().unwrap();
    assert_eq!(
        val(&h, Path::resource(11000, 1, 0)),
        OwnedValue::String(format!("coaps://{req_addr}"))
    );
    assert_eq!(int(val(&h, Path::resource(11000, 1, 2))), 0);
    let identity = opaque(val(&h, Path::resource(11000, 1, 3)));
    let key = opaque(val(&h, Path::resource(11000, 1, 5)));
    assert_eq!(identity.len(), 16);
    assert_eq!(key.len(), 16);
    assert_eq!(int(val(&h, Path::resource(11000, 1, 10))), sid_at_host);
    assert_eq!(int(val(&h, Path::resource(11002, 0, 0))), 3311);
    assert_eq!(int(val(&h, Path::resource(11002, 0, 1))), 0);
    assert_eq!(
        int(val(&h, Path::resource_instance(11002, 0, 2, sid))),
        i64::from(rights::READ | rights::WRITE)
    );
    assert_eq!(int(val(&h, Path::resource(11002, 0, 3))), 1);
    assert_eq!(h.len(), 5 + 5 + 4);
    host.respond(&hp, code::CHANGED, &[], &[]);

    // One message to the requester; no answer before it acknowledged.
    let rp = req.recv_request();
    assert_eq!(rp.code, code::IPATCH);
    let t = token.clone();
    assert!(req
        .recv_where_for(Duration::from_millis(300), move |m| m.token == t
            && code::is_response(m.code))
        .is_none());
    let r = request_records(&rp);
    assert_eq!(instances(&r, 11001), vec![0]);
    assert_eq!(instances(&r, 11000), vec![0]);
    assert_eq!(r.len(), 5 + 5);
    let sid_at_req = int(val(&r, Path::resource(11001, 0, 0)));
    assert_eq!(int(val(&r, Path::resource(11000, 0, 10))), sid_at_req);
    assert_eq!(
        val(&r, Path::resource(11001, 0, 9)),
        OwnedValue::String("lamp".into())
    );
    assert_eq!(int(val(&r, Path::resource(11001, 0, 1))), 600);
    let host_addr = host.sock.local_addr().unwrap();
    assert_eq!(
        val(&r, Path::resource(11000, 0, 0)),
        OwnedValue::String(format!("coaps://{host_addr}"))
    );
    assert_eq!(opaque(val(&r, Path::resource(11000, 0, 3))), identity);
    assert_eq!(opaque(val(&r, Path::resource(11000, 0, 5))), key);
    req.respond(&rp, code::CHANGED, &[], &[]);

    let answer = req.separate_answer(&token);
    assert_eq!(answer.code, code::CREATED);
    assert_eq!(answer.mtype, MessageType::Con);

    let Event::C2cInstalled {
        messages, lifetime, ..
    } = installed(&events)
    else {
        panic!("install failed");
    };
    assert_eq!(lifetime, 600);
    assert_eq!(messages.len(), 2);
    for m in &messages {
        let (s, l) = (
            m["senml_cbor_bytes"].as_u64().unwrap(),
            m["lwm2m_cbor_bytes"].as_u64().unwrap(),
        );
        assert_eq!(m["payload_bytes"].as_u64().unwrap(), s.min(l));
        println!("composite install message: {m}");
    }
    assert_eq!(
        messages[0]["payload_bytes"].as_u64().unwrap() as usize,
        hp.payload.len()
    );

    let grants = server.grants();
    assert_eq!(grants.as_array().unwrap().len(), 1);
    assert_eq!(grants[0]["path"], "/3311/0");
    assert_eq!(grants[0]["requester_short_id"], sid_at_host);

    // Without `c`: a new grant and a renewal; one message to each client.
    let map = rights_map(&[
        (Path::instance(3311, 1), rights::READ),
        (Path::instance(3311, 0), rights::READ),
    ]);
    let (mid, token) = req.send_ac(&ac_options(&["ep=lamp"], Some(60)), &map);
    let hp = host.recv_request();
    let h = request_records(&hp);
    assert_eq!(int(val(&h, Path::resource(11001, 1, 1))), 600);
    // /3311/0 keeps R|W (rights only grow); /3311/1 gets a new 11002 instance.
    assert_eq!(
        int(val(&h, Path::resource_instance(11002, 0, 2, sid))),
        i64::from(rights::READ | rights::WRITE)
    );
    assert_eq!(int(val(&h, Path::resource(11002, 1, 0))), 3311);
    assert_eq!(int(val(&h, Path::resource(11002, 1, 1))), 1);
    assert_eq!(int(val(&h, Path::resource_instance(11002, 1, 2, sid))), 1);
    assert!(h.iter().all(|r| r.path.object_id() != Some(11000)));
    assert_eq!(h.len(), 1 + 1 + 4);
    host.respond(&hp, code::CHANGED, &[], &[]);
    let rp = req.recv_request();
    let r = request_records(&rp);
    assert_eq!(r.len(), 1);
    assert_eq!(int(val(&r, Path::resource(11001, 0, 1))), 600);
    req.respond(&rp, code::CHANGED, &[], &[]);
    assert_eq!(req.ac_answer(mid, &token).code, code::CREATED);
    assert!(matches!(installed(&events), Event::C2cInstalled { .. }));
    assert_eq!(server.grants().as_array().unwrap().len(), 2);
    server.shutdown();
}

#[test]
fn separate_creates_in_the_artifact_order() {
    let (server, events, mut host, mut req) = c2c_setup(POLICY, |c| {
        c.c2c.install = InstallMode::Separate;
    });
    let map = rights_map(&[(Path::instance(3311, 0), rights::READ)]);
    let (mid, token) = req.send_ac(&ac_options(&["ep=lamp", "c"], Some(60)), &map);
    let mut seen = Vec::new();
    for (who, path) in [
        ("host", "11001"),
        ("host", "11000"),
        ("req", "11001"),
        ("req", "11000"),
        ("host", "11002"),
    ] {
        let c = if who == "host" { &mut host } else { &mut req };
        let m = c.recv_request();
        assert_eq!(m.code, code::POST, "{who} {path}");
        assert_eq!(m.uri_path(), vec![path.to_string()]);
        assert_eq!(
            m.uint(option::CONTENT_FORMAT),
            Some(u32::from(cf::LWM2M_TLV))
        );
        seen.extend(request_records(&m));
        c.respond(&m, code::CREATED, &[], &[]);
    }
    assert_eq!(req.ac_answer(mid, &token).code, code::CREATED);
    // The Creates name the instances the server picked.
    assert_eq!(instances(&seen, 11002), vec![0]);
    assert_eq!(int(val(&seen, Path::resource(11002, 0, 0))), 3311);
    let Event::C2cInstalled { messages, mode, .. } = installed(&events) else {
        panic!("install failed");
    };
    assert_eq!(mode, "separate");
    assert_eq!(messages.len(), 5);
    for m in &messages {
        println!("separate install message: {m}");
    }
    server.shutdown();
}

#[test]
fn oscore_contexts_are_mirrored() {
    let (server, events, mut host, mut req) = c2c_setup(POLICY, |c| {
        c.c2c.security = SecurityMode::Oscore;
        c.c2c.format = Some(cf::SENML_CBOR);
    });
    let map = rights_map(&[(Path::instance(3311, 0), rights::READ)]);
    let (mid, token) = req.send_ac(&ac_options(&["ep=lamp", "c"], Some(60)), &map);
    let hp = host.recv_request();
    assert_eq!(
        hp.uint(option::CONTENT_FORMAT),
        Some(u32::from(cf::SENML_CBOR))
    );
    let h = request_records(&hp);
    host.respond(&hp, code::CHANGED, &[], &[]);
    let rp = req.recv_request();
    let r = request_records(&rp);
    req.respond(&rp, code::CHANGED, &[], &[]);
    assert_eq!(req.ac_answer(mid, &token).code, code::CREATED);
    let (hi, ri) = (instances(&h, 21)[0], instances(&r, 21)[0]);
    assert_eq!(
        val(&h, Path::resource(11000, 1, 17)),
        OwnedValue::ObjLnk(21, hi)
    );
    assert_eq!(
        val(&r, Path::resource(11000, 0, 17)),
        OwnedValue::ObjLnk(21, ri)
    );
    assert_eq!(int(val(&h, Path::resource(11000, 1, 2))), 3);
    let uri = val(&r, Path::resource(11000, 0, 0));
    assert!(matches!(uri, OwnedValue::String(u) if u.starts_with("coap://")));
    let ho = |res| opaque(val(&h, Path::resource(21, hi, res)));
    let ro = |res| opaque(val(&r, Path::resource(21, ri, res)));
    assert_eq!(ho(0).len(), 16);
    assert_eq!(ho(0), ro(0));
    assert_eq!(ho(5).len(), 8);
    assert_eq!(ho(5), ro(5));
    assert_eq!(ho(1), ro(2), "host sender = requester recipient");
    assert_eq!(ho(2), ro(1), "host recipient = requester sender");
    assert_ne!(ho(1), ho(2));
    assert!((1..=2).contains(&ho(1).len()));
    assert_eq!(int(val(&h, Path::resource(21, hi, 3))), 10);
    assert!(matches!(installed(&events), Event::C2cInstalled { .. }));
    server.shutdown();
}

/// The separate (CON) answer to an access request is retransmitted with its message ID until
/// the requester acknowledges it, and it is a confirmable message outstanding at the
/// requester (NSTART, RFC 7252 4.7): a request to the requester waits for that ACK.
#[test]
fn separate_answer_is_retransmitted_until_acknowledged() {
    let (server, _events, mut host, mut req) = c2c_setup(POLICY, |cfg| {
        cfg.transmission.ack_timeout = Duration::from_millis(200);
    });
    let map = rights_map(&[(Path::instance(3311, 0), rights::READ)]);
    let (mid, token) = req.send_ac(&ac_options(&["ep=lamp", "c"], Some(60)), &map);
    let ack = req.recv_where(|m| m.mtype == MessageType::Ack && m.mid == mid);
    assert_eq!(ack.code, code::EMPTY);
    let hp = host.recv_request();
    host.respond(&hp, code::CHANGED, &[], &[]);
    let rp = req.recv_request();
    req.respond(&rp, code::CHANGED, &[], &[]);
    let t = token.clone();
    let first = req.recv_where(move |m| m.token == t && m.code == code::CREATED);
    assert_eq!(first.mtype, MessageType::Con);
    let h = server.clone();
    let read = std::thread::spawn(move || {
        h.read("switch", &Path::resource(3, 0, 0), Some(cf::TEXT))
            .map(|r| r.code)
    });
    // Not acknowledged: the same message again, and no request behind it.
    let again = req.recv_where(|m| m.mtype != MessageType::Ack);
    assert_eq!((again.mid, again.code), (first.mid, code::CREATED));
    req.send(&encode(
        MessageType::Ack,
        code::EMPTY,
        first.mid,
        &[],
        &[],
        &[],
    ));
    let r = req.recv_where(|m| code::is_request(m.code));
    assert_eq!(r.uri_path(), ["3", "0", "0"]);
    req.respond(
        &r,
        code::CONTENT,
        &[(option::CONTENT_FORMAT, uint(0))],
        b"x",
    );
    assert_eq!(read.join().unwrap().unwrap(), code::CONTENT);
    // Acknowledged: not sent again.
    let t = token.clone();
    let more = req.recv_where_for(Duration::from_millis(700), move |m| m.token == t);
    assert!(more.is_none(), "{more:?}");
    server.shutdown();
}
