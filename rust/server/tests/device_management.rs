//! Device-management and observe operations answered by a fake client with literal payloads.

mod common;

use std::thread;
use std::time::Duration;

use common::*;
use lwm2m::coap::{code, content_format as cf, option, Block, MessageType};
use lwm2m::Path;
use lwm2m_server::{values, Attributes, Event, OwnedRecord, OwnedValue, ServerError, ServerHandle};
use serde_json::json;

fn registered(links: &str) -> (ServerHandle, FakeClient) {
    let server = start(|_| {});
    let mut c = FakeClient::new(server.coap_addr());
    c.register("dev", 300, links);
    (server, c)
}

fn spawn<T: Send + 'static>(
    h: &ServerHandle,
    f: impl FnOnce(ServerHandle) -> T + Send + 'static,
) -> thread::JoinHandle<T> {
    let h = h.clone();
    thread::spawn(move || f(h))
}

#[test]
fn read_tlv_instance() {
    let (server, mut c) = registered("</3/0>");
    let op = spawn(&server, |h| {
        h.read("dev", &Path::instance(3, 0), Some(cf::LWM2M_TLV))
    });
    let req = c.recv_request();
    assert_eq!(req.code, code::GET);
    assert_eq!(req.uri_path(), vec!["3", "0"]);
    assert_eq!(req.uint(option::ACCEPT), Some(u32::from(cf::LWM2M_TLV)));
    assert_eq!(req.mtype, MessageType::Con);
    // /3/0/1 Model "X1" and /3/0/9 Battery Level 100, as resource TLVs.
    let tlv = [0xc2, 0x01, b'X', b'1', 0xc1, 0x09, 0x64];
    c.respond(
        &req,
        code::CONTENT,
        &[(option::CONTENT_FORMAT, uint(11542))],
        &tlv,
    );
    let resp = op.join().unwrap().expect("read succeeds");
    assert_eq!(resp.code, code::CONTENT);
    let j = resp.to_json();
    assert_eq!(j["code"], "2.05");
    assert_eq!(
        j["values"],
        json!([
            {"path":"/3/0/1","value":"X1","type":"string"},
            {"path":"/3/0/9","value":100,"type":"integer"}
        ])
    );
    server.shutdown();
}

#[test]
fn read_senml_cbor_by_default() {
    let (server, mut c) = registered("</3/0>");
    let op = spawn(&server, |h| h.read("dev", &Path::instance(3, 0), None));
    let req = c.recv_request();
    assert_eq!(req.uint(option::ACCEPT), Some(u32::from(cf::SENML_CBOR)));
    // [{-2: "/3/0/", 0: "1", 3: "X1"}, {0: "9", 2: 100}]
    let mut p = vec![0x82, 0xa3, 0x21, 0x65];
    p.extend(b"/3/0/");
    p.extend([0x00, 0x61, b'1', 0x03, 0x62, b'X', b'1']);
    p.extend([0xa2, 0x00, 0x61, b'9', 0x02, 0x18, 0x64]);
    c.respond(
        &req,
        code::CONTENT,
        &[(option::CONTENT_FORMAT, uint(112))],
        &p,
    );
    let resp = op.join().unwrap().unwrap();
    let vals = resp.values().unwrap();
    assert_eq!(vals.len(), 2);
    assert_eq!(vals[0].path, Path::resource(3, 0, 1));
    assert_eq!(vals[0].value, OwnedValue::String("X1".into()));
    assert_eq!(vals[1].path, Path::resource(3, 0, 9));
    assert_eq!(vals[1].value.as_value().as_f64(), Some(100.0));
    server.shutdown();
}

#[test]
fn write_execute_attributes_delete_create_discover() {
    let (server, mut c) = registered("</3/0>,</3303>");

    let rec = OwnedRecord {
        path: Path::resource(3, 0, 14),
        value: OwnedValue::String("+02".into()),
    };
    let op = spawn(&server, move |h| {
        h.write(
            "dev",
            &Path::resource(3, 0, 14),
            &[rec],
            Some(cf::LWM2M_TLV),
            true,
        )
    });
    let req = c.recv_request();
    assert_eq!(
        (req.code, req.uri_path()),
        (code::PUT, vec!["3".into(), "0".into(), "14".into()])
    );
    assert_eq!(req.uint(option::CONTENT_FORMAT), Some(11542));
    assert_eq!(req.payload, [0xc3, 0x0e, b'+', b'0', b'2']);
    c.respond(&req, code::CHANGED, &[], b"");
    assert_eq!(op.join().unwrap().unwrap().code, code::CHANGED);

    let op = spawn(&server, |h| {
        h.execute("dev", &Path::resource(3, 0, 4), Some("5"))
    });
    let req = c.recv_request();
    assert_eq!((req.code, req.payload.as_slice()), (code::POST, &b"5"[..]));
    assert_eq!(req.uri_path(), vec!["3", "0", "4"]);
    c.respond(&req, code::CHANGED, &[], b"");
    assert!(op.join().unwrap().unwrap().is_success());

    let op = spawn(&server, |h| {
        let a = Attributes::parse_str("pmin=1&pmax=30&gt=20.5").unwrap();
        h.write_attributes("dev", &Path::resource(3303, 0, 5700), &a)
    });
    let req = c.recv_request();
    assert_eq!(req.code, code::PUT);
    assert_eq!(
        req.strs(option::URI_QUERY),
        vec!["pmin=1", "pmax=30", "gt=20.5"]
    );
    assert!(req.payload.is_empty());
    c.respond(&req, code::CHANGED, &[], b"");
    assert!(op.join().unwrap().unwrap().is_success());

    let op = spawn(&server, |h| {
        let recs = vec![OwnedRecord {
            path: Path::resource(3303, 1, 5700),
            value: OwnedValue::Float(21.5),
        }];
        h.create("dev", 3303, Some(1), &recs, None)
    });
    let req = c.recv_request();
    assert_eq!(
        (req.code, req.uri_path()),
        (code::POST, vec!["3303".to_string()])
    );
    assert_eq!(req.uint(option::CONTENT_FORMAT), Some(11542));
    let recs = values::decode(cf::LWM2M_TLV, &Path::object(3303), &req.payload).unwrap();
    assert_eq!(recs[0].path, Path::resource(3303, 1, 5700));
    assert_eq!(recs[0].value.as_value().as_f64(), Some(21.5));
    c.respond(&req, code::CREATED, &[], b"");
    assert_eq!(op.join().unwrap().unwrap().code, code::CREATED);

    let op = spawn(&server, |h| h.delete("dev", &Path::instance(3303, 1)));
    let req = c.recv_request();
    assert_eq!(
        (req.code, req.uri_path()),
        (code::DELETE, vec!["3303".to_string(), "1".to_string()])
    );
    c.respond(&req, code::DELETED, &[], b"");
    assert_eq!(op.join().unwrap().unwrap().code, code::DELETED);

    let op = spawn(&server, |h| h.discover("dev", &Path::object(3)));
    let req = c.recv_request();
    assert_eq!(req.uint(option::ACCEPT), Some(40));
    c.respond(
        &req,
        code::CONTENT,
        &[(option::CONTENT_FORMAT, uint(40))],
        b"</3/0>,</3/0/1>",
    );
    let j = op.join().unwrap().unwrap().to_json();
    assert_eq!(j["links"], "</3/0>,</3/0/1>");

    // Errors from the client come back as responses, not as server errors.
    let op = spawn(&server, |h| h.read("dev", &Path::object(9), None));
    let req = c.recv_request();
    c.respond(&req, code::NOT_FOUND, &[], b"");
    let r = op.join().unwrap().unwrap();
    assert!(!r.is_success());
    assert_eq!(r.to_json()["code"], "4.04");
    server.shutdown();
}

#[test]
fn unknown_endpoint_is_an_error() {
    let server = start(|_| {});
    let r = server.read("ghost", &Path::object(3), None);
    assert!(matches!(
        r,
        Err(lwm2m_server::ServerError::UnknownEndpoint(_))
    ));
    server.shutdown();
}

#[test]
fn composite_read_and_write() {
    let (server, mut c) = registered("</3/0>,</1/0>");
    let op = spawn(&server, |h| {
        h.read_composite(
            "dev",
            &[Path::resource(3, 0, 1), Path::resource(1, 0, 1)],
            None,
        )
    });
    let req = c.recv_request();
    assert_eq!(req.code, code::FETCH);
    assert!(req.uri_path().is_empty());
    assert_eq!(req.uint(option::CONTENT_FORMAT), Some(112));
    assert_eq!(req.uint(option::ACCEPT), Some(112));
    assert_eq!(
        req.payload,
        values::composite_paths_payload(&[Path::resource(3, 0, 1), Path::resource(1, 0, 1)])
    );
    // [{0: "/3/0/1", 3: "X1"}, {0: "/1/0/1", 2: 300}]
    let mut p = vec![0x82, 0xa2, 0x00, 0x66];
    p.extend(b"/3/0/1");
    p.extend([0x03, 0x62, b'X', b'1', 0xa2, 0x00, 0x66]);
    p.extend(b"/1/0/1");
    p.extend([0x02, 0x19, 0x01, 0x2c]);
    c.respond(
        &req,
        code::CONTENT,
        &[(option::CONTENT_FORMAT, uint(112))],
        &p,
    );
    let vals = op.join().unwrap().unwrap().values().unwrap();
    assert_eq!(vals.len(), 2);
    assert_eq!(vals[1].path, Path::resource(1, 0, 1));
    assert_eq!(vals[1].value.as_value().as_i64(), Some(300));

    let op = spawn(&server, |h| {
        let recs = vec![
            OwnedRecord {
                path: Path::resource(3, 0, 14),
                value: OwnedValue::String("+01".into()),
            },
            OwnedRecord {
                path: Path::resource(1, 0, 1),
                value: OwnedValue::Integer(60),
            },
        ];
        h.write_composite("dev", &recs, None)
    });
    let req = c.recv_request();
    assert_eq!(
        (req.code, req.uint(option::CONTENT_FORMAT)),
        (code::IPATCH, Some(112))
    );
    let recs = values::decode(cf::SENML_CBOR, &Path::ROOT, &req.payload).unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0].path, Path::resource(1, 0, 1));
    assert_eq!(recs[1].value, OwnedValue::String("+01".into()));
    c.respond(&req, code::CHANGED, &[], b"");
    assert!(op.join().unwrap().unwrap().is_success());
    server.shutdown();
}

#[test]
fn observe_notifications_and_cancel() {
    let (server, mut c) = registered("</3/0>");
    let events = server.subscribe();
    let op = spawn(&server, |h| {
        h.observe("dev", &Path::resource(3, 0, 9), Some(cf::TEXT))
    });
    let req = c.recv_request();
    assert_eq!(req.uint(option::OBSERVE), Some(0));
    assert_eq!(req.uint(option::ACCEPT), Some(0));
    let token = req.token.clone();
    let text = [
        (option::OBSERVE, uint(1)),
        (option::CONTENT_FORMAT, uint(0)),
    ];
    c.respond(&req, code::CONTENT, &text, b"50");
    let first = op.join().unwrap().unwrap();
    assert_eq!(first.observe, Some(1));
    assert_eq!(first.values().unwrap()[0].value, OwnedValue::Integer(50));

    // A NON notification, then a CON one (which the server must ACK).
    let notif = |obs: u32| {
        [
            (option::OBSERVE, uint(obs)),
            (option::CONTENT_FORMAT, uint(0)),
        ]
    };
    let mid = c.mid();
    c.send(&encode(
        MessageType::Non,
        code::CONTENT,
        mid,
        &token,
        &notif(2),
        b"51",
    ));
    let ev = wait_event(&events, |e| matches!(e, Event::Notification { .. }));
    let Event::Notification {
        endpoint,
        path,
        response,
    } = ev
    else {
        unreachable!()
    };
    assert_eq!((endpoint.as_str(), path), ("dev", Path::resource(3, 0, 9)));
    assert_eq!(response.values().unwrap()[0].value, OwnedValue::Integer(51));
    assert_eq!(
        ev_json_value(&response),
        json!({"path":"/3/0/9","value":51,"type":"integer"})
    );

    let mid = c.mid();
    c.send(&encode(
        MessageType::Con,
        code::CONTENT,
        mid,
        &token,
        &notif(3),
        b"52",
    ));
    let ack = c.recv_where(|m| m.mid == mid);
    assert_eq!((ack.mtype, ack.code), (MessageType::Ack, code::EMPTY));
    let ev = wait_event(&events, |e| matches!(e, Event::Notification { .. }));
    assert!(matches!(ev, Event::Notification { response, .. } if response.payload == b"52"));

    // Active cancel reuses the token with Observe=1.
    let op = spawn(&server, |h| {
        h.cancel_observe("dev", &Path::resource(3, 0, 9))
    });
    let req = c.recv_request();
    assert_eq!(req.uint(option::OBSERVE), Some(1));
    assert_eq!(req.token, token);
    c.respond(
        &req,
        code::CONTENT,
        &[(option::CONTENT_FORMAT, uint(0))],
        b"53",
    );
    assert!(op.join().unwrap().unwrap().is_success());

    // A late notification is now unwanted: RST.
    let mid = c.mid();
    c.send(&encode(
        MessageType::Con,
        code::CONTENT,
        mid,
        &token,
        &notif(4),
        b"54",
    ));
    let rst = c.recv_where(|m| m.mid == mid);
    assert_eq!(rst.mtype, MessageType::Rst);
    assert!(matches!(
        server.cancel_observe("dev", &Path::resource(3, 0, 9)),
        Err(lwm2m_server::ServerError::NotObserved)
    ));
    server.shutdown();
}

fn ev_json_value(r: &lwm2m_server::Response) -> serde_json::Value {
    r.to_json()["values"][0].clone()
}

#[test]
fn retransmission_then_separate_response() {
    let (server, mut c) = registered("</3/0>");
    let op = spawn(&server, |h| {
        h.read("dev", &Path::resource(3, 0, 1), Some(cf::TEXT))
    });
    let first = c.recv_request();
    // Ignore it: the server retransmits the same message.
    let again = c.recv_where(|m| code::is_request(m.code));
    assert_eq!(again, first);
    // Empty ACK now, the response later as CON.
    c.send(&encode(
        MessageType::Ack,
        code::EMPTY,
        first.mid,
        &[],
        &[],
        b"",
    ));
    thread::sleep(Duration::from_millis(50));
    let mid = c.mid();
    c.send(&encode(
        MessageType::Con,
        code::CONTENT,
        mid,
        &first.token,
        &[(option::CONTENT_FORMAT, uint(0))],
        b"Model-7",
    ));
    let ack = c.recv_where(|m| m.mid == mid);
    assert_eq!((ack.mtype, ack.code), (MessageType::Ack, code::EMPTY));
    let r = op.join().unwrap().unwrap();
    assert_eq!(
        r.values().unwrap()[0].value,
        OwnedValue::String("Model-7".into())
    );
    server.shutdown();
}

#[test]
fn block2_response_is_reassembled() {
    let (server, mut c) = registered("</3/0>");
    let op = spawn(&server, |h| {
        h.read("dev", &Path::resource(3, 0, 1), Some(cf::TEXT))
    });
    let text = b"0123456789abcdefXYZ";
    let req = c.recv_request();
    let b0 = Block {
        num: 0,
        more: true,
        szx: 0,
    };
    c.respond(
        &req,
        code::CONTENT,
        &[
            (option::CONTENT_FORMAT, uint(0)),
            (option::BLOCK2, uint(b0.to_uint())),
        ],
        &text[..16],
    );
    let req2 = c.recv_request();
    assert_eq!(req2.uri_path(), vec!["3", "0", "1"]);
    let b1 = Block::decode(req2.opts(option::BLOCK2)[0]).unwrap();
    assert_eq!((b1.num, b1.szx), (1, 0));
    let last = Block {
        num: 1,
        more: false,
        szx: 0,
    };
    c.respond(
        &req2,
        code::CONTENT,
        &[
            (option::CONTENT_FORMAT, uint(0)),
            (option::BLOCK2, uint(last.to_uint())),
        ],
        &text[16..],
    );
    let r = op.join().unwrap().unwrap();
    assert_eq!(r.payload, text);
    server.shutdown();
}

/// A response nobody waits for (e.g. a notification after the observation ended here) is
/// reset, CON and NON alike, so that the client stops sending it.
#[test]
fn unexpected_response_gets_reset() {
    let (server, mut c) = registered("");
    for mtype in [MessageType::Con, MessageType::Non] {
        let mid = c.mid();
        c.send(&encode(mtype, code::CONTENT, mid, &[1, 2, 3], &[], b"x"));
        let r = c.recv_where(|m| m.mid == mid);
        assert_eq!(r.mtype, MessageType::Rst, "{mtype:?}");
    }
    server.shutdown();
}

#[test]
fn deregistration_ends_observations() {
    let (server, mut c) = registered("</3/0>");
    let events = server.subscribe();
    let op = spawn(&server, |h| {
        h.observe("dev", &Path::resource(3, 0, 9), Some(cf::TEXT))
    });
    let req = c.recv_request();
    c.respond(
        &req,
        code::CONTENT,
        &[
            (option::OBSERVE, uint(1)),
            (option::CONTENT_FORMAT, uint(0)),
        ],
        b"1",
    );
    op.join().unwrap().unwrap();
    let id = server.client("dev").unwrap().id;
    let r = c.request(
        code::DELETE,
        &[
            (option::URI_PATH, b"rd".to_vec()),
            (option::URI_PATH, id.into_bytes()),
        ],
        b"",
    );
    assert_eq!(r.code, code::DELETED);
    let ev = wait_event(&events, |e| matches!(e, Event::ObservationEnded { .. }));
    assert_eq!(ev.endpoint(), "dev");
    server.shutdown();
}

#[test]
fn an_observe_answered_without_observe_is_an_error() {
    // A client whose observation pool is full answers the GET with the value but without
    // Observe (RFC 7641 4.1): the server must not report an observation.
    let (server, mut c) = registered("</3/0>");
    let op = spawn(&server, |h| {
        h.observe("dev", &Path::resource(3, 0, 9), Some(cf::TEXT))
    });
    let req = c.recv_request();
    assert_eq!(req.uint(option::OBSERVE), Some(0));
    c.respond(
        &req,
        code::CONTENT,
        &[(option::CONTENT_FORMAT, uint(0))],
        b"50",
    );
    match op.join().unwrap() {
        Err(ServerError::ObserveRefused(answer)) => assert!(answer.contains("50"), "{answer}"),
        other => panic!("expected ObserveRefused, got {other:?}"),
    }
    // Nothing to cancel: no observation was recorded.
    assert_eq!(
        server.cancel_observe("dev", &Path::resource(3, 0, 9)).err(),
        Some(ServerError::NotObserved)
    );
    server.shutdown();
}
