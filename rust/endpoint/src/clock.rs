//! Time and randomness, injectable so the message layer and the driver can be tested without
//! sleeping and with reproducible jitter.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use lwm2m::engine::Millis;

/// A monotonic millisecond clock.
pub trait Clock {
    /// Milliseconds since an arbitrary origin; never decreases.
    fn now(&self) -> Millis;
}

/// The real monotonic clock, counting from its creation.
#[derive(Clone, Copy, Debug)]
pub struct MonotonicClock(Instant);

impl MonotonicClock {
    /// A clock reading 0 now.
    pub fn new() -> Self {
        MonotonicClock(Instant::now())
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for MonotonicClock {
    fn now(&self) -> Millis {
        self.0.elapsed().as_millis() as Millis
    }
}

/// A clock that only moves when told to (tests). Clones share the time.
#[derive(Clone, Debug, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock reading `start`.
    pub fn new(start: Millis) -> Self {
        ManualClock(Arc::new(AtomicU64::new(start)))
    }

    /// Moves the clock forward.
    pub fn advance(&self, ms: Millis) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    /// Sets the time (must not go backwards for the users' sake).
    pub fn set(&self, t: Millis) {
        self.0.store(t, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Millis {
        self.0.load(Ordering::SeqCst)
    }
}

/// A small xorshift64* generator: jitter, message IDs, tokens, registration IDs and simulated
/// readings, not secrets (a secured deployment relies on DTLS / OSCORE, not on tokens).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator with a fixed seed (tests).
    pub fn from_seed(seed: u64) -> Self {
        Rng(seed | 1)
    }

    /// A generator seeded from the process's hash-map keys, the time and the process ID
    /// (random per process and per call).
    pub fn new() -> Self {
        Rng::from_seed(entropy())
    }

    /// Next 64 random bits.
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

    /// A short identifier of `len` lowercase letters and digits (registration IDs).
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

/// 64 bits from the standard library's randomly keyed hasher (seeded by the OS per process).
pub fn entropy() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_is_shared_and_only_moves_when_told() {
        let c = ManualClock::new(5);
        let d = c.clone();
        assert_eq!(c.now(), 5);
        d.advance(10);
        assert_eq!(c.now(), 15);
        c.set(100);
        assert_eq!(d.now(), 100);
    }

    #[test]
    fn rng_is_reproducible_and_in_range() {
        let mut a = Rng::from_seed(42);
        let mut b = Rng::from_seed(42);
        for _ in 0..1000 {
            let x = a.next_f64();
            assert!((0.0..1.0).contains(&x));
            assert_eq!(x, b.next_f64());
        }
        assert_ne!(Rng::from_seed(1).next_u64(), Rng::from_seed(3).next_u64());
        let id = a.ident(10);
        assert_eq!(id.len(), 10);
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(id, a.ident(10));
    }
}
