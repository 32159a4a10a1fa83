//! Bootstrap: client-initiated request, Delete, Write, Discover, Read, Finish and retries.

mod common;

use common::*;
use lwm2m::coap::{code, content_format as cf, option};
use lwm2m::engine::{Destination, Engine, RegistrationState};
use lwm2m::Value;

const BS_URI: &str = "coaps://bs.example:5684";

/// An engine with only a bootstrap account (Security instance 0).
fn factory() -> Engine<'static> {
    let mut e = engine(&[]);
    e.add_bootstrap_server(BS_URI, 0, b"id", b"key").unwrap();
    e
}

fn bs_request(e: &mut Engine<'_>, now: u64) -> Resp {
    let (o, r) = poll(e, now).expect("Bootstrap-Request");
    assert_eq!(o.dest, Destination::Bootstrap);
    assert!(o.confirmable);
    r
}

fn bs_put(e: &mut Engine<'_>, path: &str, format: u16, body: &[u8]) -> u8 {
    send(
        e,
        bootstrap(),
        &req(code::PUT, path).cf(format).body(body),
        0,
    )
    .code
}

fn write_security(e: &mut Engine<'_>, inst: u16, ssid: u16) -> u8 {
    let b = format!("/0/{inst}");
    let body = tlv(
        &b,
        &[
            (
                &format!("{b}/0"),
                Value::String("coap://[2001:db8::5]:5683"),
            ),
            (&format!("{b}/1"), Value::Boolean(false)),
            (&format!("{b}/2"), Value::Integer(3)),
            (&format!("{b}/3"), Value::Opaque(b"")),
            (&format!("{b}/5"), Value::Opaque(b"")),
            (&format!("{b}/10"), Value::Integer(ssid.into())),
        ],
    );
    bs_put(e, &b, cf::LWM2M_TLV, &body)
}

fn write_server(e: &mut Engine<'_>, inst: u16, ssid: u16, lifetime: i64) -> u8 {
    let b = format!("/1/{inst}");
    let body = tlv(
        &b,
        &[
            (&format!("{b}/0"), Value::Integer(ssid.into())),
            (&format!("{b}/1"), Value::Integer(lifetime)),
            (&format!("{b}/6"), Value::Boolean(false)),
            (&format!("{b}/7"), Value::String("U")),
        ],
    );
    bs_put(e, &b, cf::LWM2M_TLV, &body)
}

fn finish(e: &mut Engine<'_>, now: u64) -> u8 {
    send(e, bootstrap(), &req(code::POST, "/bs"), now).code
}

#[test]
fn client_initiated_bootstrap_request() {
    let mut e = factory();
    e.start(0);
    assert!(e.bootstrapping());
    let r = bs_request(&mut e, 0);
    assert_eq!(r.code, code::POST);
    assert_eq!(r.path_of(option::URI_PATH), "/bs");
    assert_eq!(r.queries(), ["ep=node-1", "pct=112"]);
    assert!(r.payload.is_empty());
    assert!(poll(&mut e, 0).is_none());
}

#[test]
fn full_bootstrap_then_registration() {
    let mut e = factory();
    e.start(0);
    let r = bs_request(&mut e, 0);
    answer(&mut e, &r, code::CHANGED, &[], 10);
    assert_eq!(
        send(&mut e, bootstrap(), &req(code::DELETE, "/"), 20).code,
        code::DELETED
    );
    assert_eq!(write_security(&mut e, 1, 5), code::CHANGED);
    assert_eq!(write_server(&mut e, 0, 5, 120), code::CHANGED);
    assert_eq!(finish(&mut e, 30), code::CHANGED);
    assert!(!e.bootstrapping());
    let s = e.security().by_ssid(5).expect("security for ssid 5");
    assert_eq!(s.uri, "coap://[2001:db8::5]:5683");
    assert_eq!(s.mode, 3);
    // The bootstrap account is still there.
    assert_eq!(e.security().bootstrap().unwrap().uri, BS_URI);
    let (o, r) = poll(&mut e, 30).expect("Register");
    assert_eq!(o.dest, Destination::Server(5));
    assert_eq!(r.path_of(option::URI_PATH), "/rd");
    assert_eq!(r.queries(), ["ep=node-1", "lt=120", "lwm2m=1.1", "b=U"]);
    answer(&mut e, &r, code::CREATED, &["rd", "x"], 40);
    assert_eq!(e.registration_state(5), RegistrationState::Registered);
}

#[test]
fn bootstrap_delete_root_keeps_bootstrap_account_and_device() {
    let mut e = engine(&[1, 2]);
    e.add_bootstrap_server(BS_URI, 0, b"", b"").unwrap();
    bs_acl(&mut e, 0, 3303, 0, &[(1, 1)], 1);
    assert_eq!(e.security().instances.len(), 3);
    assert_eq!(
        send(&mut e, bootstrap(), &req(code::DELETE, "/"), 0).code,
        code::DELETED
    );
    assert_eq!(e.security().instances.len(), 1);
    assert!(e.security().bootstrap().is_some());
    assert!(e.servers().instances.is_empty());
    assert!(e.access_control().instances.is_empty());
    assert!(e.object(3).unwrap().has_instance(0));
    // Deleting the bootstrap account itself is refused silently; other paths work.
    let bs = e.security().bootstrap().unwrap().id;
    let r = send(
        &mut e,
        bootstrap(),
        &req(code::DELETE, &format!("/0/{bs}")),
        0,
    );
    assert_eq!(r.code, code::DELETED);
    assert!(e.security().bootstrap().is_some());
    assert_eq!(
        send(&mut e, bootstrap(), &req(code::DELETE, "/3/0/1"), 0).code,
        code::BAD_REQUEST
    );
    assert_eq!(
        send(&mut e, bootstrap(), &req(code::DELETE, "/77/0"), 0).code,
        code::NOT_FOUND
    );
}

#[test]
fn bootstrap_delete_of_a_server_ends_its_observations() {
    let mut e = engine(&[1]);
    e.add_bootstrap_server(BS_URI, 0, b"", b"").unwrap();
    let r = send(&mut e, server(1), &get("/3303/0/5700").observe(0), 0);
    assert_eq!(r.code, code::CONTENT);
    assert_eq!(e.observation_count(), 1);
    assert_eq!(
        send(&mut e, bootstrap(), &req(code::DELETE, "/1/0"), 0).code,
        code::DELETED
    );
    assert_eq!(e.observation_count(), 0);
    e.set_value(&lwm2m::Path::resource(3303, 0, 5700), Value::Float(1.0), 10)
        .unwrap();
    assert!(poll_all(&mut e, 10)
        .iter()
        .all(|(o, _)| o.dest != Destination::Endpoint(1)));
}

#[test]
fn bootstrap_write_object_level_and_senml() {
    let mut e = factory();
    // Two Security instances in one object-level TLV.
    let body = tlv(
        "/0",
        &[
            ("/0/3/0", Value::String("coap://a")),
            ("/0/3/10", Value::Integer(7)),
            ("/0/4/0", Value::String("coap://b")),
            ("/0/4/10", Value::Integer(8)),
        ],
    );
    assert_eq!(bs_put(&mut e, "/0", cf::LWM2M_TLV, &body), code::CHANGED);
    assert_eq!(e.security().by_ssid(7).unwrap().uri, "coap://a");
    assert_eq!(e.security().by_ssid(8).unwrap().uri, "coap://b");
    // SenML CBOR (the pct the request announced).
    let body = senml(
        "/1/2",
        &[
            ("/1/2/0", Value::Integer(7)),
            ("/1/2/1", Value::Integer(60)),
            ("/1/2/7", Value::String("U")),
        ],
    );
    assert_eq!(bs_put(&mut e, "/1/2", cf::SENML_CBOR, &body), code::CHANGED);
    assert_eq!(e.servers().by_ssid(7).unwrap().lifetime, 60);
    // A resource directly, as text.
    assert_eq!(bs_put(&mut e, "/1/2/1", cf::TEXT, b"90"), code::CHANGED);
    assert_eq!(e.servers().by_ssid(7).unwrap().lifetime, 90);
}

#[test]
fn bootstrap_write_with_a_bad_record_changes_nothing() {
    let mut e = factory();
    let body = tlv(
        "/1/0",
        &[("/1/0/0", Value::Integer(5)), ("/1/0/1", Value::Integer(0))],
    );
    assert_eq!(
        bs_put(&mut e, "/1/0", cf::LWM2M_TLV, &body),
        code::BAD_REQUEST
    );
    assert!(e.servers().instances.is_empty());
    let body = tlv("/1/0", &[("/1/0/4", Value::Integer(1))]);
    assert_eq!(
        bs_put(&mut e, "/1/0", cf::LWM2M_TLV, &body),
        code::METHOD_NOT_ALLOWED
    );
    assert!(e.servers().instances.is_empty());
    // Records for another object than the path's.
    let body = tlv("/1/0", &[("/1/0/1", Value::Integer(5))]);
    assert_eq!(
        bs_put(&mut e, "/0/0", cf::LWM2M_TLV, &body),
        code::BAD_REQUEST
    );
    assert_eq!(
        bs_put(&mut e, "/", cf::LWM2M_TLV, &body),
        code::METHOD_NOT_ALLOWED
    );
}

#[test]
fn bootstrap_discover() {
    let mut e = factory();
    write_security(&mut e, 1, 5);
    write_server(&mut e, 0, 5, 120);
    let r = send(&mut e, bootstrap(), &get("/").accept(cf::LINK_FORMAT), 0);
    assert_eq!(r.code, code::CONTENT);
    assert_eq!(r.uint(option::CONTENT_FORMAT), Some(cf::LINK_FORMAT.into()));
    // The C2C objects (21, 11000, 11001, 11002) are listed when the feature is on.
    let expected = if cfg!(feature = "c2c") {
        "lwm2m=\"1.1\",</0/0>,</0/1>;ssid=5;uri=\"coap://[2001:db8::5]:5683\",\
         </1>;ver=1.1,</1/0>;ssid=5,</2>,</3/0>,</21>,</3303/0>,</3303/1>,</3311>,\
         </11000>,</11001>,</11002>"
    } else {
        "lwm2m=\"1.1\",</0/0>,</0/1>;ssid=5;uri=\"coap://[2001:db8::5]:5683\",\
         </1>;ver=1.1,</1/0>;ssid=5,</2>,</3/0>,</3303/0>,</3303/1>,</3311>"
    };
    assert_eq!(r.text(), expected);
    let r = send(&mut e, bootstrap(), &get("/1").accept(cf::LINK_FORMAT), 0);
    assert_eq!(r.text(), "lwm2m=\"1.1\",</1>;ver=1.1,</1/0>;ssid=5");
    let r = send(&mut e, bootstrap(), &get("/1/0").accept(cf::LINK_FORMAT), 0);
    assert_eq!(r.code, code::BAD_REQUEST);
}

#[test]
fn bootstrap_read_is_limited_to_server_and_acl_objects() {
    let mut e = factory();
    write_server(&mut e, 0, 5, 120);
    let r = send(&mut e, bootstrap(), &get("/1/0").accept(cf::LWM2M_TLV), 0);
    assert_eq!(r.code, code::CONTENT);
    assert!(values(&r, "/1/0").contains(&(lwm2m::Path::resource(1, 0, 1), V::I(120))));
    for path in ["/", "/0", "/0/0", "/0/0/5", "/3", "/3/0/0"] {
        for f in [cf::LWM2M_TLV, cf::SENML_CBOR] {
            let r = send(&mut e, bootstrap(), &get(path).accept(f), 0);
            assert_eq!(r.code, code::METHOD_NOT_ALLOWED, "{path}");
            assert!(r.payload.is_empty(), "{path}: secrets leaked");
        }
    }
}

#[test]
fn bootstrap_finish_checks_consistency() {
    let mut e = factory();
    e.start(0);
    let r = bs_request(&mut e, 0);
    answer(&mut e, &r, code::CHANGED, &[], 0);
    // Nothing configured.
    assert_eq!(finish(&mut e, 10), code::NOT_ACCEPTABLE);
    // A Server instance without its Security instance.
    write_server(&mut e, 0, 5, 120);
    assert_eq!(finish(&mut e, 10), code::NOT_ACCEPTABLE);
    assert!(e.bootstrapping());
    write_security(&mut e, 1, 5);
    // Only the bootstrap server may finish.
    assert_eq!(
        send(&mut e, server(5), &req(code::POST, "/bs"), 10).code,
        code::UNAUTHORIZED
    );
    assert_eq!(finish(&mut e, 10), code::CHANGED);
    assert!(!e.bootstrapping());
    assert_eq!(e.registration_state(5), RegistrationState::Registering);
}

#[test]
fn bootstrap_finish_timeout_retries_with_back_off() {
    let mut e = factory();
    e.start(0);
    let mut now = 0;
    let mut delays = vec![];
    for _ in 0..4 {
        let r = bs_request(&mut e, now);
        answer(&mut e, &r, code::CHANGED, &[], now);
        // No Finish within the timeout.
        let deadline = e.next_wakeup().unwrap();
        assert_eq!(deadline, now + 60_000);
        assert!(poll(&mut e, deadline).is_none());
        let next = e.next_wakeup().unwrap();
        delays.push(next - deadline);
        now = next;
    }
    for (k, d) in delays.iter().enumerate() {
        let nominal = 4000u64 << k;
        assert!(
            (nominal * 3 / 4..=nominal * 5 / 4).contains(d),
            "{k}: {d} ({delays:?})"
        );
    }
}

#[test]
fn bootstrap_request_failure_retries() {
    let mut e = factory();
    e.start(0);
    let r = bs_request(&mut e, 0);
    e.request_failed(Destination::Bootstrap, &r.token, 100);
    let t = e.next_wakeup().unwrap();
    assert!((3100..=5100).contains(&t), "{t}");
    let r = bs_request(&mut e, t);
    answer(&mut e, &r, code::BAD_REQUEST, &[], t);
    assert!(e.next_wakeup().unwrap() > t + 5000);
}

#[test]
fn server_initiated_bootstrap_trigger() {
    let mut e = engine(&[1]);
    e.add_bootstrap_server(BS_URI, 0, b"", b"").unwrap();
    register_all(&mut e, 0);
    assert_eq!(
        send(&mut e, server(1), &req(code::POST, "/1/0/9"), 5).code,
        code::CHANGED
    );
    assert!(e.bootstrapping());
    let r = bs_request(&mut e, 5);
    assert_eq!(r.path_of(option::URI_PATH), "/bs");
}
