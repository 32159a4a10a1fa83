//! Observe-Composite (LwM2M 1.1 TS Core 6.4.3): FETCH on `/` with Observe 0 and a SenML CBOR
//! list of paths; notifications with all paths, cancel by FETCH with Observe 1, by RST and by
//! the observer's deregistration; the path limit; access checks on every path.
#![cfg(feature = "observe-composite")]

#[cfg(feature = "c2c")]
mod c2c_common;
mod common;

use common::*;
use lwm2m::coap::{code, content_format as cf, option};
use lwm2m::config::{COMPOSITE_PATHS, MAX_COMPOSITE_OBSERVATIONS};
use lwm2m::engine::{Destination, Engine};
use lwm2m::objects::access_control::rights::READ;
use lwm2m::{Path, Value};

const S: u16 = 1;
const PATHS: [&str; 2] = ["/3303/0/5700", "/3303/1/5700"];

fn p(s: &str) -> Path {
    Path::parse_str(s).unwrap()
}

/// The Observe-Composite request (Observe `observe`) for `paths` with token `ob`.
fn fetch(paths: &[&str], observe: u32) -> Req {
    req(code::FETCH, "/")
        .cf(cf::SENML_CBOR)
        .observe(observe)
        .token(b"ob")
        .body(&senml_paths(paths))
}

/// An engine with server `S` observing `PATHS` as one composite observation at t=0.
fn observed() -> Engine<'static> {
    let mut e = engine(&[S]);
    let r = send(&mut e, server(S), &fetch(&PATHS, 0), 0);
    assert_eq!(r.code, code::CONTENT);
    assert_eq!(r.uint(option::OBSERVE), Some(0));
    assert_eq!(e.observation_count(), 1);
    e
}

fn set(e: &mut Engine<'_>, path: &str, v: f64, now: u64) {
    e.set_value(&p(path), Value::Float(v), now).unwrap();
}

/// The notifications due at `now`, as (Observe, records).
fn notes(e: &mut Engine<'_>, now: u64) -> Vec<(u32, Vec<(Path, V)>)> {
    poll_all(e, now)
        .into_iter()
        .map(|(o, r)| {
            assert_eq!(o.dest, Destination::Endpoint(u32::from(S)));
            assert_eq!(r.code, code::CONTENT);
            assert_eq!(r.token, b"ob");
            assert_eq!(r.uint(option::CONTENT_FORMAT), Some(cf::SENML_CBOR.into()));
            (r.uint(option::OBSERVE).unwrap(), values(&r, "/"))
        })
        .collect()
}

#[test]
fn first_response_carries_every_path() {
    let mut e = engine(&[S]);
    set(&mut e, "/3303/1/5700", 30.0, 0);
    let r = send(&mut e, server(S), &fetch(&["/3303/0/5700", "/3/0/0"], 0), 0);
    assert_eq!(r.code, code::CONTENT);
    assert_eq!(r.uint(option::OBSERVE), Some(0));
    assert_eq!(r.uint(option::CONTENT_FORMAT), Some(cf::SENML_CBOR.into()));
    assert_eq!(
        values(&r, "/"),
        vec![
            (p("/3303/0/5700"), V::F(21.5)),
            (p("/3/0/0"), V::S("ACME".into())),
        ]
    );
    // LwM2M CBOR when accepted.
    let r = send(
        &mut e,
        server(S),
        &fetch(&PATHS, 0).token(b"o2").accept(cf::LWM2M_CBOR),
        0,
    );
    assert_eq!(r.uint(option::CONTENT_FORMAT), Some(cf::LWM2M_CBOR.into()));
    assert_eq!(values(&r, "/").len(), 2);
    assert_eq!(e.observation_count(), 2);
}

#[test]
fn a_change_of_one_path_notifies_all_paths() {
    let mut e = observed();
    assert_eq!(e.next_wakeup(), None);
    assert!(notes(&mut e, 100).is_empty());
    // A path outside the observation changes nothing.
    e.set_value(&p("/3/0/14"), Value::String("+02"), 100)
        .unwrap();
    assert!(notes(&mut e, 100).is_empty());
    set(&mut e, "/3303/1/5700", 30.0, 200);
    assert_eq!(
        notes(&mut e, 200),
        vec![(
            1,
            vec![
                (p("/3303/0/5700"), V::F(21.5)),
                (p("/3303/1/5700"), V::F(30.0))
            ]
        )]
    );
    set(&mut e, "/3303/0/5700", 19.0, 300);
    set(&mut e, "/3303/1/5700", 31.0, 300);
    // Two changes before the poll: one notification.
    assert_eq!(
        notes(&mut e, 300),
        vec![(
            2,
            vec![
                (p("/3303/0/5700"), V::F(19.0)),
                (p("/3303/1/5700"), V::F(31.0))
            ]
        )]
    );
}

#[test]
fn an_observed_instance_notifies_on_a_change_below_it() {
    let mut e = engine(&[S]);
    let r = send(&mut e, server(S), &fetch(&["/3303/1", "/3/0/0"], 0), 0);
    assert_eq!(r.code, code::CONTENT);
    set(&mut e, "/3303/1/5700", 25.0, 10);
    let n = notes(&mut e, 10);
    assert_eq!(n.len(), 1);
    assert!(n[0].1.contains(&(p("/3303/1/5700"), V::F(25.0))));
    assert!(n[0].1.contains(&(p("/3/0/0"), V::S("ACME".into()))));
}

#[test]
fn the_observers_default_pmin_applies() {
    let mut e = engine(&[S]);
    assert_eq!(
        put_text(&mut e, server(S), "/1/0/2", "10", 0).code,
        code::CHANGED
    );
    send(&mut e, server(S), &fetch(&PATHS, 0), 0);
    set(&mut e, "/3303/0/5700", 22.0, 1_000);
    assert_eq!(e.next_wakeup(), Some(10_000));
    assert!(notes(&mut e, 9_999).is_empty());
    assert_eq!(notes(&mut e, 10_000).len(), 1);
}

#[test]
fn fetch_with_observe_1_cancels() {
    let mut e = observed();
    // Another token of the same observer is not this observation.
    let r = send(&mut e, server(S), &fetch(&PATHS, 1).token(b"xx"), 0);
    assert_eq!(r.code, code::CONTENT);
    assert_eq!(e.observation_count(), 1);
    let r = send(&mut e, server(S), &fetch(&PATHS, 1), 0);
    // Answered like Read-Composite, without Observe.
    assert_eq!(r.code, code::CONTENT);
    assert_eq!(r.uint(option::OBSERVE), None);
    assert_eq!(values(&r, "/").len(), 2);
    assert_eq!(e.observation_count(), 0);
    set(&mut e, "/3303/0/5700", 22.0, 100);
    assert!(notes(&mut e, 100).is_empty());
}

#[test]
fn reset_notification_cancels() {
    let mut e = observed();
    set(&mut e, "/3303/0/5700", 22.0, 100);
    assert_eq!(notes(&mut e, 100).len(), 1);
    e.request_failed(Destination::Endpoint(u32::from(S)), b"ob", 150);
    assert_eq!(e.observation_count(), 0);
    set(&mut e, "/3303/0/5700", 23.0, 200);
    assert!(notes(&mut e, 200).is_empty());
    // The set went with it: the composite observations can all be taken again.
    for i in 0..MAX_COMPOSITE_OBSERVATIONS {
        let t = [b'c', i as u8];
        let r = send(&mut e, server(S), &fetch(&PATHS, 0).token(&t), 300);
        assert_eq!(r.uint(option::OBSERVE), Some(0), "composite {i}");
    }
}

#[test]
fn deregistration_ends_it() {
    let mut e = engine(&[S]);
    register_all(&mut e, 0);
    send(&mut e, server(S), &fetch(&PATHS, 0), 0);
    assert_eq!(e.observation_count(), 1);
    // Disable: the client deregisters, and the server's observations end.
    let r = send(&mut e, server(S), &req(code::POST, "/1/0/4"), 10);
    assert_eq!(r.code, code::CHANGED);
    let out = poll_all(&mut e, 10);
    let dereg = out.iter().find(|(_, r)| r.code == code::DELETE).unwrap();
    answer(&mut e, &dereg.1, code::DELETED, &[], 20);
    assert_eq!(e.observation_count(), 0);
}

#[test]
fn same_token_re_registers() {
    let mut e = observed();
    let r = send(&mut e, server(S), &fetch(&["/3303/0/5750"], 0), 10);
    assert_eq!(r.uint(option::OBSERVE), Some(0));
    assert_eq!(e.observation_count(), 1);
    // The old paths no longer notify; the new one does.
    set(&mut e, "/3303/0/5700", 22.0, 20);
    assert!(notes(&mut e, 20).is_empty());
    e.set_value(&p("/3303/0/5750"), Value::String("room"), 30)
        .unwrap();
    assert_eq!(
        notes(&mut e, 30),
        vec![(1, vec![(p("/3303/0/5750"), V::S("room".into()))])]
    );
}

#[test]
fn too_many_paths_are_refused() {
    let mut e = engine(&[S]);
    let all = [
        "/3/0/0",
        "/3/0/1",
        "/3/0/2",
        "/3/0/3",
        "/3303/0/5700",
        "/3303/1/5700",
        "/3/0/14",
    ];
    assert!(COMPOSITE_PATHS < all.len());
    let r = send(&mut e, server(S), &fetch(&all[..COMPOSITE_PATHS + 1], 0), 0);
    assert_eq!(r.code, code::REQUEST_ENTITY_TOO_LARGE);
    assert_eq!(e.observation_count(), 0);
    let r = send(&mut e, server(S), &fetch(&all[..COMPOSITE_PATHS], 0), 0);
    assert_eq!(r.code, code::CONTENT);
    assert_eq!(r.uint(option::OBSERVE), Some(0));
}

#[test]
fn without_a_free_set_it_is_a_plain_read_composite() {
    let mut e = engine(&[S]);
    for i in 0..MAX_COMPOSITE_OBSERVATIONS {
        let t = [b'c', i as u8];
        let r = send(&mut e, server(S), &fetch(&PATHS, 0).token(&t), 0);
        assert_eq!(r.uint(option::OBSERVE), Some(0), "composite {i}");
    }
    let r = send(&mut e, server(S), &fetch(&PATHS, 0).token(b"zz"), 0);
    assert_eq!(r.code, code::CONTENT);
    assert_eq!(r.uint(option::OBSERVE), None);
    assert_eq!(values(&r, "/").len(), 2);
    assert_eq!(e.observation_count(), MAX_COMPOSITE_OBSERVATIONS);
    // Single-path observations still have their slots.
    let r = send(&mut e, server(S), &get("/3/0/0").observe(0), 0);
    assert_eq!(r.uint(option::OBSERVE), Some(0));
}

#[test]
fn a_path_the_observer_may_not_read_is_refused() {
    let mut e = engine(&[1, 2]);
    // /3303/0 is readable by both servers, /3303/1 by server 2 only.
    bs_acl(&mut e, 0, 3303, 0, &[(1, READ), (2, READ)], 2);
    bs_acl(&mut e, 1, 3303, 1, &[(2, READ)], 2);
    let r = send(&mut e, server(1), &fetch(&PATHS[..1], 0), 0);
    assert_eq!(r.code, code::CONTENT);
    assert_eq!(e.observation_count(), 1);
    let r = send(&mut e, server(1), &fetch(&PATHS, 0).token(b"o2"), 0);
    assert_eq!(r.code, code::UNAUTHORIZED);
    assert_eq!(e.observation_count(), 1);
    let r = send(&mut e, server(2), &fetch(&PATHS, 0), 0);
    assert_eq!(r.code, code::CONTENT);
    assert_eq!(e.observation_count(), 2);
    // A path that does not exist.
    let mut e = engine(&[S]);
    let r = send(
        &mut e,
        server(S),
        &fetch(&["/3303/0/5700", "/3303/9/5700"], 0),
        0,
    );
    assert_eq!(r.code, code::NOT_FOUND);
    assert_eq!(e.observation_count(), 0);
}

#[test]
fn losing_the_right_on_one_path_ends_it_with_an_error() {
    let mut e = engine(&[1, 2]);
    bs_acl(&mut e, 0, 3303, 0, &[(1, READ), (2, READ)], 2);
    bs_acl(&mut e, 1, 3303, 1, &[(1, READ), (2, READ)], 2);
    let r = send(&mut e, server(1), &fetch(&PATHS, 0), 0);
    assert_eq!(r.code, code::CONTENT);
    // The owner takes server 1's right on the second path away.
    assert_eq!(
        put_text(&mut e, server(2), "/2/1/2/1", "0", 10).code,
        code::CHANGED
    );
    let out = poll_all(&mut e, 20);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].1.code, code::UNAUTHORIZED);
    assert_eq!(out[0].1.token, b"ob");
    assert_eq!(e.observation_count(), 0);
}

#[test]
fn bad_requests_register_nothing() {
    let mut e = engine(&[S]);
    let body = senml_paths(&PATHS);
    let fetch_with = |target: &str| req(code::FETCH, target).observe(0).token(b"ob");
    let cases = [
        (
            fetch_with("/").cf(cf::TEXT).body(&body),
            code::UNSUPPORTED_CONTENT_FORMAT,
        ),
        (
            fetch_with("/").cf(cf::SENML_CBOR).body(b"\xff"),
            code::BAD_REQUEST,
        ),
        (fetch(&["/"], 0), code::BAD_REQUEST),
        (fetch(&PATHS, 0).accept(cf::LWM2M_TLV), code::NOT_ACCEPTABLE),
        (
            fetch_with("/3").cf(cf::SENML_CBOR).body(&body),
            code::METHOD_NOT_ALLOWED,
        ),
    ];
    for (r, want) in &cases {
        assert_eq!(send(&mut e, server(S), r, 0).code, *want, "{r:?}");
        assert_eq!(e.observation_count(), 0, "{r:?}");
    }
}

/// Client-to-client: a requesting client's composite observation checks its rights on every
/// path, and ends with its account.
#[cfg(feature = "c2c")]
mod c2c {
    use super::*;
    use crate::c2c_common::{account_recs, acl_recs, client, host, install};
    use lwm2m::c2c::rights as cr;

    const C3: u16 = 3;

    #[test]
    fn a_clients_composite_observation_needs_read_on_each_path() {
        let mut e = host(&[1]);
        for _ in 0..2 {
            assert_eq!(create_light(&mut e, server(1), 0).code, code::CREATED);
        }
        install(&mut e, 1, &account_recs(0, C3, "node-3", 0), 0);
        install(&mut e, 1, &acl_recs(0, 3311, 0, &[(C3, cr::READ)], 1), 0);
        let both = ["/3311/0/5850", "/3311/1/5850"];
        let r = send(&mut e, client(C3), &fetch(&both, 0), 0);
        assert_eq!(r.code, code::UNAUTHORIZED);
        assert_eq!(e.observation_count(), 0);
        let r = send(
            &mut e,
            client(C3),
            &fetch(&["/3311/0/5850", "/3311/0/5851"], 0),
            0,
        );
        assert_eq!(r.code, code::CONTENT);
        assert_eq!(r.uint(option::OBSERVE), Some(0));
        assert_eq!(e.observation_count(), 1);
        // Disable of the account (11001/0/4) closes it and ends its observations.
        let r = send(&mut e, server(1), &req(code::POST, "/11001/0/4"), 10);
        assert_eq!(r.code, code::CHANGED);
        assert_eq!(e.observation_count(), 0);
    }
}
