//! Observe and the notification attributes: pmin, pmax, gt, lt, st, epmin, epmax; sequence
//! numbers, CON every 16th, error notifications and the observer table limit.

mod common;

use common::*;
use lwm2m::coap::{code, content_format as cf, option};
use lwm2m::config::MAX_OBSERVATIONS;
use lwm2m::dm::Caller;
use lwm2m::engine::{Destination, Engine};
use lwm2m::{Path, Value};

const S: u16 = 1;
const TEMP: &str = "/3303/0/5700";

fn temp() -> Path {
    Path::parse_str(TEMP).unwrap()
}

fn attrs(e: &mut Engine<'_>, path: &str, q: &[&str]) {
    let mut r = req(code::PUT, path);
    for x in q {
        r = r.query(x);
    }
    assert_eq!(send(e, server(S), &r, 0).code, code::CHANGED, "{q:?}");
}

/// An engine with one server observing the temperature (attributes `q` set first) at t=0.
fn observed(q: &[&str]) -> Engine<'static> {
    let mut e = engine(&[S]);
    if !q.is_empty() {
        attrs(&mut e, TEMP, q);
    }
    let r = send(&mut e, server(S), &get(TEMP).observe(0).token(b"ob"), 0);
    assert_eq!(r.code, code::CONTENT);
    assert_eq!(r.uint(option::OBSERVE), Some(0));
    e
}

fn set(e: &mut Engine<'_>, v: f64, now: u64) {
    e.set_value(&temp(), Value::Float(v), now).unwrap();
}

/// The notification due at `now`, as (Observe, text value).
fn note(e: &mut Engine<'_>, now: u64) -> Option<(u32, String)> {
    let (o, r) = poll(e, now)?;
    assert_eq!(o.dest, Destination::Endpoint(u32::from(S)));
    assert_eq!(r.code, code::CONTENT);
    assert_eq!(r.token, b"ob");
    Some((r.uint(option::OBSERVE).unwrap(), r.text()))
}

#[test]
fn without_attributes_every_change_is_notified() {
    let mut e = observed(&[]);
    assert_eq!(e.next_wakeup(), None);
    assert_eq!(note(&mut e, 100), None);
    set(&mut e, 22.0, 100);
    assert_eq!(e.next_wakeup(), Some(0));
    assert_eq!(note(&mut e, 100), Some((1, "22".into())));
    assert_eq!(note(&mut e, 100), None);
}

#[test]
fn pmin_delays_notifications() {
    let mut e = observed(&["pmin=10"]);
    set(&mut e, 22.0, 1000);
    assert_eq!(e.next_wakeup(), Some(10_000));
    assert_eq!(note(&mut e, 9_999), None);
    set(&mut e, 23.0, 5000);
    // The latest value goes out once pmin has passed.
    assert_eq!(note(&mut e, 10_000), Some((1, "23".into())));
    set(&mut e, 24.0, 11_000);
    assert_eq!(e.next_wakeup(), Some(20_000));
    assert_eq!(note(&mut e, 19_000), None);
    assert_eq!(note(&mut e, 20_000), Some((2, "24".into())));
}

#[test]
fn pmax_forces_notifications() {
    let mut e = observed(&["pmax=5"]);
    assert_eq!(e.next_wakeup(), Some(5000));
    assert_eq!(note(&mut e, 4999), None);
    assert_eq!(note(&mut e, 5000), Some((1, "21.5".into())));
    assert_eq!(e.next_wakeup(), Some(10_000));
    assert_eq!(note(&mut e, 9000), None);
    assert_eq!(note(&mut e, 10_000), Some((2, "21.5".into())));
}

#[test]
fn pmax_below_pmin_is_ignored() {
    let mut e = observed(&["pmin=10", "pmax=5"]);
    assert_eq!(e.next_wakeup(), None);
    assert_eq!(note(&mut e, 6000), None);
}

#[test]
fn server_default_periods_apply() {
    let mut e = engine(&[S]);
    assert_eq!(
        put_text(&mut e, server(S), "/1/0/3", "7", 0).code,
        code::CHANGED
    );
    send(&mut e, server(S), &get(TEMP).observe(0).token(b"ob"), 0);
    let _ = poll_all(&mut e, 0);
    assert_eq!(e.next_wakeup(), Some(7000));
    assert_eq!(note(&mut e, 7000), Some((1, "21.5".into())));
}

#[test]
fn gt_notifies_on_crossing_only() {
    let mut e = observed(&["gt=25"]);
    set(&mut e, 24.0, 100);
    assert_eq!(note(&mut e, 100), None);
    set(&mut e, 26.0, 200);
    assert_eq!(note(&mut e, 200), Some((1, "26".into())));
    set(&mut e, 27.0, 300);
    assert_eq!(note(&mut e, 300), None);
    set(&mut e, 24.5, 400);
    assert_eq!(note(&mut e, 400), Some((2, "24.5".into())));
}

#[test]
fn lt_notifies_on_crossing_only() {
    let mut e = observed(&["lt=20"]);
    set(&mut e, 20.5, 100);
    assert_eq!(note(&mut e, 100), None);
    set(&mut e, 19.0, 200);
    assert_eq!(note(&mut e, 200), Some((1, "19".into())));
    set(&mut e, 18.0, 300);
    assert_eq!(note(&mut e, 300), None);
    set(&mut e, 20.0, 400);
    assert_eq!(note(&mut e, 400), Some((2, "20".into())));
}

#[test]
fn st_notifies_on_steps_from_the_last_notified_value() {
    let mut e = observed(&["st=2"]);
    set(&mut e, 22.5, 100);
    assert_eq!(note(&mut e, 100), None);
    set(&mut e, 23.0, 200);
    assert_eq!(note(&mut e, 200), None);
    set(&mut e, 23.5, 300);
    assert_eq!(note(&mut e, 300), Some((1, "23.5".into())));
    set(&mut e, 22.0, 400);
    assert_eq!(note(&mut e, 400), None);
    set(&mut e, 21.0, 500);
    assert_eq!(note(&mut e, 500), Some((2, "21".into())));
}

#[test]
fn epmin_delays_evaluation() {
    let mut e = observed(&["epmin=5"]);
    set(&mut e, 22.0, 1000);
    assert_eq!(e.next_wakeup(), Some(5000));
    assert_eq!(note(&mut e, 4000), None);
    assert_eq!(note(&mut e, 5000), Some((1, "22".into())));
}

#[test]
fn epmax_reevaluates_values_that_change_silently() {
    // The sensor is updated behind the engine's back (no value_changed).
    let silent = |e: &mut Engine<'_>, v: f64| {
        e.object_mut(3303)
            .unwrap()
            .write(Caller::Local, 0, 5700, None, &Value::Float(v))
            .unwrap();
    };
    let mut plain = observed(&[]);
    silent(&mut plain, 30.0);
    assert_eq!(plain.next_wakeup(), None);
    assert_eq!(note(&mut plain, 3000), None);

    let mut e = observed(&["epmax=3"]);
    assert_eq!(e.next_wakeup(), Some(3000));
    // Nothing changed: evaluated, nothing sent, next evaluation scheduled.
    assert_eq!(note(&mut e, 3000), None);
    assert_eq!(e.next_wakeup(), Some(6000));
    silent(&mut e, 30.0);
    assert_eq!(note(&mut e, 5999), None);
    assert_eq!(note(&mut e, 6000), Some((1, "30".into())));
}

#[test]
fn sequence_numbers_increase_and_every_16th_is_confirmable() {
    let mut e = observed(&[]);
    let mut last = 0;
    for i in 1..=33u32 {
        set(&mut e, f64::from(i), u64::from(i) * 10);
        let (o, r) = poll(&mut e, u64::from(i) * 10).expect("notification");
        let seq = r.uint(option::OBSERVE).unwrap();
        assert!(seq > last, "{seq} after {last}");
        last = seq;
        assert_eq!(o.confirmable, i % 16 == 0, "notification {i}");
        assert_eq!(
            r.mtype,
            if i % 16 == 0 {
                lwm2m::coap::MessageType::Con
            } else {
                lwm2m::coap::MessageType::Non
            }
        );
    }
}

#[test]
fn instance_observation_carries_the_instance() {
    let mut e = engine(&[S]);
    let r = send(
        &mut e,
        server(S),
        &get("/3303/1").observe(0).token(b"in"),
        0,
    );
    assert_eq!(r.code, code::CONTENT);
    assert_eq!(r.uint(option::CONTENT_FORMAT), Some(cf::LWM2M_TLV.into()));
    e.set_value(&Path::resource(3303, 0, 5700), Value::Float(1.0), 10)
        .unwrap();
    assert!(poll(&mut e, 10).is_none(), "another instance changed");
    e.set_value(&Path::resource(3303, 1, 5700), Value::Float(2.0), 20)
        .unwrap();
    let (_, n) = poll(&mut e, 20).unwrap();
    assert_eq!(n.uint(option::CONTENT_FORMAT), Some(cf::LWM2M_TLV.into()));
    let v = values(&n, "/3303/1");
    assert!(
        v.contains(&(Path::resource(3303, 1, 5700), V::F(2.0))),
        "{v:?}"
    );
}

#[test]
fn revoked_access_ends_the_observation_with_an_error() {
    let mut e = engine(&[1, 2]);
    bs_acl(&mut e, 0, 3303, 0, &[(2, 1)], 1);
    let r = send(&mut e, server(2), &get(TEMP).observe(0).token(b"o2"), 0);
    assert_eq!(r.code, code::CONTENT);
    assert_eq!(e.observation_count(), 1);
    // The owner takes server 2's rights away.
    assert_eq!(
        put_text(&mut e, server(1), "/2/0/2/2", "0", 100).code,
        code::CHANGED
    );
    let out = poll_all(&mut e, 100);
    let notes: Vec<_> = out
        .iter()
        .filter(|(o, _)| o.dest == Destination::Endpoint(2))
        .collect();
    assert_eq!(notes.len(), 1, "{out:?}");
    assert_eq!(notes[0].1.code, code::UNAUTHORIZED);
    assert_eq!(notes[0].1.token, b"o2");
    assert!(notes[0].1.payload.is_empty());
    assert_eq!(e.observation_count(), 0);
    e.set_value(&temp(), Value::Float(1.0), 200).unwrap();
    assert!(poll_all(&mut e, 200).is_empty());
}

#[test]
fn deleted_instance_ends_the_observation_with_4_04() {
    let mut e = engine(&[S]);
    create_light(&mut e, server(S), 0);
    attrs(&mut e, "/3311/0", &["pmin=100"]);
    send(
        &mut e,
        server(S),
        &get("/3311/0").observe(0).token(b"li"),
        0,
    );
    assert_eq!(
        send(&mut e, server(S), &req(code::DELETE, "/3311/0"), 10).code,
        code::DELETED
    );
    // pmin does not hold back the end of the observation.
    let out = poll_all(&mut e, 10);
    let n: Vec<_> = out.iter().filter(|(_, r)| r.token == b"li").collect();
    assert_eq!(n.len(), 1, "{out:?}");
    assert_eq!(n[0].1.code, code::NOT_FOUND);
    assert_eq!(e.observation_count(), 0);
}

#[test]
fn full_observer_table_falls_back_to_a_plain_read() {
    let mut e = engine(&[S]);
    let paths = [
        "/3/0/0",
        "/3/0/1",
        "/3/0/2",
        "/3/0/3",
        "/3/0/13",
        "/3/0/16",
        "/3303/0/5700",
        "/3303/1/5700",
        "/3303/0/5701",
        "/3303/1/5701",
    ];
    assert!(paths.len() > MAX_OBSERVATIONS);
    for (i, p) in paths.iter().enumerate() {
        let r = send(&mut e, server(S), &get(p).observe(0).token(&[i as u8]), 0);
        assert_eq!(r.code, code::CONTENT, "{p}");
        if i < MAX_OBSERVATIONS {
            assert_eq!(r.uint(option::OBSERVE), Some(0), "{p}");
        } else {
            assert_eq!(r.opt(option::OBSERVE), None, "{p}");
            assert!(!r.payload.is_empty());
        }
    }
    assert_eq!(e.observation_count(), MAX_OBSERVATIONS);
    // Observing the same target again replaces the entry.
    let r = send(
        &mut e,
        server(S),
        &get("/3/0/0").observe(0).token(b"new"),
        0,
    );
    assert_eq!(r.uint(option::OBSERVE), Some(0));
    assert_eq!(e.observation_count(), MAX_OBSERVATIONS);
}
