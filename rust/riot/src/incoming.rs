//! Datagrams that arrive: requests (duplicate detection, identity, OSCORE or plain), responses
//! to the engine's and the requester's requests, and the glue's reports of requests that
//! failed.

use core::ffi::c_int;

use lwm2m::coap::dedup::{Check, Received};
use lwm2m::coap::{Message, MessageBuilder, MessageType};
use lwm2m::engine::{source_key, Destination, Identity, Peer};
use lwm2m::objects::security::mode;

use crate::ev::ev;
use crate::{with_state, State, DEDUP};
use crate::{
    LWM2M_C2C_DEST_BOOTSTRAP, LWM2M_C2C_DEST_SERVER, LWM2M_C2C_ID_BOOTSTRAP, LWM2M_C2C_ID_CLIENT,
    LWM2M_C2C_ID_SERVER,
};

/// Handles the request `req[..req_len]` and writes the response into `resp[..cap]` (which may
/// be the same buffer: gcoap answers in place). Returns the response length, 0 when nothing
/// is to be sent (a duplicate NON), or a negative value when the datagram is not CoAP or no
/// response could be built (gcoap then answers 5.00).
///
/// `id_kind` / `id` is the identity the transport vouches for (see `LWM2M_C2C_ID_*`);
/// `endpoint` the C glue's handle of the remote (one per address, port and transport), used
/// again for notifications and, with `id_kind` / `id`, as the peer of duplicate detection
/// (RFC 7252 section 4.5): a duplicate CON gets the response of its first copy again, a
/// duplicate NON nothing, before any OSCORE or engine processing. `u32::MAX` (the glue's
/// table was full) skips that detection, since it names no single remote. `addr[..addr_len]`
/// is the remote's network address without port (4 bytes IPv4 or 16 bytes IPv6; NULL / 0 when
/// unknown): the engine rate limits owner server hints per address ([`Peer::source`]).
///
/// # Safety
/// `req` must be valid for reads of `req_len` bytes, `resp` for writes of `cap` bytes and
/// `addr` (unless NULL) for reads of `addr_len` bytes.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn lwm2m_riot_handle_request(
    id_kind: u8,
    id: u16,
    endpoint: u32,
    addr: *const u8,
    addr_len: usize,
    req: *const u8,
    req_len: usize,
    resp: *mut u8,
    cap: usize,
    now: u64,
) -> isize {
    if req.is_null() || resp.is_null() {
        return -1;
    }
    with_state(|s| {
        // Queue Mode: asleep, the node is not reachable (the radio is off where it can be).
        #[cfg(feature = "queue-mode")]
        if crate::queue::drop_request(s, now) {
            return 0;
        }
        let identity = match id_kind {
            // By address (plain UDP): only a NoSec account's server, and not when the account
            // uses OSCORE (its requests come protected, through `answer`).
            LWM2M_C2C_ID_SERVER
                if s.engine.security().by_ssid(id).is_some_and(|a| {
                    a.mode == mode::NOSEC && (cfg!(not(feature = "oscore")) || a.oscore.is_none())
                }) =>
            {
                Identity::Server(id)
            }
            LWM2M_C2C_ID_BOOTSTRAP => Identity::Bootstrap,
            LWM2M_C2C_ID_CLIENT => Identity::Client(id),
            #[cfg(feature = "dtls")]
            crate::LWM2M_C2C_ID_DTLS => crate::dtls::identity(&s.engine, id),
            #[cfg(all(feature = "dtls", feature = "c2c"))]
            crate::LWM2M_C2C_ID_DTLS_CLIENT => crate::dtls::client_identity(&s.engine, id, now),
            _ => Identity::Unauthenticated,
        };
        let source = if addr.is_null() || addr_len > 16 {
            0
        } else {
            // SAFETY: the caller promises `addr` is valid for `addr_len` bytes (checked
            // non-NULL; at most an IPv6 address).
            source_key(unsafe { core::slice::from_raw_parts(addr, addr_len) })
        };
        let peer = Peer {
            identity,
            endpoint,
            source,
        };
        let Some(rx) = s.rx.get_mut(..req_len) else {
            return -1;
        };
        // SAFETY: the caller promises `req` is valid for `req_len` bytes; the slice is dropped
        // before the response slice, which may alias it, is created.
        rx.copy_from_slice(unsafe { core::slice::from_raw_parts(req, req_len) });
        // SAFETY: the caller promises `resp` is valid for `cap` bytes; the request was copied.
        let out = unsafe { core::slice::from_raw_parts_mut(resp, cap) };
        // Duplicates first, on the outer message: a retransmitted OSCORE request must not
        // reach the replay check (whose 4.01 would end the requester's observation), nor any
        // request the engine a second time.
        // The peer: the glue's handle of the remote and the identity its transport vouched
        // for (a DTLS session of another identity from the same address is another peer).
        let key = u64::from(endpoint) | (u64::from(id_kind) << 32) | (u64::from(id) << 40);
        let seen = Received::parse(key, rx).filter(|_| endpoint != u32::MAX);
        let mut dedup = DEDUP.lock();
        if let Some(r) = &seen {
            match dedup.check(r, now) {
                Check::Fresh => {}
                Check::Replay(bytes) => {
                    ev!("dup_rx mid={} replayed=1", r.mid);
                    let Some(dst) = out.get_mut(..bytes.len()) else {
                        return -1;
                    };
                    dst.copy_from_slice(bytes);
                    return isize::try_from(bytes.len()).unwrap_or(-1);
                }
                Check::DuplicateNoReply => {
                    ev!("dup_rx mid={} replayed=0", r.mid);
                    // 0: gcoap sends nothing (a negative value would make it answer 5.00).
                    return 0;
                }
                Check::DuplicateTooLarge => ev!("dup_too_large mid={}", r.mid),
            }
        }
        #[cfg(feature = "c2c")]
        let hints = s.engine.hint_counters();
        let res = answer(s, &peer, req_len, &mut *out, now);
        #[cfg(feature = "c2c")]
        {
            let c = s.engine.hint_counters();
            if let Some(limit) = c.limit_hit_since(&hints) {
                ev!(
                    "hint_limited limit={limit} sent={} source_limited={} global_limited={} table_full={}",
                    c.sent,
                    c.source_limited,
                    c.global_limited,
                    c.table_full
                );
            }
        }
        if let (Some(r), Some(resp)) = (seen, usize::try_from(res).ok().and_then(|n| out.get(..n)))
        {
            // Reported at counts 1, 2, 4, 8, ...: a burst (a Firmware Update's Block1
            // requests) evicts on every request, and one line each would flood the console.
            if dedup.record(&r, resp, now) {
                let n = dedup.counters().evicted_early;
                if n.is_power_of_two() {
                    ev!("dedup_full evicted_early={}", n);
                }
            }
        }
        res
    })
    .unwrap_or(-1)
}

/// Answers the request in `s.rx[..req_len]` from `peer` into `out` (OSCORE-protected requests
/// through [`crate::secure::handle_request`]); returns the response length, negative for none.
fn answer(s: &mut State, peer: &Peer, req_len: usize, out: &mut [u8], now: u64) -> isize {
    #[cfg(feature = "oscore")]
    if Message::parse(s.rx.get(..req_len).unwrap_or(&[]))
        .is_ok_and(|m| m.option(lwm2m::coap::option::OSCORE).is_some())
    {
        let r = crate::secure::handle_request(s, peer.endpoint, peer.source, req_len, out, now);
        s.report();
        return r;
    }
    let Ok(msg) = Message::parse(s.rx.get(..req_len).unwrap_or(&[])) else {
        return -1;
    };
    let mtype = match msg.mtype {
        MessageType::Con => MessageType::Ack,
        _ => MessageType::Non,
    };
    let Ok(mut b) = MessageBuilder::new(out, mtype, 0, msg.message_id, msg.token) else {
        return -1;
    };
    s.engine.handle_request(peer, &msg, now, &mut b);
    let len = b.finish();
    // A bootstrap server may have written Security instances.
    #[cfg(feature = "dtls")]
    s.dtls.sync(&s.engine);
    s.report();
    isize::try_from(len).unwrap_or(-1)
}

/// Hands a response to a request the engine sent. `dtls_cred` names the credential of the
/// DTLS session it came over (`LWM2M_C2C_CRED_*` << 16 | instance), negative when it did not
/// come over DTLS (or not over a session with a credential recorded).
///
/// # Safety
/// `buf` must be valid for reads of `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn lwm2m_riot_handle_response(
    buf: *const u8,
    len: usize,
    dtls_cred: c_int,
    now: u64,
) {
    if buf.is_null() {
        return;
    }
    #[cfg(not(feature = "c2c-auth"))]
    let _ = dtls_cred;
    // SAFETY: the caller promises `buf` is valid for `len` bytes.
    let bytes = unsafe { core::slice::from_raw_parts(buf, len) };
    let _ = with_state(|s| {
        #[cfg(feature = "c2c-auth")]
        if let Some(i) = Message::parse(bytes)
            .ok()
            .and_then(|m| s.ops.by_token(m.token))
        {
            if let Some(rx) = s.rx.get_mut(..len) {
                rx.copy_from_slice(bytes);
                crate::requester::response(s, i, len, dtls_cred, now);
            }
            return;
        }
        #[cfg(feature = "oscore")]
        if crate::server_oscore::response(s, bytes, now) {
            s.report();
            return;
        }
        if let Ok(msg) = Message::parse(bytes) {
            // A block of a Firmware Update pull (crate::fota_pull).
            #[cfg(feature = "fota-pull")]
            if s.pull.owns(msg.token) {
                crate::fota_pull::response(&mut s.pull, &mut s.engine, &msg, now);
                return;
            }
            s.engine.handle_response(&msg, now);
            s.report();
        }
    });
}

/// Tells the engine that a request it sent timed out or was rejected.
///
/// # Safety
/// `token` must be valid for reads of `token_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn lwm2m_riot_request_failed(
    kind: u8,
    id: u32,
    token: *const u8,
    token_len: usize,
    now: u64,
) {
    let token: &[u8] = if token.is_null() || token_len > 8 {
        &[]
    } else {
        // SAFETY: the caller promises `token` is valid for `token_len` bytes.
        unsafe { core::slice::from_raw_parts(token, token_len) }
    };
    #[cfg(feature = "c2c-auth")]
    if kind == crate::LWM2M_C2C_DEST_PEER {
        let _ = with_state(|s| {
            if s.ops.by_token(token).is_some() {
                crate::requester::failed(s, id as usize);
            }
        });
        return;
    }
    let dest = match kind {
        LWM2M_C2C_DEST_SERVER => Destination::Server(u16::try_from(id).unwrap_or(0)),
        LWM2M_C2C_DEST_BOOTSTRAP => Destination::Bootstrap,
        _ => Destination::Endpoint(id),
    };
    let _ = with_state(|s| {
        #[cfg(feature = "fota-pull")]
        if crate::fota_pull::failed(&mut s.pull, &mut s.engine, token, now) {
            return;
        }
        s.engine.request_failed(dest, token, now);
        s.report();
    });
}
