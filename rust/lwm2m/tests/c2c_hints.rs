//! C2C extension, hosting client: owner server hint rate limiting (T1) per source, with a
//! global cap and a table of sources that rotating addresses cannot take over
//! (`engine::hint_limit`). Counts distinct hinted answers, never lines.
#![cfg(feature = "c2c")]

mod c2c_common;
mod common;

use c2c_common::*;
use common::*;
use lwm2m::coap::{code, option};
use lwm2m::config::HINT_SOURCES;
use lwm2m::engine::{
    source_key, Engine, Identity, Peer, HINT_BURST, HINT_GLOBAL_BURST, HINT_GLOBAL_REFILL_MS,
    HINT_REFILL_MS,
};

const T0: u64 = 1_000_000;

/// An unauthenticated peer at address key `source`.
fn from(source: u32) -> Peer {
    Peer {
        identity: Identity::Unauthenticated,
        endpoint: source,
        source,
    }
}

/// Sends one unauthorized GET; true if its 4.01 carried a hint.
fn hinted(e: &mut Engine<'_>, peer: Peer, now: u64) -> bool {
    let r = send(e, peer, &get("/3/0/0"), now);
    assert_eq!(r.code, code::UNAUTHORIZED);
    let has = r.uint(option::CONTENT_FORMAT) == Some(60);
    assert_eq!(has, !r.payload.is_empty());
    has
}

/// Hints among `n` GETs from `peer` at `now`.
fn hints(e: &mut Engine<'_>, peer: Peer, n: usize, now: u64) -> usize {
    (0..n).filter(|_| hinted(e, peer, now)).count()
}

#[test]
fn one_source_gets_a_burst_then_one_hint_per_refill() {
    let mut e = host(&[1]);
    assert_eq!(hints(&mut e, from(7), 10, T0), usize::from(HINT_BURST));
    assert!(!hinted(&mut e, from(7), T0 + HINT_REFILL_MS - 1));
    assert!(hinted(&mut e, from(7), T0 + HINT_REFILL_MS));
    assert!(!hinted(&mut e, from(7), T0 + HINT_REFILL_MS));
    // A requesting client at the same address draws from the same bucket.
    let client_there = Peer {
        identity: Identity::Client(42),
        ..from(7)
    };
    assert!(!hinted(&mut e, client_there, T0 + HINT_REFILL_MS));
    let c = e.hint_counters();
    assert_eq!(c.sent, u32::from(HINT_BURST) + 1);
    assert_eq!(c.source_limited, 6 + 1 + 1 + 1);
    assert_eq!(c.global_limited, 0);
}

#[test]
fn a_flood_from_three_sources_leaves_a_fourth_its_hint() {
    let mut e = host(&[1]);
    for s in 1..=3 {
        assert_eq!(
            hints(&mut e, from(s), 200, T0 + u64::from(s)),
            usize::from(HINT_BURST),
            "source {s}"
        );
    }
    // Their buckets are empty; a newcomer still gets a hint.
    assert!(hinted(&mut e, from(4), T0 + 10));
    let c = e.hint_counters();
    assert_eq!(c.sent, 3 * u32::from(HINT_BURST) + 1);
    assert_eq!(c.source_limited, 3 * (200 - u32::from(HINT_BURST)));
    // The flooders stay limited by their own buckets meanwhile.
    assert!(!hinted(&mut e, from(2), T0 + 11));
}

#[test]
fn the_global_cap_holds_under_many_sources() {
    let mut e = host(&[1]);
    // 1,000 sources at one instant, then 50 new ones every 100 ms for 20 s, each asking once.
    let mut sent = (1..=1000).filter(|&s| hinted(&mut e, from(s), T0)).count();
    assert!(
        sent <= usize::from(HINT_GLOBAL_BURST),
        "{sent} hints at once"
    );
    let span = 20_000;
    let mut next = 10_000u32;
    for step in 1..=span / 100 {
        for _ in 0..50 {
            next += 1;
            sent += usize::from(hinted(&mut e, from(next), T0 + step * 100));
        }
    }
    let bound = usize::from(HINT_GLOBAL_BURST) + (span / HINT_GLOBAL_REFILL_MS) as usize;
    assert!(sent <= bound, "{sent} hints > {bound}");
    let c = e.hint_counters();
    assert_eq!(c.sent as usize, sent);
    assert!(c.global_limited > 0);
    assert!(c.table_full > 0);
}

#[test]
fn rotating_sources_take_no_slot_in_use_and_leave_the_table_its_share() {
    let mut e = host(&[1]);
    let table: Vec<u32> = (1..=HINT_SOURCES as u32).collect();
    for &s in &table {
        assert!(hinted(&mut e, from(s), T0));
    }
    // 1,000 addresses, one request each, before any table bucket has refilled.
    let rotating = (0..1000u32)
        .filter(|i| hinted(&mut e, from(100_000 + i), T0 + 1 + u64::from(i % 1000)))
        .count();
    assert!(
        rotating <= usize::from(HINT_GLOBAL_BURST / 2),
        "{rotating} hints to rotating sources"
    );
    assert_eq!(e.hint_counters().table_full, 1000);
    // Every source in the table kept its bucket (none was evicted and none reset): each
    // still gets a hint, and at most what is left of its burst.
    let now = T0 + 1_500;
    for &s in &table {
        assert!(hinted(&mut e, from(s), now), "source {s} lost its hint");
    }
    for &s in &table {
        let more = hints(&mut e, from(s), 10, now);
        assert!(more < usize::from(HINT_BURST) - 1, "source {s}: {more}");
    }
}

#[test]
fn a_slot_is_reused_once_its_bucket_is_full_again() {
    let mut e = host(&[1]);
    for s in 1..=HINT_SOURCES as u32 {
        assert!(hinted(&mut e, from(s), T0));
    }
    // Table full of spent buckets: a newcomer has no slot (it may still get a hint from the
    // global bucket's shared half).
    let _ = hinted(&mut e, from(99), T0 + 1);
    assert_eq!(e.hint_counters().table_full, 1);
    // One refill later the first buckets are full again: their slots are free to take.
    let later = T0 + HINT_REFILL_MS;
    assert!(hinted(&mut e, from(99), later));
    assert_eq!(e.hint_counters().table_full, 1);
    // Source 99 now has a bucket of its own.
    assert_eq!(
        hints(&mut e, from(99), 10, later),
        usize::from(HINT_BURST) - 1
    );
}

#[test]
fn source_keys_ignore_the_port_and_map_ipv4_in_ipv6() {
    let v4 = [127, 0, 0, 2];
    let mapped = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 2];
    assert_eq!(source_key(&v4), source_key(&mapped));
    assert_ne!(source_key(&v4), source_key(&[127, 0, 0, 3]));
    let a: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let mut b = a;
    b[15] = 2;
    // Same /64 (a 6LoWPAN), other nodes: other sources.
    assert_ne!(source_key(&a), source_key(&b));
}
