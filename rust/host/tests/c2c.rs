//! Client-to-client end to end on loopback: an in-process `lwm2m-server` with an access
//! policy, a hosting and one or two requesting host clients, over DTLS-PSK and over OSCORE.
//!
//! - the full flow: request in clear -> 4.01 + hint -> `POST /ac` -> accounts installed ->
//!   secure read and observation, notifications after the host's value changes; the host
//!   serves the requester only as `Identity::Client(..)` once the account exists;
//! - T2: revoking the grant, and the account lifetime running out, close the session / drop
//!   the context and end the observation; the next request is refused;
//! - T3: a hint naming a server the requester is not registered with is ignored;
//! - two requesters with different rights on one host;
//! - policy deny: 4.03 reported, no account.
//!
//! Every wait is bounded; nothing asserts on elapsed time.

use std::net::{SocketAddr, UdpSocket};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use lwm2m::coap::{code, content_format as cf, option, Message, MessageBuilder, MessageType};
use lwm2m::engine::Identity;
use lwm2m::Path;
use lwm2m_host::client::{
    self, C2cChannel, C2cRequest, C2cStep, ClientConfig, ClientHandle, Event as CEvent, OwnedValue,
};
use lwm2m_server::c2c::SecurityMode;
use lwm2m_server::config::C2cConfig;
use lwm2m_server::policy::Policy;
use lwm2m_server::{Config, Event as SEvent, Server, ServerHandle};

const WAIT: Duration = Duration::from_secs(10);
const TEMP: Path = Path::resource(3303, 0, 5700);

fn server(mode: SecurityMode, policy: &str) -> ServerHandle {
    Server::start(Config {
        coap_addr: "127.0.0.1:0".into(),
        request_timeout: Duration::from_secs(5),
        c2c: C2cConfig {
            policy: Policy::parse(policy).expect("policy parses"),
            security: mode,
            ..Default::default()
        },
        ..Default::default()
    })
    .expect("server starts")
}

fn server_uri(s: &ServerHandle) -> String {
    format!("coap://{}", s.coap_addr())
}

/// A client registered (NoSec) to `s`; returns once registered.
fn client(s: &ServerHandle, ep: &str) -> (ClientHandle, Receiver<CEvent>) {
    let mut cfg = ClientConfig::new(ep).server(&server_uri(s));
    cfg.temperatures = 1;
    cfg.lights = 1;
    cfg.lifetime = 120;
    cfg.bind = Some("127.0.0.1:0".parse().unwrap());
    let (h, rx) = client::spawn_with_events(cfg).expect("client starts");
    wait(&rx, &format!("{ep} registered"), |e| {
        matches!(e, CEvent::Registered { .. })
    });
    (h, rx)
}

fn wait(rx: &Receiver<CEvent>, what: &str, f: impl FnMut(&CEvent) -> bool) -> CEvent {
    client::wait_for_event(rx, WAIT, f).unwrap_or_else(|| panic!("{what}: not within {WAIT:?}"))
}

/// Collects the C2C steps of `op` until `last` matches one (which is returned last).
fn steps_until(
    rx: &Receiver<CEvent>,
    op: u32,
    mut last: impl FnMut(&C2cStep) -> bool,
) -> Vec<C2cStep> {
    let mut out = Vec::new();
    let end = Instant::now() + WAIT;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(CEvent::C2c { op: o, step }) if o == op => {
                let done = last(&step);
                out.push(step);
                if done {
                    return out;
                }
            }
            Ok(_) => {}
            Err(_) => panic!("op {op}: steps so far {out:?}, the awaited one not within {WAIT:?}"),
        }
    }
}

fn wait_server(rx: &Receiver<SEvent>, what: &str, f: impl Fn(&SEvent) -> bool) -> SEvent {
    let end = Instant::now() + WAIT;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(e) if f(&e) => return e,
            Ok(_) => {}
            Err(_) => panic!("server event {what}: not within {WAIT:?}"),
        }
    }
}

fn host_uri(h: &ClientHandle) -> String {
    format!("coap://{}", h.local_addr())
}

fn observe_temp(host: &ClientHandle) -> C2cRequest {
    let mut r = C2cRequest::observe("host", &host_uri(host), TEMP);
    r.accept = Some(cf::TEXT);
    r
}

fn read_temp(host: &ClientHandle) -> C2cRequest {
    let mut r = C2cRequest::read("host", &host_uri(host), TEMP);
    r.accept = Some(cf::TEXT);
    r
}

fn secure_channel(mode: SecurityMode) -> C2cChannel {
    match mode {
        SecurityMode::Oscore => C2cChannel::Oscore,
        _ => C2cChannel::Dtls,
    }
}

/// The requests the host served from `peer`, with the identity it saw.
fn served_from(events: &[CEvent], peer: SocketAddr) -> Vec<(Identity, String, u8)> {
    events
        .iter()
        .filter_map(|e| match e {
            CEvent::RequestServed {
                peer: p,
                identity,
                path,
                code,
                ..
            } if *p == peer => Some((*identity, path.clone(), *code)),
            _ => None,
        })
        .collect()
}

fn drain(rx: &Receiver<CEvent>) -> Vec<CEvent> {
    rx.try_iter().collect()
}

/// Waits for the host's value to arrive as a notification carrying `want`; returns the
/// Observe numbers of the notifications seen on the way.
fn notified(rx: &Receiver<CEvent>, op: u32, want: &str) -> Vec<Option<u32>> {
    steps_until(rx, op, |s| {
        matches!(s, C2cStep::Notification { code: code::CONTENT, payload, .. }
            if String::from_utf8_lossy(payload).contains(want))
    })
    .into_iter()
    .filter_map(|s| match s {
        C2cStep::Notification { observe, .. } => Some(observe),
        _ => None,
    })
    .collect()
}

const PAIR_POLICY: &str = "allow requester=req host=host path=/3303 rights=read";

/// The full flow up to an established observation; returns the operation ID.
fn establish(
    mode: SecurityMode,
    host: &ClientHandle,
    host_rx: &Receiver<CEvent>,
    req: &ClientHandle,
    req_rx: &Receiver<CEvent>,
    s: &ServerHandle,
) -> u32 {
    let op = req.c2c(observe_temp(host)).unwrap();
    let steps = steps_until(req_rx, op, |s| {
        matches!(s, C2cStep::Response { .. } | C2cStep::Failed { .. })
    });
    let channel = secure_channel(mode);
    let host_addr = host.local_addr();
    match &steps[..] {
        [C2cStep::Sent {
            to: t1,
            channel: C2cChannel::Plain,
            ..
        }, C2cStep::Unauthorized { hint }, C2cStep::AccessRequested {
            ssid: 1,
            credentials: true,
        }, C2cStep::AccessGranted {
            ssid: 1,
            queue_mode: false,
        }, C2cStep::Sent {
            to: t2,
            channel: ch,
            short_id: Some(_),
        }, C2cStep::Response {
            code: code::CONTENT,
            channel: ch2,
            payload,
            ..
        }] => {
            assert_eq!((*t1, *t2), (host_addr, host_addr));
            assert_eq!(hint, &[server_uri(s)]);
            assert_eq!((*ch, *ch2), (channel, channel));
            assert!(!payload.is_empty());
        }
        other => panic!("unexpected steps {other:?}"),
    }
    // The host side: the first request unauthenticated (4.01), the secure one as a client.
    let ev = {
        let mut ev = Vec::new();
        let end = Instant::now() + WAIT;
        while Instant::now() < end {
            ev.extend(drain(host_rx));
            if served_from(&ev, req.local_addr()).len() >= 2 {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        ev
    };
    let served = served_from(&ev, req.local_addr());
    assert!(
        matches!(
            &served[..],
            [(Identity::Unauthenticated, _, code::UNAUTHORIZED), (Identity::Client(_), p, code::CONTENT)]
                if p == "/3303/0/5700"
        ),
        "{served:?}"
    );
    op
}

fn full_flow(mode: SecurityMode) {
    let s = server(mode, PAIR_POLICY);
    let sev = s.subscribe();
    let (host, host_rx) = client(&s, "host");
    let (req, req_rx) = client(&s, "req");
    let op = establish(mode, &host, &host_rx, &req, &req_rx, &s);
    let inst = wait_server(&sev, "installed", |e| {
        matches!(e, SEvent::C2cInstalled { .. })
    });
    if let SEvent::C2cInstalled { security, .. } = inst {
        assert_eq!(security, mode.name());
    }
    // Both sides hold the account.
    let host_cid = host
        .with_engine(|e, _| e.client_account("req").map(|a| a.short_id))
        .unwrap()
        .expect("host account");
    assert!(req
        .with_engine(|e, _| e.client_account("host").is_some())
        .unwrap());
    // Notifications after the host's value changes, with increasing Observe numbers (over
    // OSCORE the number travels in the outer option only).
    let mut numbers = Vec::new();
    for v in [31.5, 32.5] {
        host.set_value(TEMP, OwnedValue::Float(v)).unwrap();
        numbers.extend(notified(&req_rx, op, &v.to_string()));
    }
    let numbers: Vec<u32> = numbers
        .into_iter()
        .map(|o| o.expect("a notification without Observe"))
        .collect();
    assert!(numbers.len() >= 2, "{numbers:?}");
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
    assert!(numbers[0] > 0, "{numbers:?}");
    // A one-shot read with the account goes straight over the secure channel.
    let r = req.c2c(read_temp(&host)).unwrap();
    let steps = steps_until(&req_rx, r, |s| {
        matches!(s, C2cStep::Response { .. } | C2cStep::Failed { .. })
    });
    assert!(
        matches!(
            &steps[..],
            [C2cStep::Sent { channel: c1, .. }, C2cStep::Response { code: code::CONTENT, channel: c2, payload, .. }]
                if *c1 == secure_channel(mode) && c1 == c2 && payload == b"32.5"
        ),
        "{steps:?}"
    );
    // Nothing after the first 4.01 was served to the requester in clear.
    std::thread::sleep(Duration::from_millis(100));
    let ev = drain(&host_rx);
    let served = served_from(&ev, req.local_addr());
    assert!(!served.is_empty());
    assert!(
        served
            .iter()
            .all(|(id, _, _)| *id == Identity::Client(host_cid)),
        "{served:?}"
    );
    let sent: Vec<_> = ev
        .iter()
        .filter(|e| matches!(e, CEvent::NotificationSent { peer, .. } if *peer == req.local_addr()))
        .collect();
    assert!(!sent.is_empty());
    req.stop();
    host.stop();
    s.shutdown();
}

#[test]
fn dtls_full_flow_read_and_observe() {
    full_flow(SecurityMode::Psk);
}

#[test]
fn oscore_full_flow_read_and_observe() {
    full_flow(SecurityMode::Oscore);
}

/// Collects events until `done` holds for what was collected.
fn collect(rx: &Receiver<CEvent>, what: &str, done: impl Fn(&[CEvent]) -> bool) -> Vec<CEvent> {
    let mut out = Vec::new();
    let end = Instant::now() + WAIT;
    while !done(&out) {
        let left = end.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(e) => out.push(e),
            Err(_) => panic!("{what}: not within {WAIT:?}; events {out:?}"),
        }
    }
    out
}

fn has_closed(ev: &[CEvent]) -> bool {
    ev.iter().any(|e| matches!(e, CEvent::C2cClosed { .. }))
}

/// The secure channels of a client that belong to C2C accounts (clients register NoSec).
fn channels(h: &ClientHandle) -> (usize, usize) {
    let st = h.secure_state().unwrap();
    (
        st.dtls_client_sessions + st.dtls_server_sessions,
        st.peer_oscore_contexts,
    )
}

/// With an account: one DTLS session or one OSCORE context on each side.
fn check_open(mode: SecurityMode, host: &ClientHandle, req: &ClientHandle) {
    let want = match mode {
        SecurityMode::Oscore => (0, 1),
        _ => (1, 0),
    };
    assert_eq!(channels(host), want, "host");
    assert_eq!(channels(req), want, "requester");
    assert_eq!(host.secure_state().unwrap().dtls_server_sessions, want.0);
}

/// After both sides reported the close: no session, no context left anywhere.
fn check_closed(host: &ClientHandle, req: &ClientHandle) {
    assert_eq!(channels(host), (0, 0), "host");
    assert_eq!(channels(req), (0, 0), "requester");
}

fn op_failed(ev: &[CEvent], op: u32) -> bool {
    ev.iter()
        .any(|e| matches!(e, CEvent::C2c { op: o, step: C2cStep::Failed { .. } } if *o == op))
}

/// After access was cut: no more notifications, and with the policy now denying, a new
/// request goes in clear, is refused by the host and the access request gets 4.03.
fn access_is_cut(
    s: &ServerHandle,
    host: &ClientHandle,
    host_rx: &Receiver<CEvent>,
    req: &ClientHandle,
    req_rx: &Receiver<CEvent>,
    op: u32,
) {
    s.set_policy(Policy::default());
    drain(req_rx);
    host.set_value(TEMP, OwnedValue::Float(99.5)).unwrap();
    let late = client::wait_for_event(
        req_rx,
        Duration::from_millis(1500),
        |e| matches!(e, CEvent::C2c { op: o, step: C2cStep::Notification { .. } } if *o == op),
    );
    assert!(
        late.is_none(),
        "notification after the account closed: {late:?}"
    );
    assert_eq!(host.observation_count().unwrap(), 0);
    drain(host_rx);
    let r = req.c2c(read_temp(host)).unwrap();
    let steps = steps_until(req_rx, r, |s| matches!(s, C2cStep::Failed { .. }));
    assert!(
        steps
            .iter()
            .any(|s| matches!(s, C2cStep::Unauthorized { .. })),
        "{steps:?}"
    );
    assert!(
        steps
            .iter()
            .any(|s| matches!(s, C2cStep::AccessRefused { result, .. } if result == "4.03")),
        "{steps:?}"
    );
    assert!(!steps.iter().any(|s| matches!(s, C2cStep::Response { .. })));
    std::thread::sleep(Duration::from_millis(100));
    let served = served_from(&drain(host_rx), req.local_addr());
    assert!(
        served
            .iter()
            .all(|(id, _, c)| !matches!(id, Identity::Client(_)) && *c == code::UNAUTHORIZED),
        "{served:?}"
    );
}

fn revoke(mode: SecurityMode) {
    let s = server(mode, PAIR_POLICY);
    let (host, host_rx) = client(&s, "host");
    let (req, req_rx) = client(&s, "req");
    let op = establish(mode, &host, &host_rx, &req, &req_rx, &s);
    assert_eq!(host.observation_count().unwrap(), 1);
    let grants = s.grants();
    let id = grants[0]["id"].as_u64().expect("grant id");
    check_open(mode, &host, &req);
    s.revoke(id).expect("revoked");
    collect(&host_rx, "host: account closed", has_closed);
    collect(
        &req_rx,
        "requester: account closed, observation ended",
        |ev| has_closed(ev) && op_failed(ev, op),
    );
    check_closed(&host, &req);
    assert!(host
        .with_engine(|e, _| e.client_account("req").is_none())
        .unwrap());
    access_is_cut(&s, &host, &host_rx, &req, &req_rx, op);
    req.stop();
    host.stop();
    s.shutdown();
}

#[test]
fn dtls_revocation_closes_session_and_observation() {
    revoke(SecurityMode::Psk);
}

#[test]
fn oscore_revocation_drops_context_and_observation() {
    revoke(SecurityMode::Oscore);
}

fn expiry(mode: SecurityMode) {
    // Lifetime 4 s; the refresh (at 80 %) is refused because the policy changes.
    let s = server(
        mode,
        "allow requester=req host=host path=/3303 rights=read lifetime=4",
    );
    let (host, host_rx) = client(&s, "host");
    let (req, req_rx) = client(&s, "req");
    let op = establish(mode, &host, &host_rx, &req, &req_rx, &s);
    check_open(mode, &host, &req);
    s.set_policy(Policy::default());
    wait(
        &req_rx,
        "refresh refused",
        |e| matches!(e, CEvent::C2cAccessRefresh { result, .. } if result == "4.03"),
    );
    collect(&host_rx, "host: account expired", has_closed);
    collect(
        &req_rx,
        "requester: account expired, observation ended",
        |ev| has_closed(ev) && op_failed(ev, op),
    );
    check_closed(&host, &req);
    // The account still exists, but it is over.
    let active = host
        .with_engine(|e, now| {
            e.client_account("req")
                .map(|a| e.client_active(a.short_id, now))
        })
        .unwrap();
    assert_eq!(active, Some(false));
    access_is_cut(&s, &host, &host_rx, &req, &req_rx, op);
    req.stop();
    host.stop();
    s.shutdown();
}

#[test]
fn dtls_account_expiry_cuts_access() {
    expiry(SecurityMode::Psk);
}

#[test]
fn oscore_account_expiry_cuts_access() {
    expiry(SecurityMode::Oscore);
}

/// T3: a "host" answering with a hint that names a server the requester is not registered
/// with: the hint is reported as ignored and nobody gets an access request.
#[test]
fn hint_naming_an_unknown_server_is_ignored() {
    let s = server(SecurityMode::Psk, PAIR_POLICY);
    let sev = s.subscribe();
    let (req, req_rx) = client(&s, "req");
    let rogue = UdpSocket::bind("127.0.0.1:0").unwrap();
    rogue
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let fake = UdpSocket::bind("127.0.0.1:0").unwrap();
    fake.set_read_timeout(Some(WAIT)).unwrap();
    let op = req
        .c2c(C2cRequest::read(
            "host",
            &format!("coap://{}", fake.local_addr().unwrap()),
            TEMP,
        ))
        .unwrap();
    let mut buf = [0u8; 1500];
    let (n, from) = fake.recv_from(&mut buf).expect("the plain request");
    let m = Message::parse(&buf[..n]).unwrap();
    assert_eq!((m.mtype, m.code), (MessageType::Con, code::GET));
    let uri = format!("coap://{}", rogue.local_addr().unwrap());
    assert!(uri.len() < 24);
    let mut hint = vec![0xa1, 0x01, 0x60 | uri.len() as u8];
    hint.extend_from_slice(uri.as_bytes());
    let mut out = [0u8; 128];
    let mut b = MessageBuilder::new(
        &mut out,
        MessageType::Ack,
        code::UNAUTHORIZED,
        m.message_id,
        m.token,
    )
    .unwrap();
    b.option_uint(option::CONTENT_FORMAT, cf::CBOR.into())
        .unwrap();
    b.payload(&hint).unwrap();
    let len = b.finish();
    fake.send_to(&out[..len], from).unwrap();
    let steps = steps_until(&req_rx, op, |s| matches!(s, C2cStep::Failed { .. }));
    assert!(
        matches!(
            &steps[..],
            [C2cStep::Sent { channel: C2cChannel::Plain, .. }, C2cStep::Unauthorized { hint }, C2cStep::HintIgnored { .. }, C2cStep::Failed { .. }]
                if hint == std::slice::from_ref(&uri)
        ),
        "{steps:?}"
    );
    // Nobody was asked: not the rogue server, not the real one; the fake host got nothing more.
    assert!(
        rogue.recv_from(&mut buf).is_err(),
        "the rogue server was contacted"
    );
    fake.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    assert!(fake.recv_from(&mut buf).is_err());
    assert!(sev
        .try_iter()
        .all(|e| !matches!(e, SEvent::AccessRequest { .. })));
    req.stop();
    s.shutdown();
}

/// Two requesters on one host: `req-a` may read /3303, `req-b` only /3311. `req-b`'s read of
/// /3303 over its own secure channel is refused by the host (4.01) and its second access
/// request by the server (4.03).
fn two_requesters(mode: SecurityMode) {
    let s = server(
        mode,
        "allow requester=req-a host=host path=/3303 rights=read\n\
         allow requester=req-b host=host path=/3311 rights=read",
    );
    let (host, host_rx) = client(&s, "host");
    let (a, a_rx) = client(&s, "req-a");
    let (b, b_rx) = client(&s, "req-b");
    let ok = |rx: &Receiver<CEvent>, op| {
        steps_until(rx, op, |s| {
            matches!(s, C2cStep::Response { .. } | C2cStep::Failed { .. })
        })
    };
    let ra = ok(&a_rx, a.c2c(read_temp(&host)).unwrap());
    assert!(
        matches!(ra.last(), Some(C2cStep::Response { code: code::CONTENT, channel, .. }) if *channel == secure_channel(mode)),
        "{ra:?}"
    );
    let on = Path::resource(3311, 0, 5850);
    let rb = ok(
        &b_rx,
        b.c2c(C2cRequest::read("host", &host_uri(&host), on))
            .unwrap(),
    );
    assert!(
        matches!(
            rb.last(),
            Some(C2cStep::Response {
                code: code::CONTENT,
                ..
            })
        ),
        "{rb:?}"
    );
    drain(&host_rx);
    let rb2 = ok(&b_rx, b.c2c(read_temp(&host)).unwrap());
    assert!(
        matches!(rb2.first(), Some(C2cStep::Sent { channel, .. }) if *channel == secure_channel(mode)),
        "{rb2:?}"
    );
    assert!(rb2
        .iter()
        .any(|s| matches!(s, C2cStep::Unauthorized { .. })));
    assert!(rb2
        .iter()
        .any(|s| matches!(s, C2cStep::AccessRefused { result, .. } if result == "4.03")));
    assert!(!rb2.iter().any(|s| matches!(s, C2cStep::Response { .. })));
    std::thread::sleep(Duration::from_millis(100));
    // (The host may report its earlier /3311 answer late: only /3303 is looked at.)
    let served: Vec<_> = served_from(&drain(&host_rx), b.local_addr())
        .into_iter()
        .filter(|(_, p, _)| p == "/3303/0/5700")
        .collect();
    assert!(
        matches!(&served[..], [(Identity::Client(_), _, code::UNAUTHORIZED)]),
        "{served:?}"
    );
    // req-a still reads.
    let ra2 = ok(&a_rx, a.c2c(read_temp(&host)).unwrap());
    assert!(matches!(
        ra2.last(),
        Some(C2cStep::Response {
            code: code::CONTENT,
            ..
        })
    ));
    a.stop();
    b.stop();
    host.stop();
    s.shutdown();
}

#[test]
fn dtls_two_requesters_different_rights() {
    two_requesters(SecurityMode::Psk);
}

#[test]
fn oscore_two_requesters_different_rights() {
    two_requesters(SecurityMode::Oscore);
}

/// No rule for the pair: the access request's 4.03 is reported and no account appears.
#[test]
fn policy_deny_is_reported_and_installs_nothing() {
    let s = server(
        SecurityMode::Psk,
        "allow requester=someone-else host=host path=/3303 rights=read",
    );
    let (host, _host_rx) = client(&s, "host");
    let (req, req_rx) = client(&s, "req");
    let op = req.c2c(read_temp(&host)).unwrap();
    let steps = steps_until(&req_rx, op, |s| matches!(s, C2cStep::Failed { .. }));
    assert!(
        matches!(
            &steps[..],
            [C2cStep::Sent { .. }, C2cStep::Unauthorized { .. }, C2cStep::AccessRequested { credentials: true, .. }, C2cStep::AccessRefused { result, .. }, C2cStep::Failed { .. }]
                if result == "4.03"
        ),
        "{steps:?}"
    );
    assert!(req
        .with_engine(|e, _| e.client_account("host").is_none()
            && e.client_security().instances.iter().next().is_none())
        .unwrap());
    assert!(host
        .with_engine(|e, _| e.client_accounts().instances.iter().next().is_none())
        .unwrap());
    req.stop();
    host.stop();
    s.shutdown();
}

/// A C2C Write (PUT with a payload) with Write rights: the host's light goes on.
#[test]
fn dtls_write_with_write_rights() {
    let s = server(
        SecurityMode::Psk,
        "allow requester=req host=host path=/3311 rights=read,write",
    );
    let (host, _host_rx) = client(&s, "host");
    let (req, req_rx) = client(&s, "req");
    let on = Path::resource(3311, 0, 5850);
    let mut w = C2cRequest::read("host", &host_uri(&host), on);
    w.method = code::PUT;
    w.content_format = Some(cf::TEXT);
    w.payload = b"1".to_vec();
    w.grants[0].rights = lwm2m::c2c::rights::WRITE;
    let op = req.c2c(w).unwrap();
    let steps = steps_until(&req_rx, op, |s| {
        matches!(s, C2cStep::Response { .. } | C2cStep::Failed { .. })
    });
    assert!(
        matches!(
            steps.last(),
            Some(C2cStep::Response {
                code: code::CHANGED,
                channel: C2cChannel::Dtls,
                ..
            })
        ),
        "{steps:?}"
    );
    let value = host
        .with_engine(move |e, _| {
            e.object_mut(3311)
                .and_then(|o| o.read(0, 5850, None).ok())
                .map(|v| format!("{v:?}"))
        })
        .unwrap();
    assert_eq!(value.as_deref(), Some("Boolean(true)"));
    req.stop();
    host.stop();
    s.shutdown();
}
