//! Observe-Composite from the server (handle and HTTP API) to a client whose answers come from
//! the project's engine in-process: the fake client's socket carries the bytes, the engine
//! builds every response and notification.

mod common;

use std::thread;

use common::*;
use lwm2m::coap::{code, content_format as cf, option, Message, MessageBuilder, MessageType};
use lwm2m::dm::Object;
use lwm2m::engine::{Engine, Identity, Peer, ServerConfig};
use lwm2m::objects::{device::Device, temperature::Temperature};
use lwm2m::{Path, Value};
use lwm2m_server::{Event, OwnedValue, Response};

const TEMP: Path = Path::resource(3303, 0, 5700);
const MANUFACTURER: Path = Path::resource(3, 0, 0);
const PEER: Peer = Peer {
    identity: Identity::Server(1),
    endpoint: 0,
    source: 0,
};

/// An engine with Device and one Temperature instance, and an account for server 1 (the
/// fake client registers; the engine only answers).
fn engine() -> Engine<'static> {
    let device: &'static mut Device = Box::leak(Box::new(Device::new("ACME", "M1", "SN1")));
    let temp: &'static mut Temperature<1> =
        Box::leak(Box::new(Temperature::new(21.5, (-40.0, 85.0))));
    let objs: Vec<&'static mut dyn Object> = vec![device, temp];
    let mut e = Engine::new("dev", Box::leak(objs.into_boxed_slice()), 7).unwrap();
    e.add_server(&ServerConfig {
        ssid: 1,
        uri: "coap://127.0.0.1:5683",
        lifetime: 300,
        mode: 3,
        identity: &[],
        secret_key: &[],
    })
    .unwrap();
    e
}

/// Answers the server's next request with the engine; returns the request.
fn serve(c: &mut FakeClient, e: &mut Engine<'_>) -> Msg {
    let req = c.recv_request();
    let bytes = encode(
        req.mtype,
        req.code,
        req.mid,
        &req.token,
        &req.options,
        &req.payload,
    );
    let m = Message::parse(&bytes).unwrap();
    let mut buf = [0u8; 1024];
    let mut b = MessageBuilder::new(&mut buf, MessageType::Ack, 0, req.mid, &req.token).unwrap();
    e.handle_request(&PEER, &m, 0, &mut b);
    let n = b.finish();
    c.send(&buf[..n]);
    req
}

/// Sends the engine's due notification (NON) with a fresh message ID.
fn notify(c: &mut FakeClient, e: &mut Engine<'_>, now: u64) {
    let mut buf = [0u8; 1024];
    let out = e.poll(now, &mut buf).expect("a notification is due");
    assert!(!out.confirmable);
    buf[2..4].copy_from_slice(&c.mid().to_be_bytes());
    c.send(&buf[..out.len]);
}

/// The values of a composite response or notification, by path.
fn values(r: &Response) -> Vec<(Path, OwnedValue)> {
    r.values()
        .unwrap()
        .into_iter()
        .map(|r| (r.path, r.value))
        .collect()
}

fn next_notification(events: &std::sync::mpsc::Receiver<Event>) -> (Path, Response) {
    match wait_event(events, |e| matches!(e, Event::Notification { .. })) {
        Event::Notification { path, response, .. } => (path, response),
        _ => unreachable!(),
    }
}

#[test]
fn observe_composite_notifies_every_path_and_cancels() {
    let server = start(|_| {});
    let mut c = FakeClient::new(server.coap_addr());
    c.register("dev", 300, "</3/0>,</3303/0>");
    let mut e = engine();
    let events = server.subscribe();

    let h = server.clone();
    let op = thread::spawn(move || h.observe_composite("dev", &[MANUFACTURER, TEMP], None));
    let req = serve(&mut c, &mut e);
    assert_eq!(
        (req.code, req.uint(option::OBSERVE)),
        (code::FETCH, Some(0))
    );
    assert_eq!(e.observation_count(), 1);
    let first = op.join().unwrap().unwrap();
    assert_eq!(first.observe, Some(0));
    assert_eq!(
        values(&first),
        vec![
            (MANUFACTURER, OwnedValue::String("ACME".into())),
            (TEMP, OwnedValue::Float(21.5)),
        ]
    );

    // One path changes: a notification with both, on `/`.
    e.set_value(&TEMP, Value::Float(30.0), 10).unwrap();
    notify(&mut c, &mut e, 10);
    let (path, n) = next_notification(&events);
    assert_eq!(path, Path::ROOT);
    assert_eq!(n.observe, Some(1));
    assert_eq!(n.content_format, Some(cf::SENML_CBOR));
    assert_eq!(
        values(&n),
        vec![
            (MANUFACTURER, OwnedValue::String("ACME".into())),
            (TEMP, OwnedValue::Float(30.0)),
        ]
    );

    // Cancel: FETCH with Observe 1, the same token and the same paths.
    let h = server.clone();
    let op = thread::spawn(move || h.cancel_observe("dev", &Path::ROOT));
    let cancel = serve(&mut c, &mut e);
    assert_eq!(
        (cancel.code, cancel.uint(option::OBSERVE)),
        (code::FETCH, Some(1))
    );
    assert_eq!(cancel.token, req.token);
    assert_eq!(cancel.payload, req.payload);
    assert!(op.join().unwrap().unwrap().is_success());
    assert_eq!(e.observation_count(), 0);
    server.shutdown();
}

#[test]
fn http_api_observes_and_cancels() {
    let server = start(|cfg| cfg.http_addr = Some("127.0.0.1:0".into()));
    let api = server.http_addr().unwrap();
    let mut c = FakeClient::new(server.coap_addr());
    c.register("dev", 300, "</3/0>,</3303/0>");
    let mut e = engine();

    let post = thread::spawn(move || {
        http_json(
            api,
            "POST",
            "/api/clients/dev/composite/observe?paths=/3/0/0,/3303/0/5700",
            "",
        )
    });
    let req = serve(&mut c, &mut e);
    assert_eq!(
        (req.code, req.uint(option::OBSERVE)),
        (code::FETCH, Some(0))
    );
    let (status, body) = post.join().unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["observe"], 0);
    assert_eq!(body["values"].as_array().unwrap().len(), 2, "{body}");
    assert_eq!(e.observation_count(), 1);

    let del =
        thread::spawn(move || http_json(api, "DELETE", "/api/clients/dev/composite/observe", ""));
    let cancel = serve(&mut c, &mut e);
    assert_eq!(cancel.uint(option::OBSERVE), Some(1));
    assert_eq!(del.join().unwrap().0, 200);
    assert_eq!(e.observation_count(), 0);
    // Nothing left to cancel.
    let (status, _) = http_json(api, "DELETE", "/api/clients/dev/composite/observe", "");
    assert_ne!(status, 200);
    server.shutdown();
}
