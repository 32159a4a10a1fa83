//! Firmware Update pull (feature `fota-pull`, `LWM2M_FOTA_PULL=1`): when the engine has a
//! Package URI to fetch ([`lwm2m::engine::Engine::firmware_pull`]), this driver GETs it with
//! Block2 (RFC 7959), one block in flight, and feeds each block to
//! [`lwm2m::engine::Engine::firmware_pull_block`], which streams it through the manifest,
//! digest and sink path a push takes.
//!
//! Which URIs are fetched: `coap://` or `coaps://` with an IP literal host whose address and
//! port (the glue compares them parsed, `lwm2m_c2c_glue_same_endpoint`) are those of one of the
//! node's DM server accounts, with the scheme of that account's URI (the LwM2M server serves
//! `/fw/<id>` itself). Each block then is a CON request to that account, sent through the
//! glue's send path like the engine's own requests to it: over the account's DTLS session for
//! `coaps://`, OSCORE-protected for an account with an OSCORE context, in the clear only for a
//! NoSec `coap://` account. An IPv6 zone (`%6`) names an
//! interface of the host that wrote the URI and is left out of the comparison. Anything else
//! (another host, a host name: the node resolves none, a scheme that does not match, a
//! `coaps://` URI for a `coap://` account) ends the pull with Update Result 7 (InvalidUri) and
//! an `EV fota_pull_end ok=0 why=...` line; a `coaps://` URI in a build without DTLS gets
//! Result 9 from the engine already (resource 8 lists CoAP alone, [`PROTOCOLS`]).
//!
//! Path segments and queries are sent as written (no percent-decoding). The block size is
//! `CONFIG_LWM2M_FOTA_PULL_BLOCK` (256: a 512-byte block and its header do not fit gcoap's
//! 512-byte PDU buffer); a server that answers with smaller blocks is followed. A block gcoap
//! gave up on (its CON retransmissions timed out) is asked again, up to
//! `CONFIG_LWM2M_FOTA_PULL_RETRIES` (4) times in a row; then the pull ends with Update Result
//! 4 (ConnectionLost). An error response ends it with 7 (4.xx, e.g. 4.04 for an unknown
//! package) or 4 (any other). A request gcoap cannot take at once (its request memo or resend
//! buffer is busy with another CON) goes out `BUSY_RETRY_MS` later and counts as no retry; the
//! engine's download timeout (`LWM2M_FOTA_TIMEOUT_MS`) bounds those waits.
//!
//! Requests leave from the engine's thread (the poll), never from gcoap's response callback,
//! where the finished request's resend buffer is still taken: a response only records that the
//! next block is due and the glue wakes the poll thread.

use lwm2m::coap::{code, option, Block, Message, MessageBuilder, MessageType};
use lwm2m::engine::{Destination, Engine};
use lwm2m::firmware::{Protocol, PullFailure};

use crate::ev::ev;
use crate::outgoing::send;
use crate::State;

/// The protocols this driver fetches a Package URI with (resource 8 of object 5): CoAP, and
/// CoAPS in builds with DTLS toward servers (`LWM2M_DTLS=1`).
#[cfg(feature = "dtls")]
pub(crate) const PROTOCOLS: &[Protocol] = &[Protocol::Coap, Protocol::Coaps];
/// The protocols this driver fetches a Package URI with (resource 8 of object 5): CoAP, and
/// CoAPS in builds with DTLS toward servers (`LWM2M_DTLS=1`).
#[cfg(not(feature = "dtls"))]
pub(crate) const PROTOCOLS: &[Protocol] = &[Protocol::Coap];

/// Milliseconds before a request gcoap could not take is sent again.
const BUSY_RETRY_MS: u64 = 100;
/// Token bytes of a pull request: `fw` and 4 random bytes, new for every request.
const TOKEN_LEN: usize = 6;

extern "C" {
    /// `CONFIG_LWM2M_FOTA_PULL_BLOCK` (C glue, lwm2m_c2c_fota.c).
    fn lwm2m_c2c_glue_fota_pull_block() -> u16;
    /// `CONFIG_LWM2M_FOTA_PULL_RETRIES` (C glue, lwm2m_c2c_fota.c).
    fn lwm2m_c2c_glue_fota_pull_retries() -> u8;
    /// Whether URIs `a` and `b` (not NUL-terminated) name the same IP address and port (C glue,
    /// lwm2m_c2c_fota.c; false when either does not parse).
    fn lwm2m_c2c_glue_same_endpoint(a: *const u8, a_len: usize, b: *const u8, b_len: usize)
        -> bool;
}

/// The pull in progress, if `active`.
pub(crate) struct Pull {
    active: bool,
    /// FNV-1a hash of the Package URI it fetches (to notice that the engine's changed).
    uri_hash: u32,
    /// The server account it goes to.
    ssid: u16,
    /// Block size exponent asked for (a server's smaller one is adopted).
    szx: u8,
    /// Package offset of the block asked for.
    offset: usize,
    /// Token of the request in flight, if `in_flight`.
    token: [u8; TOKEN_LEN],
    in_flight: bool,
    /// When the next request goes out (`None`: one is in flight).
    due: Option<u64>,
    /// Retries of the current block so far, and over the whole pull.
    retries: u8,
    retried: u32,
    /// Blocks received.
    blocks: u32,
    /// Tenths of the image reported so far.
    tenth: usize,
    started: u64,
}

impl Pull {
    pub(crate) const fn new() -> Self {
        Pull {
            active: false,
            uri_hash: 0,
            ssid: 0,
            szx: 0,
            offset: 0,
            token: [0; TOKEN_LEN],
            in_flight: false,
            due: None,
            retries: 0,
            retried: 0,
            blocks: 0,
            tenth: 0,
            started: 0,
        }
    }

    /// True for the token of the pull's request in flight.
    pub(crate) fn owns(&self, token: &[u8]) -> bool {
        self.active && self.in_flight && token == self.token
    }
}

/// Milliseconds since `since`, for event lines (u32: no 64-bit formatting linked in for them).
fn millis(now: u64, since: u64) -> u32 {
    u32::try_from(now.saturating_sub(since)).unwrap_or(u32::MAX)
}

fn hash(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// `uri`'s scheme (`true`: coaps) and what follows its authority (path, query), for a
/// `coap://` or `coaps://` URI; `None` otherwise.
fn split(uri: &str) -> Option<(bool, &str)> {
    let (scheme, rest) = uri.split_once(':')?;
    let rest = rest.strip_prefix("//")?;
    let coaps = if scheme.eq_ignore_ascii_case("coaps") {
        true
    } else if scheme.eq_ignore_ascii_case("coap") {
        false
    } else {
        return None;
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some((coaps, rest.get(end..).unwrap_or("")))
}

fn same_endpoint(a: &str, b: &str) -> bool {
    // SAFETY: both pointers are valid for their lengths during the call; the glue only reads.
    unsafe { lwm2m_c2c_glue_same_endpoint(a.as_ptr(), a.len(), b.as_ptr(), b.len()) }
}

/// The DM server account whose URI has the scheme, address and port of `uri`.
fn account_for(engine: &Engine<'_>, uri: &str) -> Result<u16, &'static str> {
    let (coaps, _) = split(uri).ok_or("not_a_server_account")?;
    let mut same_host = false;
    for a in engine.security().instances.iter().filter(|a| !a.bootstrap) {
        let Some((c, _)) = split(&a.uri) else {
            continue;
        };
        if same_endpoint(uri, &a.uri) {
            if c == coaps {
                return Ok(a.ssid);
            }
            same_host = true;
        }
    }
    Err(if same_host {
        "scheme_not_the_accounts"
    } else {
        "not_a_server_account"
    })
}

/// Starts, follows or drops the pull as the engine's Package URI says, and sends the request
/// that is due (on the engine's thread, from the poll). Returns when it wants to run again.
pub(crate) fn service(s: &mut State, now: u64) -> Option<u64> {
    let want = s.engine.firmware_pull().map(hash);
    if s.pull.active && want != Some(s.pull.uri_hash) {
        // The engine ended it (its download timeout, a reset, a push that replaced it).
        let result = s.engine.firmware().map_or(0, |f| f.result() as u8);
        ev!(
            "fota_pull_end ok=0 why=ended_by_engine result={} blocks={} retries={} ms={}",
            result,
            s.pull.blocks,
            s.pull.retried,
            millis(now, s.pull.started)
        );
        s.pull.active = false;
    }
    if let (false, Some(h)) = (s.pull.active, want) {
        start(s, h, now);
    }
    if !s.pull.active {
        return None;
    }
    if s.pull.due.is_some_and(|t| t <= now) {
        send_block(s, now);
    }
    s.pull.due
}

fn start(s: &mut State, uri_hash: u32, now: u64) {
    let Some(uri) = s.engine.firmware_pull() else {
        return;
    };
    let ssid = match account_for(&s.engine, uri) {
        Ok(ssid) => ssid,
        Err(why) => {
            ev!("fota_pull_end ok=0 why={} uri={}", why, uri);
            s.engine.firmware_pull_failed(PullFailure::InvalidUri, now);
            return;
        }
    };
    // SAFETY: plain C call returning a compile-time constant.
    let block = usize::from(unsafe { lwm2m_c2c_glue_fota_pull_block() });
    let szx = Block::szx_for(block.clamp(16, 1024));
    ev!(
        "fota_pull_start ssid={} block={} uri={}",
        ssid,
        16 << szx,
        uri
    );
    s.pull = Pull {
        active: true,
        uri_hash,
        ssid,
        szx,
        due: Some(now),
        started: now,
        ..Pull::new()
    };
}

/// Asks for the block at the pull's offset (a new token each time).
fn send_block(s: &mut State, now: u64) {
    let p = &mut s.pull;
    // SAFETY: plain C call into RIOT's random module (seeded at boot).
    let r = unsafe { riot_sys::random_uint32() };
    let [a, b, c, d] = r.to_be_bytes();
    p.token = [b'f', b'w', a, b, c, d];
    let block = Block {
        num: (p.offset / (16usize << p.szx)) as u32,
        more: false,
        szx: p.szx,
    };
    let uri = s.engine.firmware_pull().unwrap_or("");
    let Some(len) = build_get(uri, &p.token, block, &mut s.tx) else {
        ev!("fota_pull_end ok=0 why=request_too_long");
        s.pull.active = false;
        s.engine.firmware_pull_failed(PullFailure::InvalidUri, now);
        return;
    };
    let ssid = p.ssid;
    let dest = Destination::Server(ssid);
    // Requests to an account with OSCORE go out protected, as the engine's own.
    #[cfg(feature = "oscore")]
    let msg = match crate::server_oscore::protect(s, ssid, len) {
        Some(0) => None,
        Some(n) => s.sec.out.get_mut(..n),
        None => s.tx.get_mut(..len),
    };
    #[cfg(not(feature = "oscore"))]
    let msg = s.tx.get_mut(..len);
    let sent = msg.map_or(-1, |m| send(&s.engine, dest, m, true));
    if sent > 0 {
        s.pull.in_flight = true;
        s.pull.due = None;
    } else {
        s.pull.due = Some(now + BUSY_RETRY_MS);
    }
}

/// The CON GET of `block` of `uri`'s resource into `buf` (message ID set by the glue).
fn build_get(uri: &str, token: &[u8], block: Block, buf: &mut [u8]) -> Option<usize> {
    let (_, tail) = split(uri)?;
    let tail = tail.split('#').next().unwrap_or("");
    let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
    let mut b = MessageBuilder::new(buf, MessageType::Con, code::GET, 0, token).ok()?;
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        b.option(option::URI_PATH, seg.as_bytes()).ok()?;
    }
    for q in query.split('&').filter(|q| !q.is_empty()) {
        b.option(option::URI_QUERY, q.as_bytes()).ok()?;
    }
    b.option_uint(option::BLOCK2, block.to_uint()).ok()?;
    Some(b.finish())
}

/// Ends the pull with `reason` (Update Result 4, 7 or 9).
fn fail(p: &mut Pull, engine: &mut Engine<'_>, reason: PullFailure, why: &str, now: u64) {
    p.active = false;
    engine.firmware_pull_failed(reason, now);
    let result = engine.firmware().map_or(0, |f| f.result() as u8);
    ev!(
        "fota_pull_end ok=0 why={} result={} blocks={} retries={} ms={}",
        why,
        result,
        p.blocks,
        p.retried,
        millis(now, p.started)
    );
}

/// The answer to the pull's request in flight (gcoap's thread; [`Pull::owns`] its token).
pub(crate) fn response(p: &mut Pull, engine: &mut Engine<'_>, msg: &Message<'_>, now: u64) {
    p.in_flight = false;
    if msg.code != code::CONTENT {
        let (reason, why) = if msg.code >> 5 == 4 {
            (PullFailure::InvalidUri, "client_error")
        } else {
            (PullFailure::ConnectionLost, "error_response")
        };
        ev!(
            "fota_pull_error code={}.{:02}",
            msg.code >> 5,
            msg.code & 0x1f
        );
        return fail(p, engine, reason, why, now);
    }
    let block = match msg.option(option::BLOCK2).map(Block::decode) {
        Some(Some(b)) => b,
        // No Block2: the whole package in one response.
        None => Block {
            num: 0,
            more: false,
            szx: p.szx,
        },
        Some(None) => return fail(p, engine, PullFailure::ConnectionLost, "bad_block2", now),
    };
    let fits = block.szx <= p.szx && (!block.more || msg.payload.len() == block.size());
    if !fits || block.offset() != p.offset {
        return fail(
            p,
            engine,
            PullFailure::ConnectionLost,
            "unexpected_block",
            now,
        );
    }
    let last = !block.more;
    if engine
        .firmware_pull_block(p.offset, msg.payload, last, now)
        .is_err()
    {
        // The engine ended the download (its Update Result says why: 5 digest or length, 6
        // not a package, 2 too large, 8 storage).
        p.active = false;
        let result = engine.firmware().map_or(0, |f| f.result() as u8);
        ev!(
            "fota_pull_end ok=0 why=refused result={} blocks={} ms={}",
            result,
            p.blocks,
            millis(now, p.started)
        );
        return;
    }
    p.blocks += 1;
    p.offset += msg.payload.len();
    p.szx = block.szx;
    p.retries = 0;
    let (written, total) = engine.firmware().map_or((0, 0), |f| f.progress());
    let tenth = (written * 10).checked_div(total).unwrap_or(0);
    if tenth > p.tenth && !last {
        p.tenth = tenth;
        ev!(
            "fota_pull received={} total={} blocks={}",
            written,
            total,
            p.blocks
        );
    }
    if last {
        p.active = false;
        ev!(
            "fota_pull_end ok=1 bytes={} blocks={} retries={} ms={}",
            p.offset,
            p.blocks,
            p.retried,
            millis(now, p.started)
        );
        return;
    }
    // Sent by the poll thread, which the glue wakes after this callback.
    p.due = Some(now);
}

/// A request the glue reports failed (gcoap's retransmissions timed out, or its OSCORE
/// response did not verify): true when it was the pull's, which then asks the same block
/// again or ends after `CONFIG_LWM2M_FOTA_PULL_RETRIES` retries.
pub(crate) fn failed(p: &mut Pull, engine: &mut Engine<'_>, token: &[u8], now: u64) -> bool {
    if !p.owns(token) {
        return false;
    }
    p.in_flight = false;
    // SAFETY: plain C call returning a compile-time constant.
    let max = unsafe { lwm2m_c2c_glue_fota_pull_retries() };
    if p.retries >= max {
        fail(p, engine, PullFailure::ConnectionLost, "no_answer", now);
        return true;
    }
    p.retries += 1;
    p.retried += 1;
    ev!("fota_pull_retry offset={} retry={}", p.offset, p.retries);
    p.due = Some(now);
    true
}
