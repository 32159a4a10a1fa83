//! Duplicate detection in front of the engine, the way the RIOT driver uses it
//! (`lwm2m_riot_handle_request`): check the outer message, replay or drop a duplicate, else
//! let the engine answer and record the response. A non-idempotent request (Create without an
//! instance ID) shows whether the engine ran twice.

mod common;

use common::*;
use lwm2m::coap::dedup::{Check, Dedup, Received};
use lwm2m::coap::{code, Message, MessageBuilder, MessageType};
use lwm2m::engine::{Engine, Peer};

const LIGHT: u16 = 3311;

/// The driver's side: what goes back for one datagram (`None`: nothing).
fn deliver<const N: usize, const L: usize>(
    e: &mut Engine<'_>,
    cache: &mut Dedup<N, L>,
    peer: Peer,
    datagram: &[u8],
    now: u64,
) -> Option<Vec<u8>> {
    let seen = Received::parse(u64::from(peer.endpoint), datagram);
    if let Some(r) = &seen {
        match cache.check(r, now) {
            Check::Fresh | Check::DuplicateTooLarge => {}
            Check::Replay(b) => return Some(b.to_vec()),
            Check::DuplicateNoReply => return None,
        }
    }
    let m = Message::parse(datagram).ok()?;
    let mtype = match m.mtype {
        MessageType::Con => MessageType::Ack,
        _ => MessageType::Non,
    };
    let mut buf = vec![0u8; 512];
    let mut b = MessageBuilder::new(&mut buf, mtype, 0, m.message_id, m.token).ok()?;
    e.handle_request(&peer, &m, now, &mut b);
    let n = b.finish();
    buf.truncate(n);
    if let Some(r) = &seen {
        cache.record(r, &buf, now);
    }
    Some(buf)
}

/// POST /3311 (Create, the engine picks the instance ID) as `mtype` with message ID `mid`.
fn create(mtype: MessageType, mid: u16) -> Vec<u8> {
    let mut buf = vec![0u8; 64];
    let mut b = MessageBuilder::new(&mut buf, mtype, code::POST, mid, &[0x42, mid as u8]).unwrap();
    b.option(lwm2m::coap::option::URI_PATH, b"3311").unwrap();
    let n = b.finish();
    buf.truncate(n);
    buf
}

fn lights(e: &Engine<'_>) -> usize {
    let o = e.object(LIGHT).unwrap();
    std::iter::successors(o.next_instance(None), |&i| o.next_instance(Some(i))).count()
}

#[test]
fn duplicate_con_create_runs_once_and_gets_the_same_bytes() {
    let mut e = engine(&[1]);
    let mut cache = Dedup::<4, 160>::new();
    let req = create(MessageType::Con, 0x0100);
    let first = deliver(&mut e, &mut cache, server(1), &req, 0).unwrap();
    assert_eq!(Resp::parse(&first).code, code::CREATED);
    let again = deliver(&mut e, &mut cache, server(1), &req, 2_500).unwrap();
    assert_eq!(again, first);
    assert_eq!(lights(&e), 1);
    assert_eq!(cache.counters().replayed, 1);
    // Without the cache the engine would have created a second instance.
    let mut bare = engine(&[1]);
    let mut none = Dedup::<0, 0>::new();
    deliver(&mut bare, &mut none, server(1), &req, 0);
    let second = deliver(&mut bare, &mut none, server(1), &req, 2_500).unwrap();
    assert_eq!(lights(&bare), 2);
    assert_ne!(second, first);
}

#[test]
fn duplicate_non_create_is_dropped() {
    let mut e = engine(&[1]);
    let mut cache = Dedup::<4, 160>::new();
    let req = create(MessageType::Non, 0x0200);
    let first = deliver(&mut e, &mut cache, server(1), &req, 0).unwrap();
    assert_eq!(Resp::parse(&first).code, code::CREATED);
    assert_eq!(deliver(&mut e, &mut cache, server(1), &req, 10), None);
    assert_eq!(lights(&e), 1);
}

#[test]
fn another_peer_with_the_same_message_is_processed() {
    let mut e = engine(&[1]);
    let mut cache = Dedup::<4, 160>::new();
    let req = create(MessageType::Con, 0x0300);
    // The same server over another transport (the driver's handles differ).
    let other = Peer {
        endpoint: 77,
        ..server(1)
    };
    deliver(&mut e, &mut cache, server(1), &req, 0).unwrap();
    deliver(&mut e, &mut cache, other, &req, 0).unwrap();
    assert_eq!(lights(&e), 2);
}

#[test]
fn a_full_cache_forgets_the_oldest_and_says_so() {
    let mut e = engine(&[1]);
    let mut cache = Dedup::<2, 160>::new();
    let reqs: Vec<Vec<u8>> = (0..3).map(|m| create(MessageType::Con, m)).collect();
    for r in &reqs {
        deliver(&mut e, &mut cache, server(1), r, 0).unwrap();
    }
    assert_eq!(lights(&e), 3);
    assert_eq!(cache.counters().evicted_early, 1);
    // The newest two are still recognised, the first is not.
    deliver(&mut e, &mut cache, server(1), &reqs[2], 1).unwrap();
    deliver(&mut e, &mut cache, server(1), &reqs[1], 1).unwrap();
    assert_eq!(lights(&e), 3);
    deliver(&mut e, &mut cache, server(1), &reqs[0], 1).unwrap();
    assert_eq!(lights(&e), 4);
}

#[test]
fn a_response_too_large_to_keep_means_processing_again() {
    let mut e = engine(&[1]);
    // 2.01 with a Location-Path /3311/0 and a token does not fit 8 bytes.
    let mut cache = Dedup::<4, 8>::new();
    let req = create(MessageType::Con, 0x0400);
    deliver(&mut e, &mut cache, server(1), &req, 0).unwrap();
    deliver(&mut e, &mut cache, server(1), &req, 1).unwrap();
    assert_eq!(cache.counters().too_large, 1);
    assert_eq!(lights(&e), 2);
}
