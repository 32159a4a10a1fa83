//! Registration interface: Register, Update, De-register, retries and fallback to bootstrap.

mod common;

use common::*;
use lwm2m::coap::{code, content_format as cf, option};
use lwm2m::engine::{Destination, Engine, RegistrationState, RetryPolicy};

const S: u16 = 1;

fn registered() -> Engine<'static> {
    let mut e = engine(&[S]);
    register_all(&mut e, 0);
    assert_eq!(e.registration_state(S), RegistrationState::Registered);
    e
}

fn one(e: &mut Engine<'_>, now: u64) -> Resp {
    let (o, r) = poll(e, now).expect("a request");
    assert_eq!(o.dest, Destination::Server(S));
    assert!(o.confirmable);
    r
}

#[test]
fn register_request() {
    let mut e = engine(&[S]);
    assert_eq!(e.registration_state(S), RegistrationState::NotRegistered);
    e.start(0);
    assert_eq!(e.next_wakeup(), Some(0));
    let r = one(&mut e, 0);
    assert_eq!(e.registration_state(S), RegistrationState::Registering);
    assert_eq!(r.code, code::POST);
    assert_eq!(r.path_of(option::URI_PATH), "/rd");
    assert_eq!(r.queries(), ["ep=node-1", "lt=300", "lwm2m=1.1", "b=U"]);
    assert_eq!(r.uint(option::CONTENT_FORMAT), Some(cf::LINK_FORMAT.into()));
    // With C2C, the account objects are listed without their instances (21 never is).
    let expected = if cfg!(feature = "c2c") {
        "</1>;ver=1.1,</1/0>,</2>,</3/0>,</3303/0>,</3303/1>,</3311>,</11000>,</11001>,</11002>"
    } else {
        "</1>;ver=1.1,</1/0>,</2>,</3/0>,</3303/0>,</3303/1>,</3311>"
    };
    assert_eq!(r.text(), expected);
    assert_eq!(r.token.len(), 4);
    assert!(poll(&mut e, 0).is_none(), "one Register at a time");
    answer(&mut e, &r, code::CREATED, &["rd", "5a3f"], 100);
    assert_eq!(e.registration_state(S), RegistrationState::Registered);
}

#[test]
fn register_without_location_is_retried() {
    let mut e = engine(&[S]);
    e.start(0);
    let r = one(&mut e, 0);
    answer(&mut e, &r, code::CREATED, &[], 0);
    assert_eq!(e.registration_state(S), RegistrationState::Registering);
    let t = e.next_wakeup().unwrap();
    assert!((3000..=5000).contains(&t), "{t}");
}

#[test]
fn update_before_lifetime_ends() {
    let mut e = registered();
    // Lifetime 300 s: Update MAX_TRANSMIT_WAIT (93 s) before it ends, at 207 s.
    assert_eq!(e.next_wakeup(), Some(207_000));
    assert!(poll(&mut e, 206_999).is_none());
    let r = one(&mut e, 207_000);
    assert_eq!(e.registration_state(S), RegistrationState::Updating);
    assert_eq!(r.code, code::POST);
    assert_eq!(r.path_of(option::URI_PATH), "/rd/1");
    assert!(r.queries().is_empty(), "{:?}", r.queries());
    assert!(r.payload.is_empty());
    assert_eq!(r.opt(option::CONTENT_FORMAT), None);
    answer(&mut e, &r, code::CHANGED, &[], 208_000);
    assert_eq!(e.registration_state(S), RegistrationState::Registered);
    assert_eq!(e.next_wakeup(), Some(208_000 + 207_000));
}

#[test]
fn short_lifetime_updates_at_the_half() {
    let mut e = registered();
    // Lifetime 120 s: 120 - 93 = 27 s would leave most of the lifetime unused; the Update goes
    // at the half instead, 60 s, so that a lost one still has 60 s to be retransmitted.
    assert_eq!(
        put_text(&mut e, server(S), "/1/0/1", "120", 0).code,
        code::CHANGED
    );
    let r = one(&mut e, 0);
    assert_eq!(r.queries(), ["lt=120", "b=U"]);
    answer(&mut e, &r, code::CHANGED, &[], 1_000);
    assert_eq!(e.next_wakeup(), Some(1_000 + 60_000));
}

#[test]
fn update_carries_objects_after_create_and_delete() {
    let mut e = registered();
    assert_eq!(create_light(&mut e, server(S), 1000).code, code::CREATED);
    let r = one(&mut e, 1000);
    assert_eq!(r.path_of(option::URI_PATH), "/rd/1");
    assert_eq!(r.uint(option::CONTENT_FORMAT), Some(cf::LINK_FORMAT.into()));
    assert!(r.text().contains("</3311/0>"), "{}", r.text());
    assert!(!r.text().contains("</0"), "{}", r.text());
    assert!(r.queries().is_empty());
    answer(&mut e, &r, code::CHANGED, &[], 1000);
    assert!(poll(&mut e, 1000).is_none());
    assert_eq!(
        send(&mut e, server(S), &req(code::DELETE, "/3311/0"), 2000).code,
        code::DELETED
    );
    let r = one(&mut e, 2000);
    assert!(r.text().contains("</3311>"), "{}", r.text());
    assert!(!r.text().contains("</3311/0>"), "{}", r.text());
}

#[test]
fn change_during_an_update_is_not_lost() {
    let mut e = registered();
    let r = one(&mut e, 270_000);
    assert!(r.payload.is_empty());
    // The object list changes while the periodic Update is in flight.
    assert_eq!(create_light(&mut e, server(S), 270_100).code, code::CREATED);
    answer(&mut e, &r, code::CHANGED, &[], 270_200);
    let r = one(&mut e, 270_200);
    assert!(r.text().contains("</3311/0>"), "{}", r.text());
}

#[test]
fn update_carries_lifetime_after_it_was_written() {
    let mut e = registered();
    assert_eq!(
        put_text(&mut e, server(S), "/1/0/1", "600", 500).code,
        code::CHANGED
    );
    let r = one(&mut e, 500);
    assert_eq!(r.path_of(option::URI_PATH), "/rd/1");
    assert_eq!(r.queries(), ["lt=600", "b=U"]);
    assert!(r.payload.is_empty());
    answer(&mut e, &r, code::CHANGED, &[], 500);
    assert_eq!(e.next_wakeup(), Some(500 + 507_000));
}

#[test]
fn update_trigger_executes_an_update() {
    let mut e = registered();
    assert_eq!(
        send(&mut e, server(S), &req(code::POST, "/1/0/8"), 50).code,
        code::CHANGED
    );
    let r = one(&mut e, 50);
    assert_eq!(r.code, code::POST);
    assert_eq!(r.path_of(option::URI_PATH), "/rd/1");
}

#[test]
fn update_rejected_means_register_again() {
    let mut e = registered();
    let r = one(&mut e, 270_000);
    answer(&mut e, &r, code::NOT_FOUND, &[], 270_100);
    assert_eq!(e.registration_state(S), RegistrationState::Registering);
    let r = one(&mut e, 270_100);
    assert_eq!(r.path_of(option::URI_PATH), "/rd");
    assert!(r.queries().contains(&"ep=node-1".to_string()));
}

#[test]
fn update_timeout_means_register_again() {
    let mut e = registered();
    let r = one(&mut e, 270_000);
    e.request_failed(Destination::Server(S), &r.token, 300_000);
    assert_eq!(e.registration_state(S), RegistrationState::Registering);
    let t = e.next_wakeup().unwrap();
    let r = one(&mut e, t);
    assert_eq!(r.path_of(option::URI_PATH), "/rd");
}

/// Delays between failed Register attempts.
fn retry_delays(policy: RetryPolicy, n: usize) -> Vec<u64> {
    let mut e = engine(&[S]);
    e.set_retry_policy(policy);
    e.start(0);
    let mut now = 0;
    let mut delays = vec![];
    for _ in 0..n {
        let r = one(&mut e, now);
        assert_eq!(r.path_of(option::URI_PATH), "/rd");
        e.request_failed(Destination::Server(S), &r.token, now);
        let next = e.next_wakeup().unwrap();
        assert!(poll(&mut e, next - 1).is_none());
        delays.push(next - now);
        now = next;
    }
    delays
}

#[test]
fn register_timeouts_back_off_exponentially_with_bounded_jitter() {
    let policy = RetryPolicy {
        base_ms: 1000,
        max_ms: 20_000,
        attempts_before_bootstrap: 100,
    };
    let delays = retry_delays(policy, 10);
    for (k, d) in delays.iter().enumerate() {
        let nominal = (1000u64 << k).min(20_000);
        let (lo, hi) = (nominal * 3 / 4, nominal * 5 / 4);
        assert!(
            (lo..=hi).contains(d),
            "attempt {k}: {d} not in {lo}..={hi} ({delays:?})"
        );
    }
    // They grow until the cap.
    for k in 0..4 {
        assert!(delays[k + 1] > delays[k], "{delays:?}");
    }
    // Jitter: not all equal to the nominal value.
    assert!(delays
        .iter()
        .enumerate()
        .any(|(k, d)| *d != (1000u64 << k).min(20_000)));
}

#[test]
fn register_falls_back_to_bootstrap() {
    let mut e = engine(&[S]);
    e.add_bootstrap_server("coap://bs", 3, b"", b"").unwrap();
    e.set_retry_policy(RetryPolicy {
        base_ms: 1000,
        max_ms: 10_000,
        attempts_before_bootstrap: 3,
    });
    e.start(0);
    let mut now = 0;
    for _ in 0..3 {
        let r = one(&mut e, now);
        assert_eq!(r.path_of(option::URI_PATH), "/rd");
        e.request_failed(Destination::Server(S), &r.token, now);
        now = e.next_wakeup().unwrap();
    }
    assert!(e.bootstrapping());
    let (o, r) = poll(&mut e, now).expect("Bootstrap-Request");
    assert_eq!(o.dest, Destination::Bootstrap);
    assert_eq!(r.path_of(option::URI_PATH), "/bs");
    // No Register while bootstrapping.
    assert!(poll_all(&mut e, now + 1_000_000)
        .iter()
        .all(|(o, _)| o.dest != Destination::Server(S)));
}

#[test]
fn disable_deregisters_then_registers_after_timeout() {
    let mut e = registered();
    assert_eq!(
        put_text(&mut e, server(S), "/1/0/5", "10", 0).code,
        code::CHANGED
    );
    assert_eq!(
        send(&mut e, server(S), &req(code::POST, "/1/0/4"), 1000).code,
        code::CHANGED
    );
    assert_eq!(e.registration_state(S), RegistrationState::Disabled);
    assert!(e.next_wakeup().is_some_and(|t| t <= 1000));
    let r = one(&mut e, 1000);
    assert_eq!(r.code, code::DELETE);
    assert_eq!(r.path_of(option::URI_PATH), "/rd/1");
    answer(&mut e, &r, code::DELETED, &[], 1100);
    assert_eq!(e.registration_state(S), RegistrationState::Disabled);
    assert_eq!(e.next_wakeup(), Some(11_000));
    assert!(poll(&mut e, 10_999).is_none());
    let r = one(&mut e, 11_000);
    assert_eq!(r.code, code::POST);
    assert_eq!(r.path_of(option::URI_PATH), "/rd");
}

#[test]
fn disable_during_update_still_deregisters() {
    let mut e = registered();
    let upd = one(&mut e, 270_000);
    assert_eq!(
        send(&mut e, server(S), &req(code::POST, "/1/0/4"), 270_010).code,
        code::CHANGED
    );
    answer(&mut e, &upd, code::CHANGED, &[], 270_020);
    let r = one(&mut e, 270_020);
    assert_eq!(r.code, code::DELETE, "{r:?}");
}

#[test]
fn deregister_all_sends_delete_to_each_server() {
    let mut e = engine(&[1, 2]);
    register_all(&mut e, 0);
    e.deregister_all(10);
    let out = poll_all(&mut e, 10);
    let mut dests: Vec<_> = out
        .iter()
        .map(|(o, r)| {
            assert_eq!(r.code, code::DELETE);
            (o.dest, r.path_of(option::URI_PATH))
        })
        .collect();
    dests.sort_by_key(|d| d.1.clone());
    assert_eq!(
        dests,
        vec![
            (Destination::Server(1), "/rd/1".to_string()),
            (Destination::Server(2), "/rd/2".to_string())
        ]
    );
    for (_, r) in &out {
        answer(&mut e, r, code::DELETED, &[], 20);
    }
    assert_eq!(e.registration_state(1), RegistrationState::Disabled);
    assert!(poll_all(&mut e, 1_000_000_000).is_empty());
}

#[test]
fn unrelated_responses_are_ignored() {
    let mut e = registered();
    let r = Resp {
        mtype: lwm2m::coap::MessageType::Ack,
        code: code::NOT_FOUND,
        token: vec![1, 2, 3, 4],
        opts: vec![],
        payload: vec![],
    };
    answer(&mut e, &r, code::NOT_FOUND, &[], 5);
    e.request_failed(Destination::Server(S), &[9, 9], 5);
    assert_eq!(e.registration_state(S), RegistrationState::Registered);
}

/// A server that shortened the lifetime writes it right after its 2.01, so the Write can
/// overtake the 2.01 (reordering, a lost ACK): the Update with it still follows.
#[test]
fn lifetime_written_while_registering_is_updated_after_the_register() {
    let mut e = engine(&[S]);
    e.start(0);
    let r = one(&mut e, 0);
    assert_eq!(
        put_text(&mut e, server(S), "/1/0/1", "4", 10).code,
        code::CHANGED
    );
    assert!(poll(&mut e, 10).is_none(), "one request at a time");
    answer(&mut e, &r, code::CREATED, &["rd", "5a3f"], 20);
    let u = one(&mut e, 20);
    assert_eq!(u.path_of(option::URI_PATH), "/rd/5a3f");
    assert_eq!(u.queries(), ["lt=4", "b=U"]);
    answer(&mut e, &u, code::CHANGED, &[], 30);
    // Updates at half the shortened lifetime.
    assert_eq!(e.next_wakeup(), Some(30 + 2_000));
}
