//! Firmware Update pull on the host: when the engine has a Package URI to fetch
//! ([`lwm2m::engine::Engine::firmware_pull`]), the driver GETs it with Block2 (RFC 7959), one
//! block in flight, each block a CON through the client's own message layer (which
//! retransmits what is lost), and feeds every block to the engine
//! ([`lwm2m::engine::Engine::firmware_pull_block`]), which streams it through the manifest,
//! digest and sink path a push takes. When the message layer gives up on a block, the same
//! block is asked again, up to [`PullOptions::retries`] times in a row (so a transfer resumes
//! where the loss stopped it); then the pull ends with Update Result 4. An error response ends
//! it with 7 (4.xx, e.g. 4.04 for an unknown package) or 4 (any other). The block size is
//! [`PullOptions::block_size`]; a server that answers with smaller blocks is followed.
//!
//! Security of the fetch: the GETs go out as any datagram to that address does, so a Package
//! URI on one of the client's LwM2M servers (the server serves `/fw/<id>` itself) is fetched
//! over that server account's channel: its DTLS session, or its OSCORE context (Security
//! res 17) when the account uses OSCORE. A `coaps://` URI is fetched only from the address of
//! a server account in PSK mode, with that account's credentials (never in clear, and no
//! account's key is offered to another host); any other `coaps://` URI ends the pull with
//! Update Result 7, Invalid URI (the host has no credentials for it; a RIOT node answers a URI
//! outside its server accounts the same way). A `coap://` URI elsewhere is fetched
//! in clear; the package's integrity is its manifest's SHA-256 either way.
//! A further `impl` block of [`HostClient`].

use std::net::SocketAddr;
use std::time::Instant;

use lwm2m::coap::{code, option, Block, Message, MessageBuilder, MessageType};
use lwm2m::engine::Destination;
use lwm2m::firmware::{Protocol, PullFailure};
use lwm2m::objects::security::mode;
use lwm2m_endpoint::msg::code_string;

use super::driver::{HostClient, BUF_LEN};
use super::event::Event;
use crate::clock::Clock;
use crate::message::Sent;
use crate::transport::Transport;
use crate::uri::{ResourceUri, Scheme, ServerUri};

/// The protocols the host fetches a Package URI with (resource 8 of object 5).
pub const PULL_PROTOCOLS: &[Protocol] = &[Protocol::Coap, Protocol::Coaps];
/// Block2 size of a pull unless configured (`--fota-block`).
pub const DEFAULT_PULL_BLOCK: usize = 512;
/// Times one block is asked again after the message layer gave up on it, unless configured
/// (`--fota-pull-retries`).
pub const DEFAULT_PULL_RETRIES: u32 = 4;

/// How the host pulls a Package URI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PullOptions {
    /// Block2 size asked for: 16, 32, ..., 1024 bytes (others are rounded down to one).
    pub block_size: usize,
    /// Times one block is asked again after the message layer gave up on it.
    pub retries: u32,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            block_size: DEFAULT_PULL_BLOCK,
            retries: DEFAULT_PULL_RETRIES,
        }
    }
}

/// A pull in progress.
#[derive(Debug)]
pub(super) struct Pull {
    uri: String,
    to: SocketAddr,
    path: Vec<String>,
    query: Vec<String>,
    /// Block size exponent asked for (a server's smaller one is adopted).
    szx: u8,
    /// Package offset of the block asked for.
    offset: usize,
    /// Token of the request in flight.
    token: Vec<u8>,
    /// Retries of the current block so far.
    retries: u32,
    /// Retries over the whole pull.
    retried: u32,
    /// Blocks received.
    blocks: u32,
    /// Tenths of the image reported so far.
    tenth: usize,
    started: Instant,
}

impl<T: Transport, C: Clock> HostClient<'_, T, C> {
    /// True for the token of the pull's request in flight.
    pub(super) fn pull_owns(&self, token: &[u8]) -> bool {
        self.pull.as_ref().is_some_and(|p| p.token == token)
    }

    /// Starts, follows or drops the pull as the engine's Package URI says (after each
    /// datagram and timer round).
    pub(super) fn pull_service(&mut self) {
        let want = self.engine.firmware_pull().map(str::to_owned);
        if self.pull.as_ref().map(|p| &p.uri) == want.as_ref() {
            return;
        }
        if let Some(p) = self.pull.take() {
            // The engine ended it (its download timeout, a reset, a push that replaced it).
            let now = self.now();
            self.ml.cancel(p.to, &p.token, now);
            let result = self.engine.firmware().map(|f| f.result() as u8);
            self.pull_ended(
                p,
                Err(format!("ended by the engine (Update Result {result:?})")),
            );
        }
        if let Some(uri) = want {
            self.pull_start(uri);
        }
    }

    fn pull_start(&mut self, uri: String) {
        let r = match ResourceUri::parse(&uri) {
            Ok(r) => r,
            Err(e) => return self.pull_refused(&uri, PullFailure::InvalidUri, e.to_string()),
        };
        let Some(to) = self.c2c_addr(&r.server.to_string()) else {
            let why = format!("cannot resolve {}", r.server.host);
            return self.pull_refused(&uri, PullFailure::InvalidUri, why);
        };
        if r.server.scheme == Scheme::Coaps {
            if let Err(why) = self.pull_dtls(to) {
                return self.pull_refused(&uri, PullFailure::InvalidUri, why);
            }
        }
        self.pull = Some(Pull {
            uri,
            to,
            path: r.path,
            query: r.query,
            szx: Block::szx_for(self.pull_options.block_size.clamp(16, 1024)),
            offset: 0,
            token: Vec::new(),
            retries: 0,
            retried: 0,
            blocks: 0,
            tenth: 0,
            started: Instant::now(),
        });
        self.pull_send();
    }

    /// Makes the DTLS session of the PSK server account at `to` the channel of a `coaps://`
    /// pull (the transport then sends every datagram to `to` over it).
    fn pull_dtls(&mut self, to: SocketAddr) -> Result<(), String> {
        let accounts: Vec<(u16, String)> = (self.engine.security().instances.iter())
            .filter(|s| !s.bootstrap && s.mode == mode::PSK)
            .map(|s| (s.ssid, s.uri.as_str().to_owned()))
            .collect();
        for (ssid, uri) in accounts {
            let coaps = ServerUri::parse(&uri).is_ok_and(|u| u.scheme == Scheme::Coaps);
            if coaps && self.resolve_uri(&uri).is_ok_and(|a| a.contains(&to)) {
                // Registers `to` as a DTLS peer with the account's PSK.
                return self.resolve_dest(Destination::Server(ssid)).map(drop);
            }
        }
        Err(format!(
            "coaps:// is fetched only from a server account in PSK mode; none is at {to}"
        ))
    }

    /// Asks for the block at the pull's offset (a new token each time).
    fn pull_send(&mut self) {
        let now = self.now();
        self.pull_seq = self.pull_seq.wrapping_add(1);
        let token = [&b"fw"[..], &self.pull_seq.to_be_bytes()].concat();
        let Some(p) = self.pull.as_mut() else {
            return;
        };
        p.token = token;
        let size = 16usize << p.szx;
        let block = Block {
            num: (p.offset / size) as u32,
            more: false,
            szx: p.szx,
        };
        let mut buf = vec![0u8; BUF_LEN];
        let Some(n) = build_get(p, block, &mut buf) else {
            let p = self.pull.take();
            let why = "the request does not fit a datagram".to_string();
            return self.pull_fail(p, PullFailure::InvalidUri, why);
        };
        let to = p.to;
        let handle = self.peer_handle(to, now);
        let msg = &mut buf[..n];
        match self.ml.send(to, Destination::Endpoint(handle), msg, now) {
            Ok(Sent::Now(_)) => {}
            // Sent when NSTART lets it go (the loop's flush).
            Ok(Sent::Queued(_)) => return,
            Err(e) => {
                let p = self.pull.take();
                return self.pull_fail(p, PullFailure::ConnectionLost, e.to_string());
            }
        }
        self.engine.message_sent(now);
        if let Err(e) = self.transport.send(msg, to) {
            // A CON: the message layer sends it again.
            self.emit(Event::SendFailed {
                dest: to.to_string(),
                reason: e.to_string(),
            });
        }
    }

    /// The answer to the pull's request in flight.
    pub(super) fn pull_response(&mut self, msg: &Message<'_>) {
        let now = self.now();
        let Some(p) = self.pull.as_mut() else {
            return;
        };
        if msg.code != code::CONTENT {
            let reason = if msg.code >> 5 == 4 {
                PullFailure::InvalidUri
            } else {
                PullFailure::ConnectionLost
            };
            let p = self.pull.take();
            return self.pull_fail(
                p,
                reason,
                format!("{} from the server", code_string(msg.code)),
            );
        }
        let block = match msg.option(option::BLOCK2).map(Block::decode) {
            Some(Some(b)) => b,
            // No Block2: the whole package in one response.
            None => Block {
                num: 0,
                more: false,
                szx: p.szx,
            },
            Some(None) => {
                let p = self.pull.take();
                return self.pull_fail(p, PullFailure::ConnectionLost, "bad Block2".into());
            }
        };
        let fits = block.szx <= p.szx && (!block.more || msg.payload.len() == block.size());
        if !fits || block.offset() != p.offset {
            let p = self.pull.take();
            let why = format!("unexpected block {} (size {})", block.num, block.size());
            return self.pull_fail(p, PullFailure::ConnectionLost, why);
        }
        let last = !block.more;
        if let Err(e) = self
            .engine
            .firmware_pull_block(p.offset, msg.payload, last, now)
        {
            // The engine ended the download (its Update Result says why).
            let p = self.pull.take();
            return self.pull_over(p, Err(format!("refused: {e:?}")));
        }
        p.blocks += 1;
        p.offset += msg.payload.len();
        p.szx = block.szx;
        p.retries = 0;
        let (written, total) = self.engine.firmware().map_or((0, 0), |f| f.progress());
        let tenth = (written * 10).checked_div(total).unwrap_or(0);
        if tenth > p.tenth {
            p.tenth = tenth;
            let blocks = p.blocks;
            self.emit(Event::FotaPullProgress {
                received: written,
                total,
                blocks,
            });
        }
        if last {
            let p = self.pull.take();
            return self.pull_over(p, Ok(()));
        }
        self.pull_send();
    }

    /// The message layer gave up on the pull's request (timeout or reset): the same block
    /// again, or the end after [`PullOptions::retries`] retries.
    pub(super) fn pull_no_answer(&mut self, reason: &str) {
        let max = self.pull_options.retries;
        let Some(p) = self.pull.as_mut() else {
            return;
        };
        if p.retries >= max {
            let p = self.pull.take();
            let why = format!("no answer ({reason}) after {max} retries");
            return self.pull_fail(p, PullFailure::ConnectionLost, why);
        }
        p.retries += 1;
        p.retried += 1;
        let (offset, retry) = (p.offset, p.retries);
        self.emit(Event::FotaPullRetry { offset, retry });
        self.pull_send();
    }

    /// Ends a pull that could not start.
    fn pull_refused(&mut self, uri: &str, reason: PullFailure, why: String) {
        let now = self.now();
        self.engine.firmware_pull_failed(reason, now);
        self.emit(Event::FotaPullEnded {
            uri: uri.to_owned(),
            result: Err(why),
            blocks: 0,
            retries: 0,
            millis: 0,
        });
    }

    /// Ends the pull `p` with `reason` (Update Result 4, 7 or 9).
    fn pull_fail(&mut self, p: Option<Pull>, reason: PullFailure, why: String) {
        let now = self.now();
        self.engine.firmware_pull_failed(reason, now);
        self.pull_over(p, Err(why));
    }

    fn pull_over(&mut self, p: Option<Pull>, result: Result<(), String>) {
        if let Some(p) = p {
            self.pull_ended(p, result);
        }
    }

    fn pull_ended(&mut self, p: Pull, result: Result<(), String>) {
        self.emit(Event::FotaPullEnded {
            uri: p.uri,
            result,
            blocks: p.blocks,
            retries: p.retried,
            millis: p.started.elapsed().as_millis() as u64,
        });
    }
}

/// The CON GET of `block` of the pull's resource (message ID set by the message layer).
fn build_get(p: &Pull, block: Block, buf: &mut [u8]) -> Option<usize> {
    let mut b = MessageBuilder::new(buf, MessageType::Con, code::GET, 0, &p.token).ok()?;
    for s in &p.path {
        b.option(option::URI_PATH, s.as_bytes()).ok()?;
    }
    for q in &p.query {
        b.option(option::URI_QUERY, q.as_bytes()).ok()?;
    }
    b.option_uint(option::BLOCK2, block.to_uint()).ok()?;
    Some(b.finish())
}
