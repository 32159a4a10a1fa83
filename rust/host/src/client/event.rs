//! [`Event`]: what the client did, one line each in the binary's output.

use std::fmt;
use std::net::SocketAddr;

use lwm2m::engine::{HintCounters, Identity};
use lwm2m::objects::device::DeviceAction;

use super::c2c::C2cStep;
use lwm2m_endpoint::msg::{code_string, method_name};

/// Something the client did, one line each in the binary's output.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// Registered to a server.
    Registered {
        /// Short Server ID.
        ssid: u16,
    },
    /// A Register failed (error code, timeout, reset, unreachable); the engine retries.
    RegistrationFailed {
        /// Short Server ID.
        ssid: u16,
        /// Why.
        reason: String,
    },
    /// A registration Update succeeded.
    Updated {
        /// Short Server ID.
        ssid: u16,
    },
    /// An Update failed; the engine registers again.
    UpdateFailed {
        /// Short Server ID.
        ssid: u16,
        /// Why.
        reason: String,
    },
    /// De-registered (or gave up waiting for the answer).
    Deregistered {
        /// Short Server ID.
        ssid: u16,
        /// The response code, or why there was none.
        result: String,
    },
    /// The Bootstrap-Request got an answer or failed.
    BootstrapRequest {
        /// The response code, or why there was none.
        result: String,
    },
    /// A request was answered.
    RequestServed {
        /// Who sent it.
        peer: SocketAddr,
        /// As whom it was served.
        identity: Identity,
        /// Request code.
        method: u8,
        /// Uri-Path, `/`-joined.
        path: String,
        /// Response code.
        code: u8,
    },
    /// A notification went out.
    NotificationSent {
        /// The observer.
        peer: SocketAddr,
        /// Observed path (as far as known).
        path: String,
        /// Observe sequence number.
        observe: Option<u32>,
        /// CON or NON.
        confirmable: bool,
        /// Response code (an error code ends the observation).
        code: u8,
    },
    /// An observation ended because a notification was reset or never acknowledged.
    ObservationEnded {
        /// The observer.
        peer: Option<SocketAddr>,
        /// Observed path (as far as known).
        path: String,
        /// Why.
        reason: String,
    },
    /// A server executed Reboot or Factory Reset (simulated: only reported).
    DeviceAction(DeviceAction),
    /// An owner server hint hit a rate limit (engine `hint_limit`): `source` (this address's
    /// own bucket was empty), `global` (the cap of all sources) or `table-full` (no slot for
    /// this address: it drew from the global bucket's shared half, and may have got a hint).
    HintLimited {
        /// Who asked.
        peer: SocketAddr,
        /// Which limit.
        limit: &'static str,
        /// The engine's counters after the request.
        counters: HintCounters,
    },
    /// Firmware Update pull: another tenth of the image arrived (`fota-pull-progress`).
    FotaPullProgress {
        /// Image bytes stored so far.
        received: usize,
        /// Image bytes in all.
        total: usize,
        /// Blocks received so far.
        blocks: u32,
    },
    /// Firmware Update pull: a block got no answer after the message layer's retransmissions
    /// and is asked again (`fota-pull-retry`).
    FotaPullRetry {
        /// Package offset of the block.
        offset: usize,
        /// Retry of this block (1, 2, ...).
        retry: u32,
    },
    /// Firmware Update pull ended: `Ok` when the package verified (State Downloaded), else
    /// why not (Update Result /5/0/5 says it too).
    FotaPullEnded {
        /// The Package URI.
        uri: String,
        /// Outcome.
        result: Result<(), String>,
        /// Blocks received.
        blocks: u32,
        /// Blocks asked again over the whole pull.
        retries: u32,
        /// Milliseconds since the first request.
        millis: u64,
    },
    /// A Send (`POST /dp`) was answered 2.04.
    DataSent {
        /// Short Server ID.
        ssid: u16,
    },
    /// A Send was refused by the engine (busy, Mute Send), answered with an error, or got no
    /// answer.
    DataSendFailed {
        /// Short Server ID.
        ssid: u16,
        /// The response code, or why there was none.
        reason: String,
    },
    /// A message could not be sent.
    SendFailed {
        /// Destination.
        dest: String,
        /// Why.
        reason: String,
    },
    /// A step of client-to-client operation `op` (requesting side).
    C2c {
        /// The operation ID ([`ClientHandle::c2c`](super::ClientHandle::c2c)).
        op: u32,
        /// What happened.
        step: C2cStep,
    },
    /// The sessions / context of a peer client account were closed (T2).
    C2cClosed {
        /// Short Client ID of the account.
        short_id: u16,
        /// Why.
        reason: String,
        /// DTLS sessions and handshakes closed.
        dtls_sessions: usize,
        /// An OSCORE context was dropped.
        oscore: bool,
    },
    /// An automatic access request (account refresh) ended.
    C2cAccessRefresh {
        /// Endpoint name of the hosting client.
        host: String,
        /// Short Server ID asked.
        ssid: u16,
        /// Response code text, or `timeout`.
        result: String,
    },
    /// Queue Mode: the client woke (it sent something) and is reachable for `for_ms` (or
    /// longer, if it sends again).
    QueueAwake {
        /// Milliseconds of awake time left.
        for_ms: u64,
    },
    /// Queue Mode: the awake time ended; the client answers nothing until it next sends.
    QueueSleeping {
        /// How long it was awake, in milliseconds.
        awake_ms: u64,
        /// Notifications stored now (sent on the next wake).
        stored: u16,
    },
    /// Queue Mode: a datagram arrived while the client slept and was dropped.
    QueueDropped {
        /// Its sender.
        from: SocketAddr,
        /// Datagrams dropped so far.
        count: u64,
    },
    /// Queue Mode: the notification store was full (`LWM2M_QUEUE_STORE_BYTES`): the oldest
    /// stored notifications were dropped.
    QueueStoreFull {
        /// Notifications dropped so far.
        dropped: u32,
    },
    /// The event loop ended.
    Stopped,
}

fn identity_text(id: Identity) -> String {
    match id {
        Identity::Server(s) => format!("server {s}"),
        Identity::Bootstrap => "bootstrap server".into(),
        Identity::Client(c) => format!("client {c}"),
        Identity::Unauthenticated => "unauthenticated".into(),
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Registered { ssid } => write!(f, "registered ssid={ssid}"),
            Event::RegistrationFailed { ssid, reason } => {
                write!(f, "registration failed ssid={ssid}: {reason}")
            }
            Event::Updated { ssid } => write!(f, "updated ssid={ssid}"),
            Event::UpdateFailed { ssid, reason } => {
                write!(f, "update failed ssid={ssid}: {reason}")
            }
            Event::Deregistered { ssid, result } => {
                write!(f, "deregistered ssid={ssid} ({result})")
            }
            Event::BootstrapRequest { result } => write!(f, "bootstrap request: {result}"),
            Event::RequestServed {
                peer,
                identity,
                method,
                path,
                code,
            } => write!(
                f,
                "served {} {path} from {peer} ({}) -> {}",
                method_name(*method),
                identity_text(*identity),
                code_string(*code)
            ),
            Event::NotificationSent {
                peer,
                path,
                observe,
                confirmable,
                code,
            } => {
                let t = if *confirmable { "CON" } else { "NON" };
                write!(
                    f,
                    "notification sent {path} to {peer} {t} {}",
                    code_string(*code)
                )?;
                match observe {
                    Some(o) => write!(f, " observe={o}"),
                    None => Ok(()),
                }
            }
            Event::ObservationEnded { peer, path, reason } => match peer {
                Some(p) => write!(f, "observation ended {path} by {p}: {reason}"),
                None => write!(f, "observation ended {path}: {reason}"),
            },
            Event::DeviceAction(DeviceAction::Reboot) => {
                f.write_str("device: reboot requested (simulated, nothing done)")
            }
            Event::DeviceAction(DeviceAction::FactoryReset) => {
                f.write_str("device: factory reset requested (simulated, nothing done)")
            }
            Event::HintLimited {
                peer,
                limit,
                counters: c,
            } => write!(
                f,
                "hint limited ({limit}) for {peer}: sent={} source_limited={} global_limited={} table_full={}",
                c.sent, c.source_limited, c.global_limited, c.table_full
            ),
            Event::FotaPullProgress {
                received,
                total,
                blocks,
            } => write!(f, "fota-pull-progress {received}/{total} B in {blocks} blocks"),
            Event::FotaPullRetry { offset, retry } => {
                write!(f, "fota-pull-retry offset={offset} retry={retry}")
            }
            Event::FotaPullEnded {
                uri,
                result,
                blocks,
                retries,
                millis,
            } => {
                let outcome = match result {
                    Ok(()) => "downloaded".to_owned(),
                    Err(e) => format!("failed: {e}"),
                };
                write!(
                    f,
                    "fota-pull {uri} {outcome} ({blocks} blocks, {retries} retries, {millis} ms)"
                )
            }
            Event::DataSent { ssid } => write!(f, "send sent ssid={ssid} (2.04)"),
            Event::DataSendFailed { ssid, reason } => {
                write!(f, "send failed ssid={ssid}: {reason}")
            }
            Event::SendFailed { dest, reason } => write!(f, "send to {dest} failed: {reason}"),
            Event::C2c { op, step } => write!(f, "c2c #{op}: {step}"),
            Event::C2cClosed {
                short_id,
                reason,
                dtls_sessions,
                oscore,
            } => {
                write!(
                    f,
                    "c2c account {short_id} closed ({reason}): {dtls_sessions} DTLS session(s)"
                )?;
                if *oscore {
                    f.write_str(", OSCORE context dropped")?;
                }
                Ok(())
            }
            Event::C2cAccessRefresh { host, ssid, result } => {
                write!(
                    f,
                    "c2c account refresh for {host} at server {ssid}: {result}"
                )
            }
            Event::QueueAwake { for_ms } => write!(f, "queue awake for {for_ms} ms"),
            Event::QueueSleeping { awake_ms, stored } => {
                write!(f, "queue sleeping after {awake_ms} ms awake (stored={stored})")
            }
            Event::QueueDropped { from, count } => {
                write!(f, "queue dropped datagram from {from} while asleep (count={count})")
            }
            Event::QueueStoreFull { dropped } => {
                write!(f, "queue store full: {dropped} notification(s) dropped")
            }
            Event::Stopped => f.write_str("stopped"),
        }
    }
}
