//! The CoAP message layer (RFC 7252 section 4): message IDs, retransmission of confirmable
//! messages, matching of ACK / RST / separate responses, and duplicate detection of incoming
//! messages with replay of the cached answer.
//!
//! Like the engine it is sans-IO: every call takes the current time and returns what to send,
//! so the retransmission schedule is tested with a fake clock and a seeded RNG.
//!
//! Simplification: NSTART (one outstanding CON per peer) is not enforced; the engine rarely
//! has more than one request to a server in flight.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

use lwm2m::coap::{code, Message, MessageType};
use lwm2m::engine::{Destination, Millis};

use crate::clock::Rng;

/// Transmission parameters (RFC 7252 section 4.8) and cache bounds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TxParams {
    /// ACK_TIMEOUT in ms (2000).
    pub ack_timeout: Millis,
    /// ACK_RANDOM_FACTOR (1.5).
    pub ack_random_factor: f64,
    /// MAX_RETRANSMIT (4).
    pub max_retransmit: u32,
    /// EXCHANGE_LIFETIME in ms (247 s): how long a CON message ID is remembered.
    pub exchange_lifetime: Millis,
    /// NON_LIFETIME in ms (145 s): how long a NON message ID is remembered.
    pub non_lifetime: Millis,
    /// How long to wait for a separate response after an empty ACK (MAX_TRANSMIT_WAIT, 93 s).
    pub separate_timeout: Millis,
    /// Entries of the duplicate-detection cache; the oldest is dropped when full.
    pub dedup_capacity: usize,
    /// Sent NON messages remembered for matching an RST.
    pub non_capacity: usize,
}

impl Default for TxParams {
    fn default() -> Self {
        TxParams {
            ack_timeout: 2_000,
            ack_random_factor: 1.5,
            max_retransmit: 4,
            exchange_lifetime: 247_000,
            non_lifetime: 145_000,
            separate_timeout: 93_000,
            dedup_capacity: 512,
            non_capacity: 64,
        }
    }
}

/// What an incoming datagram means for the engine.
#[derive(Debug)]
pub enum Received<'m> {
    /// A new request (not a duplicate): the engine answers it; build the response header with
    /// [`MessageLayer::response_header`] and hand the result to [`MessageLayer::responded`].
    Request(Message<'m>),
    /// The answer to a request we sent (piggy-backed or separate).
    Response {
        /// Where the request went.
        dest: Destination,
        /// The request's code (to tell a De-register from a Register).
        request_code: u8,
        /// The response.
        msg: Message<'m>,
    },
    /// The peer rejected a message we sent with RST.
    Reset {
        /// Where the message went.
        dest: Destination,
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
pub struct Inbound<'m> {
    /// What the datagram means.
    pub event: Received<'m>,
    /// A datagram to send back at once (RST, empty ACK, or a replayed response).
    pub reply: Option<Vec<u8>>,
}

/// A timer result of [`MessageLayer::poll`].
#[derive(Debug, PartialEq, Eq)]
pub enum Timeout {
    /// Send these bytes again.
    Retransmit {
        /// Peer.
        to: SocketAddr,
        /// The message, unchanged.
        bytes: Vec<u8>,
    },
    /// No answer: tell the engine ([`lwm2m::engine::Engine::request_failed`]).
    Failed {
        /// Where the message went.
        dest: Destination,
        /// Its token.
        token: Vec<u8>,
        /// Its code.
        request_code: u8,
    },
}

#[derive(Debug)]
struct Pending {
    to: SocketAddr,
    mid: u16,
    token: Vec<u8>,
    code: u8,
    dest: Destination,
    bytes: Vec<u8>,
    retransmits: u32,
    timeout: Millis,
    next_at: Millis,
    /// An empty ACK came: wait for the separate response until `next_at`.
    acked: bool,
}

#[derive(Debug)]
struct SentNon {
    to: SocketAddr,
    mid: u16,
    token: Vec<u8>,
    code: u8,
    dest: Destination,
    expires: Millis,
}

#[derive(Debug)]
struct Seen {
    expires: Millis,
    /// What we answered (replayed for a duplicate CON).
    reply: Option<Vec<u8>>,
}

/// The message layer state.
#[derive(Debug)]
pub struct MessageLayer {
    params: TxParams,
    rng: Rng,
    next_mid: u16,
    pending: Vec<Pending>,
    sent_non: VecDeque<SentNon>,
    seen: HashMap<(SocketAddr, u16), Seen>,
    seen_order: VecDeque<(SocketAddr, u16)>,
    /// Observations this side made: (peer, token) -> destination of the Observe request.
    /// Notifications carrying such a token are responses, not strays to reset.
    observing: HashMap<(SocketAddr, Vec<u8>), (Destination, u8)>,
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

impl MessageLayer {
    /// A message layer; `rng` picks the first message ID and the retransmission jitter.
    pub fn new(params: TxParams, mut rng: Rng) -> Self {
        let next_mid = rng.next_u64() as u16;
        MessageLayer {
            params,
            rng,
            next_mid,
            pending: Vec::new(),
            sent_non: VecDeque::new(),
            seen: HashMap::new(),
            seen_order: VecDeque::new(),
            observing: HashMap::new(),
        }
    }

    /// Accepts later notifications from `peer` with `token` (an observation this side
    /// started): they are acknowledged (CON) and handed up as [`Received::Response`] to
    /// `dest` with `request_code`, instead of being reset.
    pub fn keep_token(
        &mut self,
        peer: SocketAddr,
        token: &[u8],
        dest: Destination,
        request_code: u8,
    ) {
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
    pub fn params(&self) -> &TxParams {
        &self.params
    }

    /// A fresh message ID.
    pub fn next_message_id(&mut self) -> u16 {
        let m = self.next_mid;
        self.next_mid = self.next_mid.wrapping_add(1);
        m
    }

    /// Prepares a message the engine built for sending: sets its message ID (bytes 2..4) and,
    /// for a CON, starts its retransmission timer. Returns the message ID, or `None` if `msg`
    /// is not a CoAP message.
    pub fn send(
        &mut self,
        to: SocketAddr,
        dest: Destination,
        msg: &mut [u8],
        now: Millis,
    ) -> Option<u16> {
        let mid = self.next_message_id();
        msg.get_mut(2..4)?.copy_from_slice(&mid.to_be_bytes());
        let parsed = Message::parse(msg).ok()?;
        let (token, code) = (parsed.token.to_vec(), parsed.code);
        match parsed.mtype {
            MessageType::Con => {
                let spread = (self.params.ack_random_factor - 1.0).max(0.0);
                let extra = (self.params.ack_timeout as f64 * spread * self.rng.next_f64()) as u64;
                let timeout = self.params.ack_timeout + extra;
                self.pending.push(Pending {
                    to,
                    mid,
                    token,
                    code,
                    dest,
                    bytes: msg.to_vec(),
                    retransmits: 0,
                    timeout,
                    next_at: now + timeout,
                    acked: false,
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
                    expires: now + self.params.non_lifetime,
                });
            }
            MessageType::Ack | MessageType::Rst => {}
        }
        Some(mid)
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
        if let Some(s) = self.seen.get_mut(&(from, req_mid)) {
            s.reply = Some(response.to_vec());
        }
    }

    /// Processes one datagram from `from`.
    pub fn receive<'m>(&mut self, from: SocketAddr, data: &'m [u8], now: Millis) -> Inbound<'m> {
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
                if msg.code == code::EMPTY {
                    if !p.acked {
                        p.acked = true;
                        p.next_at = now + self.params.separate_timeout;
                    }
                    return nothing(None);
                }
                if !code::is_response(msg.code) || msg.token != p.token.as_slice() {
                    return nothing(None);
                }
                let p = self.pending.remove(i);
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
                    .position(|p| p.to == from && p.mid == mid)
                {
                    let p = self.pending.remove(i);
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
    ) -> Inbound<'m> {
        let con = msg.mtype == MessageType::Con;
        let key = (from, msg.message_id);
        self.prune(now);
        if let Some(s) = self.seen.get(&key).filter(|s| s.expires > now) {
            // A duplicate: answer a CON as before, ignore a NON (RFC 7252 4.5).
            let reply = if con { s.reply.clone() } else { None };
            return Inbound {
                event: Received::Nothing,
                reply,
            };
        }
        let rst = || Some(empty_message(MessageType::Rst, msg.message_id));
        if msg.code == code::EMPTY {
            // CoAP ping (CON) gets RST; an empty NON is a format error, dropped.
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
        self.remember(key, now + lifetime);
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
            .position(|p| p.to == from && p.token.as_slice() == msg.token);
        let kept = self.observing.get(&(from, msg.token.to_vec())).copied();
        let reply = match (con, found, kept) {
            (true, Some(_), _) | (true, None, Some(_)) => {
                Some(empty_message(MessageType::Ack, msg.message_id))
            }
            (true, None, None) => rst(),
            (false, _, _) => None,
        };
        if let Some(r) = &reply {
            self.responded(from, msg.message_id, r);
        }
        let event = match found {
            Some(i) => {
                let p = self.pending.remove(i);
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

    fn remember(&mut self, key: (SocketAddr, u16), expires: Millis) {
        while self.seen.len() >= self.params.dedup_capacity.max(1) {
            let Some(old) = self.seen_order.pop_front() else {
                break;
            };
            self.seen.remove(&old);
        }
        if self
            .seen
            .insert(
                key,
                Seen {
                    expires,
                    reply: None,
                },
            )
            .is_none()
        {
            self.seen_order.push_back(key);
        }
    }

    fn prune(&mut self, now: Millis) {
        while let Some(k) = self.seen_order.front() {
            match self.seen.get(k) {
                Some(s) if s.expires > now => break,
                _ => {
                    let k = *k;
                    self.seen.remove(&k);
                    self.seen_order.pop_front();
                }
            }
        }
        while self.sent_non.front().is_some_and(|s| s.expires <= now) {
            self.sent_non.pop_front();
        }
    }

    /// The next retransmission or give-up due at `now`, if any; call until `None`.
    pub fn poll(&mut self, now: Millis) -> Option<Timeout> {
        let i = self.pending.iter().position(|p| p.next_at <= now)?;
        let max = self.params.max_retransmit;
        let p = &mut self.pending[i];
        if !p.acked && p.retransmits < max {
            p.retransmits += 1;
            p.timeout *= 2;
            p.next_at += p.timeout;
            return Some(Timeout::Retransmit {
                to: p.to,
                bytes: p.bytes.clone(),
            });
        }
        let p = self.pending.remove(i);
        Some(Timeout::Failed {
            dest: p.dest,
            token: p.token,
            request_code: p.code,
        })
    }

    /// When [`MessageLayer::poll`] next has something to do.
    pub fn next_timeout(&self) -> Option<Millis> {
        self.pending.iter().map(|p| p.next_at).min()
    }

    /// Number of CON messages awaiting an answer.
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// True if a CON with `code` to a destination matching `f` awaits its answer.
    pub fn is_pending(&self, f: impl Fn(Destination, u8) -> bool) -> bool {
        self.pending.iter().any(|p| f(p.dest, p.code))
    }

    /// Entries in the duplicate-detection cache.
    pub fn dedup_len(&self) -> usize {
        self.seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lwm2m::coap::{option, MessageBuilder};

    fn peer() -> SocketAddr {
        "192.0.2.1:5683".parse().unwrap()
    }

    fn build(mtype: MessageType, c: u8, mid: u16, token: &[u8], path: &[u8]) -> Vec<u8> {
        let mut buf = [0u8; 64];
        let mut b = MessageBuilder::new(&mut buf, mtype, c, mid, token).unwrap();
        if !path.is_empty() {
            b.option(option::URI_PATH, path).unwrap();
        }
        let n = b.finish();
        buf[..n].to_vec()
    }

    fn layer(seed: u64) -> MessageLayer {
        MessageLayer::new(TxParams::default(), Rng::seeded(seed))
    }

    /// Sends a CON request with token `tok` and returns its message ID.
    fn send_con(ml: &mut MessageLayer, tok: &[u8], now: Millis) -> u16 {
        let mut m = build(MessageType::Con, code::POST, 0, tok, b"rd");
        let mid = ml
            .send(peer(), Destination::Server(1), &mut m, now)
            .unwrap();
        assert_eq!(u16::from_be_bytes([m[2], m[3]]), mid);
        mid
    }

    /// Notifications of an observation we started are acknowledged and delivered while the
    /// token is kept, and reset once it is forgotten.
    #[test]
    fn kept_tokens_take_notifications_until_forgotten() {
        let mut ml = layer(3);
        let con = build(MessageType::Con, code::CONTENT, 0x100, b"ob", b"");
        // Not kept: a stray notification is reset.
        let r = ml.receive(peer(), &con, 0);
        assert!(matches!(r.event, Received::Nothing));
        assert_eq!(r.reply, Some(empty_message(MessageType::Rst, 0x100)));
        ml.keep_token(peer(), b"ob", Destination::Endpoint(4), code::GET);
        assert_eq!(ml.kept_tokens(), 1);
        let con = build(MessageType::Con, code::CONTENT, 0x101, b"ob", b"");
        let r = ml.receive(peer(), &con, 0);
        assert_eq!(r.reply, Some(empty_message(MessageType::Ack, 0x101)));
        assert!(matches!(
            r.event,
            Received::Response {
                dest: Destination::Endpoint(4),
                request_code: code::GET,
                ..
            }
        ));
        let non = build(MessageType::Non, code::CONTENT, 0x102, b"ob", b"");
        let r = ml.receive(peer(), &non, 0);
        assert_eq!(r.reply, None);
        assert!(matches!(r.event, Received::Response { .. }));
        // Another peer with the same token is not the observed one.
        let other: SocketAddr = "192.0.2.2:5683".parse().unwrap();
        let stray = build(MessageType::Con, code::CONTENT, 0x103, b"ob", b"");
        let r = ml.receive(other, &stray, 0);
        assert!(matches!(r.event, Received::Nothing));
        assert!(ml.forget_token(peer(), b"ob"));
        assert!(!ml.forget_token(peer(), b"ob"));
        let con = build(MessageType::Con, code::CONTENT, 0x104, b"ob", b"");
        let r = ml.receive(peer(), &con, 0);
        assert!(matches!(r.event, Received::Nothing));
        assert_eq!(r.reply, Some(empty_message(MessageType::Rst, 0x104)));
    }

    #[test]
    fn message_ids_are_consecutive_from_a_random_start() {
        let mut ml = layer(7);
        let a = send_con(&mut ml, b"a", 0);
        let mut non = build(MessageType::Non, code::CONTENT, 0, b"b", b"");
        let b = ml
            .send(peer(), Destination::Endpoint(1), &mut non, 0)
            .unwrap();
        assert_eq!(b, a.wrapping_add(1));
        assert_eq!(u16::from_be_bytes([non[2], non[3]]), b);
        // Another seed starts elsewhere.
        assert_ne!(layer(8).next_message_id(), layer(7).next_message_id());
        // Garbage is refused without a panic.
        assert_eq!(
            ml.send(peer(), Destination::Server(1), &mut [0x40], 0),
            None
        );
    }

    #[test]
    fn retransmission_schedule_doubles_and_gives_up() {
        for seed in [1, 2, 3, 99, 12345] {
            let mut ml = layer(seed);
            let start = 1_000;
            send_con(&mut ml, b"tk", start);
            let t = ml.next_timeout().unwrap() - start;
            // ACK_TIMEOUT .. ACK_TIMEOUT * ACK_RANDOM_FACTOR.
            assert!((2_000..3_000).contains(&t), "initial timeout {t}");
            let mut sent_at = Vec::new();
            let failed_at = loop {
                let now = ml.next_timeout().unwrap();
                // Nothing happens a millisecond early.
                assert_eq!(ml.poll(now - 1), None);
                match ml.poll(now).unwrap() {
                    Timeout::Retransmit { to, bytes } => {
                        assert_eq!(to, peer());
                        assert_eq!(Message::parse(&bytes).unwrap().token, b"tk");
                        sent_at.push(now - start);
                    }
                    Timeout::Failed {
                        dest,
                        token,
                        request_code,
                    } => {
                        assert_eq!(dest, Destination::Server(1));
                        assert_eq!(token, b"tk");
                        assert_eq!(request_code, code::POST);
                        break now - start;
                    }
                }
                assert_eq!(ml.poll(now), None);
            };
            // RFC 7252 4.2: timeouts T, 2T, 4T, 8T between the 4 retransmissions, then 16T.
            assert_eq!(sent_at, [t, 3 * t, 7 * t, 15 * t]);
            assert_eq!(failed_at, 31 * t);
            assert_eq!(ml.pending_count(), 0);
            assert_eq!(ml.next_timeout(), None);
        }
    }

    #[test]
    fn same_seed_same_schedule() {
        let mut a = layer(5);
        let mut b = layer(5);
        send_con(&mut a, b"x", 0);
        send_con(&mut b, b"x", 0);
        assert_eq!(a.next_timeout(), b.next_timeout());
    }

    #[test]
    fn piggybacked_ack_matches_by_mid_and_token() {
        let mut ml = layer(1);
        let mid = send_con(&mut ml, b"t1", 0);
        // Wrong peer, wrong MID, wrong token: ignored.
        let ack = build(MessageType::Ack, code::CREATED, mid, b"t1", b"");
        let other: SocketAddr = "192.0.2.2:5683".parse().unwrap();
        assert!(matches!(
            ml.receive(other, &ack, 10).event,
            Received::Nothing
        ));
        let bad_mid = build(MessageType::Ack, code::CREATED, mid ^ 1, b"t1", b"");
        assert!(matches!(
            ml.receive(peer(), &bad_mid, 10).event,
            Received::Nothing
        ));
        let bad_tok = build(MessageType::Ack, code::CREATED, mid, b"zz", b"");
        assert!(matches!(
            ml.receive(peer(), &bad_tok, 10).event,
            Received::Nothing
        ));
        assert_eq!(ml.pending_count(), 1);
        let r = ml.receive(peer(), &ack, 10);
        assert!(r.reply.is_none());
        match r.event {
            Received::Response {
                dest,
                request_code,
                msg,
            } => {
                assert_eq!(dest, Destination::Server(1));
                assert_eq!(request_code, code::POST);
                assert_eq!(msg.code, code::CREATED);
            }
            e => panic!("{e:?}"),
        }
        assert_eq!(ml.pending_count(), 0);
        // A duplicate ACK is ignored.
        assert!(matches!(
            ml.receive(peer(), &ack, 11).event,
            Received::Nothing
        ));
    }

    #[test]
    fn empty_ack_then_separate_con_response() {
        let mut ml = layer(2);
        let mid = send_con(&mut ml, b"sp", 0);
        let empty_ack = empty_message(MessageType::Ack, mid);
        let r = ml.receive(peer(), &empty_ack, 100);
        assert!(matches!(r.event, Received::Nothing) && r.reply.is_none());
        // No more retransmissions: only the separate-response deadline is left.
        assert_eq!(ml.next_timeout(), Some(100 + 93_000));
        assert_eq!(ml.poll(50_000), None);
        // The separate response is a CON with its own MID; we ACK it.
        let sep = build(MessageType::Con, code::CHANGED, 0x7777, b"sp", b"");
        let r = ml.receive(peer(), &sep, 5_000);
        assert_eq!(r.reply, Some(vec![0x60, 0x00, 0x77, 0x77]));
        assert!(matches!(
            r.event,
            Received::Response { msg, .. } if msg.code == code::CHANGED
        ));
        // Its retransmission (our ACK was lost) is ACKed again, not handed up twice.
        let r = ml.receive(peer(), &sep, 6_000);
        assert_eq!(r.reply, Some(vec![0x60, 0x00, 0x77, 0x77]));
        assert!(matches!(r.event, Received::Nothing));
        assert_eq!(ml.pending_count(), 0);
    }

    #[test]
    fn separate_response_timeout_fails_the_request() {
        let mut ml = layer(3);
        let mid = send_con(&mut ml, b"q", 0);
        ml.receive(peer(), &empty_message(MessageType::Ack, mid), 10);
        assert_eq!(ml.poll(10 + 93_000 - 1), None);
        assert!(matches!(
            ml.poll(10 + 93_000),
            Some(Timeout::Failed { token, .. }) if token == b"q"
        ));
    }

    #[test]
    fn separate_response_before_the_ack_and_unknown_ones() {
        let mut ml = layer(4);
        send_con(&mut ml, b"ab", 0);
        let sep = build(MessageType::Non, code::CONTENT, 0x10, b"ab", b"");
        let r = ml.receive(peer(), &sep, 1);
        assert!(matches!(r.event, Received::Response { .. }));
        assert!(r.reply.is_none());
        // An unexpected CON response is rejected, an unexpected NON one dropped.
        let con = build(MessageType::Con, code::CONTENT, 0x11, b"??", b"");
        let r = ml.receive(peer(), &con, 2);
        assert_eq!(r.reply, Some(vec![0x70, 0x00, 0x00, 0x11]));
        let non = build(MessageType::Non, code::CONTENT, 0x12, b"??", b"");
        assert!(ml.receive(peer(), &non, 2).reply.is_none());
    }

    #[test]
    fn rst_fails_con_and_non() {
        let mut ml = layer(5);
        let mid = send_con(&mut ml, b"c", 0);
        let rst = empty_message(MessageType::Rst, mid);
        let r = ml.receive(peer(), &rst, 5);
        assert!(matches!(
            r.event,
            Received::Reset { dest: Destination::Server(1), ref token, .. } if token == b"c"
        ));
        assert_eq!(ml.pending_count(), 0);
        let mut n = build(MessageType::Non, code::CONTENT, 0, b"n", b"");
        let nmid = ml
            .send(peer(), Destination::Endpoint(9), &mut n, 10)
            .unwrap();
        let rst = empty_message(MessageType::Rst, nmid);
        let r = ml.receive(peer(), &rst, 20);
        assert!(matches!(
            r.event,
            Received::Reset { dest: Destination::Endpoint(9), ref token, .. } if token == b"n"
        ));
        // Unknown RST: nothing.
        let rst = empty_message(MessageType::Rst, 0xabcd);
        let r = ml.receive(peer(), &rst, 20);
        assert!(matches!(r.event, Received::Nothing));
    }

    #[test]
    fn duplicate_con_request_replays_cached_response() {
        let mut ml = layer(6);
        let req = build(MessageType::Con, code::GET, 0x1234, b"g", b"3");
        let r = ml.receive(peer(), &req, 0);
        let Received::Request(m) = r.event else {
            panic!("not a request")
        };
        assert_eq!(ml.response_header(&m), (MessageType::Ack, 0x1234));
        let resp = build(MessageType::Ack, code::CONTENT, 0x1234, b"g", b"");
        ml.responded(peer(), 0x1234, &resp);
        // The duplicate is answered from the cache, not handed to the engine.
        let r = ml.receive(peer(), &req, 1_000);
        assert!(matches!(r.event, Received::Nothing));
        assert_eq!(r.reply.as_deref(), Some(resp.as_slice()));
        // Same MID from another peer is a different exchange.
        let other: SocketAddr = "[2001:db8::1]:5683".parse().unwrap();
        assert!(matches!(
            ml.receive(other, &req, 1_000).event,
            Received::Request(_)
        ));
        // After EXCHANGE_LIFETIME the MID may be reused for a new request.
        let r = ml.receive(peer(), &req, 247_000);
        assert!(matches!(r.event, Received::Request(_)));
    }

    #[test]
    fn duplicate_non_request_is_ignored_and_answered_with_non() {
        let mut ml = layer(7);
        let req = build(MessageType::Non, code::GET, 0x55, b"n", b"3");
        let Received::Request(m) = ml.receive(peer(), &req, 0).event else {
            panic!()
        };
        let (t, mid) = ml.response_header(&m);
        assert_eq!(t, MessageType::Non);
        assert_ne!(mid, 0x55);
        let r = ml.receive(peer(), &req, 10);
        assert!(matches!(r.event, Received::Nothing) && r.reply.is_none());
        // NON_LIFETIME later it is new again.
        assert!(matches!(
            ml.receive(peer(), &req, 145_000).event,
            Received::Request(_)
        ));
    }

    #[test]
    fn dedup_cache_is_bounded() {
        let mut ml = MessageLayer::new(
            TxParams {
                dedup_capacity: 4,
                ..TxParams::default()
            },
            Rng::seeded(1),
        );
        for mid in 0..10u16 {
            let req = build(MessageType::Con, code::GET, mid, b"", b"3");
            assert!(matches!(
                ml.receive(peer(), &req, 0).event,
                Received::Request(_)
            ));
            assert!(ml.dedup_len() <= 4);
        }
        // The oldest were evicted, the newest are still known.
        let old = build(MessageType::Con, code::GET, 0, b"", b"3");
        assert!(matches!(
            ml.receive(peer(), &old, 1).event,
            Received::Request(_)
        ));
        let new = build(MessageType::Con, code::GET, 9, b"", b"3");
        assert!(matches!(
            ml.receive(peer(), &new, 1).event,
            Received::Nothing
        ));
    }

    #[test]
    fn malformed_and_empty_messages() {
        let mut ml = layer(8);
        // Readable CON header, bad token length: RST with its MID.
        let r = ml.receive(peer(), &[0x49, 0x01, 0xbe, 0xef], 0);
        assert_eq!(r.reply, Some(vec![0x70, 0x00, 0xbe, 0xef]));
        // Truncated option in a CON.
        let r = ml.receive(peer(), &[0x40, 0x01, 0x00, 0x03, 0xfd], 0);
        assert_eq!(r.reply, Some(vec![0x70, 0x00, 0x00, 0x03]));
        // NON, unreadable header, wrong version, too short: dropped.
        for junk in [
            &[0x59, 0x01, 0, 1][..],
            &[0x40, 0x01, 0x00][..],
            &[0x80, 0x01, 0, 1][..],
            &[][..],
            &[0xff; 64][..],
        ] {
            let r = ml.receive(peer(), junk, 0);
            assert!(r.reply.is_none() && matches!(r.event, Received::Nothing));
        }
        // CoAP ping.
        let r = ml.receive(peer(), &[0x40, 0x00, 0x12, 0x34], 0);
        assert_eq!(r.reply, Some(vec![0x70, 0x00, 0x12, 0x34]));
        // Reserved code class 7 in a CON.
        let reserved = build(MessageType::Con, 0xe0, 0x42, b"", b"");
        let r = ml.receive(peer(), &reserved, 0);
        assert_eq!(r.reply, Some(vec![0x70, 0x00, 0x00, 0x42]));
    }
}
