//! Requesting client (feature `c2c-auth`): reads and observations of a resource on a hosting
//! client, with the authorization flow of the paper (Figure 3) run by the driver:
//!
//! 1. plain request to the host (no account yet) -> 4.01 with an owner server hint;
//! 2. [`Engine::hint_server`] (hints naming servers this node is not registered to are
//!    ignored, T3) -> [`Engine::request_access`] with `c` -> `POST /ac` to that server;
//! 3. the server installs the accounts (11000/11001/21) on both clients, then answers 2.01:
//!    [`Engine::take_access_result`];
//! 4. the request again, protected by the new account ([`Engine::client_account`] of the
//!    host's endpoint name): with OSCORE when the account links an OSCORE (21) instance, over
//!    DTLS (feature `dtls`) when its Client Security (11000) instance is in PSK mode with an
//!    identity and a key and no OSCORE link;
//! 5. the response, and for an observation every notification, to the application's
//!    callback.
//!
//! With an account already installed the flow starts at step 4; a protected request answered
//! 4.01 (the host lost or dropped the account) goes back to step 2 once. Once a protected
//! observation is established, unprotected responses on its token are ignored, 4.01 included:
//! anyone can send them (a host that rejected a duplicate of the Observe request as a replay
//! did), and only an authenticated response may end the observation. Notifications that are
//! not fresher than the last one accepted (RFC 7641 section 3.4: duplicates, reordered ones)
//! are dropped before the application's callback. With an account neither protection of
//! this build can use, the host could not tell who asks, so the flow ends after step 3 with
//! `-ENOTSUP`.
//!
//! Over DTLS the glue already holds the account's PSK in credman (`dtls::Dtls::sync`, Client
//! Security tag range); before each protected request the driver binds that credential to
//! the operation's host address (`lwm2m_c2c_glue_psk_bind`), so that the handshake gcoap
//! starts for the request offers it, and sends to the operation's URI with the scheme
//! `coaps://` (a `coap://` URI loses its port: the host's DTLS port is the default 5684).
//! A response counts as protected only if the glue saw it arrive over a session whose
//! handshake used that credential; anything else on the token is handled like a plain
//! response to an OSCORE operation. When the engine closes the account, its credential and
//! sessions go (`dtls::Dtls::close_client`) and its DTLS operations end ([`account_closed`]).

use core::ffi::{c_int, c_void};

use lwm2m::c2c::access_request::Grant;
use lwm2m::c2c::rights;
use lwm2m::coap::observe::NotificationOrder;
use lwm2m::coap::{code, content_format as cf, option, Message, MessageBuilder, MessageType};
use lwm2m::config::{ENDPOINT_LEN, URI_LEN};
use lwm2m::engine::AccessOutcome;
use lwm2m::Path;

use crate::c2c_api::CResultFn;
use crate::ev::{ev, Code, Payload};
use crate::{err, State, LWM2M_C2C_DEST_PEER};

#[cfg(feature = "dtls")]
extern "C" {
    /// Binds the credential of Client Security instance `inst` (already loaded) to the
    /// hosting client at `uri` (C glue): a DTLS handshake toward that address offers it.
    /// Returns 0, `-ENOENT` (credential not loaded) or `-EINVAL` (bad URI).
    fn lwm2m_c2c_glue_psk_bind(inst: u16, uri: *const u8, uri_len: usize) -> c_int;
    /// Frees gcoap's memo of the Observe request with `token` to the host at `uri` (C glue).
    fn lwm2m_c2c_glue_obs_forget(
        uri: *const u8,
        uri_len: usize,
        token: *const u8,
        token_len: usize,
    );
}

/// How an operation's protected requests reach the host (decided by the account's mode).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(not(all(feature = "oscore", feature = "dtls")), allow(dead_code))]
enum Transport {
    /// OSCORE over plain CoAP: the account's 11000 instance links an OSCORE instance.
    Oscore,
    /// DTLS with the PSK of Client Security instance `.0` (Security Mode 0, no OSCORE link).
    Dtls(u16),
}

impl Transport {
    fn name(self) -> &'static str {
        match self {
            Transport::Oscore => "oscore",
            Transport::Dtls(_) => "dtls",
        }
    }
}

/// The open account of this node for hosting client `host` and how to use it: its Short
/// Client ID and transport, `None` when there is none this build can use.
fn account(s: &State, host: &str, now: u64) -> Option<(u16, Transport)> {
    let a = s
        .engine
        .client_account(host)
        .filter(|a| a.client.active(now))?;
    #[cfg(feature = "oscore")]
    if a.oscore.is_some() {
        return Some((a.short_id, Transport::Oscore));
    }
    #[cfg(feature = "dtls")]
    if let Some(sec) = a.security.filter(|c| {
        c.mode == lwm2m::objects::security::mode::PSK
            && c.oscore.is_none()
            && !c.identity.is_empty()
            && !c.secret_key.is_empty()
    }) {
        return Some((a.short_id, Transport::Dtls(sec.id)));
    }
    None
}

/// The `coaps://` form of a host URI given for plain CoAP: the same host and path, the
/// default DTLS port. A `coaps://` URI stays as it is.
#[cfg(feature = "dtls")]
fn dtls_uri(uri: &str) -> Option<heapless::String<URI_LEN>> {
    if uri.starts_with("coaps://") {
        return heapless::String::try_from(uri).ok();
    }
    let rest = uri.strip_prefix("coap://")?;
    let (auth, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = match auth.rfind(']') {
        Some(end) => auth.get(..=end)?,
        None => auth.split(':').next()?,
    };
    let mut out = heapless::String::new();
    out.push_str("coaps://").ok()?;
    out.push_str(host).ok()?;
    out.push_str(path).ok()?;
    Some(out)
}

/// Concurrent client-to-client operations (an observation keeps its slot).
pub(crate) const MAX_OPS: usize = 4;
/// Times a request gcoap could not take (no free request memo or resend buffer while other
/// CON exchanges are open) is tried again before the operation fails with `c2c_send_failed`.
pub(crate) const SEND_RETRIES: u8 = 8;
/// Milliseconds between those tries (so an operation waits at most about 2 s for gcoap).
pub(crate) const SEND_RETRY_MS: u64 = 250;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// Plain request sent.
    Plain,
    /// Waiting for the access request's outcome.
    Access,
    /// Protected request sent.
    Protected,
    /// Observation established; notifications arrive.
    Observing,
}

pub(crate) struct Op {
    phase: Phase,
    observe: bool,
    host: heapless::String<ENDPOINT_LEN>,
    uri: heapless::String<URI_LEN>,
    path: Path,
    token: [u8; 4],
    /// Server named by the host's hint (or the default one).
    ssid: Option<u16>,
    /// Short Client ID of the host's account at this node (protected phase).
    cid: u16,
    /// Transport of the protected phase (set when it begins).
    transport: Option<Transport>,
    /// An access request was made for this operation already.
    asked: bool,
    /// Observe number and arrival of the last notification handed to the application.
    order: NotificationOrder,
    #[cfg(feature = "oscore")]
    id: Option<lwm2m_oscore::RequestId>,
    /// Tries gcoap refused in a row, and when the next one is due.
    deferred: u8,
    retry_at: Option<u64>,
    cb: CResultFn,
    arg: *mut c_void,
}

/// The operations in flight.
pub(crate) struct Ops {
    ops: [Option<Op>; MAX_OPS],
}

impl Ops {
    /// Writes empty operations to `p` one by one: built whole and then moved, the 800 bytes
    /// (iotlab-m3) were first on the stack of the thread that calls `lwm2m_riot_init`.
    ///
    /// # Safety
    /// `p` is valid for writes and aligned (a field of the driver's static state cell).
    pub(crate) unsafe fn init_in(p: *mut Ops) {
        // SAFETY: `p` is valid and aligned (the caller's promise); `ops` is a field of `*p`,
        // and each `ops.add(i)` for `i < MAX_OPS` an element of that array.
        unsafe {
            let ops = core::ptr::addr_of_mut!((*p).ops).cast::<Option<Op>>();
            for i in 0..MAX_OPS {
                ops.add(i).write(None);
            }
        }
    }

    /// The operation a response with this token answers.
    pub(crate) fn by_token(&self, token: &[u8]) -> Option<usize> {
        self.ops
            .iter()
            .position(|o| o.as_ref().is_some_and(|o| o.token == token))
    }
}

/// Which buffer of the state holds the plain response.
#[derive(Clone, Copy)]
enum Plain {
    Rx(usize),
    #[cfg(feature = "oscore")]
    Sec(usize),
}

fn token() -> [u8; 4] {
    // SAFETY: plain C call into RIOT's random module.
    unsafe { riot_sys::random_uint32() }.to_be_bytes()
}

fn call(op: &Op, handle: usize, status: c_int, code: u8, observe: u32, payload: &[u8]) {
    if let Some(cb) = op.cb {
        // SAFETY: the application registered this callback with `arg` for the operation's
        // life; the payload slice is valid for the call.
        unsafe {
            cb(
                op.arg,
                handle as c_int,
                status,
                code,
                observe,
                payload.as_ptr(),
                payload.len(),
            )
        };
    }
}

/// Ends operation `i` with an error status for the application.
fn fail(s: &mut State, i: usize, status: c_int, why: &str) {
    if let Some(op) = s.ops.ops.get_mut(i).and_then(Option::take) {
        ev!(
            "c2c_failed h={} host={} path={} {}",
            i,
            op.host,
            op.path,
            why
        );
        call(&op, i, status, 0, u32::MAX, &[]);
    }
}

/// Starts a read (or observation) of `path` on the hosting client `host` (endpoint name),
/// reachable at `uri`. Returns the operation's handle.
#[allow(clippy::too_many_arguments)] // the C API's arguments, passed through
pub(crate) fn start(
    s: &mut State,
    host: &str,
    uri: &str,
    path: Path,
    observe: bool,
    cb: CResultFn,
    arg: *mut c_void,
    now: u64,
) -> Result<usize, c_int> {
    if path.is_empty() || host.is_empty() {
        return Err(err::INVAL);
    }
    let i = s
        .ops
        .ops
        .iter()
        .position(Option::is_none)
        .ok_or(err::NOMEM)?;
    let op = Op {
        phase: Phase::Plain,
        observe,
        host: heapless::String::try_from(host).map_err(|_| err::INVAL)?,
        uri: heapless::String::try_from(uri).map_err(|_| err::INVAL)?,
        path,
        token: token(),
        ssid: None,
        cid: 0,
        transport: None,
        asked: false,
        order: NotificationOrder::new(),
        #[cfg(feature = "oscore")]
        id: None,
        deferred: 0,
        retry_at: None,
        cb,
        arg,
    };
    let slot = s.ops.ops.get_mut(i).ok_or(err::NOMEM)?;
    *slot = Some(op);
    // With an account for the host (an OSCORE context or a PSK), go protected right away.
    if let Some((cid, transport)) = account(s, host, now) {
        if let Some(Some(op)) = s.ops.ops.get_mut(i) {
            op.cid = cid;
            op.transport = Some(transport);
            op.phase = Phase::Protected;
        }
    }
    send(s, i, now);
    Ok(i)
}

/// Builds the plain GET of operation `i` into `buf`.
fn build(op: &Op, buf: &mut [u8]) -> Option<usize> {
    let mut b = MessageBuilder::new(buf, MessageType::Con, code::GET, 0, &op.token).ok()?;
    if op.observe {
        b.option_uint(option::OBSERVE, 0).ok()?;
    }
    for id in op.path.ids() {
        let mut d = [0u8; 5];
        let mut n = d.len();
        let mut v = *id;
        loop {
            n -= 1;
            *d.get_mut(n)? = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        b.option(option::URI_PATH, d.get(n..)?).ok()?;
    }
    if op.path.len() >= 3 {
        b.option_uint(option::ACCEPT, cf::TEXT.into()).ok()?;
    }
    Some(b.finish())
}

/// Sends operation `i` in its current phase (plain or protected). A request gcoap cannot
/// take now is tried again [`SEND_RETRY_MS`] later, up to [`SEND_RETRIES`] times.
fn send(s: &mut State, i: usize, now: u64) {
    let Some(Some(op)) = s.ops.ops.get(i) else {
        return;
    };
    let transport = op.transport.filter(|_| op.phase == Phase::Protected);
    ev!(
        "c2c_request h={} host={} path={} {} {}",
        i,
        op.host,
        op.path,
        if op.observe { "observe" } else { "read" },
        transport.map_or("plain", Transport::name)
    );
    #[cfg_attr(not(feature = "dtls"), allow(unused_mut))]
    let mut uri = op.uri.clone();
    let (ptr, len) = if let Some(Transport::Dtls(inst)) = transport {
        #[cfg(feature = "dtls")]
        {
            let Some(u) = dtls_uri(&op.uri) else {
                return fail(s, i, err::INVAL, "uri");
            };
            // SAFETY: `u` is valid for its length during the call; the glue copies what it
            // keeps (the parsed address).
            if unsafe { lwm2m_c2c_glue_psk_bind(inst, u.as_ptr(), u.len()) } < 0 {
                return fail(s, i, err::ACCES, "no_credential");
            }
            uri = u;
            let Some(n) = build(op, &mut s.tx) else {
                return fail(s, i, err::NOMEM, "build");
            };
            (s.tx.as_mut_ptr(), n)
        }
        #[cfg(not(feature = "dtls"))]
        {
            let _ = inst;
            return fail(s, i, err::NOTSUP, "no_dtls");
        }
    } else if transport == Some(Transport::Oscore) {
        #[cfg(feature = "oscore")]
        {
            let cid = op.cid;
            let Some(n) = build(op, &mut s.sec.plain) else {
                return fail(s, i, err::NOMEM, "build");
            };
            let Some((len, id)) =
                s.sec
                    .protect_request(&s.engine, crate::secure::Account::Client(cid), n, None)
            else {
                return fail(s, i, err::ACCES, "no_context");
            };
            if let Some(Some(op)) = s.ops.ops.get_mut(i) {
                op.id = Some(id);
            }
            (s.sec.out.as_mut_ptr(), len)
        }
        #[cfg(not(feature = "oscore"))]
        return fail(s, i, err::NOTSUP, "no_oscore");
    } else {
        let Some(n) = build(op, &mut s.tx) else {
            return fail(s, i, err::NOMEM, "build");
        };
        (s.tx.as_mut_ptr(), n)
    };
    // SAFETY: `ptr` points to `len` initialized bytes of a state buffer, `uri` is valid for
    // its length; the glue copies both before returning. Over DTLS the first request waits
    // here for the handshake (the glue's Limits).
    let sent = unsafe {
        crate::lwm2m_c2c_glue_send(
            LWM2M_C2C_DEST_PEER,
            i as u32,
            uri.as_ptr(),
            uri.len(),
            ptr,
            len,
            true,
        )
    };
    // Queue Mode: a request of the node's own opens the awake time (its answer comes back).
    #[cfg(feature = "queue-mode")]
    if sent > 0 {
        s.engine.message_sent(now);
    }
    let Some(Some(op)) = s.ops.ops.get_mut(i) else {
        return;
    };
    if sent > 0 {
        op.deferred = 0;
        op.retry_at = None;
    } else if sent == 0 && op.deferred < SEND_RETRIES {
        // gcoap has no room for another open request right now (0); negative is final.
        op.deferred += 1;
        op.retry_at = Some(now + SEND_RETRY_MS);
        ev!("c2c_send_deferred h={} try={}", i, op.deferred);
    } else {
        ev!("c2c_send_failed h={} res={}", i, sent);
        fail(s, i, err::INVAL, "send");
    }
}

/// The glue's number for the credential of Client Security instance `inst` (kind << 16 |
/// instance), as it reports the session a response came over.
fn client_cred(inst: u16) -> c_int {
    (c_int::from(crate::LWM2M_C2C_CRED_CLIENT) << 16) | c_int::from(inst)
}

/// Handles the response in `s.rx[..len]` to operation `i`; `dtls_cred` is the credential of
/// the DTLS session it came over (the glue's kind << 16 | instance), negative when it did not
/// come over DTLS.
pub(crate) fn response(s: &mut State, i: usize, len: usize, dtls_cred: c_int, now: u64) {
    let Some(Some(op)) = s.ops.ops.get_mut(i) else {
        return;
    };
    let Some(rx) = s.rx.get_mut(..len) else {
        return;
    };
    let Ok(outer) = Message::parse(rx) else {
        return;
    };
    // Over DTLS: only what came over a session made with this operation's credential.
    let dtls = dtls_cred >= 0
        && matches!(op.transport, Some(Transport::Dtls(inst)) if client_cred(inst) == dtls_cred);
    let oscore = !dtls && outer.option(option::OSCORE).is_some();
    let protected = dtls || oscore;
    // With OSCORE the outer Observe option carries the notification's number (the inner one
    // is empty, RFC 8613 section 4.1.3.5.2).
    let outer_obs = outer.option_uint(option::OBSERVE).and_then(Result::ok);
    let plain = if oscore {
        #[cfg(feature = "oscore")]
        {
            let Some(id) = op.id.as_ref() else {
                return;
            };
            match s.sec.unprotect_response(
                &s.engine,
                crate::secure::Account::Client(op.cid),
                id,
                rx,
            ) {
                Some(n) => Plain::Sec(n),
                None => {
                    // Forged or stale: ignore it, as if it never came.
                    ev!("c2c_rejected response h={}", i);
                    return;
                }
            }
        }
        #[cfg(not(feature = "oscore"))]
        return;
    } else {
        Plain::Rx(len)
    };
    let bytes: &[u8] = match plain {
        Plain::Rx(n) => s.rx.get(..n).unwrap_or(&[]),
        #[cfg(feature = "oscore")]
        Plain::Sec(n) => s.sec.plain.get(..n).unwrap_or(&[]),
    };
    let Ok(m) = Message::parse(bytes) else {
        return;
    };
    if !protected && op.phase == Phase::Observing {
        // Unauthenticated, so it must not end the observation (e.g. the host's 4.01 to a
        // duplicate of the Observe request that its OSCORE replay check caught).
        ev!("c2c_rejected unprotected h={} code={}", i, Code(m.code));
        return;
    }
    if protected != (op.phase == Phase::Protected || op.phase == Phase::Observing)
        && m.code != code::UNAUTHORIZED
    {
        // A plain answer to a protected request (or the reverse) carries no data we trust.
        ev!("c2c_rejected mixed h={} code={}", i, Code(m.code));
        return;
    }
    if m.code < 0x80 {
        let obs = m
            .option(option::OBSERVE)
            .and(if oscore { outer_obs } else { None })
            .or_else(|| m.option_uint(option::OBSERVE).and_then(Result::ok));
        match (op.observe, obs) {
            (true, Some(seq)) => {
                if !op.order.accept(seq, now) {
                    // A duplicate or an overtaken notification: the application saw newer.
                    ev!(
                        "notification_stale h={} obs={} last={}",
                        i,
                        seq,
                        op.order.last().unwrap_or(0)
                    );
                    return;
                }
                ev!(
                    "notification_rx h={} host={} path={} seq={} value={}",
                    i,
                    op.host,
                    op.path,
                    seq,
                    Payload(m.payload)
                );
                op.phase = Phase::Observing;
                call(op, i, 0, m.code, seq, m.payload);
            }
            _ => {
                ev!(
                    "response_rx h={} host={} path={} code={} value={}",
                    i,
                    op.host,
                    op.path,
                    Code(m.code),
                    Payload(m.payload)
                );
                call(op, i, 0, m.code, u32::MAX, m.payload);
                if let Some(o) = s.ops.ops.get_mut(i) {
                    *o = None;
                }
            }
        }
        return;
    }
    if m.code == code::UNAUTHORIZED && !op.asked && op.phase != Phase::Observing {
        // Owner server hint (T3: only servers this node is registered with count).
        let ssid = if m.payload.is_empty() {
            op.ssid.or(Some(s.tracked[0].0).filter(|&x| x != 0))
        } else {
            match s.engine.hint_server(m.payload) {
                Ok(ssid) => {
                    ev!("hint_rx h={} ssid={}", i, ssid);
                    Some(ssid)
                }
                Err(e) => {
                    ev!("hint_ignored h={} {:?}", i, e);
                    None
                }
            }
        };
        let Some(ssid) = ssid else {
            return fail(s, i, err::ACCES, "no_trusted_hint");
        };
        op.ssid = Some(ssid);
        op.asked = true;
        op.phase = Phase::Access;
        let grant = Grant {
            path: op.path.truncated(2),
            rights: rights::READ,
        };
        let host = op.host.clone();
        match s.engine.request_access(ssid, &host, &[grant], true, now) {
            Ok(()) => ev!(
                "auth_begin h={} host={} ssid={} path={}",
                i,
                host,
                ssid,
                grant.path
            ),
            Err(_) => fail(s, i, err::ACCES, "access_request"),
        }
        return;
    }
    let code = m.code;
    ev!(
        "response_rx h={} host={} path={} code={} value=-",
        i,
        op.host,
        op.path,
        Code(code)
    );
    call(op, i, 0, code, u32::MAX, &[]);
    if let Some(o) = s.ops.ops.get_mut(i) {
        *o = None;
    }
}

/// A request of operation `i` timed out or could not be sent.
pub(crate) fn failed(s: &mut State, i: usize) {
    fail(s, i, err::TIMEDOUT, "timeout");
}

/// Takes the engine's access results: prints them and continues the operations waiting
/// for them.
pub(crate) fn access_results(s: &mut State, now: u64) {
    while let Some(r) = s.engine.take_access_result() {
        match r.outcome {
            AccessOutcome::Granted => ev!(
                "auth_end host={} ssid={} code=2.01 refresh={}",
                r.host,
                r.ssid,
                u8::from(r.refresh)
            ),
            AccessOutcome::Rejected(c) => ev!(
                "auth_end host={} ssid={} code={} refresh={}",
                r.host,
                r.ssid,
                Code(c),
                u8::from(r.refresh)
            ),
            AccessOutcome::Timeout => ev!(
                "auth_end host={} ssid={} code=timeout refresh={}",
                r.host,
                r.ssid,
                u8::from(r.refresh)
            ),
        }
        for i in 0..MAX_OPS {
            let waiting = s
                .ops
                .ops
                .get(i)
                .and_then(Option::as_ref)
                .is_some_and(|o| o.phase == Phase::Access && o.host == r.host);
            if !waiting {
                continue;
            }
            if r.outcome != AccessOutcome::Granted {
                let st = if r.outcome == AccessOutcome::Timeout {
                    err::TIMEDOUT
                } else {
                    err::ACCES
                };
                fail(s, i, st, "access_denied");
                continue;
            }
            let Some((cid, transport)) = account(s, &r.host, now) else {
                fail(s, i, err::NOTSUP, "no_secure_account");
                continue;
            };
            if let Some(Some(op)) = s.ops.ops.get_mut(i) {
                op.cid = cid;
                op.transport = Some(transport);
                op.phase = Phase::Protected;
                op.token = token();
                op.order = NotificationOrder::new();
            }
            send(s, i, now);
        }
    }
}

/// Sends the requests gcoap could not take earlier whose retry is due; returns when the next
/// one is (absolute ms).
pub(crate) fn retry_deferred(s: &mut State, now: u64) -> Option<u64> {
    for i in 0..MAX_OPS {
        let due = s
            .ops
            .ops
            .get(i)
            .and_then(Option::as_ref)
            .and_then(|o| o.retry_at)
            .is_some_and(|t| t <= now);
        if due {
            send(s, i, now);
        }
    }
    s.ops.ops.iter().flatten().filter_map(|o| o.retry_at).min()
}

/// The engine closed the account `cid`: its DTLS operations end (their session went with
/// the credential). OSCORE operations stay as they are: the host stops answering them.
pub(crate) fn account_closed(s: &mut State, cid: u16) {
    for i in 0..MAX_OPS {
        let over_dtls = s.ops.ops.get(i).and_then(Option::as_ref).is_some_and(|o| {
            o.cid == cid
                && matches!(o.transport, Some(Transport::Dtls(_)))
                && matches!(o.phase, Phase::Protected | Phase::Observing)
        });
        if !over_dtls {
            continue;
        }
        #[cfg(feature = "dtls")]
        if let Some(Some(op)) = s.ops.ops.get(i) {
            if let Some(uri) = dtls_uri(&op.uri).filter(|_| op.observe) {
                // SAFETY: both slices are valid for their lengths during the call.
                unsafe {
                    lwm2m_c2c_glue_obs_forget(
                        uri.as_ptr(),
                        uri.len(),
                        op.token.as_ptr(),
                        op.token.len(),
                    )
                };
            }
        }
        fail(s, i, err::ACCES, "account_closed");
    }
}

/// Requests `rights` on `path` (object or instance) of hosting client `host` from server
/// `ssid` (the `lwm2m_c2c_request_access` C API).
pub(crate) fn request_access(
    s: &mut State,
    ssid: u16,
    host: &str,
    path: Path,
    rights: u8,
    with_credentials: bool,
    now: u64,
) -> c_int {
    let grant = Grant {
        path: path.truncated(2),
        rights,
    };
    match s
        .engine
        .request_access(ssid, host, &[grant], with_credentials, now)
    {
        Ok(()) => {
            ev!(
                "auth_begin h=- host={} ssid={} path={}",
                host,
                ssid,
                grant.path
            );
            0
        }
        Err(e) => -c_int::from(e.code()),
    }
}
