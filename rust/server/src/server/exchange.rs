//! The event loop's bookkeeping: outstanding exchanges and who waits for them, observations,
//! bootstrap sessions, and option helpers. Message IDs, retransmission, NSTART and the
//! separate responses' retransmission are the message layer's ([`crate::transport::layer`]).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::mpsc::Sender;
use std::time::Instant;

use lwm2m::coap::{option, Message};
use lwm2m::Path;

use crate::access::ac;
use crate::bootstrap::{BootstrapConfig, Step};
use crate::dm::ops::Response;
use crate::error::ServerError;
use crate::shared::CallKind;
use crate::transport::msg::{OutRequest, Reply};

pub(super) enum Owner {
    Call {
        reply: Sender<Result<Response, ServerError>>,
        kind: CallKind,
        endpoint: String,
        reg_id: String,
    },
    Bootstrap {
        endpoint: String,
    },
    /// The Write of a shortened lifetime to the client's Server object (`event_loop::lifetime`).
    Lifetime {
        endpoint: String,
        path: Path,
        lifetime: u32,
    },
}

/// A request to a client (by token), from sending (or queueing behind NSTART) to its last
/// Block2 block, its failure or its deadline.
pub(super) struct Exchange {
    pub(super) peer: SocketAddr,
    pub(super) target: Path,
    pub(super) req: OutRequest,
    pub(super) deadline: Instant,
    pub(super) body: Vec<u8>,
    /// Content-Format and Observe of the first block.
    pub(super) first: Option<(Option<u16>, Option<u32>)>,
    /// Times the current Block1 block was sent again after the message layer gave up.
    pub(super) block1_retries: u32,
    pub(super) owner: Owner,
}

pub(super) struct Observation {
    pub(super) peer: SocketAddr,
    pub(super) endpoint: String,
    pub(super) reg_id: String,
    pub(super) path: Path,
    /// The registering request: a cancel repeats its options (RFC 7641 3.6).
    pub(super) req: OutRequest,
}

pub(super) struct BootstrapSession {
    pub(super) peer: SocketAddr,
    pub(super) steps: VecDeque<Step>,
    pub(super) current: &'static str,
}

/// What the dispatcher decided for a request.
pub(super) enum Dispatched {
    Reply(Reply),
    /// Reply, then start a bootstrap session.
    Bootstrap(Reply, String, BootstrapConfig),
    /// An empty ACK now, a separate response when the C2C worker is done.
    Deferred(ac::AcJob),
}

/// Options the server understands in requests it receives.
pub(super) fn known_option(n: u16) -> bool {
    matches!(
        n,
        option::URI_HOST
            | option::URI_PORT
            | option::URI_PATH
            | option::URI_QUERY
            | option::CONTENT_FORMAT
            | option::ACCEPT
            // Served block-wise under `/fw` (firmware pull); elsewhere every answer fits
            // one block, which RFC 7959 2.4 allows.
            | option::BLOCK2
    )
}

pub(super) fn content_format(m: &Message<'_>) -> Option<u16> {
    match m.option_uint(option::CONTENT_FORMAT) {
        Some(Ok(v)) => u16::try_from(v).ok(),
        _ => None,
    }
}

/// The Location-Path segments of a response (a Create's 2.01).
pub(super) fn location_path(m: &Message<'_>) -> Vec<String> {
    m.options()
        .filter(|o| o.number == option::LOCATION_PATH)
        .map(|o| String::from_utf8_lossy(o.value).into_owned())
        .collect()
}

pub(super) fn observe_value(m: &Message<'_>) -> Option<u32> {
    match m.option_uint(option::OBSERVE) {
        Some(Ok(v)) => Some(v),
        _ => None,
    }
}
