//! Duplicate detection of incoming requests (RFC 7252 section 4.5): a duplicate Confirmable
//! request gets the response sent for the first copy again, a duplicate Non-confirmable one is
//! ignored, and neither reaches the request's handler a second time.
//!
//! The cache is a fixed pool of `N` entries, each keyed by (peer, message ID) with the time
//! the request was first seen and up to `L` bytes of the response sent for it. An entry is
//! recognised for EXCHANGE_LIFETIME (247 s, section 4.8.2) after a CON and NON_LIFETIME
//! (145 s) after a NON; a full pool evicts its oldest entry, so under load `N` bounds how long
//! a duplicate is recognised. Such early evictions are counted ([`Counters::evicted_early`]),
//! so a pool that is too small shows.
//!
//! The peer key is the driver's: any number that tells the remote endpoints (address, port
//! and transport) apart, best together with the identity the transport vouched for, so that a
//! new DTLS session of another identity from the same endpoint is another peer. Each entry
//! also keeps a 32-bit digest (FNV-1a) of the request datagram, and a request matches an entry
//! only when its digest does too. Retransmissions and duplicated frames are byte-identical, so
//! this costs no real duplicate; it keeps a reused peer key (the driver's table handed the key
//! to another remote) or a peer that broke the message-ID rule of section 4.4 (e.g. after a
//! reboot) from ever getting a response meant for another request ([`Counters::mid_reused`]).
//!
//! A response longer than `L` is recorded as seen without its bytes: a duplicate NON of it is
//! still ignored, but a duplicate CON of it is handed back as [`Check::DuplicateTooLarge`] and
//! must be processed again (counted in [`Counters::too_large`]), with whatever that means for
//! a non-idempotent request or a replay-protected one (OSCORE rejects the second copy). `L`
//! should hold the driver's typical responses.
//!
//! Sans-IO like the engine: the caller passes the time (milliseconds, any monotonic origin).
//!
//! ```
//! use lwm2m::coap::dedup::{Check, Dedup, Received};
//!
//! let mut cache = Dedup::<4, 64>::new();
//! let get = [0x40, 0x01, 0x12, 0x34]; // CON GET, MID 0x1234
//! let rx = Received::parse(7, &get).unwrap();
//! assert_eq!(cache.check(&rx, 0), Check::Fresh);
//! let response = [0x60, 0x45, 0x12, 0x34]; // ACK 2.05
//! cache.record(&rx, &response, 0);
//! assert_eq!(cache.check(&rx, 2_000), Check::Replay(&response[..]));
//! ```

use super::code;
use crate::config::{DEDUP_ENTRIES, DEDUP_RESPONSE_LEN};

/// EXCHANGE_LIFETIME (RFC 7252 section 4.8.2) in milliseconds: how long a CON message ID is
/// remembered.
pub const EXCHANGE_LIFETIME_MS: u64 = 247_000;
/// NON_LIFETIME (RFC 7252 section 4.8.2) in milliseconds: how long a NON message ID is
/// remembered.
pub const NON_LIFETIME_MS: u64 = 145_000;

/// A received request as the cache sees it: who sent it, its message ID and type, and a
/// digest of its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    /// The driver's key of the remote endpoint.
    pub peer: u64,
    /// Message ID.
    pub mid: u16,
    /// CON (true) or NON.
    pub confirmable: bool,
    /// FNV-1a of the whole datagram ([`digest`]).
    pub digest: u32,
}

impl Received {
    /// The request `datagram` from `peer`. `None` (leave it to the caller, untouched by the
    /// cache) for anything but a CON or NON request: an empty datagram, a bad header or
    /// token, an empty message (ping), a response, ACK or RST. Only the fixed header and the
    /// token length are read: the caller parses the whole message when it processes it, and
    /// a request it cannot process is never recorded.
    pub fn parse(peer: u64, datagram: &[u8]) -> Option<Self> {
        let (&[b0, c, m0, m1], rest) = datagram.split_first_chunk()?;
        let tkl = usize::from(b0 & 0xf);
        if b0 >> 6 != 1 || tkl > 8 || rest.len() < tkl || !code::is_request(c) {
            return None;
        }
        let confirmable = match (b0 >> 4) & 0x3 {
            0 => true,
            1 => false,
            _ => return None, // ACK, RST
        };
        Some(Received {
            peer,
            mid: u16::from_be_bytes([m0, m1]),
            confirmable,
            digest: digest(datagram),
        })
    }

    fn lifetime(&self) -> u64 {
        if self.confirmable {
            EXCHANGE_LIFETIME_MS
        } else {
            NON_LIFETIME_MS
        }
    }
}

/// FNV-1a (32 bit) of `bytes`: tells a duplicate from another message with the same ID.
pub fn digest(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// The engine's `Peer::source` of a remote whose network address (4 bytes IPv4, 16 bytes IPv6,
/// without port) is `addr`: FNV-1a over the bytes. An IPv4-mapped IPv6 address
/// (`::ffff:a.b.c.d`) gets the key of its IPv4 address.
pub fn source_key(addr: &[u8]) -> u32 {
    let v4 = match addr {
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, rest @ ..] => rest,
        a => a,
    };
    digest(v4)
}

/// What to do with a received request ([`Dedup::check`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check<'a> {
    /// Not seen before (or no longer remembered): process it, then [`Dedup::record`] the
    /// response.
    Fresh,
    /// A duplicate CON: send these bytes (the response to the first copy) again.
    Replay(&'a [u8]),
    /// A duplicate NON: send nothing.
    DuplicateNoReply,
    /// A duplicate CON whose response was too large to keep: process it again as if fresh
    /// (and record the new response).
    DuplicateTooLarge,
}

/// Counters of the cache's decisions since it was made (wrapping).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Duplicate CONs answered from the cache.
    pub replayed: u32,
    /// Duplicate NONs dropped.
    pub ignored: u32,
    /// Duplicate CONs processed again because their response had been too large to keep.
    pub too_large: u32,
    /// Entries evicted before their lifetime ended because the pool was full: their
    /// duplicates are no longer recognised.
    pub evicted_early: u32,
    /// Requests whose peer and message ID matched an entry but whose bytes did not (processed
    /// as fresh; their entry replaces the old one).
    pub mid_reused: u32,
}

/// What was kept of the response.
// `Nothing` first: an empty cache is all zero bytes, so a `static` one needs no flash (.bss).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kept {
    /// Nothing to keep (NON: duplicates get no answer anyway).
    Nothing,
    /// Longer than the slot (CON).
    TooLarge,
    /// `len` bytes (CON).
    Bytes(usize),
}

#[derive(Clone, Copy, Debug)]
struct Entry<const L: usize> {
    used: bool,
    rx: Received,
    /// When the first copy arrived.
    seen: u64,
    /// Insertion order (wrapping), for evicting the oldest.
    order: u32,
    kept: Kept,
    bytes: [u8; L],
}

impl<const L: usize> Entry<L> {
    const EMPTY: Self = Entry {
        used: false,
        rx: Received {
            peer: 0,
            mid: 0,
            confirmable: false,
            digest: 0,
        },
        seen: 0,
        order: 0,
        kept: Kept::Nothing,
        bytes: [0; L],
    };

    fn live(&self, now: u64) -> Option<&Received> {
        let alive = self.used && now.saturating_sub(self.seen) < self.rx.lifetime();
        alive.then_some(&self.rx)
    }
}

/// The cache sized by the build knobs `LWM2M_DEDUP_ENTRIES` and `LWM2M_DEDUP_RESPONSE_LEN`
/// ([`crate::config`]).
pub type ConfiguredDedup = Dedup<{ DEDUP_ENTRIES }, { DEDUP_RESPONSE_LEN }>;

/// The duplicate-detection cache: `N` entries with up to `L` response bytes each (RAM: about
/// `N * (L + 40)` bytes; 4 x 160 take 832 bytes on thumbv7m). With `N` = 0 nothing is
/// recognised. An empty cache is all zero bytes, so a `static` one costs no flash.
#[derive(Clone, Debug)]
pub struct Dedup<const N: usize, const L: usize> {
    entries: [Entry<L>; N],
    next_order: u32,
    counters: Counters,
}

impl<const N: usize, const L: usize> Default for Dedup<N, L> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize, const L: usize> Dedup<N, L> {
    /// An empty cache.
    pub const fn new() -> Self {
        Dedup {
            entries: [Entry::EMPTY; N],
            next_order: 0,
            counters: Counters {
                replayed: 0,
                ignored: 0,
                too_large: 0,
                evicted_early: 0,
                mid_reused: 0,
            },
        }
    }

    /// The counters.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Number of entries still remembered at `now`.
    pub fn live(&self, now: u64) -> usize {
        self.entries
            .iter()
            .filter(|e| e.live(now).is_some())
            .count()
    }

    fn position(&self, rx: &Received, now: u64) -> Option<usize> {
        self.entries.iter().position(|e| {
            e.live(now)
                .is_some_and(|r| r.peer == rx.peer && r.mid == rx.mid)
        })
    }

    /// Looks `rx` up at time `now`. Only counters change; a fresh request is remembered by
    /// [`Dedup::record`].
    pub fn check(&mut self, rx: &Received, now: u64) -> Check<'_> {
        let Some(i) = self.position(rx, now) else {
            return Check::Fresh;
        };
        let Some(e) = self.entries.get(i) else {
            return Check::Fresh;
        };
        let same = e.rx == *rx;
        let c = &mut self.counters;
        if !same {
            c.mid_reused = c.mid_reused.wrapping_add(1);
            return Check::Fresh;
        }
        match e.kept {
            Kept::Bytes(n) => match e.bytes.get(..n) {
                Some(b) => {
                    c.replayed = c.replayed.wrapping_add(1);
                    Check::Replay(b)
                }
                None => Check::Fresh,
            },
            Kept::TooLarge => {
                c.too_large = c.too_large.wrapping_add(1);
                Check::DuplicateTooLarge
            }
            Kept::Nothing => {
                c.ignored = c.ignored.wrapping_add(1);
                Check::DuplicateNoReply
            }
        }
    }

    /// Remembers `rx`, processed at `now`, with the `response` sent for it (empty: none). A
    /// request processed again ([`Check::DuplicateTooLarge`]) keeps the time of its first copy.
    /// Returns true when the pool was full and an entry still within its lifetime had to go
    /// (counted in [`Counters::evicted_early`]).
    pub fn record(&mut self, rx: &Received, response: &[u8], now: u64) -> bool {
        if N == 0 {
            return false;
        }
        let kept = if !rx.confirmable {
            Kept::Nothing
        } else if response.len() <= L {
            Kept::Bytes(response.len())
        } else {
            Kept::TooLarge
        };
        let mut evicted = false;
        let (i, seen, order) = match self.position(rx, now) {
            // The same request again: only the response changes.
            Some(i) if self.entries.get(i).is_some_and(|e| e.rx == *rx) => {
                let e = self.entries.get(i);
                (i, e.map_or(now, |e| e.seen), e.map_or(0, |e| e.order))
            }
            // Same peer and message ID, other bytes: the new request takes the entry.
            Some(i) => (i, now, self.take_order()),
            None => {
                let free = self.entries.iter().position(|e| e.live(now).is_none());
                let i = match free {
                    Some(i) => i,
                    None => {
                        evicted = true;
                        self.counters.evicted_early = self.counters.evicted_early.wrapping_add(1);
                        self.oldest()
                    }
                };
                (i, now, self.take_order())
            }
        };
        let Some(e) = self.entries.get_mut(i) else {
            return false;
        };
        e.used = true;
        e.rx = *rx;
        e.seen = seen;
        e.order = order;
        e.kept = kept;
        if let Kept::Bytes(n) = kept {
            if let (Some(dst), Some(src)) = (e.bytes.get_mut(..n), response.get(..n)) {
                dst.copy_from_slice(src);
            }
        }
        evicted
    }

    /// Drops every entry whose peer `matches` (a driver giving a peer's handle to another
    /// remote: the old remote's requests must not be answered for the new one). Returns how
    /// many entries went.
    pub fn forget(&mut self, matches: impl Fn(u64) -> bool) -> usize {
        let mut n = 0;
        for e in self
            .entries
            .iter_mut()
            .filter(|e| e.used && matches(e.rx.peer))
        {
            *e = Entry::EMPTY;
            n += 1;
        }
        n
    }

    fn take_order(&mut self) -> u32 {
        let o = self.next_order;
        self.next_order = o.wrapping_add(1);
        o
    }

    /// The entry inserted longest ago (ages counted back from the next order number, so the
    /// wrap of the counter does not matter).
    fn oldest(&self) -> usize {
        let age = |e: &Entry<L>| self.next_order.wrapping_sub(e.order);
        self.entries
            .iter()
            .enumerate()
            .max_by_key(|(_, e)| age(e))
            .map_or(0, |(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CON GET /3/0/1, MID 0x1234, token ab cd (as in the codec's tests).
    const CON_GET: [u8; 12] = [
        0x42, 0x01, 0x12, 0x34, 0xab, 0xcd, 0xb1, b'3', 0x01, b'0', 0x01, b'1',
    ];
    /// Its piggy-backed answer: ACK 2.05, MID 0x1234, token ab cd, payload "RIOT".
    const ACK_RIOT: [u8; 11] = [
        0x62, 0x45, 0x12, 0x34, 0xab, 0xcd, 0xff, b'R', b'I', b'O', b'T',
    ];
    /// NON GET /3, MID 0x0001, no token.
    const NON_GET: [u8; 6] = [0x50, 0x01, 0x00, 0x01, 0xb1, b'3'];

    /// A CON GET with message ID `mid` and a one-byte token `t`.
    fn con(mid: u16, t: u8) -> [u8; 5] {
        let [a, b] = mid.to_be_bytes();
        [0x41, 0x01, a, b, t]
    }

    fn rx(peer: u64, datagram: &[u8]) -> Received {
        Received::parse(peer, datagram).expect("a CON or NON request")
    }

    #[test]
    fn parse_reads_the_header() {
        let r = rx(3, &CON_GET);
        assert_eq!((r.peer, r.mid, r.confirmable), (3, 0x1234, true));
        assert_eq!(r.digest, digest(&CON_GET));
        let n = rx(3, &NON_GET);
        assert_eq!((n.mid, n.confirmable), (1, false));
    }

    #[test]
    fn parse_leaves_non_requests_alone() {
        assert_eq!(Received::parse(0, &[]), None);
        assert_eq!(Received::parse(0, &CON_GET[..3]), None); // shorter than a header
        assert_eq!(Received::parse(0, &[0x80, 0x01, 0, 1]), None); // version 2
        assert_eq!(Received::parse(0, &CON_GET[..5]), None); // token cut
        assert_eq!(Received::parse(0, &[0x40, 0x00, 0, 1]), None); // CON ping
        assert_eq!(Received::parse(0, &ACK_RIOT), None); // a response
        assert_eq!(Received::parse(0, &[0x60, 0x01, 0, 1]), None); // ACK with a method code
        assert_eq!(Received::parse(0, &[0x70, 0x01, 0, 1]), None); // RST with a method code
        assert_eq!(Received::parse(0, &[0x40, 0x25, 0, 1]), None); // reserved class 1
    }

    #[test]
    fn digest_is_fnv1a() {
        // FNV-1a 32 reference values: "" and "a".
        assert_eq!(digest(b""), 0x811c_9dc5);
        assert_eq!(digest(b"a"), 0xe40c_292c);
        assert_ne!(digest(&con(1, 1)), digest(&con(1, 2)));
    }

    #[test]
    fn fresh_then_duplicate_con_replays_the_exact_bytes() {
        let mut d = Dedup::<4, 32>::new();
        let r = rx(1, &CON_GET);
        assert_eq!(d.check(&r, 1_000), Check::Fresh);
        assert!(!d.record(&r, &ACK_RIOT, 1_000));
        assert_eq!(d.check(&r, 3_000), Check::Replay(&ACK_RIOT[..]));
        assert_eq!(d.check(&r, 4_000), Check::Replay(&ACK_RIOT[..]));
        assert_eq!(d.counters().replayed, 2);
        assert_eq!(d.counters().ignored, 0);
    }

    #[test]
    fn check_alone_remembers_nothing() {
        let mut d = Dedup::<4, 32>::new();
        let r = rx(1, &CON_GET);
        assert_eq!(d.check(&r, 0), Check::Fresh);
        assert_eq!(d.check(&r, 0), Check::Fresh);
        assert_eq!(d.live(0), 0);
    }

    #[test]
    fn duplicate_non_is_ignored() {
        let mut d = Dedup::<4, 32>::new();
        let r = rx(1, &NON_GET);
        assert_eq!(d.check(&r, 0), Check::Fresh);
        d.record(&r, &[0x50, 0x45, 0x77, 0x77], 0);
        assert_eq!(d.check(&r, 1), Check::DuplicateNoReply);
        assert_eq!(d.counters().ignored, 1);
        assert_eq!(d.counters().replayed, 0);
    }

    #[test]
    fn other_peer_same_mid_is_fresh() {
        let mut d = Dedup::<4, 32>::new();
        d.record(&rx(1, &CON_GET), &ACK_RIOT, 0);
        assert_eq!(d.check(&rx(2, &CON_GET), 1), Check::Fresh);
        assert_eq!(d.check(&rx(1, &CON_GET), 1), Check::Replay(&ACK_RIOT[..]));
    }

    #[test]
    fn same_mid_other_bytes_is_fresh_and_takes_the_entry() {
        let mut d = Dedup::<4, 32>::new();
        let (a, b) = (rx(1, &con(9, 0xa)), rx(1, &con(9, 0xb)));
        d.record(&a, &[0x61, 0x45, 0, 9, 0xa], 0);
        assert_eq!(d.check(&b, 10), Check::Fresh);
        assert_eq!(d.counters().mid_reused, 1);
        d.record(&b, &[0x61, 0x44, 0, 9, 0xb], 10);
        assert_eq!(d.live(10), 1);
        assert_eq!(d.check(&b, 20), Check::Replay(&[0x61, 0x44, 0, 9, 0xb][..]));
        assert_eq!(d.check(&a, 20), Check::Fresh);
        // b's lifetime counts from its own arrival.
        assert_eq!(
            d.check(&b, 10 + EXCHANGE_LIFETIME_MS - 1),
            Check::Replay(&[0x61, 0x44, 0, 9, 0xb][..])
        );
    }

    #[test]
    fn con_expires_after_exchange_lifetime() {
        let mut d = Dedup::<4, 32>::new();
        let r = rx(1, &CON_GET);
        d.record(&r, &ACK_RIOT, 5_000);
        let last = 5_000 + EXCHANGE_LIFETIME_MS - 1;
        assert_eq!(d.check(&r, last), Check::Replay(&ACK_RIOT[..]));
        assert_eq!(d.check(&r, last + 1), Check::Fresh);
        assert_eq!(d.live(last + 1), 0);
    }

    #[test]
    fn non_expires_after_non_lifetime() {
        let mut d = Dedup::<4, 32>::new();
        let r = rx(1, &NON_GET);
        d.record(&r, &[], 0);
        assert_eq!(d.check(&r, NON_LIFETIME_MS - 1), Check::DuplicateNoReply);
        assert_eq!(d.check(&r, NON_LIFETIME_MS), Check::Fresh);
    }

    #[test]
    fn a_clock_going_back_does_not_expire() {
        let mut d = Dedup::<4, 32>::new();
        let r = rx(1, &CON_GET);
        d.record(&r, &ACK_RIOT, 10_000);
        assert_eq!(d.check(&r, 0), Check::Replay(&ACK_RIOT[..]));
    }

    #[test]
    fn full_pool_evicts_the_oldest_and_counts_it() {
        let mut d = Dedup::<3, 8>::new();
        let msgs: [Received; 4] = core::array::from_fn(|i| rx(1, &con(i as u16, 0)));
        for (t, m) in msgs.iter().take(3).enumerate() {
            assert!(!d.record(m, &[0x60, 0x45, 0, t as u8], t as u64));
        }
        // A duplicate of the oldest does not make it younger.
        assert!(matches!(d.check(&msgs[0], 3), Check::Replay(_)));
        assert!(d.record(&msgs[3], &[0x60, 0x45, 0, 3], 4));
        assert_eq!(d.counters().evicted_early, 1);
        assert_eq!(d.check(&msgs[0], 5), Check::Fresh);
        for m in &msgs[1..] {
            assert!(matches!(d.check(m, 5), Check::Replay(_)), "{m:?}");
        }
        // Next to go: the second oldest.
        d.record(&rx(2, &con(0, 0)), &[], 6);
        assert_eq!(d.check(&msgs[1], 7), Check::Fresh);
        assert!(matches!(d.check(&msgs[2], 7), Check::Replay(_)));
        assert_eq!(d.counters().evicted_early, 2);
    }

    #[test]
    fn expired_entries_make_room_without_counting() {
        let mut d = Dedup::<2, 8>::new();
        d.record(&rx(1, &con(7, 0)), &[], 0);
        d.record(&rx(1, &NON_GET), &[], 0);
        // The NON expired first; its slot is reused and nothing counts as early.
        assert!(!d.record(&rx(1, &con(8, 0)), &[], NON_LIFETIME_MS));
        assert_eq!(d.counters().evicted_early, 0);
        for mid in [7, 8] {
            let c = d.check(&rx(1, &con(mid, 0)), NON_LIFETIME_MS);
            assert!(matches!(c, Check::Replay(_)), "{mid}");
        }
        assert_eq!(d.check(&rx(1, &NON_GET), NON_LIFETIME_MS), Check::Fresh);
    }

    #[test]
    fn eviction_order_survives_the_order_counter_wrapping() {
        let mut d = Dedup::<2, 8>::new();
        d.next_order = u32::MAX;
        d.record(&rx(1, &con(1, 0)), &[], 0); // order u32::MAX
        d.record(&rx(1, &con(2, 0)), &[], 0); // order 0
        assert!(d.record(&rx(1, &con(3, 0)), &[], 0));
        assert_eq!(d.check(&rx(1, &con(1, 0)), 0), Check::Fresh);
        assert!(matches!(d.check(&rx(1, &con(2, 0)), 0), Check::Replay(_)));
    }

    #[test]
    fn too_large_response_is_seen_without_bytes() {
        let mut d = Dedup::<4, 8>::new();
        let r = rx(1, &CON_GET);
        d.record(&r, &ACK_RIOT, 0); // 11 bytes > 8
        assert_eq!(d.check(&r, 1), Check::DuplicateTooLarge);
        assert_eq!(d.counters().too_large, 1);
        assert_eq!(d.counters().replayed, 0);
        // Processed again: a response that fits now replaces it, keeping the first time.
        d.record(&r, &ACK_RIOT[..6], 100);
        assert_eq!(d.check(&r, 101), Check::Replay(&ACK_RIOT[..6]));
        assert_eq!(d.check(&r, EXCHANGE_LIFETIME_MS), Check::Fresh);
        // A slot-sized response fits exactly.
        let mut d = Dedup::<1, 11>::new();
        d.record(&r, &ACK_RIOT, 0);
        assert_eq!(d.check(&r, 1), Check::Replay(&ACK_RIOT[..]));
        // A NON's duplicate is ignored whatever the response's size.
        let mut d = Dedup::<1, 0>::new();
        let n = rx(1, &NON_GET);
        d.record(&n, &ACK_RIOT, 0);
        assert_eq!(d.check(&n, 1), Check::DuplicateNoReply);
    }

    #[test]
    fn message_ids_across_the_wrap_are_distinct() {
        let mut d = Dedup::<4, 8>::new();
        let (hi, lo) = (rx(1, &con(0xffff, 1)), rx(1, &con(0x0000, 1)));
        d.record(&hi, &[0x60, 0x45, 0xff, 0xff], 0);
        assert_eq!(d.check(&lo, 1), Check::Fresh);
        d.record(&lo, &[0x60, 0x45, 0x00, 0x00], 1);
        assert_eq!(
            d.check(&hi, 2),
            Check::Replay(&[0x60, 0x45, 0xff, 0xff][..])
        );
        assert_eq!(
            d.check(&lo, 2),
            Check::Replay(&[0x60, 0x45, 0x00, 0x00][..])
        );
    }

    #[test]
    fn forget_drops_the_entries_of_one_peer_only() {
        let mut d = Dedup::<4, 32>::new();
        // Peers as the RIOT driver keys them: endpoint | id_kind << 32 | id << 40.
        let (a, a_dtls, b) = (3u64, 3 | 2 << 32 | 7 << 40, 4u64);
        for (peer, mid) in [(a, 1), (a_dtls, 2), (b, 3)] {
            assert!(!d.record(&rx(peer, &con(mid, 0)), &ACK_RIOT, 0));
        }
        assert_eq!(d.forget(|p| p as u32 == 3), 2);
        assert_eq!(d.check(&rx(a, &con(1, 0)), 1), Check::Fresh);
        assert_eq!(d.check(&rx(a_dtls, &con(2, 0)), 1), Check::Fresh);
        assert_eq!(d.check(&rx(b, &con(3, 0)), 1), Check::Replay(&ACK_RIOT[..]));
        assert_eq!(d.live(1), 1);
        assert_eq!(d.forget(|p| p as u32 == 3), 0);
    }

    #[test]
    fn empty_pool_recognises_nothing() {
        let mut d = Dedup::<0, 8>::new();
        let r = rx(1, &CON_GET);
        assert!(!d.record(&r, &ACK_RIOT, 0));
        assert_eq!(d.check(&r, 1), Check::Fresh);
        assert_eq!(d.counters(), Counters::default());
    }
}
