//! RFC 8613 appendix C.4-C.8 test vectors, byte-exact, and client <-> server loopback exchanges
//! including the negative cases and appendix B.1 recovery.
use lwm2m::coap::{code, option, Message, MessageBuilder, MessageType};
use lwm2m_oscore::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

const SECRET: &str = "0102030405060708090a0b0c0d0e0f10";
const SALT: &str = "9e7ca92223786340";
const ID_CTX: &str = "37cbf3210017a2d3";

fn ctx(salt: &str, sender: &[u8], recipient: &[u8], id_ctx: Option<&str>) -> SecurityContext {
    let c = id_ctx.map(hex);
    SecurityContext::derive(&hex(SECRET), &hex(salt), sender, recipient, c.as_deref()).unwrap()
}

/// A client context whose next sequence number is 20, as in the vectors.
fn at_seqno_20(mut c: SecurityContext) -> SecurityContext {
    c.resume(20);
    c
}

fn protect(c: &mut SecurityContext, plain: &str) -> (Vec<u8>, RequestId) {
    let mut out = [0u8; 128];
    let (n, id) = protect_request(c, &mut MemoryStore::default(), &hex(plain), &mut out).unwrap();
    (out[..n].to_vec(), id)
}

const C4_PLAIN: &str = "44015d1f00003974396c6f63616c686f737483747631";
const C4_PROT: &str = "44025d1f00003974396c6f63616c686f7374620914ff612f1092f1776f1c1668b3825e";
const C7_PLAIN: &str = "64455d1f00003974ff48656c6c6f20576f726c6421";
const C7_PROT: &str = "64445d1f0000397490ffdbaad1e9a7e7b2a813d3c31524378303cdafae119106";
const C8_PROT: &str = "64445d1f00003974920100ff4d4c13669384b67354b2b6175ff4b8658c666a6cf88e";

#[test]
fn c4_request_client() {
    let mut c = at_seqno_20(ctx(SALT, &[], &[1], None));
    let (p, id) = protect(&mut c, C4_PLAIN);
    assert_eq!(p, hex(C4_PROT));
    assert_eq!((id.kid(), id.sequence_number()), (&[][..], 20));
    assert_eq!(c.sender_sequence_number(), 21);
}

#[test]
fn c5_request_client_no_salt() {
    let mut c = at_seqno_20(ctx("", &[0], &[1], None));
    let (p, _) = protect(&mut c, "440171c30000b932396c6f63616c686f737483747631");
    assert_eq!(
        p,
        hex("440271c30000b932396c6f63616c686f737463091400ff4ed339a5a379b0b8bc731fffb0")
    );
}

#[test]
fn c6_request_client_kid_context() {
    let mut c = at_seqno_20(ctx(SALT, &[], &[1], Some(ID_CTX)));
    c.set_send_kid_context(true);
    let (p, _) = protect(&mut c, "44012f8eef9bbf7a396c6f63616c686f737483747631");
    assert_eq!(
        p,
        hex("44022f8eef9bbf7a396c6f63616c686f73746b19140837cbf3210017a2d3ff72cd7273fd331ac45cffbe55c3")
    );
    assert_eq!(request_kid_context(&p), Some(&hex(ID_CTX)[..]));

    // The server side accepts it, checking the kid context.
    let mut s = ctx(SALT, &[1], &[], Some(ID_CTX));
    let mut out = [0u8; 64];
    let (n, id) = unprotect_request(&mut s, &mut p.clone(), &mut out).unwrap();
    assert_eq!(
        out[..n],
        hex("44012f8eef9bbf7a396c6f63616c686f737483747631")[..]
    );
    assert_eq!(id.kid(), b"");
    // Another ID Context under the same kid is not this context.
    let mut other = ctx(SALT, &[1], &[], Some("00"));
    assert_eq!(
        unprotect_request(&mut other, &mut p.clone(), &mut out).unwrap_err(),
        Error::UnknownKid
    );
    assert!(out.iter().all(|&b| b == 0));
}

/// C.4 request on the server, then the C.7 response (reusing the request nonce) and the C.8
/// response (own Partial IV, server sequence number 0); the client verifies both.
#[test]
fn c7_c8_response_server() {
    let mut client = at_seqno_20(ctx(SALT, &[], &[1], None));
    let (_, cid) = protect(&mut client, C4_PLAIN);

    let mut server = ctx(SALT, &[1], &[], None);
    let mut store = MemoryStore::default();
    let mut plain = [0u8; 64];
    let (n, mut id) = unprotect_request(&mut server, &mut hex(C4_PROT), &mut plain).unwrap();
    assert_eq!(plain[..n], hex(C4_PLAIN)[..]);
    assert_eq!((id.kid(), id.sequence_number()), (&[][..], 20));

    let mut notif = id.for_notification();
    let mut out = [0u8; 64];
    let n = protect_response(&mut server, &mut store, &mut id, &hex(C7_PLAIN), &mut out).unwrap();
    assert_eq!(out[..n], hex(C7_PROT)[..]);
    assert_eq!(
        server.sender_sequence_number(),
        0,
        "C.7 reuses the request nonce"
    );

    let n = protect_response(
        &mut server,
        &mut store,
        &mut notif,
        &hex(C7_PLAIN),
        &mut out,
    )
    .unwrap();
    assert_eq!(out[..n], hex(C8_PROT)[..]);
    assert_eq!(server.sender_sequence_number(), 1);

    for prot in [C7_PROT, C8_PROT] {
        let mut p = [0u8; 64];
        let n = unprotect_response(&mut client, &cid, &mut hex(prot), &mut p).unwrap();
        assert_eq!(p[..n], hex(C7_PLAIN)[..]);
    }
}

// ---- loopback exchanges -------------------------------------------------------------------

const MASTER: [u8; 16] = [7; 16];

fn pair() -> (SecurityContext, SecurityContext) {
    let c = SecurityContext::derive(&MASTER, b"salt", b"cli", b"srv", None).unwrap();
    let s = SecurityContext::derive(&MASTER, b"salt", b"srv", b"cli", None).unwrap();
    (c, s)
}

/// CON GET /3303/0/5700 with Accept: LwM2M CBOR.
fn read_request(mid: u16) -> Vec<u8> {
    let mut buf = [0u8; 64];
    let mut b =
        MessageBuilder::new(&mut buf, MessageType::Con, code::GET, mid, &[0xa1, 0xb2]).unwrap();
    for seg in [&b"3303"[..], b"0", b"5700"] {
        b.option(option::URI_PATH, seg).unwrap();
    }
    b.option_uint(option::ACCEPT, 11544).unwrap();
    let n = b.finish();
    buf[..n].to_vec()
}

/// ACK 2.05 Content, LwM2M CBOR, 5-byte value (a float16 temperature in a path map).
fn read_response(mid: u16) -> Vec<u8> {
    let mut buf = [0u8; 64];
    let mut b = MessageBuilder::new(
        &mut buf,
        MessageType::Ack,
        code::CONTENT,
        mid,
        &[0xa1, 0xb2],
    )
    .unwrap();
    b.option_uint(option::CONTENT_FORMAT, 11544).unwrap();
    b.payload(&[0xf9, 0x4d, 0xa0, 0x00, 0x00][..3]).unwrap();
    let n = b.finish();
    buf[..n].to_vec()
}

struct Peer {
    ctx: SecurityContext,
    store: MemoryStore,
}

fn exchange(c: &mut Peer, s: &mut Peer, mid: u16) -> (usize, usize) {
    let req = read_request(mid);
    let mut wire = [0u8; 128];
    let (n, cid) = protect_request(&mut c.ctx, &mut c.store, &req, &mut wire).unwrap();
    let req_len = n;
    let mut plain = [0u8; 128];
    let (pn, mut sid) = unprotect_request(&mut s.ctx, &mut wire[..n], &mut plain).unwrap();
    assert_eq!(plain[..pn], req[..]);
    assert_eq!(sid.kid(), b"cli");
    let resp = read_response(mid);
    let n = protect_response(&mut s.ctx, &mut s.store, &mut sid, &resp, &mut wire).unwrap();
    let resp_len = n;
    let pn = unprotect_response(&mut c.ctx, &cid, &mut wire[..n], &mut plain).unwrap();
    assert_eq!(plain[..pn], resp[..]);
    (req_len, resp_len)
}

#[test]
fn round_trips_and_sizes() {
    let (c, s) = pair();
    let mut c = Peer {
        ctx: c,
        store: MemoryStore::default(),
    };
    let mut s = Peer {
        ctx: s,
        store: MemoryStore::default(),
    };
    let mut sizes = (0, 0);
    for mid in 0..200 {
        sizes = exchange(&mut c, &mut s, mid);
    }
    // The client persisted its limit in steps, always ahead of what it used.
    assert_eq!(c.ctx.sender_sequence_number(), 200);
    assert!(c.store.limit.unwrap() > 200);
    assert!(
        c.store.writes <= 200 / (DEFAULT_SEQNO_STEP as u32 / 2) + 1,
        "{}",
        c.store.writes
    );
    // Responses reused the request nonces: the server never took a sequence number.
    assert_eq!(s.ctx.sender_sequence_number(), 0);
    let (plain_req, plain_resp) = (read_request(0).len(), read_response(0).len());
    println!(
        "GET /3303/0/5700: plain {plain_req} B, OSCORE {} B (seqno 199); 2.05: plain {plain_resp} B, OSCORE {} B",
        sizes.0, sizes.1
    );
    // Request overhead: OSCORE option (header, flags, 1-byte PIV, kid "cli": 6 bytes), payload
    // marker, inner code, 8-byte tag. The response has an empty OSCORE option (1 byte), the
    // outer marker, the inner code and the tag; its inner payload keeps its own marker.
    assert_eq!(sizes.0, plain_req + 6 + 1 + 1 + 8);
    assert_eq!(sizes.1, plain_resp + 1 + 1 + 1 + 8);
}

#[test]
fn replay_tamper_unknown_kid_rejected() {
    let (mut c, mut s) = pair();
    let mut store = MemoryStore::default();
    let req = read_request(1);
    let mut wire = [0u8; 128];
    let (n, _) = protect_request(&mut c, &mut store, &req, &mut wire).unwrap();
    let prot = wire[..n].to_vec();
    let mut plain = [0u8; 128];

    // Tampered ciphertext, tag and outer option: all rejected, nothing written.
    for i in [n - 1, n - 9, n - 12] {
        let mut t = prot.clone();
        t[i] ^= 0x01;
        plain.fill(0xee);
        assert_eq!(
            unprotect_request(&mut s, &mut t, &mut plain).unwrap_err(),
            Error::Invalid
        );
        assert!(
            plain.iter().all(|&b| b == 0),
            "plaintext left after tamper at {i}"
        );
    }
    // A failed attempt does not burn the sequence number: the genuine request still passes.
    unprotect_request(&mut s, &mut prot.clone(), &mut plain).unwrap();
    // Replay.
    plain.fill(0xee);
    assert_eq!(
        unprotect_request(&mut s, &mut prot.clone(), &mut plain).unwrap_err(),
        Error::Replay
    );
    assert!(plain.iter().all(|&b| b == 0));

    // Unknown kid: a context for another client.
    let mut stranger = SecurityContext::derive(&MASTER, b"salt", b"srv", b"other", None).unwrap();
    let (n, _) = protect_request(&mut c, &mut store, &req, &mut wire).unwrap();
    plain.fill(0xee);
    assert_eq!(
        unprotect_request(&mut stranger, &mut wire[..n].to_vec(), &mut plain).unwrap_err(),
        Error::UnknownKid
    );
    assert!(plain.iter().all(|&b| b == 0));
    // Right kid, wrong key.
    let mut wrong = SecurityContext::derive(&[8; 16], b"salt", b"srv", b"cli", None).unwrap();
    assert_eq!(
        unprotect_request(&mut wrong, &mut wire[..n].to_vec(), &mut plain).unwrap_err(),
        Error::Invalid
    );
    // Plain CoAP and garbage.
    assert_eq!(
        unprotect_request(&mut s, &mut req.clone(), &mut plain).unwrap_err(),
        Error::NotProtected
    );
    assert_eq!(
        unprotect_request(&mut s, &mut [0x40], &mut plain).unwrap_err(),
        Error::Malformed
    );
}

#[test]
fn response_tamper_and_wrong_request_rejected() {
    let (c, s) = pair();
    let mut c = Peer {
        ctx: c,
        store: MemoryStore::default(),
    };
    let mut s = Peer {
        ctx: s,
        store: MemoryStore::default(),
    };
    let mut wire = [0u8; 128];
    let mut plain = [0u8; 128];
    let (n, cid1) = protect_request(&mut c.ctx, &mut c.store, &read_request(1), &mut wire).unwrap();
    let (_, mut sid1) = unprotect_request(&mut s.ctx, &mut wire[..n], &mut plain).unwrap();
    let (n, cid2) = protect_request(&mut c.ctx, &mut c.store, &read_request(2), &mut wire).unwrap();
    unprotect_request(&mut s.ctx, &mut wire[..n], &mut plain).unwrap();
    let n = protect_response(
        &mut s.ctx,
        &mut s.store,
        &mut sid1,
        &read_response(1),
        &mut wire,
    )
    .unwrap();
    let resp = wire[..n].to_vec();
    // Bound to request 1: fails for request 2 and when tampered.
    assert_eq!(
        unprotect_response(&mut c.ctx, &cid2, &mut resp.clone(), &mut plain).unwrap_err(),
        Error::Invalid
    );
    let mut t = resp.clone();
    t[n - 2] ^= 0x80;
    assert_eq!(
        unprotect_response(&mut c.ctx, &cid1, &mut t, &mut plain).unwrap_err(),
        Error::Invalid
    );
    assert!(plain.iter().all(|&b| b == 0));
    unprotect_response(&mut c.ctx, &cid1, &mut resp.clone(), &mut plain).unwrap();
}

#[test]
fn seqno_persistence_never_reuses_after_reboot() {
    let mut store = MemoryStore::default();
    let mut c = SecurityContext::derive(&MASTER, b"salt", b"cli", b"srv", None).unwrap();
    c.set_seqno_step(10);
    let mut used = Vec::new();
    let mut wire = [0u8; 128];
    for _ in 0..7 {
        let (_, id) = protect_request(&mut c, &mut store, &read_request(0), &mut wire).unwrap();
        used.push(id.sequence_number());
    }
    // Reboot: a new context from the same material resumes at the persisted limit.
    let limit = store.limit.unwrap();
    assert!(limit > 6);
    let mut c = SecurityContext::derive(&MASTER, b"salt", b"cli", b"srv", None).unwrap();
    c.set_seqno_step(10);
    c.resume(limit);
    for _ in 0..25 {
        let (_, id) = protect_request(&mut c, &mut store, &read_request(0), &mut wire).unwrap();
        assert!(!used.contains(&id.sequence_number()));
        assert!(id.sequence_number() < store.limit.unwrap());
        used.push(id.sequence_number());
    }
    // The store stops accepting: the reserve is used up, then sending fails.
    store.fail = true;
    let mut sent = 0;
    let err = loop {
        match protect_request(&mut c, &mut store, &read_request(0), &mut wire) {
            Ok((_, id)) => {
                assert!(id.sequence_number() < store.limit.unwrap());
                sent += 1;
            }
            Err(e) => break e,
        }
    };
    assert_eq!(err, Error::SequenceNumbersExhausted);
    assert!(sent <= 10);
    assert!(wire.iter().all(|&b| b == 0));
}

/// RFC 8613 appendix B.1.2: the server reboots, loses its replay window, challenges the first
/// request with Echo, and accepts the repeated request carrying it.
#[test]
fn echo_recovery_after_server_reboot() {
    let (c, s) = pair();
    let mut c = Peer {
        ctx: c,
        store: MemoryStore::default(),
    };
    let mut s = Peer {
        ctx: s,
        store: MemoryStore::default(),
    };
    for mid in 0..3 {
        exchange(&mut c, &mut s, mid);
    }
    let mut wire = [0u8; 128];
    let mut plain = [0u8; 128];
    // An old request the attacker recorded before the reboot.
    let (n, _) = protect_request(&mut c.ctx, &mut c.store, &read_request(3), &mut wire).unwrap();
    let recorded = wire[..n].to_vec();
    unprotect_request(&mut s.ctx, &mut recorded.clone(), &mut plain).unwrap();

    // Server reboot.
    let limit = s.store.limit.unwrap_or(0);
    let mut server = SecurityContext::derive(&MASTER, b"salt", b"srv", b"cli", None).unwrap();
    server.resume(limit);
    s.ctx = server;
    assert!(!s.ctx.replay_window_known());

    // The replayed old request is not processed: it gets a challenge, not plaintext.
    let err = unprotect_request(&mut s.ctx, &mut recorded.clone(), &mut plain).unwrap_err();
    assert!(matches!(err, Error::EchoRequired(_)));
    assert!(plain.iter().all(|&b| b == 0));

    // A fresh request from the client: challenged too.
    let req = read_request(4);
    let (n, cid) = protect_request(&mut c.ctx, &mut c.store, &req, &mut wire).unwrap();
    let first = wire[..n].to_vec();
    let Error::EchoRequired(mut sid) =
        unprotect_request(&mut s.ctx, &mut first.clone(), &mut plain).unwrap_err()
    else {
        panic!("no challenge");
    };
    assert_eq!(sid.kid(), b"cli");
    let n = echo_response(&mut s.ctx, &mut s.store, &mut sid, &first, &mut wire).unwrap();
    // The challenge uses a fresh server nonce (never the request's): Partial IV present.
    let m = Message::parse(&wire[..n]).unwrap();
    assert_eq!(
        (m.mtype, m.message_id, m.token),
        (MessageType::Ack, 4, &[0xa1, 0xb2][..])
    );
    assert!(m
        .option(option::OSCORE)
        .is_some_and(|o| !o.is_empty() && o[0] & 7 != 0));
    let pn = unprotect_response(&mut c.ctx, &cid, &mut wire[..n], &mut plain).unwrap();
    let echo = echo_challenge(&plain[..pn])
        .expect("4.01 with Echo")
        .to_vec();
    assert!(
        s.store.limit.unwrap() > limit,
        "the Echo value's seqno was persisted"
    );

    // The replayed request still fails after the challenge was issued.
    assert!(matches!(
        unprotect_request(&mut s.ctx, &mut recorded.clone(), &mut plain).unwrap_err(),
        Error::EchoRequired(_)
    ));
    // A wrong Echo value is not accepted.
    let (n, _) =
        protect_request_with_echo(&mut c.ctx, &mut c.store, &req, Some(b"nope"), &mut wire)
            .unwrap();
    assert!(matches!(
        unprotect_request(&mut s.ctx, &mut wire[..n], &mut plain).unwrap_err(),
        Error::EchoRequired(_)
    ));

    // The retry with the right Echo is accepted; the plaintext shows the Echo option.
    let (n, cid) =
        protect_request_with_echo(&mut c.ctx, &mut c.store, &req, Some(&echo), &mut wire).unwrap();
    let retry = wire[..n].to_vec();
    let (pn, mut sid) = unprotect_request(&mut s.ctx, &mut retry.clone(), &mut plain).unwrap();
    let m = Message::parse(&plain[..pn]).unwrap();
    assert_eq!(m.option(option::ECHO), Some(&echo[..]));
    assert_eq!(
        m.uri_path().collect::<Vec<_>>(),
        [&b"3303"[..], b"0", b"5700"]
    );
    assert!(s.ctx.replay_window_known());
    let n = protect_response(
        &mut s.ctx,
        &mut s.store,
        &mut sid,
        &read_response(4),
        &mut wire,
    )
    .unwrap();
    let pn = unprotect_response(&mut c.ctx, &cid, &mut wire[..n], &mut plain).unwrap();
    assert_eq!(plain[..pn], read_response(4)[..]);

    // Window re-established: the retry itself and the old recording are replays now.
    assert_eq!(
        unprotect_request(&mut s.ctx, &mut retry.clone(), &mut plain).unwrap_err(),
        Error::Replay
    );
    assert_eq!(
        unprotect_request(&mut s.ctx, &mut recorded.clone(), &mut plain).unwrap_err(),
        Error::Replay
    );
    // Normal traffic continues.
    exchange(&mut c, &mut s, 5);
}

#[test]
fn object_21_context() {
    let o = OscoreObject {
        master_secret: &MASTER,
        sender_id: b"cli",
        recipient_id: b"srv",
        aead_algorithm: Some(10),
        hmac_algorithm: None,
        master_salt: b"salt",
        id_context: None,
    };
    let c = SecurityContext::from_object(&o).unwrap();
    let (_, s) = pair();
    exchange(
        &mut Peer {
            ctx: c,
            store: MemoryStore::default(),
        },
        &mut Peer {
            ctx: s,
            store: MemoryStore::default(),
        },
        9,
    );
    let bad = OscoreObject {
        aead_algorithm: Some(1 << 40),
        ..o
    };
    assert_eq!(
        SecurityContext::from_object(&bad).unwrap_err(),
        Error::UnsupportedAlgorithm
    );
}
