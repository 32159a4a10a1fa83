//! The per-requester rate limit of `POST /ac`: a token bucket per requesting endpoint
//! ([`AcRateLimit`]: `--ac-burst`, `--ac-refill-secs`). A request without a token is answered
//! 5.03 Service Unavailable with Max-Age = the seconds until the next token (RFC 7252
//! 5.9.3.4); other requesters keep their own buckets.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Default burst: access requests a requester may send at once (`--ac-burst`).
pub const DEFAULT_AC_BURST: u32 = 3;
/// Default refill period: one more token every this many seconds (`--ac-refill-secs`).
pub const DEFAULT_AC_REFILL_SECS: u64 = 10;

/// The limit's knobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AcRateLimit {
    /// Tokens in a full bucket (requests a requester may send at once); 0 turns the limit off.
    pub burst: u32,
    /// One token comes back every `refill` (at least 1 ms is used).
    pub refill: Duration,
}

impl Default for AcRateLimit {
    fn default() -> Self {
        AcRateLimit {
            burst: DEFAULT_AC_BURST,
            refill: Duration::from_secs(DEFAULT_AC_REFILL_SECS),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: u32,
    /// When the tokens were last counted up (refills after this are still due).
    since: Instant,
}

/// The buckets, by requester endpoint. Only identified (registered) requesters get one; a
/// full bucket is the same as none, so full buckets are dropped once the table holds more
/// than `max_entries` (the registry's bound).
#[derive(Debug)]
pub(crate) struct AcLimiter {
    limit: AcRateLimit,
    buckets: HashMap<String, Bucket>,
    max_entries: usize,
}

impl AcLimiter {
    /// An empty table for `limit`, pruned above `max_entries` buckets.
    pub(crate) fn new(limit: AcRateLimit, max_entries: usize) -> Self {
        AcLimiter {
            limit,
            buckets: HashMap::new(),
            max_entries: max_entries.max(1),
        }
    }

    fn refill(&self) -> Duration {
        self.limit.refill.max(Duration::from_millis(1))
    }

    /// Counts the refills due at `now` into `b`.
    fn top_up(limit: AcRateLimit, refill: Duration, b: &mut Bucket, now: Instant) {
        if b.tokens >= limit.burst {
            // A full bucket does not save refills: the next one is due `refill` after a take.
            b.since = now;
            return;
        }
        let elapsed = now.saturating_duration_since(b.since);
        let due = elapsed.as_nanos() / refill.as_nanos();
        let due = u32::try_from(due).unwrap_or(u32::MAX);
        if due == 0 {
            return;
        }
        b.tokens = b.tokens.saturating_add(due).min(limit.burst);
        b.since = if b.tokens == limit.burst {
            now
        } else {
            b.since + refill * due
        };
    }

    /// Takes a token for `requester`; without one, the whole seconds until the next (>= 1).
    pub(crate) fn take(&mut self, requester: &str, now: Instant) -> Result<(), u32> {
        if self.limit.burst == 0 {
            return Ok(());
        }
        let (limit, refill) = (self.limit, self.refill());
        if !self.buckets.contains_key(requester) && self.buckets.len() >= self.max_entries {
            self.buckets.retain(|_, b| {
                Self::top_up(limit, refill, b, now);
                b.tokens < limit.burst
            });
        }
        let b = self.buckets.entry(requester.to_owned()).or_insert(Bucket {
            tokens: limit.burst,
            since: now,
        });
        Self::top_up(limit, refill, b, now);
        if b.tokens > 0 {
            b.tokens -= 1;
            return Ok(());
        }
        let wait = (b.since + refill).saturating_duration_since(now);
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Err(u32::try_from(secs).unwrap_or(u32::MAX).max(1))
    }

    /// Buckets held now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(burst: u32, refill_s: u64, max: usize) -> AcLimiter {
        AcLimiter::new(
            AcRateLimit {
                burst,
                refill: Duration::from_secs(refill_s),
            },
            max,
        )
    }

    #[test]
    fn burst_then_one_per_refill_with_the_wait() {
        let mut l = limiter(3, 10, 16);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(l.take("a", t0), Ok(()));
        }
        assert_eq!(l.take("a", t0), Err(10));
        assert_eq!(l.take("a", t0 + Duration::from_millis(9_500)), Err(1));
        assert_eq!(l.take("a", t0 + Duration::from_secs(4)), Err(6));
        assert_eq!(l.take("a", t0 + Duration::from_secs(10)), Ok(()));
        assert_eq!(l.take("a", t0 + Duration::from_secs(10)), Err(10));
        // Another requester has its own bucket.
        assert_eq!(l.take("b", t0 + Duration::from_secs(10)), Ok(()));
        // Long idle: back to the burst, not more.
        let later = t0 + Duration::from_secs(1_000);
        for _ in 0..3 {
            assert_eq!(l.take("a", later), Ok(()));
        }
        assert!(l.take("a", later).is_err());
    }

    #[test]
    fn zero_burst_is_no_limit_and_full_buckets_are_pruned() {
        let mut off = limiter(0, 10, 1);
        let t0 = Instant::now();
        assert!((0..100).all(|_| off.take("a", t0).is_ok()));
        let mut l = limiter(2, 1, 2);
        assert_eq!(l.take("a", t0), Ok(()));
        assert_eq!(l.take("b", t0), Ok(()));
        // "a" and "b" are full again after 1 s: a third requester replaces them.
        assert_eq!(l.take("c", t0 + Duration::from_secs(1)), Ok(()));
        assert_eq!(l.len(), 1);
        // Not full: kept beyond the bound rather than forgotten (it would reset the limit).
        assert_eq!(l.take("d", t0 + Duration::from_secs(1)), Ok(()));
        assert_eq!(l.take("e", t0 + Duration::from_secs(1)), Ok(()));
        assert_eq!(l.len(), 3);
    }
}
