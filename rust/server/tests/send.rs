//! Send (`POST /dp`) from a raw-CoAP fake client: 2.04 and the `send` event with the values,
//! the latest values per client in the API, 4.00 / 4.15 with `send-failed` for bad payloads,
//! 4.04 without an event for peers that are not registered. (The host client end to end is
//! in rust/host/tests/send.rs: the host crate depends on this one.)

mod common;

use std::sync::mpsc::Receiver;

use common::*;
use lwm2m::coap::{code, content_format as cf, option};
use lwm2m::Path;
use lwm2m_server::values::{self, OwnedRecord, OwnedValue};
use lwm2m_server::{Event, ServerHandle};
use serde_json::json;

fn dp(format: Option<u16>) -> Vec<(u16, Vec<u8>)> {
    let mut o = vec![(option::URI_PATH, b"dp".to_vec())];
    if let Some(f) = format {
        o.push((option::CONTENT_FORMAT, uint(f.into())));
    }
    o
}

/// `[{0: "/3303/0/5700", 2: 21.5}, {0: "/3/0/0", 3: "ACME"}]`, written out by hand.
fn senml_payload() -> Vec<u8> {
    let mut p = vec![0x82, 0xa2, 0x00, 0x6c];
    p.extend(b"/3303/0/5700");
    p.extend([0x02, 0xfb, 0x40, 0x35, 0x80, 0, 0, 0, 0, 0]);
    p.extend([0xa2, 0x00, 0x66]);
    p.extend(b"/3/0/0");
    p.extend([0x03, 0x64]);
    p.extend(b"ACME");
    p
}

fn setup() -> (ServerHandle, Receiver<Event>, FakeClient) {
    let server = start(|cfg| cfg.http_addr = Some("127.0.0.1:0".into()));
    let events = server.subscribe();
    let mut c = FakeClient::new(server.coap_addr());
    c.register("dev", 300, "</3/0>,</3303/0>");
    (server, events, c)
}

/// The Send events so far: the server emits them before it answers, so after the answer
/// they are all queued.
fn send_events(rx: &Receiver<Event>) -> Vec<Event> {
    rx.try_iter()
        .filter(|e| matches!(e, Event::Send { .. } | Event::SendFailed { .. }))
        .collect()
}

#[test]
fn senml_cbor_send_is_recorded_streamed_and_shown() {
    let (server, events, mut c) = setup();
    let api = server.http_addr().unwrap();
    assert_eq!(
        http_json(api, "GET", "/api/clients/dev/send", ""),
        (200, json!({"sends": 0, "dropped": 0, "values": []}))
    );
    let r = c.request(code::POST, &dp(Some(cf::SENML_CBOR)), &senml_payload());
    assert_eq!(r.code, code::CHANGED);
    let ev = wait_event(&events, |e| matches!(e, Event::Send { .. }));
    let want = vec![
        OwnedRecord {
            path: Path::resource(3303, 0, 5700),
            value: OwnedValue::Float(21.5),
        },
        OwnedRecord {
            path: Path::resource(3, 0, 0),
            value: OwnedValue::String("ACME".into()),
        },
    ];
    match &ev {
        Event::Send {
            endpoint,
            format,
            values,
            dropped,
        } => {
            assert_eq!(endpoint, "dev");
            assert_eq!(*format, cf::SENML_CBOR);
            assert_eq!(values, &want);
            assert_eq!(*dropped, 0);
        }
        e => panic!("{e:?}"),
    }
    let j = ev.to_json();
    assert_eq!(j["event"], "send");
    assert_eq!(
        j["values"][0],
        json!({"path": "/3303/0/5700", "value": 21.5, "type": "float"})
    );

    // A second Send replaces the value of its path, keeps the others.
    let newer = values::encode(
        cf::LWM2M_CBOR,
        &Path::ROOT,
        &[OwnedRecord {
            path: Path::resource(3303, 0, 5700),
            value: OwnedValue::Float(22.75),
        }],
    )
    .unwrap();
    let r = c.request(code::POST, &dp(Some(cf::LWM2M_CBOR)), &newer);
    assert_eq!(r.code, code::CHANGED);
    wait_event(
        &events,
        |e| matches!(e, Event::Send { format, .. } if *format == cf::LWM2M_CBOR),
    );
    let got = server.sent_values("dev").unwrap().expect("values kept");
    assert_eq!(got.sends, 2);
    let latest: Vec<_> = got.values.values().cloned().collect();
    assert_eq!(latest[0], want[1], "/3/0/0 kept");
    assert_eq!(latest[1].value, OwnedValue::Float(22.75));
    let (status, j) = http_json(api, "GET", "/api/clients/dev/send", "");
    assert_eq!(status, 200);
    assert_eq!(j["sends"], 2);
    assert_eq!(j["values"].as_array().unwrap().len(), 2);
    assert_eq!(j["values"][1]["value"], 22.75);
    assert_eq!(http_json(api, "GET", "/api/clients/nobody/send", "").0, 404);
    server.shutdown();
}

#[test]
fn bad_payloads_are_4_00_or_4_15_with_an_event() {
    let (server, events, mut c) = setup();
    let cases: [(Option<u16>, &[u8], u8); 4] = [
        (Some(cf::SENML_CBOR), &[0x82, 0xa1, 0x00], code::BAD_REQUEST),
        (Some(cf::SENML_CBOR), &[], code::BAD_REQUEST),
        (None, &[0x80], code::BAD_REQUEST),
        (Some(cf::TEXT), b"21.5", code::UNSUPPORTED_CONTENT_FORMAT),
    ];
    for (f, payload, want) in cases {
        let r = c.request(code::POST, &dp(f), payload);
        assert_eq!(r.code, want, "{f:?} {payload:02x?}");
    }
    let evs = send_events(&events);
    assert_eq!(evs.len(), 4, "{evs:?}");
    match &evs[0] {
        Event::SendFailed {
            endpoint,
            code: c,
            reason,
        } => {
            assert_eq!((endpoint.as_str(), *c), ("dev", code::BAD_REQUEST));
            assert!(reason.contains("undecodable"), "{reason}");
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(
        c.request(code::GET, &dp(None), &[]).code,
        code::METHOD_NOT_ALLOWED
    );
    assert_eq!(server.sent_values("dev").unwrap(), None, "nothing recorded");
    server.shutdown();
}

#[test]
fn unregistered_peers_get_4_04_and_no_event() {
    let (server, events, _c) = setup();
    let mut other = FakeClient::new(server.coap_addr());
    let r = other.request(code::POST, &dp(Some(cf::SENML_CBOR)), &senml_payload());
    assert_eq!(r.code, code::NOT_FOUND);
    let sub = vec![
        (option::URI_PATH, b"dp".to_vec()),
        (option::URI_PATH, b"x".to_vec()),
        (option::CONTENT_FORMAT, uint(cf::SENML_CBOR.into())),
    ];
    assert_eq!(
        other.request(code::POST, &sub, &senml_payload()).code,
        code::NOT_FOUND
    );
    assert!(send_events(&events).is_empty());
    assert_eq!(server.sent_values("dev").unwrap(), None);
    server.shutdown();
}

#[test]
fn a_new_registration_starts_empty() {
    let (server, _events, mut c) = setup();
    let r = c.request(code::POST, &dp(Some(cf::SENML_CBOR)), &senml_payload());
    assert_eq!(r.code, code::CHANGED);
    assert_eq!(server.sent_values("dev").unwrap().unwrap().values.len(), 2);
    c.register("dev", 300, "</3/0>");
    assert_eq!(server.sent_values("dev").unwrap(), None);
    server.shutdown();
}
