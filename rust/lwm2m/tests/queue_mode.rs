//! Queue Mode with a fake clock: `Q` in Register, the awake time after each message sent,
//! sleeping (the driver told to stop answering), notifications stored while asleep and
//! flushed in order on wake, the store's limit, the registration Update on wake, and
//! Notification Storing When Disabled or Offline (/1/x/6) false.
#![cfg(feature = "queue-mode")]

mod common;

use common::*;
use lwm2m::coap::{code, content_format as cf, option};
use lwm2m::config::QUEUE_STORE_BYTES;
use lwm2m::engine::{Destination, Engine, QueueState, RegistrationState};
use lwm2m::{Path, Value};

const S: u16 = 1;
const AWAKE: u64 = 10_000;
const TEMP: &str = "/3303/0/5700";

/// A Queue Mode engine registered at t=0 (lifetime 300 s: Update due at 207 s), the server
/// observing the temperature, with Notification Storing (/1/0/6) set to `storing`.
fn sleepy(storing: bool) -> Engine<'static> {
    let mut e = engine(&[S]);
    e.set_queue_mode(Some(AWAKE as u32), 0);
    register_all(&mut e, 0);
    let v: &[u8] = if storing { b"1" } else { b"0" };
    let w = req(code::PUT, "/1/0/6").cf(cf::TEXT).body(v);
    assert_eq!(send(&mut e, server(S), &w, 0).code, code::CHANGED);
    let r = send(&mut e, server(S), &get(TEMP).observe(0).token(b"ob"), 0);
    assert_eq!(r.uint(option::OBSERVE), Some(0));
    e
}

fn set(e: &mut Engine<'_>, v: f64, now: u64) {
    e.set_value(&Path::parse_str(TEMP).unwrap(), Value::Float(v), now)
        .unwrap();
}

/// Falls asleep at the end of the awake time.
fn sleep(e: &mut Engine<'_>) {
    assert_eq!(e.queue_state(AWAKE - 1), QueueState::Awake { until: AWAKE });
    assert!(poll_all(e, AWAKE).is_empty());
    assert_eq!(e.queue_state(AWAKE), QueueState::Sleeping);
    assert!(!e.is_awake(AWAKE));
}

/// The temperature takes `values`, one a second from t=20 s, while the client sleeps:
/// nothing goes out.
fn change_asleep(e: &mut Engine<'_>, values: &[f64]) {
    for (i, v) in values.iter().enumerate() {
        let t = 20_000 + 1000 * i as u64;
        set(e, *v, t);
        assert!(
            poll_all(e, t).is_empty(),
            "a message went out asleep at {t}"
        );
    }
}

/// (Observe, value) of the notifications among `msgs`.
fn notes(msgs: &[(lwm2m::engine::Outgoing, Resp)]) -> Vec<(u32, String)> {
    msgs.iter()
        .filter(|(o, _)| matches!(o.dest, Destination::Endpoint(_)))
        .map(|(_, r)| (r.uint(option::OBSERVE).unwrap(), r.text()))
        .collect()
}

#[test]
fn register_carries_q_only_in_queue_mode() {
    for (mode, expected) in [
        (None, vec!["ep=node-1", "lt=300", "lwm2m=1.1", "b=U"]),
        (
            Some(5000),
            vec!["ep=node-1", "lt=300", "lwm2m=1.1", "b=U", "Q"],
        ),
    ] {
        let mut e = engine(&[S]);
        e.set_queue_mode(mode, 0);
        e.start(0);
        let (_, r) = poll(&mut e, 0).unwrap();
        assert_eq!(r.path_of(option::URI_PATH), "/rd");
        assert_eq!(r.queries(), expected);
        let state = e.queue_state(0);
        assert_eq!(state == QueueState::Off, mode.is_none(), "{state:?}");
    }
}

#[test]
fn awake_for_the_awake_time_after_each_message_sent() {
    let mut e = sleepy(true);
    // Register went out at 0: the driver is told to poll when the awake time ends.
    assert_eq!(e.next_wakeup(), Some(AWAKE));
    // A response is a message sent too: answering at 4 s keeps the client awake to 14 s.
    assert_eq!(
        send(&mut e, server(S), &get("/3/0/0"), 4000).code,
        code::CONTENT
    );
    assert_eq!(e.queue_state(AWAKE), QueueState::Awake { until: 14_000 });
    assert!(poll_all(&mut e, 14_000).is_empty());
    assert_eq!(e.queue_state(14_000), QueueState::Sleeping);
    assert_eq!(e.queue_counters().sleeps, 1);
    // Asleep, the next thing to do is the registration Update the lifetime calls for.
    assert_eq!(e.next_wakeup(), Some(207_000));
    // A message the driver sent itself (e.g. a retransmission) opens the awake time again.
    e.message_sent(50_000);
    assert_eq!(e.queue_state(55_000), QueueState::Awake { until: 60_000 });
}

#[test]
fn an_open_registration_exchange_keeps_the_client_awake() {
    let mut e = engine(&[S]);
    e.set_queue_mode(Some(AWAKE as u32), 0);
    e.start(0);
    let (_, reg) = poll(&mut e, 0).unwrap();
    // Unanswered past the awake time: still awake, and no past wake-up spins the driver.
    assert!(e.is_awake(AWAKE + 5000));
    assert!(
        e.next_wakeup().is_none_or(|t| t > AWAKE),
        "{:?}",
        e.next_wakeup()
    );
    answer(&mut e, &reg, code::CREATED, &["rd", "1"], AWAKE + 5000);
    assert_eq!(e.registration_state(S), RegistrationState::Registered);
    assert!(!e.is_awake(AWAKE + 5000));
}

#[test]
fn notifications_while_asleep_are_stored_and_flushed_in_order_after_the_update_on_wake() {
    let mut e = sleepy(true);
    sleep(&mut e);
    change_asleep(&mut e, &[22.0, 23.0, 24.0]);
    assert_eq!(e.queue_counters().stored, 3);
    assert!(
        !e.is_awake(30_000),
        "a notification does not wake the client"
    );
    e.wake(40_000);
    assert!(e.is_awake(40_000));
    let out = poll_all(&mut e, 40_000);
    // The Update first (the server learns the client is awake), then the stored ones.
    assert_eq!(out[0].0.dest, Destination::Server(S));
    assert_eq!(out[0].1.path_of(option::URI_PATH), "/rd/1");
    assert_eq!(
        notes(&out),
        [(1, "22".into()), (2, "23".into()), (3, "24".into())]
    );
    assert_eq!(out.len(), 4);
    let c = e.queue_counters();
    assert_eq!((c.stored, c.stored_total, c.flushed), (0, 3, 3));
    // Awake, a new notification goes out at once, after the stored ones.
    set(&mut e, 25.0, 41_000);
    assert_eq!(notes(&poll_all(&mut e, 41_000)), [(4, "25".into())]);
}

#[test]
fn the_lifetime_update_wakes_the_client_and_flushes_the_store() {
    let mut e = sleepy(true);
    sleep(&mut e);
    set(&mut e, 30.0, 100_000);
    assert!(poll_all(&mut e, 100_000).is_empty());
    assert!(poll_all(&mut e, 206_999).is_empty());
    let out = poll_all(&mut e, 207_000);
    assert_eq!(out[0].1.path_of(option::URI_PATH), "/rd/1");
    assert_eq!(notes(&out), [(1, "30".into())]);
    assert_eq!(
        e.queue_state(207_000),
        QueueState::Awake {
            until: 207_000 + AWAKE
        }
    );
}

#[test]
fn notification_storing_false_keeps_only_the_latest() {
    let mut e = sleepy(false);
    sleep(&mut e);
    change_asleep(&mut e, &[22.0, 23.0, 24.0]);
    let c = e.queue_counters();
    assert_eq!((c.stored, c.discarded), (1, 2));
    e.wake(40_000);
    assert_eq!(notes(&poll_all(&mut e, 40_000)), [(3, "24".into())]);
}

#[test]
fn a_full_store_drops_the_oldest_and_counts_them() {
    let mut e = sleepy(true);
    sleep(&mut e);
    let n = 40u32;
    let values: Vec<f64> = (0..n).map(f64::from).collect();
    change_asleep(&mut e, &values);
    let c = e.queue_counters();
    assert!(
        c.dropped > 0,
        "{QUEUE_STORE_BYTES} bytes hold fewer than {n}"
    );
    assert_eq!(u32::from(c.stored) + c.dropped, n);
    e.wake(100_000);
    let got = notes(&poll_all(&mut e, 100_000));
    assert_eq!(got.len(), usize::from(c.stored));
    // The newest survive, in order.
    let expected: Vec<(u32, String)> = (n - u32::from(c.stored)..n)
        .map(|i| (i + 1, format!("{i}")))
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn wake_without_queue_mode_does_nothing() {
    let mut e = engine(&[S]);
    register_all(&mut e, 0);
    e.wake(1000);
    assert!(poll_all(&mut e, 1000).is_empty());
    assert_eq!(e.queue_state(1000), QueueState::Off);
    assert!(e.is_awake(u64::MAX));
}
