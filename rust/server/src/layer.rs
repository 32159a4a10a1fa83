//! CoAP message-layer bookkeeping (RFC 7252 section 4): the retransmission schedule of our
//! confirmable requests, the deduplication cache for incoming messages, and message ID / token
//! generation. Everything takes the current time as an argument, so tests step time without
//! sleeping.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// RFC 7252 section 4.8 transmission parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TransmissionParams {
    /// ACK_TIMEOUT (default 2 s).
    pub ack_timeout: Duration,
    /// ACK_RANDOM_FACTOR (default 1.5).
    pub ack_random_factor: f64,
    /// MAX_RETRANSMIT (default 4).
    pub max_retransmit: u32,
    /// EXCHANGE_LIFETIME (default 247 s): how long message IDs are remembered.
    pub exchange_lifetime: Duration,
}

impl Default for TransmissionParams {
    fn default() -> Self {
        TransmissionParams {
            ack_timeout: Duration::from_secs(2),
            ack_random_factor: 1.5,
            max_retransmit: 4,
            exchange_lifetime: Duration::from_secs(247),
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
pub struct Retransmission {
    /// Retransmissions sent so far.
    pub retransmissions: u32,
    timeout: Duration,
    /// When the timer fires next.
    pub next_at: Instant,
}

impl Retransmission {
    /// Arms the timer for a message first sent at `now`.
    pub fn new(params: &TransmissionParams, now: Instant, rand01: f64) -> Self {
        let timeout = params.initial_timeout(rand01);
        Retransmission {
            retransmissions: 0,
            timeout,
            next_at: now + timeout,
        }
    }

    /// Called when `next_at` has passed: doubles the timeout and says whether to resend.
    pub fn on_timeout(&mut self, params: &TransmissionParams, now: Instant) -> RetransmitAction {
        if self.retransmissions >= params.max_retransmit {
            return RetransmitAction::GiveUp;
        }
        self.retransmissions += 1;
        self.timeout *= 2;
        self.next_at = now + self.timeout;
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

/// When a message was first seen, and the response sent to it.
type DedupEntry = (Instant, Option<Vec<u8>>);

/// Remembers `(peer, message ID)` of incoming CON and NON messages for EXCHANGE_LIFETIME,
/// with the response sent, so retransmitted requests are answered without being processed
/// twice. Bounded: when full the oldest entries go first.
#[derive(Debug)]
pub struct DedupCache {
    entries: HashMap<(SocketAddr, u16), DedupEntry>,
    order: VecDeque<((SocketAddr, u16), Instant)>,
    lifetime: Duration,
    capacity: usize,
}

impl DedupCache {
    /// A cache keeping entries for `lifetime`, at most `capacity` of them.
    pub fn new(lifetime: Duration, capacity: usize) -> Self {
        DedupCache {
            entries: HashMap::new(),
            order: VecDeque::new(),
            lifetime,
            capacity: capacity.max(1),
        }
    }

    /// Looks up a message and records it if it is new.
    pub fn check(&mut self, peer: SocketAddr, mid: u16, now: Instant) -> Dedup {
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
        self.entries.insert((peer, mid), (now, None));
        self.order.push_back(((peer, mid), now));
        Dedup::New
    }

    /// Stores the response sent for a recorded message.
    pub fn set_response(&mut self, peer: SocketAddr, mid: u16, response: Vec<u8>) {
        if let Some(e) = self.entries.get_mut(&(peer, mid)) {
            e.1 = Some(response);
        }
    }

    /// Drops entries older than the lifetime.
    pub fn purge(&mut self, now: Instant) {
        while let Some(&(key, at)) = self.order.front() {
            if now.saturating_duration_since(at) < self.lifetime {
                break;
            }
            self.order.pop_front();
            // Only remove if the entry is the one this queue slot recorded.
            if self.entries.get(&key).is_some_and(|e| e.0 == at) {
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

/// A small non-cryptographic random source (xorshift64*), seeded from std's per-process
/// random hasher keys and the clock. Good enough for message IDs, tokens and registration IDs
/// on a plain-UDP server; a secured deployment still relies on DTLS/OSCORE, not on tokens.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A freshly seeded generator.
    pub fn new() -> Self {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        h.write_u32(std::process::id());
        Rng::from_seed(h.finish())
    }

    /// A generator with a fixed seed (tests).
    pub fn from_seed(seed: u64) -> Self {
        Rng(seed | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A float in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A short identifier of `len` lowercase letters and digits.
    pub fn ident(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        (0..len)
            .map(|_| {
                let i = (self.next_u64() % ALPHABET.len() as u64) as usize;
                char::from(ALPHABET.get(i).copied().unwrap_or(b'x'))
            })
            .collect()
    }
}

impl Default for Rng {
    fn default() -> Self {
        Rng::new()
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
    fn dedup_forgets_after_exchange_lifetime() {
        let mut c = DedupCache::new(Duration::from_secs(247), 16);
        let t0 = Instant::now();
        assert_eq!(c.check(peer(1), 7, t0), Dedup::New);
        let later = t0 + Duration::from_secs(248);
        assert_eq!(c.check(peer(1), 7, later), Dedup::New);
        assert_eq!(c.len(), 1);
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
