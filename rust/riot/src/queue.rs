//! Queue Mode on RIOT (feature `queue-mode`, `LWM2M_QUEUE_MODE=1`): the engine decides when
//! the node is reachable ([`lwm2m::engine::Engine::queue_state`]); this module turns that into
//! the radio's state. After each poll that leaves the engine asleep the glue puts the first
//! network interface to sleep (`NETOPT_STATE_SLEEP`); the glue's send wakes it again
//! (`NETOPT_STATE_IDLE`) before the next message goes out, so the radio is on exactly while
//! the engine is awake. Requests that still arrive while asleep (an interface without a sleep
//! state, such as native64's tap) are dropped before the engine, as the host runtime does.

use core::ffi::c_int;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use lwm2m::engine::QueueState;

use crate::ev::ev;
use crate::{now, wake, with_state, State};

extern "C" {
    /// Puts the first network interface to sleep (`on` false) or wakes it; returns
    /// `netif_set_opt`'s result (negative: the interface has no such state).
    fn lwm2m_c2c_glue_radio(on: bool) -> c_int;
}

/// The engine was asleep after the last poll.
static ASLEEP: AtomicBool = AtomicBool::new(false);
/// Requests dropped while asleep, since boot.
static DROPPED: AtomicU32 = AtomicU32::new(0);

/// Switches Queue Mode on with this awake time in milliseconds (0: off). Call it before
/// `lwm2m_c2c_start()`: the Register carries `Q` only from then on. The glue calls it at start
/// with `CONFIG_LWM2M_QUEUE_AWAKE_MS` when built with `LWM2M_QUEUE_MODE=1`. Returns 0, or
/// `-EDEADLK` from an object callback.
#[no_mangle]
pub extern "C" fn lwm2m_c2c_set_queue_mode(awake_ms: u32) -> c_int {
    with_state(|s| {
        s.engine
            .set_queue_mode((awake_ms > 0).then_some(awake_ms), now())
    })
    .map_or_else(|e| e, |()| 0)
}

/// Wakes the node (Queue Mode): a registration Update goes to every registered server, then
/// the notifications stored while asleep. For firmware that wants a change reported now.
/// Returns 0, or `-EDEADLK` from an object callback.
#[no_mangle]
pub extern "C" fn lwm2m_c2c_wake() -> c_int {
    let res = with_state(|s| s.engine.wake(now())).map_or_else(|e| e, |()| 0);
    wake();
    res
}

/// After a poll: follows the engine's state with the radio's and reports each change.
pub(crate) fn after_poll(s: &State, now: u64) {
    let asleep = s.engine.queue_state(now) == QueueState::Sleeping;
    if asleep == ASLEEP.swap(asleep, Ordering::Relaxed) {
        return;
    }
    if asleep {
        // SAFETY: plain C call; the glue only sets an interface option.
        let res = unsafe { lwm2m_c2c_glue_radio(false) };
        ev!("queue_sleeping radio={}", res);
    } else {
        // The glue's send woke the radio already.
        ev!("queue_awake");
    }
}

/// True when a request arriving now is dropped (the node sleeps); counts and reports it.
pub(crate) fn drop_request(s: &State, now: u64) -> bool {
    if s.engine.is_awake(now) {
        return false;
    }
    let n = DROPPED.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
    ev!("queue_dropped count={}", n);
    true
}
