//! Every DM operation through `Engine::handle_request`, with one DM server (full access).

mod common;

use common::*;
use lwm2m::coap::{code, content_format as cf, option};
use lwm2m::engine::Destination;
use lwm2m::{Path, Value};

const S: u16 = 1;

fn p(s: &str) -> Path {
    Path::parse_str(s).unwrap()
}

// ---------------------------------------------------------------- Read

#[test]
fn read_resource_as_text() {
    let mut e = engine(&[S]);
    let r = send(&mut e, server(S), &get("/3/0/0"), 0);
    assert_eq!(r.code, code::CONTENT);
    assert_eq!(r.uint(option::CONTENT_FORMAT), Some(cf::TEXT.into()));
    assert_eq!(r.payload, b"ACME");
    let r = send(&mut e, server(S), &get("/3303/1/5700"), 0);
    assert_eq!(r.text(), "21.5");
}

#[test]
fn read_instance_defaults_to_tlv() {
    let mut e = engine(&[S]);
    let r = send(&mut e, server(S), &get("/3303/0"), 0);
    assert_eq!(r.code, code::CONTENT);
    assert_eq!(r.uint(option::CONTENT_FORMAT), Some(cf::LWM2M_TLV.into()));
    let v = values(&r, "/3303/0");
    assert!(v.contains(&(p("/3303/0/5700"), V::F(21.5))), "{v:?}");
    assert!(v.contains(&(p("/3303/0/5701"), V::S("Cel".into()))));
    // The executable resource is not part of a read.
    assert!(!v.iter().any(|(q, _)| *q == p("/3303/0/5605")));
}

#[test]
fn read_object_lists_every_instance() {
    let mut e = engine(&[S]);
    let r = send(&mut e, server(S), &get("/3303"), 0);
    assert_eq!(r.code, code::CONTENT);
    let v = values(&r, "/3303");
    for i in [0, 1] {
        let q = Path::resource(3303, i, 5700);
        assert!(v.iter().any(|(x, _)| *x == q), "{q} in {v:?}");
    }
}

#[test]
fn read_multiple_resource_and_resource_instance() {
    let mut e = engine(&[S]);
    let r = send(&mut e, server(S), &get("/3/0/11"), 0);
    assert_eq!(r.code, code::CONTENT);
    assert_eq!(r.uint(option::CONTENT_FORMAT), Some(cf::LWM2M_TLV.into()));
    assert_eq!(values(&r, "/3/0/11"), vec![(p("/3/0/11/0"), V::I(0))]);
    let r = send(&mut e, server(S), &get("/3/0/11/0"), 0);
    assert_eq!(r.code, code::CONTENT);
    assert_eq!(r.uint(option::CONTENT_FORMAT), Some(cf::TEXT.into()));
    assert_eq!(r.payload, b"0");
}

#[test]
fn read_accept_negotiation() {
    let mut e = engine(&[S]);
    for f in [cf::LWM2M_TLV, cf::SENML_CBOR, cf::LWM2M_CBOR] {
        let r = send(&mut e, server(S), &get("/3303/0").accept(f), 0);
        assert_eq!(r.code, code::CONTENT, "format {f}");
        assert_eq!(r.uint(option::CONTENT_FORMAT), Some(f.into()));
        let v = values(&r, "/3303/0");
        assert!(v.contains(&(p("/3303/0/5700"), V::F(21.5))), "{f}: {v:?}");
    }
    let r = send(&mut e, server(S), &get("/3/0/1").accept(cf::SENML_CBOR), 0);
    assert_eq!(value(&r, "/3/0/1"), V::S("M1".into()));
}

#[test]
fn read_unsupported_accept_is_4_06() {
    let mut e = engine(&[S]);
    for (path, f) in [
        ("/3/0/0", 9999),
        ("/3/0/0", cf::SENML_JSON),
        ("/3303/0", cf::TEXT),
        ("/3303", cf::TEXT),
        ("/3303/0", cf::OPAQUE),
        // Text for a resource with several instances, opaque for a string.
        ("/3/0/11", cf::TEXT),
        ("/3/0/0", cf::OPAQUE),
    ] {
        let r = send(&mut e, server(S), &get(path).accept(f), 0);
        assert_eq!(r.code, code::NOT_ACCEPTABLE, "{path} accept {f}");
        assert!(r.payload.is_empty());
    }
}

#[test]
fn read_not_found_and_not_allowed() {
    let mut e = engine(&[S]);
    for path in [
        "/4",
        "/3/1",
        "/3/0/99",
        "/3/0/11/5",
        "/3/0/9",
        "/3303/2/5700",
        "/3311/0",
    ] {
        let r = send(&mut e, server(S), &get(path), 0);
        assert_eq!(r.code, code::NOT_FOUND, "{path}");
    }
    for path in ["/3/0/4", "/3303/0/5605", "/"] {
        let r = send(&mut e, server(S), &get(path), 0);
        assert_eq!(r.code, code::METHOD_NOT_ALLOWED, "{path}");
    }
}

// ---------------------------------------------------------------- Write

#[test]
fn write_replace_resource_text() {
    let mut e = engine(&[S]);
    create_light(&mut e, server(S), 0);
    let r = put_text(&mut e, server(S), "/3311/0/5851", "42", 0);
    assert_eq!(r.code, code::CHANGED);
    assert_eq!(
        read_value(&mut e, server(S), "/3311/0/5851", 0),
        Ok(V::I(42))
    );
    let r = put_text(&mut e, server(S), "/3311/0/5850", "1", 0);
    assert_eq!(r.code, code::CHANGED);
    assert_eq!(peek(&e, "/3311/0/5850"), Some(V::B(true)));
}

#[test]
fn write_errors() {
    let mut e = engine(&[S]);
    create_light(&mut e, server(S), 0);
    // Read-only resource, executable resource.
    assert_eq!(
        put_text(&mut e, server(S), "/3/0/0", "x", 0).code,
        code::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        put_text(&mut e, server(S), "/3/0/4", "x", 0).code,
        code::METHOD_NOT_ALLOWED
    );
    // Type mismatch and an out-of-range value.
    assert_eq!(
        put_text(&mut e, server(S), "/3311/0/5851", "abc", 0).code,
        code::BAD_REQUEST
    );
    assert_eq!(
        put_text(&mut e, server(S), "/3311/0/5851", "101", 0).code,
        code::BAD_REQUEST
    );
    // Missing target.
    assert_eq!(
        put_text(&mut e, server(S), "/3311/3/5851", "1", 0).code,
        code::NOT_FOUND
    );
    assert_eq!(
        put_text(&mut e, server(S), "/3311/0/9999", "1", 0).code,
        code::NOT_FOUND
    );
    // No or an unsupported Content-Format.
    let r = send(
        &mut e,
        server(S),
        &req(code::PUT, "/3311/0/5851").body(b"1"),
        0,
    );
    assert_eq!(r.code, code::UNSUPPORTED_CONTENT_FORMAT);
    let r = send(
        &mut e,
        server(S),
        &req(code::PUT, "/3311/0/5851").cf(50).body(b"1"),
        0,
    );
    assert_eq!(r.code, code::UNSUPPORTED_CONTENT_FORMAT);
    // PUT on an object is not a Write.
    let r = send(
        &mut e,
        server(S),
        &req(code::PUT, "/3311").cf(cf::TEXT).body(b"1"),
        0,
    );
    assert_eq!(r.code, code::METHOD_NOT_ALLOWED);
    assert_eq!(peek(&e, "/3311/0/5851"), Some(V::I(100)));
}

#[test]
fn write_partial_update_keeps_other_resources() {
    let mut e = engine(&[S]);
    create_light(&mut e, server(S), 0);
    put_text(&mut e, server(S), "/3311/0/5706", "red", 0);
    let body = tlv("/3311/0", &[("/3311/0/5851", Value::Integer(30))]);
    let r = send(
        &mut e,
        server(S),
        &req(code::POST, "/3311/0").cf(cf::LWM2M_TLV).body(&body),
        0,
    );
    assert_eq!(r.code, code::CHANGED);
    assert_eq!(peek(&e, "/3311/0/5851"), Some(V::I(30)));
    assert_eq!(peek(&e, "/3311/0/5706"), Some(V::S("red".into())));
}

#[test]
fn write_replace_instance() {
    let mut e = engine(&[S]);
    create_light(&mut e, server(S), 0);
    let body = tlv(
        "/3311/0",
        &[
            ("/3311/0/5850", Value::Boolean(true)),
            ("/3311/0/5851", Value::Integer(7)),
            ("/3311/0/5706", Value::String("green")),
        ],
    );
    let r = send(
        &mut e,
        server(S),
        &req(code::PUT, "/3311/0").cf(cf::LWM2M_TLV).body(&body),
        0,
    );
    assert_eq!(r.code, code::CHANGED);
    assert_eq!(peek(&e, "/3311/0/5850"), Some(V::B(true)));
    assert_eq!(peek(&e, "/3311/0/5851"), Some(V::I(7)));
    assert_eq!(peek(&e, "/3311/0/5706"), Some(V::S("green".into())));
    // A record outside the request path is refused and changes nothing.
    let body = tlv("/3311", &[("/3311/1/5851", Value::Integer(9))]);
    let r = send(
        &mut e,
        server(S),
        &req(code::PUT, "/3311/0").cf(cf::LWM2M_TLV).body(&body),
        0,
    );
    assert!(r.code >= code::BAD_REQUEST, "{:#x}", r.code);
    assert_eq!(peek(&e, "/3311/0/5851"), Some(V::I(7)));
}

#[test]
fn write_replace_multiple_resource() {
    let mut e = engine(&[S]);
    bs_acl(&mut e, 0, 3303, 0, &[(S, 31), (5, 1)], S);
    let body = tlv(
        "/2/0/2",
        &[
            ("/2/0/2/1", Value::Integer(3)),
            ("/2/0/2/7", Value::Integer(1)),
        ],
    );
    let r = send(
        &mut e,
        server(S),
        &req(code::PUT, "/2/0/2").cf(cf::LWM2M_TLV).body(&body),
        0,
    );
    assert_eq!(r.code, code::CHANGED);
    let r = send(&mut e, server(S), &get("/2/0/2"), 0);
    assert_eq!(
        values(&r, "/2/0/2"),
        vec![(p("/2/0/2/1"), V::I(3)), (p("/2/0/2/7"), V::I(1))]
    );
}

// ---------------------------------------------------------------- Execute

#[test]
fn execute_resets_min_max() {
    let mut e = engine(&[S]);
    e.set_value(&p("/3303/0/5700"), Value::Float(30.0), 0)
        .unwrap();
    assert_eq!(peek(&e, "/3303/0/5602"), Some(V::F(30.0)));
    assert_eq!(peek(&e, "/3303/0/5601"), Some(V::F(21.5)));
    let r = send(&mut e, server(S), &req(code::POST, "/3303/0/5605"), 0);
    assert_eq!(r.code, code::CHANGED);
    assert_eq!(peek(&e, "/3303/0/5601"), Some(V::F(30.0)));
}

#[test]
fn execute_arguments() {
    let mut e = engine(&[S]);
    for ok in [&b"0"[..], b"0='abc',1", b"5='http://x/y'"] {
        let r = send(&mut e, server(S), &req(code::POST, "/3/0/4").body(ok), 0);
        assert_eq!(r.code, code::CHANGED, "{ok:?}");
    }
    for bad in [&b"abc"[..], b"0=abc", b"12", b"0,", b"0='x"] {
        let r = send(&mut e, server(S), &req(code::POST, "/3/0/4").body(bad), 0);
        assert_eq!(r.code, code::BAD_REQUEST, "{bad:?}");
    }
}

#[test]
fn execute_errors() {
    let mut e = engine(&[S]);
    let cases = [
        ("/3/0/0", code::METHOD_NOT_ALLOWED),
        ("/3/0/4/0", code::METHOD_NOT_ALLOWED),
        ("/3/1/4", code::NOT_FOUND),
        ("/3/0/98", code::NOT_FOUND),
        ("/0/0/0", code::UNAUTHORIZED),
    ];
    for (path, c) in cases {
        let r = send(&mut e, server(S), &req(code::POST, path), 0);
        assert_eq!(r.code, c, "{path}");
    }
}

// ---------------------------------------------------------------- Create / Delete

#[test]
fn create_with_empty_payload_picks_lowest_free_id() {
    let mut e = engine(&[S]);
    for i in 0..2 {
        let r = create_light(&mut e, server(S), 0);
        assert_eq!(r.code, code::CREATED);
        assert_eq!(r.path_of(option::LOCATION_PATH), format!("/3311/{i}"));
    }
    assert_eq!(peek(&e, "/3311/1/5851"), Some(V::I(100)));
}

#[test]
fn create_with_instance_id_in_payload() {
    let mut e = engine(&[S]);
    let body = tlv(
        "/3311",
        &[
            ("/3311/5/5850", Value::Boolean(true)),
            ("/3311/5/5851", Value::Integer(12)),
        ],
    );
    let r = send(
        &mut e,
        server(S),
        &req(code::POST, "/3311").cf(cf::LWM2M_TLV).body(&body),
        0,
    );
    assert_eq!(r.code, code::CREATED);
    assert_eq!(r.path_of(option::LOCATION_PATH), "/3311/5");
    assert_eq!(peek(&e, "/3311/5/5851"), Some(V::I(12)));
    assert_eq!(peek(&e, "/3311/5/5850"), Some(V::B(true)));
    // The same ID again: 4.00, nothing changed.
    let body2 = tlv("/3311", &[("/3311/5/5851", Value::Integer(99))]);
    let r = send(
        &mut e,
        server(S),
        &req(code::POST, "/3311").cf(cf::LWM2M_TLV).body(&body2),
        0,
    );
    assert_eq!(r.code, code::BAD_REQUEST);
    assert_eq!(peek(&e, "/3311/5/5851"), Some(V::I(12)));
}

#[test]
fn create_without_instance_id_in_payload() {
    let mut e = engine(&[S]);
    create_light(&mut e, server(S), 0);
    // Bare resource TLVs: the client picks the ID.
    let body = tlv("/3311/0", &[("/3311/0/5851", Value::Integer(3))]);
    let r = send(
        &mut e,
        server(S),
        &req(code::POST, "/3311").cf(cf::LWM2M_TLV).body(&body),
        0,
    );
    assert_eq!(r.code, code::CREATED);
    assert_eq!(r.path_of(option::LOCATION_PATH), "/3311/1");
    assert_eq!(peek(&e, "/3311/1/5851"), Some(V::I(3)));
}

#[test]
fn create_with_bad_value_leaves_nothing() {
    let mut e = engine(&[S]);
    let body = tlv(
        "/3311",
        &[
            ("/3311/2/5706", Value::String("red")),
            ("/3311/2/5851", Value::Integer(150)),
        ],
    );
    let r = send(
        &mut e,
        server(S),
        &req(code::POST, "/3311").cf(cf::LWM2M_TLV).body(&body),
        0,
    );
    assert_eq!(r.code, code::BAD_REQUEST);
    assert_eq!(
        send(&mut e, server(S), &get("/3311/2"), 0).code,
        code::NOT_FOUND
    );
}

#[test]
fn create_errors() {
    let mut e = engine(&[S]);
    // Single-instance object that has its instance.
    assert_eq!(
        send(&mut e, server(S), &req(code::POST, "/3"), 0).code,
        code::BAD_REQUEST
    );
    assert_eq!(
        send(&mut e, server(S), &req(code::POST, "/1"), 0).code,
        code::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        send(&mut e, server(S), &req(code::POST, "/0"), 0).code,
        code::UNAUTHORIZED
    );
    assert_eq!(
        send(&mut e, server(S), &req(code::POST, "/2"), 0).code,
        code::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        send(&mut e, server(S), &req(code::POST, "/77"), 0).code,
        code::NOT_FOUND
    );
    // Full object.
    for _ in 0..4 {
        assert_eq!(create_light(&mut e, server(S), 0).code, code::CREATED);
    }
    assert_eq!(
        create_light(&mut e, server(S), 0).code,
        code::SERVICE_UNAVAILABLE
    );
}

#[test]
fn delete_instance() {
    let mut e = engine(&[S]);
    create_light(&mut e, server(S), 0);
    let r = send(&mut e, server(S), &req(code::DELETE, "/3311/0"), 0);
    assert_eq!(r.code, code::DELETED);
    assert_eq!(
        send(&mut e, server(S), &get("/3311/0"), 0).code,
        code::NOT_FOUND
    );
    let r = send(&mut e, server(S), &req(code::DELETE, "/3311/0"), 0);
    assert_eq!(r.code, code::NOT_FOUND);
    for (path, c) in [
        ("/3311", code::METHOD_NOT_ALLOWED),
        ("/3/0", code::METHOD_NOT_ALLOWED),
        ("/3/0/1", code::METHOD_NOT_ALLOWED),
        ("/1/0", code::METHOD_NOT_ALLOWED),
        ("/0/0", code::UNAUTHORIZED),
        ("/", code::METHOD_NOT_ALLOWED),
    ] {
        assert_eq!(
            send(&mut e, server(S), &req(code::DELETE, path), 0).code,
            c,
            "{path}"
        );
    }
}

#[test]
fn delete_removes_observations_and_acl() {
    let mut e = engine(&[1, 2]);
    // Server 1 creates /3311/0 and gets an ACL instance for it.
    bs_acl(&mut e, 0, 3311, 65535, &[(1, 0x10)], 65535);
    assert_eq!(create_light(&mut e, server(1), 0).code, code::CREATED);
    assert!(e.access_control().find(3311, 0).is_some());
    let r = send(
        &mut e,
        server(1),
        &get("/3311/0/5851").observe(0).token(b"ob"),
        0,
    );
    assert_eq!(r.code, code::CONTENT);
    assert_eq!(e.observation_count(), 1);
    let r = send(&mut e, server(1), &req(code::DELETE, "/3311/0"), 10);
    assert_eq!(r.code, code::DELETED);
    assert!(e.access_control().find(3311, 0).is_none());
    // The observer hears that the target went away, then the observation is over.
    let out = poll_all(&mut e, 10);
    let n: Vec<_> = out
        .iter()
        .filter(|(o, _)| o.dest == Destination::Endpoint(1))
        .collect();
    assert_eq!(n.len(), 1, "{out:?}");
    assert_eq!(n[0].1.code, code::NOT_FOUND);
    assert_eq!(n[0].1.token, b"ob");
    assert_eq!(n[0].1.opt(option::OBSERVE), None);
    assert_eq!(e.observation_count(), 0);
}

// ---------------------------------------------------------------- Discover

fn discover(e: &mut lwm2m::engine::Engine<'_>, path: &str) -> Resp {
    send(e, server(S), &get(path).accept(cf::LINK_FORMAT), 0)
}

#[test]
fn discover_object() {
    let mut e = engine(&[S]);
    let r = discover(&mut e, "/3");
    assert_eq!(r.code, code::CONTENT);
    assert_eq!(r.uint(option::CONTENT_FORMAT), Some(cf::LINK_FORMAT.into()));
    let t = r.text();
    assert!(t.starts_with("</3>,</3/0>,</3/0/0>,</3/0/1>"), "{t}");
    assert!(t.contains(",</3/0/11>;dim=1,"), "{t}");
    assert!(t.contains(",</3/0/4>,"), "{t}");
    // Absent optional resources are not listed.
    assert!(!t.contains("</3/0/9>"), "{t}");
    assert!(!t.contains("</3/0/6>"), "{t}");
    let r = discover(&mut e, "/1");
    assert!(
        r.text().starts_with("</1>;ver=1.1,</1/0>,</1/0/0>"),
        "{}",
        r.text()
    );
}

#[test]
fn discover_instance_and_resource() {
    let mut e = engine(&[S]);
    let t = discover(&mut e, "/3303/1").text();
    assert!(t.starts_with("</3303/1>,</3303/1/5601>"), "{t}");
    assert!(!t.contains("</3303>"), "{t}");
    assert!(!t.contains("</3303/0"), "{t}");
    assert_eq!(
        discover(&mut e, "/3/0/11").text(),
        "</3/0/11>;dim=1,</3/0/11/0>"
    );
    assert_eq!(discover(&mut e, "/3303/0/5700").text(), "</3303/0/5700>");
    assert_eq!(discover(&mut e, "/3/0/9").code, code::NOT_FOUND);
    assert_eq!(discover(&mut e, "/3/0/11/0").code, code::METHOD_NOT_ALLOWED);
    assert_eq!(discover(&mut e, "/").code, code::METHOD_NOT_ALLOWED);
    assert_eq!(discover(&mut e, "/0").code, code::UNAUTHORIZED);
}

#[test]
fn discover_shows_attributes() {
    let mut e = engine(&[S]);
    let wa = |e: &mut lwm2m::engine::Engine<'_>, path: &str, q: &[&str]| {
        let mut r = req(code::PUT, path);
        for x in q {
            r = r.query(x);
        }
        send(e, server(S), &r, 0).code
    };
    assert_eq!(wa(&mut e, "/3303", &["pmin=5"]), code::CHANGED);
    assert_eq!(
        wa(&mut e, "/3303/0/5700", &["pmax=60", "gt=30.5", "st=1"]),
        code::CHANGED
    );
    let t = discover(&mut e, "/3303").text();
    assert!(t.starts_with("</3303>;pmin=5,</3303/0>,"), "{t}");
    assert!(t.contains("</3303/0/5700>;pmax=60;gt=30.5;st=1"), "{t}");
    assert!(t.contains("</3303/1/5700>,"), "{t}");
    // Another server does not see them.
    let mut e2 = engine(&[S]);
    let t2 = discover(&mut e2, "/3303").text();
    assert!(!t2.contains("pmin"), "{t2}");
}

// ---------------------------------------------------------------- Write-Attributes

fn write_attrs(e: &mut lwm2m::engine::Engine<'_>, path: &str, q: &[&str]) -> u8 {
    let mut r = req(code::PUT, path);
    for x in q {
        r = r.query(x);
    }
    send(e, server(S), &r, 0).code
}

#[test]
fn write_attributes_all_names() {
    let mut e = engine(&[S]);
    let q = [
        "pmin=1", "pmax=20", "gt=30", "lt=10", "st=2", "epmin=1", "epmax=15",
    ];
    assert_eq!(write_attrs(&mut e, "/3303/0/5700", &q), code::CHANGED);
    let t = discover(&mut e, "/3303/0/5700").text();
    assert_eq!(
        t,
        "</3303/0/5700>;pmin=1;pmax=20;epmin=1;epmax=15;gt=30;lt=10;st=2"
    );
}

#[test]
fn write_attributes_invalid() {
    let mut e = engine(&[S]);
    let cases: &[(&str, &[&str])] = &[
        ("/3303/0/5700", &["lt=30", "gt=10"]),
        ("/3303/0/5700", &["lt=10", "gt=10"]),
        ("/3303/0/5700", &["lt=10", "gt=20", "st=5"]),
        ("/3303/0/5700", &["st=-1"]),
        ("/3303/0/5700", &["epmin=10", "epmax=5"]),
        ("/3303/0/5700", &["pmin=abc"]),
        ("/3303/0/5700", &["pmin=-1"]),
        ("/3303/0/5700", &["gt=1e999"]),
        ("/3303/0/5700", &["foo=1"]),
        ("/3303/0/5701", &["gt=1"]),
        ("/3303/0", &["gt=1"]),
    ];
    for (path, q) in cases {
        assert_eq!(
            write_attrs(&mut e, path, q),
            code::BAD_REQUEST,
            "{path} {q:?}"
        );
    }
    // Nothing was stored by the failed requests.
    assert_eq!(discover(&mut e, "/3303/0/5700").text(), "</3303/0/5700>");
    assert_eq!(
        write_attrs(&mut e, "/3303/0/9", &["pmin=1"]),
        code::NOT_FOUND
    );
    assert_eq!(write_attrs(&mut e, "/0/0", &["pmin=1"]), code::UNAUTHORIZED);
    assert_eq!(
        write_attrs(&mut e, "/", &["pmin=1"]),
        code::METHOD_NOT_ALLOWED
    );
}

#[test]
fn write_attributes_valueless_name_removes() {
    let mut e = engine(&[S]);
    assert_eq!(
        write_attrs(&mut e, "/3303/0/5700", &["pmin=3", "gt=5"]),
        code::CHANGED
    );
    assert_eq!(
        write_attrs(&mut e, "/3303/0/5700", &["pmin"]),
        code::CHANGED
    );
    assert_eq!(
        discover(&mut e, "/3303/0/5700").text(),
        "</3303/0/5700>;gt=5"
    );
    assert_eq!(write_attrs(&mut e, "/3303/0/5700", &["gt"]), code::CHANGED);
    assert_eq!(discover(&mut e, "/3303/0/5700").text(), "</3303/0/5700>");
}

// ---------------------------------------------------------------- Observe

#[test]
fn observe_and_cancel_with_observe_1() {
    let mut e = engine(&[S]);
    let r = send(
        &mut e,
        server(S),
        &get("/3303/0/5700").observe(0).token(b"t1"),
        0,
    );
    assert_eq!(r.code, code::CONTENT);
    assert_eq!(r.uint(option::OBSERVE), Some(0));
    assert_eq!(e.observation_count(), 1);
    e.set_value(&p("/3303/0/5700"), Value::Float(25.0), 1000)
        .unwrap();
    let (o, n) = poll(&mut e, 1000).expect("notification");
    assert_eq!(o.dest, Destination::Endpoint(u32::from(S)));
    assert!(!o.confirmable);
    assert_eq!(n.code, code::CONTENT);
    assert_eq!(n.token, b"t1");
    assert_eq!(n.uint(option::OBSERVE), Some(1));
    assert_eq!(n.payload, b"25");
    let r = send(
        &mut e,
        server(S),
        &get("/3303/0/5700").observe(1).token(b"t1"),
        2000,
    );
    assert_eq!(r.code, code::CONTENT);
    assert_eq!(r.opt(option::OBSERVE), None);
    assert_eq!(e.observation_count(), 0);
    e.set_value(&p("/3303/0/5700"), Value::Float(26.0), 3000)
        .unwrap();
    assert!(poll(&mut e, 3000).is_none());
}

#[test]
fn observe_cancel_by_reset() {
    let mut e = engine(&[S]);
    send(
        &mut e,
        server(S),
        &get("/3303/0/5700").observe(0).token(b"t2"),
        0,
    );
    send(
        &mut e,
        server(S),
        &get("/3303/1/5700").observe(0).token(b"t3"),
        0,
    );
    assert_eq!(e.observation_count(), 2);
    e.set_value(&p("/3303/0/5700"), Value::Float(25.0), 1000)
        .unwrap();
    let (o, n) = poll(&mut e, 1000).unwrap();
    e.request_failed(o.dest, &n.token, 1500);
    assert_eq!(e.observation_count(), 1);
    // A different token on the same endpoint does not cancel anything.
    e.request_failed(Destination::Endpoint(u32::from(S)), b"zz", 1500);
    assert_eq!(e.observation_count(), 1);
}

#[test]
fn observe_errors() {
    let mut e = engine(&[S]);
    for (path, c) in [
        ("/3/0/9", code::NOT_FOUND),
        ("/0/0/0", code::UNAUTHORIZED),
        ("/", code::METHOD_NOT_ALLOWED),
    ] {
        let r = send(&mut e, server(S), &get(path).observe(0), 0);
        assert_eq!(r.code, c, "{path}");
        assert_eq!(r.opt(option::OBSERVE), None);
    }
    assert_eq!(e.observation_count(), 0);
}

// ---------------------------------------------------------------- Composite

#[test]
fn read_composite() {
    let mut e = engine(&[S]);
    let body = senml_paths(&["/3/0/0", "/3303/1/5700"]);
    let r = send(
        &mut e,
        server(S),
        &req(code::FETCH, "/").cf(cf::SENML_CBOR).body(&body),
        0,
    );
    assert_eq!(r.code, code::CONTENT);
    assert_eq!(r.uint(option::CONTENT_FORMAT), Some(cf::SENML_CBOR.into()));
    assert_eq!(
        values(&r, "/"),
        vec![
            (p("/3/0/0"), V::S("ACME".into())),
            (p("/3303/1/5700"), V::F(21.5))
        ]
    );
    let r = send(
        &mut e,
        server(S),
        &req(code::FETCH, "/")
            .cf(cf::SENML_CBOR)
            .accept(cf::LWM2M_CBOR)
            .body(&body),
        0,
    );
    assert_eq!(r.code, code::CONTENT);
    assert_eq!(r.uint(option::CONTENT_FORMAT), Some(cf::LWM2M_CBOR.into()));
    assert_eq!(values(&r, "/").len(), 2);
}

#[test]
fn read_composite_errors() {
    let mut e = engine(&[S]);
    let body = senml_paths(&["/3/0/0", "/0/0/0"]);
    let r = send(
        &mut e,
        server(S),
        &req(code::FETCH, "/").cf(cf::SENML_CBOR).body(&body),
        0,
    );
    assert_eq!(r.code, code::UNAUTHORIZED);
    let body = senml_paths(&["/3/0/0"]);
    let r = send(
        &mut e,
        server(S),
        &req(code::FETCH, "/").cf(cf::TEXT).body(&body),
        0,
    );
    assert_eq!(r.code, code::UNSUPPORTED_CONTENT_FORMAT);
    let r = send(
        &mut e,
        server(S),
        &req(code::FETCH, "/")
            .cf(cf::SENML_CBOR)
            .accept(cf::LWM2M_TLV)
            .body(&body),
        0,
    );
    assert_eq!(r.code, code::NOT_ACCEPTABLE);
    let r = send(
        &mut e,
        server(S),
        &req(code::FETCH, "/3").cf(cf::SENML_CBOR).body(&body),
        0,
    );
    assert_eq!(r.code, code::METHOD_NOT_ALLOWED);
    let r = send(
        &mut e,
        server(S),
        &req(code::FETCH, "/").cf(cf::SENML_CBOR).body(b"\xff"),
        0,
    );
    assert_eq!(r.code, code::BAD_REQUEST);
}

#[test]
fn write_composite() {
    let mut e = engine(&[S]);
    create_light(&mut e, server(S), 0);
    let body = senml(
        "/",
        &[
            ("/3311/0/5706", Value::String("blue")),
            ("/3311/0/5851", Value::Integer(40)),
            ("/3303/1/5750", Value::String("room")),
        ],
    );
    let r = send(
        &mut e,
        server(S),
        &req(code::IPATCH, "/").cf(cf::SENML_CBOR).body(&body),
        0,
    );
    assert_eq!(r.code, code::CHANGED);
    assert_eq!(peek(&e, "/3311/0/5706"), Some(V::S("blue".into())));
    assert_eq!(peek(&e, "/3311/0/5851"), Some(V::I(40)));
    assert_eq!(peek(&e, "/3303/1/5750"), Some(V::S("room".into())));
}

#[test]
fn write_composite_is_atomic() {
    let mut e = engine(&[S]);
    create_light(&mut e, server(S), 0);
    let bad: [&[(&str, Value<'_>)]; 4] = [
        // Out of range for the object.
        &[
            ("/3311/0/5706", Value::String("blue")),
            ("/3311/0/5851", Value::Integer(150)),
        ],
        // Too long for the object's storage.
        &[
            ("/3303/1/5750", Value::String("x")),
            ("/3311/0/5706", Value::String("a colour name far too long")),
        ],
        // Read-only resource.
        &[
            ("/3/0/0", Value::String("x")),
            ("/3311/0/5706", Value::String("blue")),
        ],
        // Security object, missing instance.
        &[
            ("/0/0/0", Value::String("coap://x")),
            ("/3311/0/5706", Value::String("blue")),
        ],
    ];
    for recs in bad {
        let body = senml("/", recs);
        let r = send(
            &mut e,
            server(S),
            &req(code::IPATCH, "/").cf(cf::SENML_CBOR).body(&body),
            0,
        );
        assert!(r.code >= code::BAD_REQUEST, "{recs:?}: {:#x}", r.code);
        assert_eq!(peek(&e, "/3311/0/5706"), Some(V::S("".into())), "{recs:?}");
        assert_eq!(peek(&e, "/3311/0/5851"), Some(V::I(100)));
        assert_eq!(peek(&e, "/3303/1/5750"), Some(V::S("".into())));
        assert_eq!(peek(&e, "/3/0/0"), Some(V::S("ACME".into())));
    }
    let body = senml("/", &[("/3311/0/5706", Value::String("blue"))]);
    let r = send(
        &mut e,
        server(S),
        &req(code::IPATCH, "/3311").cf(cf::SENML_CBOR).body(&body),
        0,
    );
    assert_eq!(r.code, code::METHOD_NOT_ALLOWED);
}

#[test]
fn config_generation_moves_with_server_changes_only() {
    let mut e = engine(&[S]);
    let g0 = e.config_generation();
    assert_eq!(send(&mut e, server(S), &get("/3/0"), 0).code, code::CONTENT);
    assert_eq!(
        send(&mut e, unauth(), &get("/3/0"), 0).code,
        code::UNAUTHORIZED
    );
    assert_eq!(e.config_generation(), g0, "reads never move it");
    create_light(&mut e, server(S), 0);
    let g1 = e.config_generation();
    assert_ne!(g1, g0);
    let r = put_text(&mut e, server(S), "/3311/0/5851", "42", 0);
    assert_eq!(r.code, code::CHANGED);
    assert_ne!(e.config_generation(), g1);
}
