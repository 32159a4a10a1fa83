//! Queue Mode on the host (`--queue-mode`, `--awake-ms`): the engine decides when the client
//! is awake ([`lwm2m::engine::QueueState`]); while it sleeps the host client answers nothing:
//! every datagram that arrives is dropped (counted, event `queue dropped`), as a node with
//! its radio off would never have received it (reading on and dropping, rather than leaving
//! the datagrams in the socket, so that none is served late on wake). With DTLS the
//! transport's record layer still runs below; the CoAP layer drops. The events `queue awake`
//! and `queue sleeping` (with how long the client was awake) mark each change, and `queue
//! store full` each notification the engine's store had no room for. A further `impl` block
//! of [`HostClient`].

use std::net::SocketAddr;

use lwm2m::engine::{Engine, Millis, QueueState};
use lwm2m::objects::server::res;
use lwm2m::{Path, Value};

use super::driver::HostClient;
use super::event::Event;
use crate::clock::Clock;
use crate::transport::Transport;

/// What the driver last saw of Queue Mode.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct QueueView {
    /// When the current awake period began (`None`: asleep or not seen yet).
    awake_since: Option<Millis>,
    /// The engine's `dropped` counter at the last look.
    dropped_seen: u32,
    /// Datagrams dropped while asleep.
    pub dropped_asleep: u64,
}

/// Switches Queue Mode on with `awake_ms` and sets Notification Storing When Disabled or
/// Offline (`/1/x/6`) on every server account, so notifications falling due while the client
/// sleeps are all kept (a server may write it false: then only the latest of each).
pub(crate) fn enable(engine: &mut Engine<'_>, awake_ms: u32, now: Millis) {
    engine.set_queue_mode(Some(awake_ms), now);
    let ids: Vec<u16> = engine.servers().instances.iter().map(|s| s.id).collect();
    for i in ids {
        let path = Path::resource(lwm2m::objects::server::ID, i, res::NOTIFICATION_STORING);
        let _ = engine.set_value(&path, Value::Boolean(true), now);
    }
}

impl<T: Transport, C: Clock> HostClient<'_, T, C> {
    /// True (and counted, reported) if a datagram from `from` must be dropped because the
    /// client sleeps.
    pub(super) fn queue_drops(&mut self, from: SocketAddr, now: Millis) -> bool {
        if self.engine.is_awake(now) {
            return false;
        }
        self.queue.dropped_asleep += 1;
        self.emit(Event::QueueDropped {
            from,
            count: self.queue.dropped_asleep,
        });
        true
    }

    /// Reports changes of the Queue Mode state and store overflows (after each flush).
    pub(super) fn queue_service(&mut self) {
        let now = self.now();
        let state = self.engine.queue_state(now);
        match (state, self.queue.awake_since) {
            (QueueState::Awake { until }, None) => {
                self.queue.awake_since = Some(now);
                self.emit(Event::QueueAwake {
                    for_ms: until.saturating_sub(now),
                });
            }
            (QueueState::Sleeping, Some(since)) => {
                self.queue.awake_since = None;
                let stored = self.engine.queue_counters().stored;
                self.emit(Event::QueueSleeping {
                    awake_ms: now - since,
                    stored,
                });
            }
            _ => {}
        }
        let dropped = self.engine.queue_counters().dropped;
        if dropped != self.queue.dropped_seen {
            self.queue.dropped_seen = dropped;
            self.emit(Event::QueueStoreFull { dropped });
        }
    }

    /// Datagrams dropped while asleep (diagnostics, tests).
    pub fn queue_dropped(&self) -> u64 {
        self.queue.dropped_asleep
    }
}
