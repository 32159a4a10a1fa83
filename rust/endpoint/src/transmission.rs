//! The building blocks of RFC 7252 section 4 message transmission under
//! [`crate::message::MessageLayer`] (the host client's and the server's): the transmission
//! parameters (section 4.8), the retransmission schedule of one confirmable message (4.2),
//! the duplicate-detection cache with the response to replay (4.5), and message IDs (4.4)
//! with tokens.
//!
//! Time is a type parameter ([`Timestamp`]): the message layer counts milliseconds
//! ([`lwm2m::engine::Millis`]; the host on an injectable clock, the server from its start);
//! [`std::time::Instant`] works too. Every call takes the current time, so tests step time
//! without sleeping.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::clock::Rng;

/// A point in time the transmission state can be scheduled on.
pub trait Timestamp: Copy + Ord + std::fmt::Debug {
    /// This time plus `d`.
    fn after(self, d: Duration) -> Self;

    /// `d` cut to the clock's resolution, so that doubled timeouts stay exact multiples.
    fn resolution(d: Duration) -> Duration {
        d
    }
}

impl Timestamp for Instant {
    fn after(self, d: Duration) -> Self {
        self + d
    }
}

/// Milliseconds of a monotonic clock ([`lwm2m::engine::Millis`]).
impl Timestamp for u64 {
    fn after(self, d: Duration) -> Self {
        self.saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    fn resolution(d: Duration) -> Duration {
        Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// RFC 7252 section 4.8 transmission parameters, NSTART (4.7) and the bounds of the host
/// message layer's caches.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TransmissionParams {
    /// ACK_TIMEOUT (default 2 s).
    pub ack_timeout: Duration,
    /// ACK_RANDOM_FACTOR (default 1.5).
    pub ack_random_factor: f64,
    /// MAX_RETRANSMIT (default 4).
    pub max_retransmit: u32,
    /// EXCHANGE_LIFETIME (default 247 s): how long a CON message ID is remembered.
    pub exchange_lifetime: Duration,
    /// NON_LIFETIME (default 145 s): how long a NON message ID is remembered.
    pub non_lifetime: Duration,
    /// How long to wait for a separate response after an empty ACK (MAX_TRANSMIT_WAIT,
    /// default 93 s).
    pub separate_timeout: Duration,
    /// Entries of the message layer's duplicate-detection cache (512); the oldest is
    /// dropped when full. (The server sets it from its `Config::dedup_capacity`.)
    pub dedup_capacity: usize,
    /// Sent NON messages the message layer remembers for matching an RST (64).
    pub non_capacity: usize,
    /// NSTART (1): confirmable messages outstanding per peer at once.
    pub nstart: usize,
    /// Confirmable messages queued per peer behind NSTART (32); one more is refused
    /// ([`crate::message::SendError::QueueFull`]).
    pub nstart_queue: usize,
}

impl Default for TransmissionParams {
    fn default() -> Self {
        TransmissionParams {
            ack_timeout: Duration::from_secs(2),
            ack_random_factor: 1.5,
            max_retransmit: 4,
            exchange_lifetime: Duration::from_secs(247),
            non_lifetime: Duration::from_secs(145),
            separate_timeout: Duration::from_secs(93),
            dedup_capacity: 512,
            non_capacity: 64,
            nstart: 1,
            nstart_queue: 32,
        }
    }
}

impl TransmissionParams {
    /// The first retransmission timeout, in `[ACK_TIMEOUT, ACK_TIMEOUT * ACK_RANDOM_FACTOR]`;
    /// `rand01` in `[0, 1]` picks the point.
    pub fn initial_timeout(&self, rand01: f64) -> Duration {
        let spread = self.ack_random_factor.max(1.0) - 1.0;
        self.ack_timeout
            .mul_f64(1.0 + spread * rand01.clamp(0.0, 1.0))
    }

    /// Offsets from the first transmission at which each retransmission is sent, followed by
    /// the offset at which the exchange is given up (for a given initial timeout).
    pub fn schedule(&self, initial: Duration) -> Vec<Duration> {
        let mut out = Vec::new();
        let mut at = Duration::ZERO;
        let mut timeout = initial;
        for _ in 0..=self.max_retransmit {
            at += timeout;
            out.push(at);
            timeout *= 2;
        }
        out
    }
}

/// What to do when a retransmission timer fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetransmitAction {
    /// Send the message again; the timer was re-armed.
    Resend,
    /// MAX_RETRANSMIT was reached and the last timeout passed: the peer is not answering.
    GiveUp,
}

/// The retransmission state of one outgoing confirmable message.
#[derive(Clone, Copy, Debug)]
pub struct Retransmission<T: Timestamp = Instant> {
    /// Retransmissions sent so far.
    pub retransmissions: u32,
    timeout: Duration,
    /// When the timer fires next.
    pub next_at: T,
}

impl<T: Timestamp> Retransmission<T> {
    /// Arms the timer for a message first sent at `now`; `rand01` picks the initial timeout.
    pub fn new(params: &TransmissionParams, now: T, rand01: f64) -> Self {
        let timeout = T::resolution(params.initial_timeout(rand01));
        Retransmission {
            retransmissions: 0,
            timeout,
            next_at: now.after(timeout),
        }
    }

    /// Called when `next_at` has passed: doubles the timeout and says whether to resend. The
    /// next deadline follows the previous one (T, 2T, 4T, ... after the first send, RFC 7252
    /// 4.2) when the caller is a little late; if even that has passed, it counts from `now`.
    pub fn on_timeout(&mut self, params: &TransmissionParams, now: T) -> RetransmitAction {
        if self.retransmissions >= params.max_retransmit {
            return RetransmitAction::GiveUp;
        }
        self.retransmissions += 1;
        self.timeout *= 2;
        let next = self.next_at.after(self.timeout);
        self.next_at = if next > now {
            next
        } else {
            now.after(self.timeout)
        };
        RetransmitAction::Resend
    }
}

/// The result of looking up an incoming message in the [`DedupCache`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dedup {
    /// First time seen: process it (it is now recorded).
    New,
    /// A duplicate; resend the stored response if there is one (for CON), else drop it.
    Duplicate(Option<Vec<u8>>),
}

/// When an entry expires, and the response sent to its message.
type DedupEntry<T> = (T, Option<Vec<u8>>);

/// Remembers `(peer, message ID)` of incoming CON and NON messages for their lifetime, with
/// the response sent, so retransmitted requests are answered without being processed twice.
/// Bounded: when full the oldest entries go first.
#[derive(Debug)]
pub struct DedupCache<T: Timestamp = Instant> {
    entries: HashMap<(SocketAddr, u16), DedupEntry<T>>,
    order: VecDeque<((SocketAddr, u16), T)>,
    lifetime: Duration,
    capacity: usize,
}

impl<T: Timestamp> DedupCache<T> {
    /// A cache keeping entries for `lifetime` (unless [`DedupCache::check_for`] says
    /// otherwise), at most `capacity` of them.
    pub fn new(lifetime: Duration, capacity: usize) -> Self {
        DedupCache {
            entries: HashMap::new(),
            order: VecDeque::new(),
            lifetime,
            capacity: capacity.max(1),
        }
    }

    /// Looks up a message and records it for the cache's lifetime if it is new.
    pub fn check(&mut self, peer: SocketAddr, mid: u16, now: T) -> Dedup {
        self.check_for(peer, mid, now, self.lifetime)
    }

    /// Looks up a message and records it for `lifetime` if it is new (EXCHANGE_LIFETIME for a
    /// CON, NON_LIFETIME for a NON).
    pub fn check_for(&mut self, peer: SocketAddr, mid: u16, now: T, lifetime: Duration) -> Dedup {
        self.purge(now);
        if let Some((_, resp)) = self.entries.get(&(peer, mid)) {
            return Dedup::Duplicate(resp.clone());
        }
        while self.entries.len() >= self.capacity {
            match self.order.pop_front() {
                Some((key, _)) => {
                    self.entries.remove(&key);
                }
                None => break,
            }
        }
        let expires = now.after(lifetime);
        self.entries.insert((peer, mid), (expires, None));
        self.order.push_back(((peer, mid), expires));
        Dedup::New
    }

    /// Stores the response sent for a recorded message.
    pub fn set_response(&mut self, peer: SocketAddr, mid: u16, response: Vec<u8>) {
        if let Some(e) = self.entries.get_mut(&(peer, mid)) {
            e.1 = Some(response);
        }
    }

    /// Drops the expired entries at the front (oldest first).
    pub fn purge(&mut self, now: T) {
        while let Some(&(key, expires)) = self.order.front() {
            if expires > now {
                break;
            }
            self.order.pop_front();
            // Only remove if the entry is the one this queue slot recorded.
            if self.entries.get(&key).is_some_and(|e| e.0 == expires) {
                self.entries.remove(&key);
            }
        }
    }

    /// Number of remembered messages.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Message IDs (sequential from a random start, RFC 7252 section 4.4) and 8-byte tokens.
#[derive(Debug)]
pub struct IdGen {
    next_mid: u16,
    rng: Rng,
}

impl IdGen {
    /// A generator drawing its start point and tokens from `rng`.
    pub fn new(mut rng: Rng) -> Self {
        IdGen {
            next_mid: rng.next_u64() as u16,
            rng,
        }
    }

    /// The next message ID.
    pub fn mid(&mut self) -> u16 {
        let m = self.next_mid;
        self.next_mid = self.next_mid.wrapping_add(1);
        m
    }

    /// A fresh random 8-byte token.
    pub fn token(&mut self) -> Vec<u8> {
        self.rng.next_u64().to_be_bytes().to_vec()
    }

    /// The underlying random source.
    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn default_schedule_doubles_from_initial_timeout() {
        let p = TransmissionParams::default();
        assert_eq!(p.initial_timeout(0.0), Duration::from_secs(2));
        assert_eq!(p.initial_timeout(1.0), Duration::from_secs(3));
        let s = p.schedule(Duration::from_secs(2));
        let secs: Vec<u64> = s.iter().map(|d| d.as_secs()).collect();
        // Retransmissions at 2, 6, 14, 30 s; give up at 62 s (MAX_TRANSMIT_SPAN 45 s + last wait).
        assert_eq!(secs, vec![2, 6, 14, 30, 62]);
    }

    #[test]
    fn retransmission_follows_schedule_then_gives_up() {
        let p = TransmissionParams::default();
        let t0 = Instant::now();
        let mut r = Retransmission::new(&p, t0, 0.5);
        let initial = p.initial_timeout(0.5);
        assert_eq!(r.next_at, t0 + initial);
        let expected = p.schedule(initial);
        let mut fired = vec![r.next_at - t0];
        let mut now = r.next_at;
        let mut resends = 0;
        while r.on_timeout(&p, now) == RetransmitAction::Resend {
            resends += 1;
            fired.push(r.next_at - t0);
            now = r.next_at;
        }
        assert_eq!(resends, 4);
        assert_eq!(fired, expected);
    }

    /// A late timer keeps the schedule of the first send (milliseconds as time).
    #[test]
    fn late_timer_keeps_the_schedule() {
        let p = TransmissionParams::default();
        let mut r: Retransmission<u64> = Retransmission::new(&p, 1_000, 0.0);
        assert_eq!(r.next_at, 3_000);
        assert_eq!(r.on_timeout(&p, 3_400), RetransmitAction::Resend);
        assert_eq!(r.next_at, 7_000);
        // Later than the next deadline too: the doubled timeout counts from now.
        assert_eq!(r.on_timeout(&p, 20_000), RetransmitAction::Resend);
        assert_eq!(r.next_at, 28_000);
    }

    #[test]
    fn dedup_detects_duplicates_and_returns_stored_response() {
        let mut c = DedupCache::new(Duration::from_secs(247), 16);
        let t0 = Instant::now();
        assert_eq!(c.check(peer(1), 7, t0), Dedup::New);
        assert_eq!(c.check(peer(1), 7, t0), Dedup::Duplicate(None));
        c.set_response(peer(1), 7, vec![1, 2]);
        assert_eq!(
            c.check(peer(1), 7, t0 + Duration::from_secs(1)),
            Dedup::Duplicate(Some(vec![1, 2]))
        );
        // Same message ID from another peer is a different message.
        assert_eq!(c.check(peer(2), 7, t0), Dedup::New);
    }

    #[test]
    fn dedup_forgets_after_its_lifetime() {
        let mut c = DedupCache::new(Duration::from_secs(247), 16);
        let t0 = Instant::now();
        assert_eq!(c.check(peer(1), 7, t0), Dedup::New);
        let later = t0 + Duration::from_secs(248);
        assert_eq!(c.check(peer(1), 7, later), Dedup::New);
        assert_eq!(c.len(), 1);
        // A shorter lifetime per entry (NON_LIFETIME), in milliseconds.
        let mut m: DedupCache<u64> = DedupCache::new(Duration::from_secs(247), 16);
        assert_eq!(
            m.check_for(peer(1), 8, 0, Duration::from_secs(145)),
            Dedup::New
        );
        assert_eq!(m.check(peer(1), 8, 144_999), Dedup::Duplicate(None));
        assert_eq!(m.check(peer(1), 8, 145_000), Dedup::New);
    }

    #[test]
    fn dedup_is_bounded() {
        let mut c = DedupCache::new(Duration::from_secs(247), 3);
        let t0 = Instant::now();
        for mid in 0..10 {
            assert_eq!(c.check(peer(1), mid, t0), Dedup::New);
        }
        assert_eq!(c.len(), 3);
        // The oldest were evicted, the newest kept.
        assert_eq!(c.check(peer(1), 9, t0), Dedup::Duplicate(None));
    }

    #[test]
    fn ids_are_sequential_and_tokens_differ() {
        let mut g = IdGen::new(Rng::from_seed(42));
        let a = g.mid();
        assert_eq!(g.mid(), a.wrapping_add(1));
        let t1 = g.token();
        let t2 = g.token();
        assert_eq!(t1.len(), 8);
        assert_ne!(t1, t2);
        let id = g.rng().ident(10);
        assert_eq!(id.len(), 10);
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
    }
}
