//! C2C extension, requesting client (feature `c2c-auth`): hint checking (T3), the access
//! request on the wire, its outcomes, the refresh before an account runs out, and the whole
//! flow between a requesting and a hosting engine.
#![cfg(feature = "c2c-auth")]

mod c2c_common;
mod common;

use c2c_common::*;
use common::*;
use lwm2m::c2c::access_request::Grant;
use lwm2m::c2c::{hint, rights as cr};
use lwm2m::coap::{code, option, MessageType};
use lwm2m::codec::Writer;
use lwm2m::engine::{
    AccessOutcome, Destination, Engine, ACCESS_BACKOFF, ACCESS_TRIES, REFRESH_PERMILLE,
};
use lwm2m::{Error, Path};

const READ_LIGHT: Grant = Grant {
    path: Path::instance(3311, 0),
    rights: cr::READ,
};

fn hint_of(uris: &[&str]) -> Vec<u8> {
    let mut buf = [0u8; 256];
    let mut w = Writer::new(&mut buf);
    hint::encode(uris, &mut w).unwrap();
    w.window_data().to_vec()
}

/// A requesting client registered to server 1 (server 2 is configured but never answers its
/// Register).
fn requester() -> Engine<'static> {
    let mut e = host(&[1, 2]);
    e.start(0);
    for (o, r) in poll_all(&mut e, 0) {
        if let Destination::Server(s @ 1) = o.dest {
            answer(&mut e, &r, code::CREATED, &["rd", &s.to_string()], 0);
        }
    }
    e
}

#[test]
fn t3_hints_naming_unknown_servers_are_ignored() {
    let e = requester();
    let s1 = srv_uri(1);
    let s2 = srv_uri(2);
    assert_eq!(
        e.hint_server(&hint_of(&["coap://evil.example"])),
        Err(Error::Forbidden)
    );
    // Configured but not registered is not trusted either.
    assert_eq!(e.hint_server(&hint_of(&[&s2])), Err(Error::Forbidden));
    assert_eq!(e.hint_server(&hint_of(&[&s1])), Ok(1));
    // The first trusted URI of several wins; untrusted ones before it are skipped.
    assert_eq!(
        e.hint_server(&hint_of(&["coap://evil.example", &s2, &s1])),
        Ok(1)
    );
    assert_eq!(e.hint_server(&[0xa1, 0x01]), Err(Error::BadRequest));
}

#[test]
fn hint_then_access_request_to_the_named_server() {
    let mut e = requester();
    // T3: a hint naming an unknown server yields no request at all.
    assert!(e.hint_server(&hint_of(&["coap://evil.example"])).is_err());
    assert!(poll_all(&mut e, 10).is_empty());
    let ssid = e.hint_server(&hint_of(&[&srv_uri(1)])).unwrap();
    e.request_access(ssid, "node-1", &[READ_LIGHT], true, 10)
        .unwrap();
    assert_eq!(e.next_wakeup(), Some(0));
    let out = poll_all(&mut e, 10);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0.dest, Destination::Server(1));
}

#[test]
fn access_request_on_the_wire() {
    let mut e = requester();
    e.request_access(1, "node-1", &[READ_LIGHT], true, 5)
        .unwrap();
    let mut buf = [0u8; 256];
    let o = e.poll(5, &mut buf).unwrap();
    assert_eq!(o.dest, Destination::Server(1));
    assert!(o.confirmable);
    let r = Resp::parse(&buf[..o.len]);
    assert_eq!(r.mtype, MessageType::Con);
    assert_eq!(r.code, code::POST);
    assert_eq!(r.path_of(option::URI_PATH), "/ac");
    assert_eq!(r.queries(), ["ep=node-1", "c"]);
    assert_eq!(r.uint(option::CONTENT_FORMAT), Some(60));
    assert_eq!(r.payload, [0xA1, 0x82, 0x19, 0x0C, 0xEF, 0x00, 0x01]);
    // The whole message: header (MID 0, the driver's), 4-byte token, Uri-Path "ac",
    // Content-Format 60, Uri-Query "ep=node-1", Uri-Query "c", payload marker, payload.
    let mut expect = vec![0x44, 0x02, 0x00, 0x00];
    expect.extend(&r.token);
    expect.extend([0xB2, b'a', b'c', 0x11, 60, 0x39]);
    expect.extend(b"ep=node-1");
    expect.extend([0x01, b'c', 0xFF, 0xA1, 0x82, 0x19, 0x0C, 0xEF, 0x00, 0x01]);
    assert_eq!(&buf[..o.len], &expect[..]);
    assert!(e.poll(5, &mut buf).is_none(), "sent once");

    // Without credentials there is no `c`; object-level Create is `[oid]`.
    let g = [Grant {
        path: Path::object(3311),
        rights: cr::CREATE | cr::DISCOVER,
    }];
    e.request_access(1, "node-9", &g, false, 6).unwrap();
    let (_, r) = poll(&mut e, 6).unwrap();
    assert_eq!(r.queries(), ["ep=node-9"]);
    assert_eq!(r.payload, [0xA1, 0x81, 0x19, 0x0C, 0xEF, 0x18, 0x30]);
}

#[test]
fn access_request_checks_its_arguments() {
    let mut e = requester();
    assert_eq!(
        e.request_access(2, "node-1", &[READ_LIGHT], true, 0),
        Err(Error::Forbidden),
        "server 2 is not registered"
    );
    assert_eq!(
        e.request_access(7, "node-1", &[READ_LIGHT], true, 0),
        Err(Error::Forbidden)
    );
    assert!(e.request_access(1, "", &[READ_LIGHT], true, 0).is_err());
    assert!(e.request_access(1, "node-1", &[], true, 0).is_err());
    let bad = Grant {
        path: Path::resource(3311, 0, 5850),
        rights: cr::READ,
    };
    assert!(e.request_access(1, "node-1", &[bad], true, 0).is_err());
    assert!(poll_all(&mut e, 0).is_empty());
}

#[test]
fn access_results_are_reported() {
    let mut e = requester();
    for (i, (answer_code, outcome)) in [
        (Some(code::CREATED), AccessOutcome::Granted),
        (
            Some(code::FORBIDDEN),
            AccessOutcome::Rejected(code::FORBIDDEN),
        ),
        (
            Some(code::BAD_REQUEST),
            AccessOutcome::Rejected(code::BAD_REQUEST),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let host_ep = format!("node-{i}");
        e.request_access(1, &host_ep, &[READ_LIGHT], true, 0)
            .unwrap();
        let (o, r) = poll(&mut e, 0).unwrap();
        assert_eq!(e.take_access_result(), None, "nothing before the answer");
        match answer_code {
            Some(c) => answer(&mut e, &r, c, &[], 1),
            None => e.request_failed(o.dest, &r.token, 1),
        }
        let res = e.take_access_result().unwrap();
        assert_eq!(res.ssid, 1);
        assert_eq!(res.host.as_str(), host_ep);
        assert_eq!(res.outcome, outcome);
        assert!(!res.refresh);
        assert_eq!(e.take_access_result(), None);
        // A stray answer with the same token changes nothing.
        answer(&mut e, &r, code::CREATED, &[], 2);
        assert_eq!(e.take_access_result(), None);
    }
    // Registration is unaffected by access requests.
    assert_eq!(
        e.registration_state(1),
        lwm2m::engine::RegistrationState::Registered
    );
}

/// Fails the access request in flight the way `how` says: `None` a timeout reported by the
/// driver, `Some(code)` an answer with that code.
fn fail(e: &mut Engine<'static>, o: &lwm2m::engine::Outgoing, r: &Resp, how: Option<u8>, t: u64) {
    match how {
        None => e.request_failed(o.dest, &r.token, t),
        Some(c) => answer(e, r, c, &[], t),
    }
}

#[test]
fn timeouts_and_503_are_retried_with_backoff_then_reported() {
    assert_eq!((ACCESS_TRIES, ACCESS_BACKOFF), (3, 2_000));
    for how in [None, Some(code::SERVICE_UNAVAILABLE)] {
        let mut e = requester();
        e.request_access(1, "node-1", &[READ_LIGHT], true, 0)
            .unwrap();
        let (mut o, mut r) = poll(&mut e, 0).unwrap();
        let first = r.clone();
        let mut t = 0;
        let mut tokens = vec![r.token.clone()];
        // Try n failed at t: the next one is due ACCESS_BACKOFF * 2^(n-1) later.
        for n in 1..u64::from(ACCESS_TRIES) {
            t += 100;
            fail(&mut e, &o, &r, how, t);
            assert_eq!(
                e.take_access_result(),
                None,
                "{how:?}: try {n} is not final"
            );
            assert!(e.next_wakeup().is_some_and(|w| w <= t));
            assert!(poll_all(&mut e, t).is_empty(), "no retry at once");
            let due = t + (ACCESS_BACKOFF << (n - 1));
            assert_eq!(e.next_wakeup(), Some(due), "{how:?}: try {n}");
            assert!(poll_all(&mut e, due - 1).is_empty());
            (o, r) = poll(&mut e, due).unwrap();
            assert_eq!(o.dest, Destination::Server(1));
            assert_eq!(r.path_of(option::URI_PATH), "/ac");
            assert_eq!(r.queries(), first.queries());
            assert_eq!(r.payload, first.payload);
            assert!(!tokens.contains(&r.token), "a fresh token per try");
            tokens.push(r.token.clone());
            // A late answer to the previous try is ignored.
            let mut old = r.clone();
            old.token = tokens[tokens.len() - 2].clone();
            answer(&mut e, &old, code::CREATED, &[], due);
            assert_eq!(e.take_access_result(), None);
            t = due;
        }
        fail(&mut e, &o, &r, how, t + 100);
        let res = e
            .take_access_result()
            .expect("the last failure is reported");
        let expect = match how {
            None => AccessOutcome::Timeout,
            Some(c) => AccessOutcome::Rejected(c),
        };
        assert_eq!((res.outcome, res.host.as_str()), (expect, "node-1"));
        assert_eq!(tokens.len(), usize::from(ACCESS_TRIES));
        assert!(poll_all(&mut e, 10_000_000)
            .iter()
            .all(|(_, r)| r.path_of(option::URI_PATH) != "/ac"));
    }
}

#[test]
fn a_retry_can_succeed_and_other_errors_are_final() {
    let mut e = requester();
    e.request_access(1, "node-1", &[READ_LIGHT], true, 0)
        .unwrap();
    let (o, r) = poll(&mut e, 0).unwrap();
    fail(&mut e, &o, &r, None, 50);
    assert!(poll_all(&mut e, 50).is_empty());
    let (_, r) = poll(&mut e, 50 + ACCESS_BACKOFF).unwrap();
    answer(&mut e, &r, code::CREATED, &[], 3_000);
    let res = e.take_access_result().unwrap();
    assert_eq!((res.outcome, res.refresh), (AccessOutcome::Granted, false));

    // 4.03 (and every answer but 5.03) ends the request at once.
    e.request_access(1, "node-2", &[READ_LIGHT], true, 4_000)
        .unwrap();
    let (_, r) = poll(&mut e, 4_000).unwrap();
    answer(&mut e, &r, code::FORBIDDEN, &[], 4_001);
    assert_eq!(
        e.take_access_result().unwrap().outcome,
        AccessOutcome::Rejected(code::FORBIDDEN)
    );
    assert!(poll_all(&mut e, 100_000)
        .iter()
        .all(|(_, r)| r.path_of(option::URI_PATH) != "/ac"));
}

#[test]
fn refresh_before_the_account_runs_out() {
    let mut e = requester();
    e.request_access(1, "host-1", &[READ_LIGHT], true, 0)
        .unwrap();
    let (_, r) = poll(&mut e, 0).unwrap();
    // The server installs the requester's side of the account (lifetime 100 s) at 1 s, then
    // answers.
    install(&mut e, 1, &account_recs(0, 7, "host-1", 100), 1_000);
    answer(&mut e, &r, code::CREATED, &[], 1_000);
    assert_eq!(
        e.take_access_result().unwrap().outcome,
        AccessOutcome::Granted
    );
    assert_eq!(e.client_account("host-1").unwrap().short_id, 7);

    let due = 1_000 + 100 * REFRESH_PERMILLE;
    assert_eq!(due, 81_000);
    assert_eq!(e.next_wakeup().filter(|&t| t <= due), Some(due));
    assert!(poll_all(&mut e, due - 1).is_empty());
    let out = poll_all(&mut e, due);
    assert_eq!(out.len(), 1);
    let (o, r) = &out[0];
    assert_eq!(o.dest, Destination::Server(1));
    assert_eq!(r.path_of(option::URI_PATH), "/ac");
    assert_eq!(
        r.queries(),
        ["ep=host-1"],
        "a refresh asks for no credentials"
    );
    assert_eq!(r.payload, [0xA1, 0x82, 0x19, 0x0C, 0xEF, 0x00, 0x01]);
    // Only once per lifetime period.
    assert!(poll_all(&mut e, due + 5_000).is_empty());
    // The server renews the account (rewrites res 1) and answers.
    assert_eq!(
        put_text(&mut e, server(1), "/11001/0/1", "100", 90_000).code,
        code::CHANGED
    );
    answer(&mut e, r, code::CREATED, &[], 90_000);
    let res = e.take_access_result().unwrap();
    assert_eq!((res.outcome, res.refresh), (AccessOutcome::Granted, true));
    assert!(e.client_active(7, 100_999));
    // The next refresh is due 80 s after the renewal.
    assert!(poll_all(&mut e, 169_999).is_empty());
    assert_eq!(poll_all(&mut e, 170_000).len(), 1);
}

#[test]
fn accounts_without_lifetime_are_not_refreshed() {
    let mut e = requester();
    e.request_access(1, "host-1", &[READ_LIGHT], true, 0)
        .unwrap();
    let (_, r) = poll(&mut e, 0).unwrap();
    install(&mut e, 1, &account_recs(0, 7, "host-1", 0), 0);
    answer(&mut e, &r, code::CREATED, &[], 0);
    assert!(poll_all(&mut e, 10_000_000)
        .iter()
        .all(|(_, r)| r.path_of(option::URI_PATH) != "/ac"));
}

/// The whole flow of paper Figure 3 with two engines and the server's installs simulated:
/// hint, access request, installs on both clients, authorized read.
#[test]
fn requesting_and_hosting_engines_together() {
    let mut hosting = host(&[1]);
    let mut requesting = requester();
    // 1-2: unauthenticated read, answered with a hint naming server 1.
    let r = send(&mut hosting, unauth(), &get("/3303/0/5700"), 0);
    assert_eq!(r.code, code::UNAUTHORIZED);
    let ssid = requesting.hint_server(&r.payload).unwrap();
    assert_eq!(ssid, 1);
    // 3: access request.
    let g = Grant {
        path: Path::instance(3303, 0),
        rights: cr::READ,
    };
    requesting
        .request_access(ssid, "node-1", &[g], true, 0)
        .unwrap();
    let (_, req_msg) = poll(&mut requesting, 0).unwrap();
    let grants = lwm2m::c2c::access_request::decode(&req_msg.payload).unwrap();
    assert_eq!(grants.as_slice(), &[g]);
    // 4: the server installs one message on each client, then answers 2.01.
    let mut host_side = account_recs(0, 12, "requester", 3600);
    host_side.extend(acl_recs(0, 3303, 0, &[(12, grants[0].rights)], 1));
    install(&mut hosting, 1, &host_side, 0);
    install(&mut requesting, 1, &account_recs(0, 34, "node-1", 3600), 0);
    answer(&mut requesting, &req_msg, code::CREATED, &[], 0);
    assert_eq!(
        requesting.take_access_result().unwrap().outcome,
        AccessOutcome::Granted
    );
    // 5: the requester finds its credentials for the host; the host recognises them.
    let acc = requesting.client_account("node-1").unwrap();
    let psk_id = acc.security.unwrap().identity.clone();
    let cid = hosting.client_by_psk_identity(b"psk-12").unwrap();
    assert_eq!(psk_id.as_slice(), b"psk-34");
    assert_eq!(cid, 12);
    let r = send(&mut hosting, client(cid), &get("/3303/0/5700"), 0);
    assert_eq!(r.code, code::CONTENT);
    assert_eq!(r.text(), "21.5");
}
