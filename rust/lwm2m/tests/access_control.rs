//! Access control (LwM2M 1.1 TS Core 7.3, Appendix E): decisions for one and several servers.

mod common;

use common::*;
use lwm2m::coap::{code, content_format as cf};
use lwm2m::engine::{Engine, Identity, Peer};
use lwm2m::objects::access_control::rights::*;
use lwm2m::Path;

const NONE: u16 = 65535;

fn read(e: &mut Engine<'_>, ssid: u16, path: &str) -> u8 {
    send(e, server(ssid), &get(path).accept(cf::LWM2M_TLV), 0).code
}

fn write_app_type(e: &mut Engine<'_>, ssid: u16, inst: u16) -> u8 {
    put_text(e, server(ssid), &format!("/3303/{inst}/5750"), "x", 0).code
}

fn exec_reset(e: &mut Engine<'_>, ssid: u16, inst: u16) -> u8 {
    send(
        e,
        server(ssid),
        &req(code::POST, &format!("/3303/{inst}/5605")),
        0,
    )
    .code
}

#[test]
fn single_server_has_full_access() {
    let mut e = engine(&[1]);
    assert!(e.access_control().instances.is_empty());
    assert_eq!(read(&mut e, 1, "/3303/0"), code::CONTENT);
    assert_eq!(write_app_type(&mut e, 1, 0), code::CHANGED);
    assert_eq!(exec_reset(&mut e, 1, 0), code::CHANGED);
    assert_eq!(create_light(&mut e, server(1), 0).code, code::CREATED);
    // A single server gets no ACL instance for what it creates.
    assert!(e.access_control().instances.is_empty());
    assert_eq!(
        send(&mut e, server(1), &req(code::DELETE, "/3311/0"), 0).code,
        code::DELETED
    );
}

#[test]
fn two_servers_need_an_acl_instance() {
    let mut e = engine(&[1, 2]);
    for s in [1, 2] {
        assert_eq!(read(&mut e, s, "/3303/0"), code::UNAUTHORIZED);
        assert_eq!(read(&mut e, s, "/3303/0/5700"), code::UNAUTHORIZED);
        assert_eq!(write_app_type(&mut e, s, 0), code::UNAUTHORIZED);
        assert_eq!(exec_reset(&mut e, s, 0), code::UNAUTHORIZED);
        assert_eq!(create_light(&mut e, server(s), 0).code, code::UNAUTHORIZED);
    }
    // Object-level reads list only what the server may see.
    bs_acl(&mut e, 0, 3303, 1, &[(2, READ)], NONE);
    let r = send(&mut e, server(2), &get("/3303").accept(cf::SENML_CBOR), 0);
    assert_eq!(r.code, code::CONTENT);
    let v = values(&r, "/3303");
    assert!(!v.is_empty());
    assert!(v.iter().all(|(p, _)| p.instance_id() == Some(1)), "{v:?}");
    let r = send(&mut e, server(2), &get("/3303").accept(cf::LINK_FORMAT), 0);
    assert!(r.text().starts_with("</3303>,</3303/1>"), "{}", r.text());
    assert!(!r.text().contains("</3303/0"), "{}", r.text());
    // Missing instances are 4.04 whatever the rights.
    assert_eq!(read(&mut e, 1, "/3303/7"), code::NOT_FOUND);
}

#[test]
fn default_entry_applies_to_servers_without_their_own() {
    let mut e = engine(&[1, 2]);
    bs_acl(&mut e, 0, 3303, 0, &[(0, READ), (2, READ | WRITE)], NONE);
    assert_eq!(read(&mut e, 1, "/3303/0/5700"), code::CONTENT);
    assert_eq!(write_app_type(&mut e, 1, 0), code::UNAUTHORIZED);
    assert_eq!(write_app_type(&mut e, 2, 0), code::CHANGED);
    assert_eq!(exec_reset(&mut e, 2, 0), code::UNAUTHORIZED);
}

#[test]
fn owner_gets_everything_but_create() {
    let mut e = engine(&[1, 2]);
    bs_acl(&mut e, 0, 3303, 0, &[], 1);
    assert_eq!(read(&mut e, 1, "/3303/0/5700"), code::CONTENT);
    assert_eq!(write_app_type(&mut e, 1, 0), code::CHANGED);
    assert_eq!(exec_reset(&mut e, 1, 0), code::CHANGED);
    assert_eq!(read(&mut e, 2, "/3303/0/5700"), code::UNAUTHORIZED);
    // Owning the object-level instance does not give Create.
    bs_acl(&mut e, 1, 3311, NONE, &[], 1);
    assert_eq!(create_light(&mut e, server(1), 0).code, code::UNAUTHORIZED);
}

#[test]
fn explicit_entry_overrides_owner() {
    let mut e = engine(&[1, 2]);
    bs_acl(&mut e, 0, 3303, 0, &[(1, READ)], 1);
    assert_eq!(read(&mut e, 1, "/3303/0/5700"), code::CONTENT);
    assert_eq!(write_app_type(&mut e, 1, 0), code::UNAUTHORIZED);
    assert_eq!(exec_reset(&mut e, 1, 0), code::UNAUTHORIZED);
}

#[test]
fn create_needs_c_bit_and_new_instance_is_owned_by_creator() {
    let mut e = engine(&[1, 2]);
    bs_acl(&mut e, 0, 3311, NONE, &[(2, CREATE), (1, READ)], NONE);
    assert_eq!(create_light(&mut e, server(1), 0).code, code::UNAUTHORIZED);
    let r = create_light(&mut e, server(2), 0);
    assert_eq!(r.code, code::CREATED);
    let acl = e
        .access_control()
        .find(3311, 0)
        .expect("ACL for the new instance");
    assert_eq!(acl.owner, 2);
    // The creator may use it; the other server may not.
    assert_eq!(
        put_text(&mut e, server(2), "/3311/0/5851", "5", 0).code,
        code::CHANGED
    );
    assert_eq!(read(&mut e, 2, "/3311/0"), code::CONTENT);
    assert_eq!(read(&mut e, 1, "/3311/0"), code::UNAUTHORIZED);
    assert_eq!(
        put_text(&mut e, server(1), "/3311/0/5851", "6", 0).code,
        code::UNAUTHORIZED
    );
    assert_eq!(
        send(&mut e, server(1), &req(code::DELETE, "/3311/0"), 0).code,
        code::UNAUTHORIZED
    );
    assert_eq!(
        send(&mut e, server(2), &req(code::DELETE, "/3311/0"), 0).code,
        code::DELETED
    );
    assert!(e.access_control().find(3311, 0).is_none());
}

#[test]
fn dm_server_never_reaches_security_object() {
    for servers in [&[1u16][..], &[1, 2]] {
        let mut e = engine(servers);
        // Even an ACL granting everything does not open object 0.
        bs_acl(&mut e, 0, 0, 0, &[(1, 0x1f)], 1);
        for path in ["/0", "/0/0", "/0/0/0", "/0/9"] {
            assert_eq!(read(&mut e, 1, path), code::UNAUTHORIZED, "{path}");
            let r = send(&mut e, server(1), &get(path).accept(cf::LINK_FORMAT), 0);
            assert_eq!(r.code, code::UNAUTHORIZED, "discover {path}");
            let r = send(&mut e, server(1), &get(path).observe(0), 0);
            assert_eq!(r.code, code::UNAUTHORIZED, "observe {path}");
        }
        assert_eq!(
            put_text(&mut e, server(1), "/0/0/0", "coap://evil", 0).code,
            code::UNAUTHORIZED
        );
        let body = senml("/", &[("/0/0/0", lwm2m::Value::String("coap://evil"))]);
        let r = send(
            &mut e,
            server(1),
            &req(code::IPATCH, "/").cf(cf::SENML_CBOR).body(&body),
            0,
        );
        assert_eq!(r.code, code::UNAUTHORIZED);
        let body = senml_paths(&["/0/0/0"]);
        let r = send(
            &mut e,
            server(1),
            &req(code::FETCH, "/").cf(cf::SENML_CBOR).body(&body),
            0,
        );
        assert_eq!(r.code, code::UNAUTHORIZED);
        assert_eq!(
            send(&mut e, server(1), &req(code::DELETE, "/0/0"), 0).code,
            code::UNAUTHORIZED
        );
        assert_eq!(
            send(&mut e, server(1), &req(code::POST, "/0"), 0).code,
            code::UNAUTHORIZED
        );
        assert_eq!(
            e.security().instances.get(0).unwrap().uri,
            "coap://[2001:db8::1]:5683"
        );
    }
}

#[test]
fn acl_object_is_writable_only_by_its_owner() {
    let mut e = engine(&[1, 2]);
    bs_acl(&mut e, 0, 3303, 0, &[(2, READ)], 1);
    // Anyone may read ACLs.
    assert_eq!(read(&mut e, 2, "/2/0"), code::CONTENT);
    assert_eq!(
        put_text(&mut e, server(2), "/2/0/2/2", "31", 0).code,
        code::UNAUTHORIZED
    );
    assert_eq!(
        put_text(&mut e, server(2), "/2/0/3", "2", 0).code,
        code::UNAUTHORIZED
    );
    assert_eq!(
        e.access_control().find(3303, 0).unwrap().entry(2),
        Some(READ)
    );
    assert_eq!(
        put_text(&mut e, server(1), "/2/0/2/2", "3", 0).code,
        code::CHANGED
    );
    assert_eq!(e.access_control().find(3303, 0).unwrap().entry(2), Some(3));
    // Object and instance IDs are read-only; ACL instances are not created or deleted by
    // servers.
    assert_eq!(
        put_text(&mut e, server(1), "/2/0/0", "3", 0).code,
        code::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        put_text(&mut e, server(1), "/2/0/2/2", "64", 0).code,
        code::BAD_REQUEST
    );
    assert_eq!(
        send(&mut e, server(1), &req(code::DELETE, "/2/0"), 0).code,
        code::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        send(&mut e, server(1), &req(code::POST, "/2"), 0).code,
        code::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        put_text(&mut e, server(1), "/2/5/3", "1", 0).code,
        code::NOT_FOUND
    );
}

#[test]
fn server_always_reaches_its_own_server_instance() {
    let mut e = engine(&[1, 2]);
    // Server 1 has /1/0, server 2 has /1/1.
    assert_eq!(read(&mut e, 1, "/1/0"), code::CONTENT);
    assert_eq!(read(&mut e, 1, "/1/1"), code::UNAUTHORIZED);
    assert_eq!(
        put_text(&mut e, server(1), "/1/0/1", "600", 0).code,
        code::CHANGED
    );
    assert_eq!(e.servers().by_ssid(1).unwrap().lifetime, 600);
    assert_eq!(
        put_text(&mut e, server(1), "/1/1/1", "600", 0).code,
        code::UNAUTHORIZED
    );
    assert_eq!(e.servers().by_ssid(2).unwrap().lifetime, 300);
    assert_eq!(
        send(&mut e, server(2), &req(code::POST, "/1/1/8"), 0).code,
        code::CHANGED
    );
    // Deleting it is still not allowed.
    assert_eq!(
        send(&mut e, server(1), &req(code::DELETE, "/1/0"), 0).code,
        code::METHOD_NOT_ALLOWED
    );
    let r = send(&mut e, server(1), &get("/1").accept(cf::LINK_FORMAT), 0);
    assert!(r.text().contains("</1/0>"), "{}", r.text());
    assert!(!r.text().contains("</1/1>"), "{}", r.text());
}

#[test]
fn unauthenticated_and_unknown_peers_get_4_01() {
    let mut e = engine(&[1]);
    let peers = [
        unauth(),
        Peer {
            identity: Identity::Client(7),
            endpoint: 77,
            source: 77,
        },
        server(9),
    ];
    for peer in peers {
        for r in [
            get("/3/0/0"),
            get("/3").accept(cf::LINK_FORMAT),
            get("/3303/0/5700").observe(0),
            put_req("/3303/0/5750"),
            req(code::POST, "/3/0/4"),
            req(code::POST, "/3311"),
            req(code::DELETE, "/3311/0"),
            req(code::POST, "/bs"),
        ] {
            let resp = send(&mut e, peer, &r, 0);
            assert_eq!(resp.code, code::UNAUTHORIZED, "{peer:?} {r:?}");
            // With the C2C extension, the 4.01 may carry an owner server hint (CF 60) and
            // nothing else; `c2c_hosting.rs` checks its content.
            if cfg!(feature = "c2c") && !resp.payload.is_empty() {
                assert_eq!(resp.uint(lwm2m::coap::option::CONTENT_FORMAT), Some(60));
                assert!(lwm2m::c2c::hint::decode(&resp.payload).is_ok());
            } else {
                assert!(resp.payload.is_empty());
            }
        }
    }
    assert_eq!(e.observation_count(), 0);
    assert_eq!(peek(&e, "/3303/0/5750"), Some(V::S(String::new())));
    assert!(e.object(3311).unwrap().next_instance(None).is_none());
    let _ = Path::ROOT;
}

fn put_req(path: &str) -> Req {
    req(code::PUT, path).cf(cf::TEXT).body(b"x")
}
