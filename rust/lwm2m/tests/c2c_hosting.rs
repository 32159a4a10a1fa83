//! C2C extension, hosting client: access checks for requesting clients, owner server hints
//! (T0, T1), account lifetime and revocation (T2), paper Figure 2, the Write-Composite
//! install extension, clients' observations, and servers working as before.
#![cfg(feature = "c2c")]

mod c2c_common;
mod common;

use c2c_common::*;
use common::*;
use lwm2m::c2c::{hint, rights as cr};
use lwm2m::coap::{code, content_format as cf, option};
use lwm2m::engine::{Destination, Engine, HINT_REFILL_MS};
use lwm2m::objects::access_control::rights as sr;
use lwm2m::{Path, Value};

const NONE: u16 = 65535;
const C3: u16 = 3;

/// Host with server 1, lights /3311/0 and /3311/1, and an account for client 3 (no rights).
fn lit_host() -> Engine<'static> {
    let mut e = host(&[1]);
    for _ in 0..2 {
        assert_eq!(create_light(&mut e, server(1), 0).code, code::CREATED);
    }
    install(&mut e, 1, &account_recs(0, C3, "node-3", 0), 0);
    e
}

/// The operations of the rights table, each with its success code.
fn ops() -> Vec<(u8, Req, u8)> {
    vec![
        (cr::READ, get("/3311/0/5850"), code::CONTENT),
        (
            cr::DISCOVER,
            get("/3311/0").accept(cf::LINK_FORMAT),
            code::CONTENT,
        ),
        (
            cr::WRITE,
            req(code::PUT, "/3311/0/5851").cf(cf::TEXT).body(b"50"),
            code::CHANGED,
        ),
        (cr::EXECUTE, req(code::POST, "/3303/0/5605"), code::CHANGED),
        (cr::DELETE, req(code::DELETE, "/3311/1"), code::DELETED),
        (cr::CREATE, req(code::POST, "/3311"), code::CREATED),
    ]
}

#[test]
fn every_acl_bit_allows_exactly_its_operation() {
    for bit in [
        cr::READ,
        cr::WRITE,
        cr::EXECUTE,
        cr::DELETE,
        cr::CREATE,
        cr::DISCOVER,
    ] {
        let mut e = lit_host();
        let mut recs = acl_recs(0, 3311, 0, &[(C3, bit)], 1);
        recs.extend(acl_recs(1, 3311, 1, &[(C3, bit)], 1));
        recs.extend(acl_recs(2, 3311, NONE, &[(C3, bit)], 1));
        recs.extend(acl_recs(3, 3303, 0, &[(C3, bit)], 1));
        install(&mut e, 1, &recs, 0);
        for (i, (need, r, ok)) in ops().into_iter().enumerate() {
            // Spaced out so that the hint rate limit does not interfere.
            let got = send(&mut e, client(C3), &r, i as u64 * HINT_REFILL_MS);
            if need == bit {
                assert_eq!(got.code, ok, "bit {bit:#x} {r:?}");
            } else {
                assert_eq!(got.code, code::UNAUTHORIZED, "bit {bit:#x} {r:?}");
                assert_eq!(got.uint(option::CONTENT_FORMAT), Some(60));
            }
        }
    }
}

#[test]
fn read_covers_observe_and_write_attributes_but_not_discover() {
    let mut e = lit_host();
    install(&mut e, 1, &acl_recs(0, 3311, 0, &[(C3, cr::READ)], 1), 0);
    let r = send(&mut e, client(C3), &get("/3311/0/5851").observe(0), 0);
    assert_eq!(r.code, code::CONTENT);
    assert_eq!(r.uint(option::OBSERVE), Some(0));
    let r = send(
        &mut e,
        client(C3),
        &req(code::PUT, "/3311/0/5851").query("pmin=2"),
        0,
    );
    assert_eq!(r.code, code::CHANGED);
    let r = send(
        &mut e,
        client(C3),
        &get("/3311/0").accept(cf::LINK_FORMAT),
        0,
    );
    assert_eq!(r.code, code::UNAUTHORIZED);
    // Object-level read lists only the instances the client may read.
    let r = send(&mut e, client(C3), &get("/3311").accept(cf::SENML_CBOR), 0);
    assert_eq!(r.code, code::CONTENT);
    let v = values(&r, "/3311");
    assert!(!v.is_empty());
    assert!(v.iter().all(|(p, _)| p.instance_id() == Some(0)), "{v:?}");
}

#[test]
fn default_entry_and_unknown_clients() {
    let mut e = lit_host();
    // Client 4 has an account but no entry of its own; client 9 has no account.
    install(&mut e, 1, &account_recs(1, 4, "node-4", 0), 0);
    install(
        &mut e,
        1,
        &acl_recs(0, 3311, 0, &[(0, cr::READ | cr::WRITE), (C3, cr::READ)], 1),
        0,
    );
    let write = req(code::PUT, "/3311/0/5851").cf(cf::TEXT).body(b"7");
    // Client 3's own entry wins over the default.
    assert_eq!(
        send(&mut e, client(C3), &get("/3311/0/5851"), 0).code,
        code::CONTENT
    );
    assert_eq!(send(&mut e, client(C3), &write, 0).code, code::UNAUTHORIZED);
    // Client 4 gets the default entry.
    assert_eq!(
        send(&mut e, client(4), &get("/3311/0/5851"), 0).code,
        code::CONTENT
    );
    assert_eq!(send(&mut e, client(4), &write, 0).code, code::CHANGED);
    // An unknown client gets nothing, not even the default.
    assert_eq!(
        send(&mut e, client(9), &get("/3311/0/5851"), 0).code,
        code::UNAUTHORIZED
    );
    assert_eq!(send(&mut e, client(9), &write, 0).code, code::UNAUTHORIZED);
    assert_eq!(peek(&e, "/3311/0/5851"), Some(V::I(7)));
}

#[test]
fn clients_never_reach_the_management_objects() {
    let mut e = host(&[1]);
    install(&mut e, 1, &account_recs(0, C3, "node-3", 0), 0);
    let mut recs = Recs::new();
    for (i, (o, n)) in [
        (0, 0),
        (1, 0),
        (2, NONE),
        (11000, 0),
        (11001, 0),
        (11002, 0),
        (21, NONE),
    ]
    .into_iter()
    .enumerate()
    {
        recs.extend(acl_recs(i as u16, o, n, &[(0, cr::ALL), (C3, cr::ALL)], 1));
    }
    install(&mut e, 1, &recs, 0);
    let before = count(&e, 11002);
    for p in [
        "/0/0", "/1/0", "/2", "/11000/0", "/11001/0", "/11002/0", "/21",
    ] {
        for r in [
            get(p),
            get(p).accept(cf::LINK_FORMAT),
            req(code::PUT, &format!("{p}/0")).cf(cf::TEXT).body(b"1"),
            req(code::POST, p),
            req(code::DELETE, p),
        ] {
            let got = send(&mut e, client(C3), &r, 0);
            assert_eq!(got.code, code::UNAUTHORIZED, "{r:?}");
        }
    }
    // Nor through Write-Composite (and the install extension is for servers only).
    let body = senml("/", &[("/11001/5/0", Value::Integer(3))]);
    let r = send(
        &mut e,
        client(C3),
        &req(code::IPATCH, "/").cf(cf::SENML_CBOR).body(&body),
        0,
    );
    assert_eq!(r.code, code::UNAUTHORIZED);
    assert_eq!(count(&e, 11002), before);
    assert_eq!(count(&e, 11001), 1);
    assert_eq!(peek(&e, "/11001/0/0"), Some(V::I(3)));
}

/// Paper Figure 2: hosting client C1 with servers S1 = 1 and S2 = 2 and an account for
/// requesting client C3, before and after C3 creates a Light Control (3311) instance.
#[test]
fn figure_2_create_ownership() {
    let mut e = host(&[1, 2]);
    // Before. Access Control /2/0: object 3311 (object level), ACL {S1: C, S2: C}, owner the
    // bootstrap server (65535).
    bs_acl(
        &mut e,
        0,
        3311,
        NONE,
        &[(1, sr::CREATE), (2, sr::CREATE)],
        NONE,
    );
    // Client Access Control /11002/0: object 3311 (object level), ACL {C3: C}, owner S1;
    // installed by S1 together with C3's account.
    let mut recs = account_recs(0, C3, "c3", 0);
    recs.extend(acl_recs(0, 3311, NONE, &[(C3, cr::CREATE)], 1));
    install(&mut e, 1, &recs, 0);
    assert_eq!(count(&e, 2), 1);
    assert_eq!(count(&e, 11002), 1);

    let r = send(&mut e, client(C3), &req(code::POST, "/3311"), 0);
    assert_eq!(r.code, code::CREATED);
    assert_eq!(r.path_of(option::LOCATION_PATH), "/3311/0");

    // After. /2/1: object 3311 instance 0, owner S1 (who allowed the creation), Read for S2.
    let acl = e.access_control();
    assert_eq!(acl.instances.len(), 2);
    let a = acl.instances.get(1).unwrap();
    assert_eq!((a.object_id, a.instance_id, a.owner), (3311, 0, 1));
    assert_eq!(a.acl.as_slice(), &[(2, sr::READ)]);
    // /11002/1: object 3311 instance 0, owner S1, Read and Write for C3.
    let c = e.client_access_control();
    assert_eq!(c.instances.len(), 2);
    let a = c.instances.get(1).unwrap();
    assert_eq!((a.object_id, a.instance_id, a.owner), (3311, 0, 1));
    assert_eq!(a.acl.as_slice(), &[(C3, u16::from(cr::READ | cr::WRITE))]);
    // The "before" instances are unchanged.
    let a = e.access_control().instances.get(0).unwrap();
    assert_eq!((a.object_id, a.instance_id, a.owner), (3311, NONE, NONE));
    let a = e.client_access_control().instances.get(0).unwrap();
    assert_eq!((a.object_id, a.instance_id, a.owner), (3311, NONE, 1));

    // What those rights mean.
    let write = |v: &str| {
        req(code::PUT, "/3311/0/5851")
            .cf(cf::TEXT)
            .body(v.as_bytes())
    };
    assert_eq!(
        send(&mut e, client(C3), &get("/3311/0/5851"), 0).code,
        code::CONTENT
    );
    assert_eq!(
        send(&mut e, client(C3), &write("10"), 0).code,
        code::CHANGED
    );
    assert_eq!(
        send(&mut e, client(C3), &req(code::DELETE, "/3311/0"), 0).code,
        code::UNAUTHORIZED
    );
    assert_eq!(
        send(&mut e, server(2), &get("/3311/0/5851"), 0).code,
        code::CONTENT
    );
    assert_eq!(
        send(&mut e, server(2), &write("20"), 0).code,
        code::UNAUTHORIZED
    );
    assert_eq!(send(&mut e, server(1), &write("30"), 0).code, code::CHANGED);
    assert_eq!(
        send(&mut e, server(1), &req(code::DELETE, "/3311/0"), 0).code,
        code::DELETED
    );
    // Deleting the instance removes both ACL instances made for it.
    assert_eq!(count(&e, 2), 1);
    assert_eq!(count(&e, 11002), 1);
}

fn hint_uris(r: &Resp) -> Vec<String> {
    assert_eq!(r.code, code::UNAUTHORIZED);
    assert_eq!(r.uint(option::CONTENT_FORMAT), Some(60));
    hint::decode(&r.payload)
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect()
}

#[test]
fn t0_hints_do_not_reveal_existence() {
    let mut e = host(&[1, 2]);
    // Temperature (3303) is managed by S2 for clients.
    let mut recs = account_recs(0, C3, "node-3", 0);
    recs.extend(acl_recs(0, 3303, 0, &[(9, cr::READ)], 2));
    recs.extend(acl_recs(1, 3303, NONE, &[(9, cr::CREATE)], 2));
    install(&mut e, 2, &recs, 0);
    let mut now = 0;
    let mut ask = |e: &mut Engine<'_>, peer, path: &str| {
        now += 10 * HINT_REFILL_MS;
        send(e, peer, &get(path), now)
    };
    for peer in [unauth(), client(C3)] {
        let existing = ask(&mut e, peer, "/3303/0/5700");
        assert_eq!(hint_uris(&existing), [srv_uri(2)]);
        for missing in ["/3303/0/9999", "/3303/7/5700", "/3303/7"] {
            let r = ask(&mut e, peer, missing);
            assert_eq!(r, existing, "{peer:?} {missing}");
        }
        let exact = [&[0xa1, 0x01, 0x76][..], b"coap://s2.example:5683"].concat();
        assert_eq!(existing.payload, exact);
        // Objects nobody manages for clients name the first server.
        let r = ask(&mut e, peer, "/3/0/0");
        assert_eq!(hint_uris(&r), [srv_uri(1)]);
        let r = ask(&mut e, peer, "/4444/0/1");
        assert_eq!(hint_uris(&r), [srv_uri(1)]);
    }
}

// T1 (hint rate limiting per source, global cap): tests/c2c_hints.rs.

/// Host with an account for client 3 (lifetime 60 s, installed at 0) and Read on /3311/0;
/// the client observes /3311/0/5851 at 1 s.
fn observed_host() -> Engine<'static> {
    let mut e = lit_host();
    install(&mut e, 1, &account_recs(0, C3, "node-3", 60), 0);
    install(&mut e, 1, &acl_recs(0, 3311, 0, &[(C3, cr::READ)], 1), 0);
    let r = send(
        &mut e,
        client(C3),
        &get("/3311/0/5851").observe(0).token(b"ob"),
        1_000,
    );
    assert_eq!(r.code, code::CONTENT);
    assert_eq!(e.observation_count(), 1);
    e
}

#[test]
fn clients_observations_get_notifications() {
    let mut e = observed_host();
    e.set_value(
        &Path::parse_str("/3311/0/5851").unwrap(),
        Value::Integer(42),
        2_000,
    )
    .unwrap();
    let out = poll_all(&mut e, 2_000);
    assert_eq!(out.len(), 1);
    let (o, n) = &out[0];
    assert_eq!(o.dest, Destination::Endpoint(5003));
    assert_eq!(n.code, code::CONTENT);
    assert_eq!(n.token, b"ob");
    assert_eq!(n.uint(option::OBSERVE), Some(1));
    assert_eq!(n.text(), "42");
    // Revoking the grant (the owner deletes the 11002 instance) ends the observation with an
    // error notification.
    assert_eq!(
        send(&mut e, server(1), &req(code::DELETE, "/11002/0"), 3_000).code,
        code::DELETED
    );
    let out = poll_all(&mut e, 3_000);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].1.code, code::UNAUTHORIZED);
    assert_eq!(e.observation_count(), 0);
}

#[test]
fn t2_expiry_closes_the_account() {
    let mut e = observed_host();
    assert_eq!(e.next_wakeup(), Some(60_000));
    assert!(poll_all(&mut e, 59_999).is_empty());
    assert_eq!(e.take_closed_client(), None);
    assert_eq!(
        send(&mut e, client(C3), &get("/3311/0/5851"), 59_999).code,
        code::CONTENT
    );
    assert!(poll_all(&mut e, 60_000).is_empty());
    assert_eq!(e.observation_count(), 0);
    assert_eq!(e.take_closed_client(), Some(C3));
    assert_eq!(e.take_closed_client(), None);
    assert!(!e.client_active(C3, 60_000));
    let r = send(&mut e, client(C3), &get("/3311/0/5851"), 60_001);
    assert_eq!(hint_uris(&r), [srv_uri(1)]);
    // A later notification-worthy change goes nowhere.
    e.set_value(
        &Path::parse_str("/3311/0/5851").unwrap(),
        Value::Integer(1),
        61_000,
    )
    .unwrap();
    assert!(poll_all(&mut e, 61_000).is_empty());
    // The server may renew it by writing the lifetime.
    assert_eq!(
        put_text(&mut e, server(1), "/11001/0/1", "60", 70_000).code,
        code::CHANGED
    );
    assert_eq!(
        send(&mut e, client(C3), &get("/3311/0/5851"), 70_000).code,
        code::CONTENT
    );
}

#[test]
fn t2_expiry_without_poll_refuses_requests() {
    let mut e = observed_host();
    // The driver never polled: the request itself notices the expiry.
    let r = send(&mut e, client(C3), &get("/3311/0/5851"), 60_000);
    assert_eq!(r.code, code::UNAUTHORIZED);
    assert_eq!(e.observation_count(), 0);
    assert_eq!(e.take_closed_client(), Some(C3));
}

#[test]
fn t2_server_write_of_lifetime_refreshes() {
    let mut e = observed_host();
    assert_eq!(
        put_text(&mut e, server(1), "/11001/0/1", "60", 50_000).code,
        code::CHANGED
    );
    assert_eq!(e.next_wakeup(), Some(110_000));
    assert!(poll_all(&mut e, 100_000).is_empty());
    assert_eq!(e.observation_count(), 1);
    assert_eq!(
        send(&mut e, client(C3), &get("/3311/0/5851"), 100_000).code,
        code::CONTENT
    );
    // Writing another resource does not refresh.
    assert_eq!(
        put_text(&mut e, server(1), "/11001/0/2", "5", 105_000).code,
        code::CHANGED
    );
    poll_all(&mut e, 110_000);
    assert_eq!(e.take_closed_client(), Some(C3));
    assert_eq!(e.observation_count(), 0);
}

#[test]
fn t2_deleting_the_account_closes_it() {
    for path in ["/11001/0", "/11000/0"] {
        let mut e = observed_host();
        assert_eq!(
            send(&mut e, server(1), &req(code::DELETE, path), 5_000).code,
            code::DELETED
        );
        assert_eq!(e.observation_count(), 0, "{path}");
        assert_eq!(e.take_closed_client(), Some(C3));
        if path == "/11001/0" {
            assert_eq!(
                send(&mut e, client(C3), &get("/3311/0/5851"), 5_000).code,
                code::UNAUTHORIZED
            );
        }
    }
}

#[test]
fn t2_disable_switches_the_account_off_for_its_timeout() {
    let mut e = observed_host();
    assert_eq!(
        put_text(&mut e, server(1), "/11001/0/5", "10", 2_000).code,
        code::CHANGED
    );
    let r = send(&mut e, server(1), &req(code::POST, "/11001/0/4"), 3_000);
    assert_eq!(r.code, code::CHANGED);
    assert_eq!(e.take_closed_client(), Some(C3));
    assert_eq!(e.observation_count(), 0);
    let read = get("/3311/0/5851");
    assert_eq!(
        send(&mut e, client(C3), &read, 12_999).code,
        code::UNAUTHORIZED
    );
    assert_eq!(send(&mut e, client(C3), &read, 13_000).code, code::CONTENT);
}

#[test]
fn two_requesting_clients_with_different_rights() {
    let mut e = lit_host();
    let mut recs = account_recs(1, 4, "node-4", 0);
    recs.extend(acl_recs(
        0,
        3311,
        0,
        &[(C3, cr::READ), (4, cr::READ | cr::WRITE)],
        1,
    ));
    install(&mut e, 1, &recs, 0);
    let write = req(code::PUT, "/3311/0/5851").cf(cf::TEXT).body(b"33");
    assert_eq!(send(&mut e, client(C3), &write, 0).code, code::UNAUTHORIZED);
    assert_eq!(send(&mut e, client(4), &write, 0).code, code::CHANGED);
    let r = send(&mut e, client(C3), &get("/3311/0/5851"), 0);
    assert_eq!((r.code, r.text()), (code::CONTENT, "33".to_string()));
    // Observations are per client; revoking one account leaves the other.
    for c in [C3, 4] {
        let r = send(&mut e, client(c), &get("/3311/0/5851").observe(0), 0);
        assert_eq!(r.code, code::CONTENT);
    }
    assert_eq!(e.observation_count(), 2);
    send(&mut e, server(1), &req(code::DELETE, "/11001/1"), 1);
    assert_eq!(e.observation_count(), 1);
    assert_eq!(e.take_closed_client(), Some(4));
    assert_eq!(
        send(&mut e, client(C3), &get("/3311/0/5851"), 2).code,
        code::CONTENT
    );
}

#[test]
fn write_composite_installs_an_authorization_in_one_message() {
    let mut e = host(&[1]);
    let mut recs = account_recs(0, C3, "node-3", 3600);
    recs.extend(acl_recs(0, 3303, 0, &[(C3, cr::READ)], 1));
    recs.extend(acl_recs(1, 3303, 1, &[(C3, cr::READ | cr::DISCOVER)], 1));
    let r = ipatch(&mut e, 1, &recs, 0);
    assert_eq!(r.code, code::CHANGED);
    assert_eq!(
        (count(&e, 11001), count(&e, 11000), count(&e, 11002)),
        (1, 1, 2)
    );
    let acc = e.client_account("node-3").unwrap();
    assert_eq!(acc.short_id, C3);
    assert_eq!(acc.client.lifetime, 3600);
    assert_eq!(acc.security.unwrap().identity.as_slice(), b"psk-3");
    assert_eq!(acc.security.unwrap().secret_key.as_slice(), &[0x5a; 16]);
    assert!(acc.oscore.is_none());
    assert_eq!(
        send(&mut e, client(C3), &get("/3303/1/5700"), 0).code,
        code::CONTENT
    );
    // A grant without credentials: one message with the 11002 instance only.
    install(
        &mut e,
        1,
        &acl_recs(2, 3303, NONE, &[(C3, cr::CREATE)], 1),
        0,
    );
    assert_eq!(count(&e, 11002), 3);
}

#[test]
fn write_composite_install_is_all_or_nothing() {
    let bad: Vec<Recs> = vec![
        // ACL value beyond the defined bits.
        {
            let mut r = account_recs(0, C3, "node-3", 0);
            r.extend(acl_recs(0, 3303, 0, &[(C3, 0x40)], 1));
            r
        },
        // Short Client ID 0.
        account_recs(0, 0, "node-3", 0),
        // A resource the object does not have.
        {
            let mut r = account_recs(0, C3, "node-3", 0);
            r.push(("/11001/0/77".into(), Value::Integer(1)));
            r
        },
        // A record for an application instance that does not exist.
        {
            let mut r = account_recs(0, C3, "node-3", 0);
            r.push(("/3303/9/5750".into(), Value::String("x")));
            r
        },
    ];
    for recs in bad {
        let mut e = host(&[1]);
        let r = ipatch(&mut e, 1, &recs, 0);
        assert!(r.code >= 0x80, "{recs:?}");
        for o in [11000, 11001, 11002, 21] {
            assert_eq!(count(&e, o), 0, "{o} after {recs:?}");
        }
    }
    // A second server may not change what the first owns.
    let mut e = host(&[1, 2]);
    install(&mut e, 1, &acl_recs(0, 3303, 0, &[(C3, cr::READ)], 1), 0);
    let r = ipatch(&mut e, 2, &acl_recs(0, 3303, 0, &[(C3, cr::ALL)], 2), 0);
    assert_eq!(r.code, code::UNAUTHORIZED);
    assert_eq!(
        e.client_access_control()
            .instances
            .get(0)
            .unwrap()
            .entry(C3),
        Some(1)
    );
}

#[test]
fn driver_lookups_find_accounts() {
    let mut e = host(&[1]);
    let mut recs = account_recs(0, C3, "node-3", 0);
    recs.extend(account_recs(1, 4, "node-4", 0));
    recs.extend([
        ("/21/0/0".to_string(), Value::Opaque(&[1; 16])),
        ("/21/0/1".to_string(), Value::Opaque(&[0x01])),
        ("/21/0/2".to_string(), Value::Opaque(&[0x02])),
        ("/11000/1/17".to_string(), Value::ObjLnk(21, 0)),
    ]);
    install(&mut e, 1, &recs, 0);
    assert_eq!(e.client_by_psk_identity(b"psk-3"), Some(C3));
    assert_eq!(e.client_by_psk_identity(b"psk-4"), Some(4));
    assert_eq!(e.client_by_psk_identity(b"psk-5"), None);
    assert_eq!(e.client_by_psk_identity(b""), None);
    assert_eq!(e.client_by_oscore_recipient(&[0x02]), Some(4));
    assert_eq!(e.client_by_oscore_recipient(&[0x01]), None);
    let a = e.client_account("coaps://node-4.example").unwrap();
    assert_eq!(a.short_id, 4);
    assert_eq!(a.oscore.unwrap().sender_id.as_slice(), &[0x01]);
    assert!(e.client_account("node-5").is_none());
}

#[test]
fn servers_still_work_and_see_what_they_should() {
    let mut e = host(&[1]);
    install(&mut e, 1, &account_recs(0, C3, "node-3", 30), 0);
    install(&mut e, 1, &acl_recs(0, 3303, 0, &[(C3, cr::READ)], 1), 0);
    // Server reads of accounts and rights work; credentials never leave the node.
    let r = send(&mut e, server(1), &get("/11001/0/9"), 0);
    assert_eq!((r.code, r.text()), (code::CONTENT, "node-3".to_string()));
    assert_eq!(send(&mut e, server(1), &get("/11002/0/3"), 0).text(), "1");
    for p in ["/11000/0", "/11000/0/5", "/11000", "/21"] {
        assert_eq!(
            send(&mut e, server(1), &get(p), 0).code,
            code::UNAUTHORIZED,
            "{p}"
        );
    }
    // Ordinary operations are unchanged.
    assert_eq!(create_light(&mut e, server(1), 0).code, code::CREATED);
    assert_eq!(
        put_text(&mut e, server(1), "/3311/0/5851", "9", 0).code,
        code::CHANGED
    );
    assert_eq!(
        read_value(&mut e, server(1), "/3311/0/5851", 0),
        Ok(V::I(9))
    );
    let r = send(&mut e, server(1), &get("/3303/0/5700").observe(0), 0);
    assert_eq!(r.code, code::CONTENT);
    e.set_value(
        &Path::parse_str("/3303/0/5700").unwrap(),
        Value::Float(30.0),
        1_000,
    )
    .unwrap();
    let out = poll_all(&mut e, 1_000);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0.dest, Destination::Endpoint(1));
    let r = send(&mut e, server(1), &get("/11001").accept(cf::LINK_FORMAT), 0);
    assert!(r.text().starts_with("</11001>,</11001/0>"), "{}", r.text());
    // Account expiry does not touch server observations.
    poll_all(&mut e, 30_000);
    assert_eq!(e.take_closed_client(), Some(C3));
    assert_eq!(e.observation_count(), 1);
}

#[test]
fn factory_oscore_material_of_a_server_account() {
    let mut e = host(&[1, 2]);
    e.provision_server_oscore(1, 65534, &[7; 16], &[0x01], &[0x02], &[0x09])
        .unwrap();
    assert_eq!(e.security().by_ssid(1).unwrap().oscore, Some((21, 65534)));
    let o = e.oscore().instances.get(65534).unwrap();
    assert_eq!(
        (o.sender_id.as_slice(), o.recipient_id.as_slice()),
        (&[0x01][..], &[0x02][..])
    );
    assert_eq!(o.master_salt.as_slice(), &[0x09]);
    // Linked from object 0: the server can neither read nor rewrite it, nor take it for a
    // client account's context.
    assert_eq!(
        send(&mut e, server(1), &get("/21/65534"), 0).code,
        code::UNAUTHORIZED
    );
    let w = req(code::PUT, "/21/65534/0").cf(cf::OPAQUE).body(&[1; 16]);
    assert_ne!(send(&mut e, server(1), &w, 0).code, code::CHANGED);
    assert_eq!(e.oscore().instances.get(65534).unwrap().master_secret[0], 7);
    assert_eq!(e.client_by_oscore_recipient(&[0x02]), None);
    // No such account, or a value that does not fit: nothing is left behind.
    assert!(e
        .provision_server_oscore(9, 65533, &[7; 16], &[1], &[2], &[])
        .is_err());
    assert!(e
        .provision_server_oscore(2, 65533, &[7; 16], &[1; 8], &[2], &[])
        .is_err());
    assert!(e.oscore().instances.get(65533).is_none());
    assert_eq!(e.security().by_ssid(2).unwrap().oscore, None);
}
