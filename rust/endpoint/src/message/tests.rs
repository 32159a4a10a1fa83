//! Message-layer tests: fake peers, a fake clock, seeded jitter.

use super::*;
use lwm2m::coap::{option, MessageBuilder};

fn peer() -> SocketAddr {
    "192.0.2.1:5683".parse().unwrap()
}

fn build(mtype: MessageType, c: u8, mid: u16, token: &[u8], path: &[u8]) -> Vec<u8> {
    let mut buf = [0u8; 64];
    let mut b = MessageBuilder::new(&mut buf, mtype, c, mid, token).unwrap();
    if !path.is_empty() {
        b.option(option::URI_PATH, path).unwrap();
    }
    let n = b.finish();
    buf[..n].to_vec()
}

fn layer(seed: u64) -> MessageLayer {
    MessageLayer::new(TransmissionParams::default(), Rng::from_seed(seed))
}

/// Sends a CON request with token `tok` and returns its message ID.
fn send_con(ml: &mut MessageLayer, tok: &[u8], now: Millis) -> u16 {
    let mut m = build(MessageType::Con, code::POST, 0, tok, b"rd");
    let mid = ml
        .send(peer(), Destination::Server(1), &mut m, now)
        .unwrap()
        .message_id();
    assert_eq!(u16::from_be_bytes([m[2], m[3]]), mid);
    mid
}

/// Notifications of an observation we started are acknowledged and delivered while the
/// token is kept, and reset once it is forgotten.
#[test]
fn kept_tokens_take_notifications_until_forgotten() {
    let mut ml = layer(3);
    let con = build(MessageType::Con, code::CONTENT, 0x100, b"ob", b"");
    // Not kept: a stray notification is reset.
    let r = ml.receive(peer(), &con, 0);
    assert!(matches!(r.event, Received::Nothing));
    assert_eq!(r.reply, Some(empty_message(MessageType::Rst, 0x100)));
    ml.keep_token(peer(), b"ob", Destination::Endpoint(4), code::GET);
    assert_eq!(ml.kept_tokens(), 1);
    let con = build(MessageType::Con, code::CONTENT, 0x101, b"ob", b"");
    let r = ml.receive(peer(), &con, 0);
    assert_eq!(r.reply, Some(empty_message(MessageType::Ack, 0x101)));
    assert!(matches!(
        r.event,
        Received::Response {
            dest: Destination::Endpoint(4),
            request_code: code::GET,
            ..
        }
    ));
    let non = build(MessageType::Non, code::CONTENT, 0x102, b"ob", b"");
    let r = ml.receive(peer(), &non, 0);
    assert_eq!(r.reply, None);
    assert!(matches!(r.event, Received::Response { .. }));
    // Another peer with the same token is not the observed one.
    let other: SocketAddr = "192.0.2.2:5683".parse().unwrap();
    let stray = build(MessageType::Con, code::CONTENT, 0x103, b"ob", b"");
    let r = ml.receive(other, &stray, 0);
    assert!(matches!(r.event, Received::Nothing));
    assert!(ml.forget_token(peer(), b"ob"));
    assert!(!ml.forget_token(peer(), b"ob"));
    let con = build(MessageType::Con, code::CONTENT, 0x104, b"ob", b"");
    let r = ml.receive(peer(), &con, 0);
    assert!(matches!(r.event, Received::Nothing));
    assert_eq!(r.reply, Some(empty_message(MessageType::Rst, 0x104)));
}

#[test]
fn message_ids_are_consecutive_from_a_random_start() {
    let mut ml = layer(7);
    let a = send_con(&mut ml, b"a", 0);
    let mut non = build(MessageType::Non, code::CONTENT, 0, b"b", b"");
    let b = ml
        .send(peer(), Destination::Endpoint(1), &mut non, 0)
        .unwrap()
        .message_id();
    assert_eq!(b, a.wrapping_add(1));
    assert_eq!(u16::from_be_bytes([non[2], non[3]]), b);
    // Another seed starts elsewhere.
    assert_ne!(layer(8).next_message_id(), layer(7).next_message_id());
    // Garbage is refused without a panic.
    assert_eq!(
        ml.send(peer(), Destination::Server(1), &mut [0x40], 0),
        Err(SendError::NotCoap)
    );
}

#[test]
fn retransmission_schedule_doubles_and_gives_up() {
    for seed in [1, 2, 3, 99, 12345] {
        let mut ml = layer(seed);
        let start = 1_000;
        send_con(&mut ml, b"tk", start);
        let t = ml.next_timeout().unwrap() - start;
        // ACK_TIMEOUT .. ACK_TIMEOUT * ACK_RANDOM_FACTOR.
        assert!((2_000..3_000).contains(&t), "initial timeout {t}");
        let mut sent_at = Vec::new();
        let failed_at = loop {
            let now = ml.next_timeout().unwrap();
            // Nothing happens a millisecond early.
            assert_eq!(ml.poll(now - 1), None);
            match ml.poll(now).unwrap() {
                Timeout::Retransmit { to, bytes } => {
                    assert_eq!(to, peer());
                    assert_eq!(Message::parse(&bytes).unwrap().token, b"tk");
                    sent_at.push(now - start);
                }
                Timeout::Failed {
                    dest,
                    token,
                    request_code,
                } => {
                    assert_eq!(dest, Destination::Server(1));
                    assert_eq!(token, b"tk");
                    assert_eq!(request_code, code::POST);
                    break now - start;
                }
                Timeout::Transmit { .. } => panic!("nothing was queued"),
            }
            assert_eq!(ml.poll(now), None);
        };
        // RFC 7252 4.2: timeouts T, 2T, 4T, 8T between the 4 retransmissions, then 16T.
        assert_eq!(sent_at, [t, 3 * t, 7 * t, 15 * t]);
        assert_eq!(failed_at, 31 * t);
        assert_eq!(ml.pending_count(), 0);
        assert_eq!(ml.next_timeout(), None);
    }
}

#[test]
fn same_seed_same_schedule() {
    let mut a = layer(5);
    let mut b = layer(5);
    send_con(&mut a, b"x", 0);
    send_con(&mut b, b"x", 0);
    assert_eq!(a.next_timeout(), b.next_timeout());
}

#[test]
fn piggybacked_ack_matches_by_mid_and_token() {
    let mut ml = layer(1);
    let mid = send_con(&mut ml, b"t1", 0);
    // Wrong peer, wrong MID, wrong token: ignored.
    let ack = build(MessageType::Ack, code::CREATED, mid, b"t1", b"");
    let other: SocketAddr = "192.0.2.2:5683".parse().unwrap();
    assert!(matches!(
        ml.receive(other, &ack, 10).event,
        Received::Nothing
    ));
    let bad_mid = build(MessageType::Ack, code::CREATED, mid ^ 1, b"t1", b"");
    assert!(matches!(
        ml.receive(peer(), &bad_mid, 10).event,
        Received::Nothing
    ));
    let bad_tok = build(MessageType::Ack, code::CREATED, mid, b"zz", b"");
    assert!(matches!(
        ml.receive(peer(), &bad_tok, 10).event,
        Received::Nothing
    ));
    assert_eq!(ml.pending_count(), 1);
    let r = ml.receive(peer(), &ack, 10);
    assert!(r.reply.is_none());
    match r.event {
        Received::Response {
            dest,
            request_code,
            msg,
        } => {
            assert_eq!(dest, Destination::Server(1));
            assert_eq!(request_code, code::POST);
            assert_eq!(msg.code, code::CREATED);
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(ml.pending_count(), 0);
    // A duplicate ACK is ignored.
    assert!(matches!(
        ml.receive(peer(), &ack, 11).event,
        Received::Nothing
    ));
}

#[test]
fn empty_ack_then_separate_con_response() {
    let mut ml = layer(2);
    let mid = send_con(&mut ml, b"sp", 0);
    let empty_ack = empty_message(MessageType::Ack, mid);
    let r = ml.receive(peer(), &empty_ack, 100);
    assert!(matches!(r.event, Received::Nothing) && r.reply.is_none());
    // No more retransmissions: only the separate-response deadline is left.
    assert_eq!(ml.next_timeout(), Some(100 + 93_000));
    assert_eq!(ml.poll(50_000), None);
    // The separate response is a CON with its own MID; we ACK it.
    let sep = build(MessageType::Con, code::CHANGED, 0x7777, b"sp", b"");
    let r = ml.receive(peer(), &sep, 5_000);
    assert_eq!(r.reply, Some(vec![0x60, 0x00, 0x77, 0x77]));
    assert!(matches!(
        r.event,
        Received::Response { msg, .. } if msg.code == code::CHANGED
    ));
    // Its retransmission (our ACK was lost) is ACKed again, not handed up twice.
    let r = ml.receive(peer(), &sep, 6_000);
    assert_eq!(r.reply, Some(vec![0x60, 0x00, 0x77, 0x77]));
    assert!(matches!(r.event, Received::Nothing));
    assert_eq!(ml.pending_count(), 0);
}

#[test]
fn separate_response_timeout_fails_the_request() {
    let mut ml = layer(3);
    let mid = send_con(&mut ml, b"q", 0);
    ml.receive(peer(), &empty_message(MessageType::Ack, mid), 10);
    assert_eq!(ml.poll(10 + 93_000 - 1), None);
    assert!(matches!(
        ml.poll(10 + 93_000),
        Some(Timeout::Failed { token, .. }) if token == b"q"
    ));
}

#[test]
fn separate_response_before_the_ack_and_unknown_ones() {
    let mut ml = layer(4);
    send_con(&mut ml, b"ab", 0);
    let sep = build(MessageType::Non, code::CONTENT, 0x10, b"ab", b"");
    let r = ml.receive(peer(), &sep, 1);
    assert!(matches!(r.event, Received::Response { .. }));
    assert!(r.reply.is_none());
    // An unexpected CON response is rejected, an unexpected NON one dropped.
    let con = build(MessageType::Con, code::CONTENT, 0x11, b"??", b"");
    let r = ml.receive(peer(), &con, 2);
    assert_eq!(r.reply, Some(vec![0x70, 0x00, 0x00, 0x11]));
    let non = build(MessageType::Non, code::CONTENT, 0x12, b"??", b"");
    assert!(ml.receive(peer(), &non, 2).reply.is_none());
}

#[test]
fn rst_fails_con_and_non() {
    let mut ml = layer(5);
    let mid = send_con(&mut ml, b"c", 0);
    let rst = empty_message(MessageType::Rst, mid);
    let r = ml.receive(peer(), &rst, 5);
    assert!(matches!(
        r.event,
        Received::Reset { dest: Destination::Server(1), ref token, .. } if token == b"c"
    ));
    assert_eq!(ml.pending_count(), 0);
    let mut n = build(MessageType::Non, code::CONTENT, 0, b"n", b"");
    let nmid = ml
        .send(peer(), Destination::Endpoint(9), &mut n, 10)
        .unwrap()
        .message_id();
    let rst = empty_message(MessageType::Rst, nmid);
    let r = ml.receive(peer(), &rst, 20);
    assert!(matches!(
        r.event,
        Received::Reset { dest: Destination::Endpoint(9), ref token, .. } if token == b"n"
    ));
    // Unknown RST: nothing.
    let rst = empty_message(MessageType::Rst, 0xabcd);
    let r = ml.receive(peer(), &rst, 20);
    assert!(matches!(r.event, Received::Nothing));
}

#[test]
fn duplicate_con_request_replays_cached_response() {
    let mut ml = layer(6);
    let req = build(MessageType::Con, code::GET, 0x1234, b"g", b"3");
    let r = ml.receive(peer(), &req, 0);
    let Received::Request(m) = r.event else {
        panic!("not a request")
    };
    assert_eq!(ml.response_header(&m), (MessageType::Ack, 0x1234));
    let resp = build(MessageType::Ack, code::CONTENT, 0x1234, b"g", b"");
    ml.responded(peer(), 0x1234, &resp);
    // The duplicate is answered from the cache, not handed to the engine.
    let r = ml.receive(peer(), &req, 1_000);
    assert!(matches!(r.event, Received::Nothing));
    assert_eq!(r.reply.as_deref(), Some(resp.as_slice()));
    // Same MID from another peer is a different exchange.
    let other: SocketAddr = "[2001:db8::1]:5683".parse().unwrap();
    assert!(matches!(
        ml.receive(other, &req, 1_000).event,
        Received::Request(_)
    ));
    // After EXCHANGE_LIFETIME the MID may be reused for a new request.
    let r = ml.receive(peer(), &req, 247_000);
    assert!(matches!(r.event, Received::Request(_)));
}

#[test]
fn duplicate_non_request_is_ignored_and_answered_with_non() {
    let mut ml = layer(7);
    let req = build(MessageType::Non, code::GET, 0x55, b"n", b"3");
    let Received::Request(m) = ml.receive(peer(), &req, 0).event else {
        panic!()
    };
    let (t, mid) = ml.response_header(&m);
    assert_eq!(t, MessageType::Non);
    assert_ne!(mid, 0x55);
    let r = ml.receive(peer(), &req, 10);
    assert!(matches!(r.event, Received::Nothing) && r.reply.is_none());
    // NON_LIFETIME later it is new again.
    assert!(matches!(
        ml.receive(peer(), &req, 145_000).event,
        Received::Request(_)
    ));
}

#[test]
fn dedup_cache_is_bounded() {
    let mut ml: MessageLayer = MessageLayer::new(
        TransmissionParams {
            dedup_capacity: 4,
            ..TransmissionParams::default()
        },
        Rng::from_seed(1),
    );
    for mid in 0..10u16 {
        let req = build(MessageType::Con, code::GET, mid, b"", b"3");
        assert!(matches!(
            ml.receive(peer(), &req, 0).event,
            Received::Request(_)
        ));
        assert!(ml.dedup_len() <= 4);
    }
    // The oldest were evicted, the newest are still known.
    let old = build(MessageType::Con, code::GET, 0, b"", b"3");
    assert!(matches!(
        ml.receive(peer(), &old, 1).event,
        Received::Request(_)
    ));
    let new = build(MessageType::Con, code::GET, 9, b"", b"3");
    assert!(matches!(
        ml.receive(peer(), &new, 1).event,
        Received::Nothing
    ));
}

#[test]
fn malformed_and_empty_messages() {
    let mut ml = layer(8);
    // Readable CON header, bad token length: RST with its MID.
    let r = ml.receive(peer(), &[0x49, 0x01, 0xbe, 0xef], 0);
    assert_eq!(r.reply, Some(vec![0x70, 0x00, 0xbe, 0xef]));
    // Truncated option in a CON.
    let r = ml.receive(peer(), &[0x40, 0x01, 0x00, 0x03, 0xfd], 0);
    assert_eq!(r.reply, Some(vec![0x70, 0x00, 0x00, 0x03]));
    // NON, unreadable header, wrong version, too short: dropped.
    for junk in [
        &[0x59, 0x01, 0, 1][..],
        &[0x40, 0x01, 0x00][..],
        &[0x80, 0x01, 0, 1][..],
        &[][..],
        &[0xff; 64][..],
    ] {
        let r = ml.receive(peer(), junk, 0);
        assert!(r.reply.is_none() && matches!(r.event, Received::Nothing));
    }
    // CoAP ping.
    let r = ml.receive(peer(), &[0x40, 0x00, 0x12, 0x34], 0);
    assert_eq!(r.reply, Some(vec![0x70, 0x00, 0x12, 0x34]));
    // Reserved code class 7 in a CON.
    let reserved = build(MessageType::Con, 0xe0, 0x42, b"", b"");
    let r = ml.receive(peer(), &reserved, 0);
    assert_eq!(r.reply, Some(vec![0x70, 0x00, 0x00, 0x42]));
}

/// The bytes of a [`Timeout::Transmit`] from `ml.poll(now)`, with their token.
fn released(ml: &mut MessageLayer, now: Millis) -> Option<(SocketAddr, Vec<u8>)> {
    match ml.poll(now) {
        Some(Timeout::Transmit { to, bytes }) => {
            let token = Message::parse(&bytes).unwrap().token.to_vec();
            Some((to, token))
        }
        other => {
            assert_eq!(other, None);
            None
        }
    }
}

/// NSTART = 1: a second and third CON to the same peer wait until the first is answered
/// (or acknowledged empty), each in turn; another peer is not held up; the queued ones get
/// their retransmission timers when released.
#[test]
fn nstart_one_queues_per_peer() {
    let mut ml = layer(11);
    let other: SocketAddr = "192.0.2.9:5683".parse().unwrap();
    let con = |ml: &mut MessageLayer, to: SocketAddr, tok: &[u8], now| {
        let mut m = build(MessageType::Con, code::POST, 0, tok, b"rd");
        let s = ml.send(to, Destination::Server(1), &mut m, now).unwrap();
        (s, m)
    };
    let (s1, _) = con(&mut ml, peer(), b"1", 0);
    let (s2, _) = con(&mut ml, peer(), b"2", 0);
    let (s3, _) = con(&mut ml, peer(), b"3", 0);
    let (s4, _) = con(&mut ml, other, b"4", 0);
    assert!(matches!(s1, Sent::Now(_)));
    assert!(matches!(s2, Sent::Queued(_)));
    assert!(matches!(s3, Sent::Queued(_)));
    assert!(matches!(s4, Sent::Now(_)));
    assert_eq!(ml.queued_count(peer()), 2);
    assert_eq!(ml.pending_count(), 4);
    // Only the two sent messages have timers; nothing is released yet.
    let first = ml.next_timeout().unwrap();
    assert!(first >= 2_000);
    assert_eq!(released(&mut ml, 10), None);
    // An ACK for a queued message (never sent) is ignored.
    let early = build(MessageType::Ack, code::CHANGED, s2.message_id(), b"2", b"");
    assert!(matches!(
        ml.receive(peer(), &early, 10).event,
        Received::Nothing
    ));
    assert_eq!(ml.queued_count(peer()), 2);
    // The first is answered: the second goes, with a fresh timer from now.
    let ack = build(MessageType::Ack, code::CHANGED, s1.message_id(), b"1", b"");
    assert!(matches!(
        ml.receive(peer(), &ack, 500).event,
        Received::Response { .. }
    ));
    assert_eq!(ml.next_timeout(), Some(0));
    assert_eq!(released(&mut ml, 500), Some((peer(), b"2".to_vec())));
    assert_eq!(released(&mut ml, 500), None);
    assert_eq!(ml.queued_count(peer()), 1);
    // An empty ACK ends the second's outstanding time (RFC 7252 4.7): the third goes.
    ml.receive(
        peer(),
        &empty_message(MessageType::Ack, s2.message_id()),
        600,
    );
    assert_eq!(released(&mut ml, 600), Some((peer(), b"3".to_vec())));
    assert_eq!(ml.queued_count(peer()), 0);
    // The third is retransmitted on its own schedule, counted from its release.
    let t3 = (600 + 2_000)..=(600 + 3_000);
    let mut retransmitted = false;
    while let Some(t) = ml.next_timeout() {
        match ml.poll(t).unwrap() {
            Timeout::Retransmit { bytes, .. } if Message::parse(&bytes).unwrap().token == b"3" => {
                assert!(t3.contains(&t), "first retransmission of 3 at {t}");
                retransmitted = true;
                break;
            }
            _ => {}
        }
    }
    assert!(retransmitted);
}

/// A given-up or reset message releases the next; the queue bound is a reported error.
#[test]
fn nstart_release_on_failure_and_queue_bound() {
    let mut ml: MessageLayer = MessageLayer::new(
        TransmissionParams {
            nstart_queue: 2,
            ..TransmissionParams::default()
        },
        Rng::from_seed(12),
    );
    let con = |ml: &mut MessageLayer, tok: &[u8]| {
        let mut m = build(MessageType::Con, code::GET, 0, tok, b"3");
        ml.send(peer(), Destination::Endpoint(1), &mut m, 0)
    };
    let first = con(&mut ml, b"a").unwrap();
    assert!(matches!(con(&mut ml, b"b"), Ok(Sent::Queued(_))));
    assert!(matches!(con(&mut ml, b"c"), Ok(Sent::Queued(_))));
    assert_eq!(con(&mut ml, b"d"), Err(SendError::QueueFull));
    // A NON is never queued.
    let mut non = build(MessageType::Non, code::CONTENT, 0, b"n", b"");
    assert!(matches!(
        ml.send(peer(), Destination::Endpoint(1), &mut non, 0),
        Ok(Sent::Now(_))
    ));
    // RST of the first: "b" goes.
    let rst = empty_message(MessageType::Rst, first.message_id());
    assert!(matches!(
        ml.receive(peer(), &rst, 5).event,
        Received::Reset { .. }
    ));
    assert_eq!(released(&mut ml, 5), Some((peer(), b"b".to_vec())));
    // "b" is given up after its retransmissions: "c" goes.
    let mut failed = Vec::new();
    let mut sent_c = false;
    while let Some(t) = ml.next_timeout() {
        match ml.poll(t).unwrap() {
            Timeout::Failed { token, .. } => failed.push(token),
            Timeout::Transmit { bytes, .. } => {
                assert_eq!(Message::parse(&bytes).unwrap().token, b"c");
                assert_eq!(failed, [b"b".to_vec()]);
                sent_c = true;
            }
            Timeout::Retransmit { .. } => {}
        }
    }
    assert!(sent_c);
    assert_eq!(failed, [b"b".to_vec(), b"c".to_vec()]);
    assert_eq!(ml.pending_count(), 0);
}

/// A CON separate response of ours ends with its empty ACK (no wait for anything more), and
/// the next queued message to that peer goes.
#[test]
fn separate_response_of_ours_ends_with_its_ack() {
    let mut ml = layer(13);
    let mut resp = build(MessageType::Con, code::CREATED, 0, b"r", b"");
    let sent = ml
        .send(peer(), Destination::Endpoint(1), &mut resp, 0)
        .unwrap();
    assert!(matches!(sent, Sent::Now(_)));
    let mut req = build(MessageType::Con, code::GET, 0, b"q", b"3");
    let queued = ml.send(peer(), Destination::Endpoint(1), &mut req, 0);
    assert!(matches!(queued, Ok(Sent::Queued(_))));
    let ack = empty_message(MessageType::Ack, sent.message_id());
    assert!(matches!(
        ml.receive(peer(), &ack, 5).event,
        Received::Nothing
    ));
    assert_eq!(released(&mut ml, 5), Some((peer(), b"q".to_vec())));
    assert_eq!(ml.pending_count(), 1, "only the request is left");
}

/// `cancel` drops a sent or queued message and releases the next; the stray-NON option
/// resets NON responses nobody waits for.
#[test]
fn cancel_releases_and_stray_non_reset() {
    let mut ml = layer(14).reset_stray_non(true);
    send_con(&mut ml, b"a", 0);
    let mut b = build(MessageType::Con, code::POST, 0, b"b", b"rd");
    assert!(matches!(
        ml.send(peer(), Destination::Server(1), &mut b, 0),
        Ok(Sent::Queued(_))
    ));
    assert!(ml.cancel(peer(), b"a", 1));
    assert!(!ml.cancel(peer(), b"a", 1));
    assert_eq!(released(&mut ml, 1), Some((peer(), b"b".to_vec())));
    assert!(ml.cancel(peer(), b"b", 2));
    assert_eq!(ml.pending_count(), 0);
    let non = build(MessageType::Non, code::CONTENT, 0x12, b"??", b"");
    assert_eq!(
        ml.receive(peer(), &non, 3).reply,
        Some(empty_message(MessageType::Rst, 0x12))
    );
}
