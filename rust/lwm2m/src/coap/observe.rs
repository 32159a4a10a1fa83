//! The observer's side of RFC 7641 section 3.4: which notification is the freshest. The
//! Observe option value is a 24-bit serial number that wraps, so a later notification may
//! carry a smaller number; a notification that arrives more than 128 seconds after the last
//! accepted one counts as fresher whatever its number (the server may have restarted its
//! counter).
//!
//! ```
//! use lwm2m::coap::observe::NotificationOrder;
//!
//! let mut order = NotificationOrder::new();
//! assert!(order.accept(0xff_fffe, 0));
//! assert!(order.accept(1, 1_000)); // past the wrap
//! assert!(!order.accept(1, 2_000)); // a duplicate
//! assert!(!order.accept(0xff_ffff, 3_000)); // reordered: older than 1
//! ```

/// Observe numbers are 24 bits wide (RFC 7641 section 3.4).
pub const OBSERVE_MASK: u32 = 0x00ff_ffff;

/// Half the number space: a difference below it counts forward.
const HALF: u32 = 1 << 23;

/// After this long (milliseconds) any notification is fresher than the last accepted one.
pub const FRESHNESS_WINDOW_MS: u64 = 128_000;

/// RFC 7641 section 3.4: whether the notification with Observe number `v2`, received at `t2`,
/// is fresher than the one accepted last, number `v1` received at `t1` (times in
/// milliseconds; numbers are taken modulo 2^24). Equal numbers within the window (a
/// duplicate) are not fresher.
pub fn is_fresher(v1: u32, t1: u64, v2: u32, t2: u64) -> bool {
    let (v1, v2) = (v1 & OBSERVE_MASK, v2 & OBSERVE_MASK);
    (v1 < v2 && v2 - v1 < HALF)
        || (v1 > v2 && v1 - v2 > HALF)
        || t2 > t1.saturating_add(FRESHNESS_WINDOW_MS)
}

/// The last notification an observer accepted for one observation, to drop stale and
/// duplicate ones.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NotificationOrder {
    last: Option<(u32, u64)>,
}

impl NotificationOrder {
    /// Nothing accepted yet: the first notification (the response to the registration)
    /// is always fresh.
    pub const fn new() -> Self {
        NotificationOrder { last: None }
    }

    /// Accepts the notification with Observe number `number` received at `now` if it is
    /// fresher than the last one accepted ([`is_fresher`]), and then remembers it. Returns
    /// false for a stale one, which leaves the state unchanged.
    pub fn accept(&mut self, number: u32, now: u64) -> bool {
        let fresh = self
            .last
            .is_none_or(|(v1, t1)| is_fresher(v1, t1, number, now));
        if fresh {
            self.last = Some((number & OBSERVE_MASK, now));
        }
        fresh
    }

    /// The Observe number accepted last.
    pub fn last(&self) -> Option<u32> {
        self.last.map(|(v, _)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc7641_rules() {
        // (v1, v2, fresher within the window)
        let cases = [
            (5, 6, true),
            (5, 5, false), // duplicate
            (6, 5, false), // reordered
            (0, HALF - 1, true),
            (0, HALF, false), // exactly half: neither rule
            (HALF, 0, false),
            (HALF + 1, 0, true), // v1 - v2 > 2^23: wrapped
            (OBSERVE_MASK, 0, true),
            (OBSERVE_MASK, 3, true),
            (3, OBSERVE_MASK, false),
            (0, OBSERVE_MASK, false),
        ];
        for (v1, v2, fresh) in cases {
            assert_eq!(
                is_fresher(v1, 1_000, v2, 1_000),
                fresh,
                "{v1:#x} -> {v2:#x}"
            );
        }
    }

    #[test]
    fn numbers_are_taken_modulo_2_24() {
        assert!(!is_fresher(5, 0, (1 << 24) | 5, 0));
        assert!(is_fresher((1 << 24) | 5, 0, 6, 0));
    }

    #[test]
    fn after_128_seconds_anything_is_fresher() {
        assert!(!is_fresher(9, 0, 9, FRESHNESS_WINDOW_MS));
        assert!(is_fresher(9, 0, 9, FRESHNESS_WINDOW_MS + 1));
        assert!(is_fresher(9, 0, 2, FRESHNESS_WINDOW_MS + 1));
        // No overflow near the end of time.
        assert!(!is_fresher(9, u64::MAX - 5, 9, u64::MAX));
    }

    #[test]
    fn order_drops_duplicates_and_reordered_notifications() {
        let mut o = NotificationOrder::new();
        assert_eq!(o.last(), None);
        assert!(o.accept(10, 0));
        assert!(!o.accept(10, 1));
        assert!(o.accept(12, 2));
        assert!(!o.accept(11, 3)); // overtaken by 12
        assert_eq!(o.last(), Some(12));
        // A stale one leaves the time alone: the window still counts from 12's arrival.
        assert!(!o.accept(12, 2 + FRESHNESS_WINDOW_MS));
        assert!(o.accept(3, 3 + FRESHNESS_WINDOW_MS)); // the host restarted its counter
        assert_eq!(o.last(), Some(3));
        assert!(o.accept(1 << 24 | 4, 4 + FRESHNESS_WINDOW_MS));
        assert_eq!(o.last(), Some(4));
    }

    proptest! {
        /// Within the window, of two different numbers exactly one is fresher than the other
        /// unless they are half the space apart.
        #[test]
        fn antisymmetric(a in 0..=OBSERVE_MASK, b in 0..=OBSERVE_MASK) {
            let (ab, ba) = (is_fresher(a, 0, b, 0), is_fresher(b, 0, a, 0));
            let half_apart = a.abs_diff(b) == HALF;
            prop_assert_eq!(ab && ba, false);
            prop_assert_eq!(ab || ba, a != b && !half_apart);
        }

        /// A counter stepping forward by less than half the space (wrapping) is always fresh.
        #[test]
        fn forward_steps_are_fresh(start in 0..=OBSERVE_MASK, step in 1..HALF) {
            prop_assert!(is_fresher(start, 0, (start + step) & OBSERVE_MASK, 0));
        }
    }
}
