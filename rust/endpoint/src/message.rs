//! The CoAP message layer (RFC 7252 section 4): message IDs, retransmission of confirmable
//! messages, matching of ACK / RST / separate responses, and duplicate detection of incoming
//! messages with replay of the cached answer. The host client and the server's event loop
//! both run it.
//!
//! Like the engine it is sans-IO: every call takes the current time and returns what to send,
//! so the retransmission schedule is tested with a fake clock and a seeded RNG. The
//! retransmission schedule, the duplicate cache and the message IDs are the
//! [`crate::transmission`] blocks.
//!
//! NSTART (RFC 7252 section 4.7, [`TransmissionParams::nstart`], default 1): at most that many
//! confirmable messages per peer are outstanding (sent, not yet acknowledged; after an empty
//! ACK the exchange no longer counts). Further ones are queued in order
//! ([`Sent::Queued`], at most [`TransmissionParams::nstart_queue`] per peer, [`SendError::QueueFull`]
//! beyond) and handed out by [`MessageLayer::poll`] ([`Timeout::Transmit`]) when an earlier one
//! is acknowledged, answered, reset or given up; their retransmission timers start then.
//!
//! Separate responses of this side (a CON with a response code, RFC 7252 5.2.2) are
//! retransmitted until their empty ACK, which ends them.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

use lwm2m::coap::{code, Message, MessageType};
use lwm2m::engine::{Destination, Millis};

use crate::clock::Rng;
pub use crate::transmission::TransmissionParams;
use crate::transmission::{Dedup, DedupCache, IdGen, Retransmission, RetransmitAction, Timestamp};

/// What an incoming datagram means for the engine.
#[derive(Debug)]
pub enum Received<'m, D = Destination> {
    /// A new request (not a duplicate): the engine answers it; build the response header with
    /// [`MessageLayer::response_header`] and hand the result to [`MessageLayer::responded`].
    Request(Message<'m>),
    /// The answer to a request we sent (piggy-backed or separate).
    Response {
        /// Where the request went.
        dest: D,
        /// The request's code (to tell a De-register from a Register).
        request_code: u8,
        /// The response.
        msg: Message<'m>,
    },
    /// The peer rejected a message we sent with RST (for a separate response of ours,
    /// `request_code` is its code).
    Reset {
        /// Where the message went.
        dest: D,
        /// Its token.
        token: Vec<u8>,
        /// Its code.
        request_code: u8,
    },
    /// Nothing for the engine (duplicate, ACK, ping, garbage).
    Nothing,
}

/// The outcome of [`MessageLayer::receive`].
#[derive(Debug)]
pub struct Inbound<'m, D = Destination> {
    /// What the datagram means.
    pub event: Received<'m, D>,
    /// A datagram to send back at once (RST, empty ACK, or a replayed response).
    pub reply: Option<Vec<u8>>,
}

/// What [`MessageLayer::send`] did with a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// Send it now; it got this message ID.
    Now(u16),
    /// A confirmable message behind NSTART: do not send it; [`MessageLayer::poll`] hands it
    /// out ([`Timeout::Transmit`]) when its turn comes. It got this message ID.
    Queued(u16),
}

impl Sent {
    /// The message ID the message got.
    pub fn message_id(self) -> u16 {
        match self {
            Sent::Now(m) | Sent::Queued(m) => m,
        }
    }
}

/// Why [`MessageLayer::send`] refused a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    /// The bytes are not a CoAP message.
    NotCoap,
    /// [`TransmissionParams::nstart_queue`] confirmable messages already wait for this peer.
    QueueFull,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SendError::NotCoap => "not a CoAP message",
            SendError::QueueFull => {
                "NSTART queue of this peer is full (TransmissionParams::nstart_queue)"
            }
        })
    }
}

impl std::error::Error for SendError {}

/// A timer result of [`MessageLayer::poll`].
#[derive(Debug, PartialEq, Eq)]
pub enum Timeout<D = Destination> {
    /// A message queued behind NSTART may go now: send these bytes (its retransmission timer
    /// runs from now).
    Transmit {
        /// Peer.
        to: SocketAddr,
        /// The message.
        bytes: Vec<u8>,
    },
    /// Send these bytes again.
    Retransmit {
        /// Peer.
        to: SocketAddr,
        /// The message, unchanged.
        bytes: Vec<u8>,
    },
    /// No answer: tell the engine ([`lwm2m::engine::Engine::request_failed`]). For a
    /// separate response of ours (a CON with a response code) `request_code` is its code.
    Failed {
        /// Where the message went.
        dest: D,
        /// Its token.
        token: Vec<u8>,
        /// Its code.
        request_code: u8,
    },
}

#[derive(Debug)]
struct Pending<D> {
    to: SocketAddr,
    mid: u16,
    token: Vec<u8>,
    code: u8,
    dest: D,
    bytes: Vec<u8>,
    retrans: Retransmission<Millis>,
    /// An empty ACK came: wait for the separate response until `retrans.next_at`.
    acked: bool,
    /// Waiting behind NSTART: not sent yet, no timer running.
    queued: bool,
}

#[derive(Debug)]
struct SentNon<D> {
    to: SocketAddr,
    mid: u16,
    token: Vec<u8>,
    code: u8,
    dest: D,
    expires: Millis,
}

/// The message layer state. `D` tags each message sent with where it went (the host client's
/// [`Destination`]; the server's is `()`, it matches by token).
#[derive(Debug)]
pub struct MessageLayer<D = Destination> {
    params: TransmissionParams,
    /// Message IDs and the retransmission jitter.
    ids: IdGen,
    /// CON messages sent or queued, in the order they were given to [`MessageLayer::send`].
    pending: Vec<Pending<D>>,
    /// Queued messages released by NSTART, for [`MessageLayer::poll`].
    released: VecDeque<(SocketAddr, Vec<u8>)>,
    sent_non: VecDeque<SentNon<D>>,
    /// Incoming CON / NON messages and our answers (RFC 7252 4.5).
    dedup: DedupCache<Millis>,
    /// Observations this side made: (peer, token) -> destination of the Observe request.
    /// Notifications carrying such a token are responses, not strays to reset.
    observing: HashMap<(SocketAddr, Vec<u8>), (D, u8)>,
    /// Reset NON responses nobody waits for too (not only CON ones).
    reset_stray_non: bool,
}

/// An empty message of `mtype` with message ID `mid` (ACK or RST).
pub fn empty_message(mtype: MessageType, mid: u16) -> Vec<u8> {
    let [a, b] = mid.to_be_bytes();
    vec![0x40 | (mtype as u8) << 4, code::EMPTY, a, b]
}

/// The header fields of a datagram that failed to parse, when its header is readable.
fn readable_con_mid(data: &[u8]) -> Option<u16> {
    match data {
        [b0, _, m0, m1, ..] if b0 >> 6 == 1 && (b0 >> 4) & 3 == MessageType::Con as u8 => {
            Some(u16::from_be_bytes([*m0, *m1]))
        }
        _ => None,
    }
}

impl<D: Copy> MessageLayer<D> {
    /// A message layer; `rng` picks the first message ID and the retransmission jitter.
    pub fn new(params: TransmissionParams, rng: Rng) -> Self {
        MessageLayer {
            params,
            ids: IdGen::new(rng),
            pending: Vec::new(),
            released: VecDeque::new(),
            sent_non: VecDeque::new(),
            dedup: DedupCache::new(params.exchange_lifetime, params.dedup_capacity),
            observing: HashMap::new(),
            reset_stray_non: false,
        }
    }

    /// Also rejects NON responses that match no request and no kept token with RST (RFC 7252
    /// section 4.3 allows it; RFC 7641 section 3.6: a stray notification ends the
    /// observation at its sender). By default only CON ones are reset; the server resets
    /// both, so that clients stop notifying after an observation ended on its side.
    pub fn reset_stray_non(mut self, on: bool) -> Self {
        self.reset_stray_non = on;
        self
    }

    /// Drops the confirmable message to `to` with `token` (sent or queued) without waiting
    /// for its answer, e.g. when the caller gave up on the exchange; the next queued message
    /// to `to` may go. True if there was one.
    pub fn cancel(&mut self, to: SocketAddr, token: &[u8], now: Millis) -> bool {
        let Some(i) = self
            .pending
            .iter()
            .position(|p| p.to == to && p.token.as_slice() == token)
        else {
            return false;
        };
        self.finish(i, now);
        true
    }

    /// Accepts later notifications from `peer` with `token` (an observation this side
    /// started): they are acknowledged (CON) and handed up as [`Received::Response`] to
    /// `dest` with `request_code`, instead of being reset.
    pub fn keep_token(&mut self, peer: SocketAddr, token: &[u8], dest: D, request_code: u8) {
        self.observing
            .insert((peer, token.to_vec()), (dest, request_code));
    }

    /// Stops accepting notifications kept with [`MessageLayer::keep_token`]; the next one is
    /// reset, which ends the observation at the peer.
    pub fn forget_token(&mut self, peer: SocketAddr, token: &[u8]) -> bool {
        self.observing.remove(&(peer, token.to_vec())).is_some()
    }

    /// Number of kept observation tokens.
    pub fn kept_tokens(&self) -> usize {
        self.observing.len()
    }

    /// The parameters.
    pub fn params(&self) -> &TransmissionParams {
        &self.params
    }

    /// A fresh message ID.
    pub fn next_message_id(&mut self) -> u16 {
        self.ids.mid()
    }

    /// Messages to `to` outstanding in the NSTART sense: sent, not acknowledged.
    fn outstanding(&self, to: SocketAddr) -> usize {
        self.pending
            .iter()
            .filter(|p| p.to == to && !p.queued && !p.acked)
            .count()
    }

    /// Prepares a message the engine built for sending: sets its message ID (bytes 2..4) and,
    /// for a CON, starts its retransmission timer, or queues it behind NSTART
    /// ([`Sent::Queued`]: then the caller does not send it).
    pub fn send(
        &mut self,
        to: SocketAddr,
        dest: D,
        msg: &mut [u8],
        now: Millis,
    ) -> Result<Sent, SendError> {
        if Message::parse(msg).is_err() {
            return Err(SendError::NotCoap);
        }
        let con = Message::parse(msg).is_ok_and(|m| m.mtype == MessageType::Con);
        let queue = con && self.outstanding(to) >= self.params.nstart.max(1);
        if queue {
            let waiting = self.pending.iter().filter(|p| p.to == to && p.queued);
            if waiting.count() >= self.params.nstart_queue {
                return Err(SendError::QueueFull);
            }
        }
        let mid = self.next_message_id();
        msg.get_mut(2..4)
            .ok_or(SendError::NotCoap)?
            .copy_from_slice(&mid.to_be_bytes());
        let parsed = Message::parse(msg).map_err(|_| SendError::NotCoap)?;
        let (token, code) = (parsed.token.to_vec(), parsed.code);
        match parsed.mtype {
            MessageType::Con => {
                let retrans = self.arm(now);
                self.pending.push(Pending {
                    to,
                    mid,
                    token,
                    code,
                    dest,
                    bytes: msg.to_vec(),
                    retrans,
                    acked: false,
                    queued: queue,
                });
            }
            MessageType::Non => {
                while self.sent_non.len() >= self.params.non_capacity.max(1) {
                    self.sent_non.pop_front();
                }
                self.sent_non.push_back(SentNon {
                    to,
                    mid,
                    token,
                    code,
                    dest,
                    expires: now.after(self.params.non_lifetime),
                });
            }
            MessageType::Ack | MessageType::Rst => {}
        }
        Ok(if queue {
            Sent::Queued(mid)
        } else {
            Sent::Now(mid)
        })
    }

    /// The retransmission timer of a CON first sent at `now`.
    fn arm(&mut self, now: Millis) -> Retransmission<Millis> {
        let r = self.ids.rng().next_f64();
        Retransmission::new(&self.params, now, r)
    }

    /// Removes pending message `i` and lets the next queued one to its peer go.
    fn finish(&mut self, i: usize, now: Millis) -> Pending<D> {
        let p = self.pending.remove(i);
        self.release(p.to, now);
        p
    }

    /// Releases queued messages to `to` while NSTART allows (in the order they were queued).
    fn release(&mut self, to: SocketAddr, now: Millis) {
        while self.outstanding(to) < self.params.nstart.max(1) {
            let Some(i) = self.pending.iter().position(|p| p.to == to && p.queued) else {
                return;
            };
            let retrans = self.arm(now);
            let Some(p) = self.pending.get_mut(i) else {
                return;
            };
            p.queued = false;
            p.retrans = retrans;
            self.released.push_back((to, p.bytes.clone()));
        }
    }

    /// Type and message ID of the response to `req`: a piggy-backed ACK for a CON, a NON with
    /// a fresh message ID for a NON (RFC 7252 section 5.2).
    pub fn response_header(&mut self, req: &Message<'_>) -> (MessageType, u16) {
        match req.mtype {
            MessageType::Con => (MessageType::Ack, req.message_id),
            _ => (MessageType::Non, self.next_message_id()),
        }
    }

    /// Remembers the response to the request `req_mid` from `from`, so a retransmitted CON
    /// gets the same answer instead of being executed again.
    pub fn responded(&mut self, from: SocketAddr, req_mid: u16, response: &[u8]) {
        self.dedup.set_response(from, req_mid, response.to_vec());
    }

    /// Processes one datagram from `from`.
    pub fn receive<'m>(&mut self, from: SocketAddr, data: &'m [u8], now: Millis) -> Inbound<'m, D> {
        let nothing = |reply| Inbound {
            event: Received::Nothing,
            reply,
        };
        let msg = match Message::parse(data) {
            Ok(m) => m,
            // RFC 7252 4.2 / 4.3: reject a malformed CON with RST, silently drop the rest.
            Err(_) => {
                return nothing(readable_con_mid(data).map(|m| empty_message(MessageType::Rst, m)))
            }
        };
        match msg.mtype {
            MessageType::Con | MessageType::Non => self.receive_con_non(from, msg, now),
            MessageType::Ack => {
                let Some(i) = self
                    .pending
                    .iter()
                    .position(|p| p.to == from && p.mid == msg.message_id)
                else {
                    return nothing(None);
                };
                let p = &mut self.pending[i];
                if p.queued {
                    return nothing(None);
                }
                if msg.code == code::EMPTY && code::is_response(p.code) {
                    // A separate response of ours: acknowledged is done.
                    self.finish(i, now);
                    return nothing(None);
                }
                if msg.code == code::EMPTY {
                    if !p.acked {
                        p.acked = true;
                        p.retrans.next_at = now.after(self.params.separate_timeout);
                        // Acknowledged: no longer outstanding (RFC 7252 4.7).
                        self.release(from, now);
                    }
                    return nothing(None);
                }
                if !code::is_response(msg.code) || msg.token != p.token.as_slice() {
                    return nothing(None);
                }
                let p = self.finish(i, now);
                Inbound {
                    event: Received::Response {
                        dest: p.dest,
                        request_code: p.code,
                        msg,
                    },
                    reply: None,
                }
            }
            MessageType::Rst => {
                let mid = msg.message_id;
                let (dest, token, request_code) = if let Some(i) = self
                    .pending
                    .iter()
                    .position(|p| p.to == from && p.mid == mid && !p.queued)
                {
                    let p = self.finish(i, now);
                    (p.dest, p.token, p.code)
                } else if let Some(i) = self
                    .sent_non
                    .iter()
                    .position(|s| s.to == from && s.mid == mid && s.expires > now)
                {
                    let Some(s) = self.sent_non.remove(i) else {
                        return nothing(None);
                    };
                    (s.dest, s.token, s.code)
                } else {
                    return nothing(None);
                };
                Inbound {
                    event: Received::Reset {
                        dest,
                        token,
                        request_code,
                    },
                    reply: None,
                }
            }
        }
    }

    fn receive_con_non<'m>(
        &mut self,
        from: SocketAddr,
        msg: Message<'m>,
        now: Millis,
    ) -> Inbound<'m, D> {
        let con = msg.mtype == MessageType::Con;
        self.prune(now);
        let rst = || Some(empty_message(MessageType::Rst, msg.message_id));
        if msg.code == code::EMPTY {
            // CoAP ping (CON) gets RST; an empty NON is a format error, dropped. Neither is
            // recorded.
            return Inbound {
                event: Received::Nothing,
                reply: if con { rst() } else { None },
            };
        }
        let lifetime = if con {
            self.params.exchange_lifetime
        } else {
            self.params.non_lifetime
        };
        if let Dedup::Duplicate(reply) = self.dedup.check_for(from, msg.message_id, now, lifetime) {
            // A duplicate: answer a CON as before, ignore a NON (RFC 7252 4.5).
            return Inbound {
                event: Received::Nothing,
                reply: if con { reply } else { None },
            };
        }
        if code::is_request(msg.code) {
            return Inbound {
                event: Received::Request(msg),
                reply: None,
            };
        }
        if !code::is_response(msg.code) {
            // Reserved code classes 1, 6 and 7.
            let reply = if con { rst() } else { None };
            self.responded(from, msg.message_id, reply.as_deref().unwrap_or_default());
            return Inbound {
                event: Received::Nothing,
                reply,
            };
        }
        // A separate response (RFC 7252 5.2.2), possibly before the empty ACK (which may
        // have been lost).
        let found = self
            .pending
            .iter()
            .position(|p| p.to == from && !p.queued && p.token.as_slice() == msg.token);
        let kept = self.observing.get(&(from, msg.token.to_vec())).copied();
        let reply = match (con, found, kept) {
            (true, Some(_), _) | (true, None, Some(_)) => {
                Some(empty_message(MessageType::Ack, msg.message_id))
            }
            (true, None, None) => rst(),
            (false, None, None) if self.reset_stray_non => rst(),
            (false, _, _) => None,
        };
        if let Some(r) = &reply {
            self.responded(from, msg.message_id, r);
        }
        let event = match found {
            Some(i) => {
                let p = self.finish(i, now);
                Received::Response {
                    dest: p.dest,
                    request_code: p.code,
                    msg,
                }
            }
            None => match kept {
                Some((dest, request_code)) => Received::Response {
                    dest,
                    request_code,
                    msg,
                },
                None => Received::Nothing,
            },
        };
        Inbound { event, reply }
    }

    fn prune(&mut self, now: Millis) {
        while self.sent_non.front().is_some_and(|s| s.expires <= now) {
            self.sent_non.pop_front();
        }
    }

    /// The next released, retransmitted or given-up message due at `now`, if any; call until
    /// `None`.
    pub fn poll(&mut self, now: Millis) -> Option<Timeout<D>> {
        if let Some((to, bytes)) = self.released.pop_front() {
            return Some(Timeout::Transmit { to, bytes });
        }
        let i = self
            .pending
            .iter()
            .position(|p| !p.queued && p.retrans.next_at <= now)?;
        let params = self.params;
        let p = &mut self.pending[i];
        if !p.acked && p.retrans.on_timeout(&params, now) == RetransmitAction::Resend {
            return Some(Timeout::Retransmit {
                to: p.to,
                bytes: p.bytes.clone(),
            });
        }
        let p = self.finish(i, now);
        Some(Timeout::Failed {
            dest: p.dest,
            token: p.token,
            request_code: p.code,
        })
    }

    /// When [`MessageLayer::poll`] next has something to do (0: at once).
    pub fn next_timeout(&self) -> Option<Millis> {
        if !self.released.is_empty() {
            return Some(0);
        }
        self.pending
            .iter()
            .filter(|p| !p.queued)
            .map(|p| p.retrans.next_at)
            .min()
    }

    /// Number of CON messages awaiting an answer (queued ones included).
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// Number of CON messages to `to` queued behind NSTART.
    pub fn queued_count(&self, to: SocketAddr) -> usize {
        self.pending
            .iter()
            .filter(|p| p.to == to && p.queued)
            .count()
    }

    /// True if a CON with `code` to a destination matching `f` awaits its answer.
    pub fn is_pending(&self, f: impl Fn(D, u8) -> bool) -> bool {
        self.pending.iter().any(|p| f(p.dest, p.code))
    }

    /// True if a pending or queued CON, or an observation this side made, goes to `dest`: a
    /// driver keeps the peer handle of such a destination.
    pub fn refers_to(&self, dest: D) -> bool
    where
        D: PartialEq,
    {
        self.pending.iter().any(|p| p.dest == dest)
            || self.observing.values().any(|(d, _)| *d == dest)
    }

    /// Entries in the duplicate-detection cache.
    pub fn dedup_len(&self) -> usize {
        self.dedup.len()
    }
}

#[cfg(test)]
mod tests;
