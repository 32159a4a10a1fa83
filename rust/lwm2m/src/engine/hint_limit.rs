//! Rate limiting of owner server hints (T1), per source with a global cap.
//!
//! A hint answers an unauthorized request with a few dozen bytes, so an unbounded stream of
//! them amplifies a flood. One bucket for every peer, though, lets a flood from some sources
//! turn every newcomer's 4.01 into one without hint. Therefore:
//! - A table of [`HINT_SOURCES`] buckets, one per *source* ([`super::Peer::source`], the
//!   driver's key of the remote address), each of [`HINT_BURST`] hints refilled one per
//!   [`HINT_REFILL_MS`].
//! - A global bucket of [`HINT_GLOBAL_BURST`] hints refilled one per [`HINT_GLOBAL_REFILL_MS`]
//!   caps the hints of all sources together.
//! - Replacement rule: a source not in the table takes a free slot, or a slot whose bucket is
//!   full again (its source asked nothing for long enough that forgetting it loses nothing:
//!   a new bucket would be full too). A slot whose bucket is not full is never taken, so
//!   rotating addresses cannot evict a quiet newcomer's bucket, nor reset their own by
//!   evicting each other. A source that finds no slot draws from the global bucket only, and
//!   only while that holds more than half of [`HINT_GLOBAL_BURST`]: sources without a slot
//!   (where rotating addresses end up) share at most half of the global budget, the other
//!   half stays for the sources in the table.
//!
//! With the defaults, the table's buckets together refill as fast as the global bucket
//! (4 x 1 / 2 s = 1 / 500 ms), so sources in the table never starve each other through it.
//! What hits a limit is counted in [`HintCounters`].

use super::Millis;
use crate::config::HINT_SOURCES;

/// Hints one source gets in a burst before its rate limiting starts.
pub const HINT_BURST: u8 = 4;
/// Milliseconds after which a source may get one more hint.
pub const HINT_REFILL_MS: u64 = 2_000;
/// Hints all sources together get in a burst (the global cap).
pub const HINT_GLOBAL_BURST: u8 = 16;
/// Milliseconds after which the global cap allows one more hint.
pub const HINT_GLOBAL_REFILL_MS: u64 = 500;

/// Counters of the hint rate limiting since the engine started (wrapping).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HintCounters {
    /// Hints sent.
    pub sent: u32,
    /// 4.01 without hint because the source's own bucket was empty.
    pub source_limited: u32,
    /// 4.01 without hint because the global cap was reached.
    pub global_limited: u32,
    /// Requests from a source that found the table full (no slot free or reclaimable); such
    /// a source draws from the global bucket's upper half only.
    pub table_full: u32,
}

impl HintCounters {
    /// The limit a request hit, comparing the counters before it (`earlier`) with these:
    /// `"global"`, `"source"` or `"table-full"` (the source found no slot and drew from the
    /// global bucket's shared half; it may still have got its hint). `None`: no limit hit.
    pub fn limit_hit_since(&self, earlier: &HintCounters) -> Option<&'static str> {
        if self.global_limited != earlier.global_limited {
            Some("global")
        } else if self.source_limited != earlier.source_limited {
            Some("source")
        } else if self.table_full != earlier.table_full {
            Some("table-full")
        } else {
            None
        }
    }
}

/// A token bucket: `used` tokens taken, refilled one per `refill` ms since `at`.
#[derive(Clone, Copy, Debug, Default)]
struct Bucket {
    used: u8,
    at: Millis,
}

impl Bucket {
    /// Adds the tokens earned since the last refill.
    fn refill(&mut self, now: Millis, period: u64) {
        let n = now.saturating_sub(self.at) / period;
        if n > 0 {
            self.used = self.used.saturating_sub(u8::try_from(n).unwrap_or(u8::MAX));
            self.at = self.at.saturating_add(n.saturating_mul(period));
        }
        if self.used == 0 {
            // A full bucket starts its next period when it is next used.
            self.at = now;
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    used: bool,
    source: u32,
    bucket: Bucket,
}

/// The limiter's state: [`HINT_SOURCES`] slots and the global bucket.
#[derive(Debug, Default)]
pub(crate) struct HintLimiter {
    slots: [Slot; HINT_SOURCES],
    global: Bucket,
    counters: HintCounters,
}

impl HintLimiter {
    /// Takes one hint for `source` at `now`, if the limits allow it (the caller then sends the
    /// hint and reports it with [`HintLimiter::sent`]; nothing is taken before that).
    pub(crate) fn allow(&mut self, source: u32, now: Millis) -> Option<Grant> {
        self.global.refill(now, HINT_GLOBAL_REFILL_MS);
        for s in self.slots.iter_mut().filter(|s| s.used) {
            s.bucket.refill(now, HINT_REFILL_MS);
        }
        let slot = self.slot_for(source, now);
        let global_floor = match slot {
            Some(_) => 0,
            None => {
                self.counters.table_full = self.counters.table_full.wrapping_add(1);
                HINT_GLOBAL_BURST / 2
            }
        };
        if let Some(i) = slot {
            if self
                .slots
                .get(i)
                .is_none_or(|s| s.bucket.used >= HINT_BURST)
            {
                self.counters.source_limited = self.counters.source_limited.wrapping_add(1);
                return None;
            }
        }
        if HINT_GLOBAL_BURST - self.global.used.min(HINT_GLOBAL_BURST) <= global_floor {
            self.counters.global_limited = self.counters.global_limited.wrapping_add(1);
            return None;
        }
        Some(Grant { slot })
    }

    /// Charges a hint [`HintLimiter::allow`] granted and that went out.
    pub(crate) fn sent(&mut self, grant: Grant) {
        self.global.used = self.global.used.saturating_add(1);
        if let Some(s) = grant.slot.and_then(|i| self.slots.get_mut(i)) {
            s.bucket.used = s.bucket.used.saturating_add(1);
        }
        self.counters.sent = self.counters.sent.wrapping_add(1);
    }

    /// The counters.
    pub(crate) fn counters(&self) -> HintCounters {
        self.counters
    }

    /// The slot of `source`: its own, else a free one, else one whose bucket is full again
    /// (see the module documentation); `None` when all slots hold spent buckets.
    fn slot_for(&mut self, source: u32, now: Millis) -> Option<usize> {
        if let Some(i) = self.slots.iter().position(|s| s.used && s.source == source) {
            return Some(i);
        }
        let i = self
            .slots
            .iter()
            .position(|s| !s.used || s.bucket.used == 0)?;
        let s = self.slots.get_mut(i)?;
        *s = Slot {
            used: true,
            source,
            bucket: Bucket { used: 0, at: now },
        };
        Some(i)
    }
}

/// Permission for one hint, from [`HintLimiter::allow`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Grant {
    slot: Option<usize>,
}
