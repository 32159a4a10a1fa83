//! Queue Mode (LwM2M 1.1 TS Core 6.5 / Transport 7.2): the client registers with the `Q`
//! query parameter and is reachable only for the awake time after each message it sends (and
//! while a registration exchange it started is open); then it sleeps. Feature `queue-mode`,
//! switched on at run time with [`Engine::set_queue_mode`].
//!
//! What the engine decides, and what the driver does with it:
//! - [`Engine::queue_state`] says whether the client is awake, and until when; the driver must
//!   not hand requests to [`Engine::handle_request`] while it sleeps (RIOT puts the radio to
//!   sleep; the host runtime drops what arrives). [`Engine::next_wakeup`] includes the end of
//!   the awake time, so the driver polls when the client falls asleep.
//! - The client wakes for what it has to send: the registration Update its lifetime calls for,
//!   a Send, an access request, and [`Engine::wake`] (the firmware's call, e.g. after a value
//!   change it wants reported now: it sends a registration Update to every registered server
//!   so each learns the client is awake). A notification falling due does **not** wake it.
//! - Notifications that fall due while asleep are built as usual and **stored** (in order, in
//!   a byte store of [`QUEUE_STORE_BYTES`]); they go out on the next wake, before any new
//!   notification (RFC 7641 receivers drop a notification older than one they have seen).
//!   When the observer's Server account has Notification Storing When Disabled or Offline
//!   (`/1/x/6`) false, only the latest notification of each observation is kept (the earlier
//!   ones are discarded, counted as `discarded`); observers that are peer clients are treated
//!   so too. A notification that does not fit pushes the oldest out (counted as `dropped`).
//! - Messages the driver sends itself (message-layer retransmissions, its own client-to-client
//!   requests) also open the awake time: it reports them with [`Engine::message_sent`].

use super::{Destination, Engine, Identity, Millis, Outgoing};
use crate::coap::Message;
use crate::config::{MAX_OBSERVATIONS, QUEUE_STORE_BYTES};

/// The default awake time: CoAP's MAX_TRANSMIT_WAIT (RFC 7252 4.8.2, 93 s), as LwM2M 1.1
/// recommends.
pub const DEFAULT_AWAKE_MS: u32 = 93_000;

/// Bytes a stored notification takes in the store besides its message: peer handle (4),
/// length (2), confirmable (1).
const HEADER: usize = 7;

/// Queue Mode state as the driver sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueState {
    /// Queue Mode is off: always reachable.
    Off,
    /// Reachable; falls asleep at `until` unless it sends something before, or an exchange it
    /// started is still open then.
    Awake {
        /// End of the awake time on the driver's clock.
        until: Millis,
    },
    /// Asleep: answers nothing until it next sends.
    Sleeping,
}

/// Counters of the notification store (all since the engine started).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueCounters {
    /// Notifications stored now, waiting for the next wake.
    pub stored: u16,
    /// Notifications stored while asleep, in total.
    pub stored_total: u32,
    /// Stored notifications sent on a wake.
    pub flushed: u32,
    /// Notifications the store had no room for (the limit, [`QUEUE_STORE_BYTES`], was hit):
    /// the oldest stored ones were dropped to make room, or the new one if it alone is larger.
    pub dropped: u32,
    /// Stored notifications replaced by a newer one of the same observation because its
    /// server's Notification Storing When Disabled or Offline is false.
    pub discarded: u32,
    /// Times the client fell asleep.
    pub sleeps: u32,
}

/// The engine's Queue Mode state.
#[derive(Debug, Default)]
pub(crate) struct Queue {
    /// 0: Queue Mode off.
    awake_ms: u32,
    /// End of the awake time.
    awake_until: Millis,
    /// The last poll found the client asleep (so `next_wakeup` no longer reports the end).
    asleep: bool,
    /// Stored notifications: `HEADER` then the message, one after the other, oldest first.
    store: heapless::Vec<u8, QUEUE_STORE_BYTES>,
    counters: QueueCounters,
}

/// One stored notification's place in the store.
struct Entry {
    start: usize,
    end: usize,
    endpoint: u32,
    confirmable: bool,
}

impl Queue {
    /// The entries of the store, oldest first.
    fn entries(&self) -> impl Iterator<Item = Entry> + '_ {
        let mut at = 0;
        core::iter::from_fn(move || {
            let h = self.store.get(at..at + HEADER)?;
            let endpoint = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
            let len = usize::from(u16::from_be_bytes([h[4], h[5]]));
            let e = Entry {
                start: at,
                end: at + HEADER + len,
                endpoint,
                confirmable: h[6] != 0,
            };
            at = e.end;
            Some(e)
        })
    }

    fn remove(&mut self, e: &Entry) {
        let n = e.end - e.start;
        self.store.copy_within(e.end.., e.start);
        self.store.truncate(self.store.len() - n);
        self.counters.stored -= 1;
    }

    /// Stores a notification built while asleep; `latest_only`: replace an earlier one of
    /// the same observation (endpoint and token).
    fn push(&mut self, out: &Outgoing, msg: &[u8], latest_only: bool) {
        let Destination::Endpoint(endpoint) = out.dest else {
            return;
        };
        if latest_only {
            let token = Message::parse(msg).map(|m| m.token).unwrap_or(&[]);
            let same = self.entries().find(|e| {
                e.endpoint == endpoint
                    && Message::parse(&self.store[e.start + HEADER..e.end])
                        .is_ok_and(|m| m.token == token)
            });
            if let Some(e) = same {
                self.remove(&e);
                self.counters.discarded += 1;
            }
        }
        let need = HEADER + msg.len();
        if need > QUEUE_STORE_BYTES || msg.len() > usize::from(u16::MAX) {
            self.counters.dropped += 1;
            return;
        }
        while self.store.capacity() - self.store.len() < need {
            let Some(oldest) = self.entries().next() else {
                break;
            };
            self.remove(&oldest);
            self.counters.dropped += 1;
        }
        let len = (msg.len() as u16).to_be_bytes();
        let header = endpoint.to_be_bytes();
        let header = [
            header[0],
            header[1],
            header[2],
            header[3],
            len[0],
            len[1],
            u8::from(out.confirmable),
        ];
        if self.store.extend_from_slice(&header).is_ok()
            && self.store.extend_from_slice(msg).is_ok()
        {
            self.counters.stored += 1;
            self.counters.stored_total += 1;
        }
    }

    /// Moves the oldest stored notification into `buf` (dropped, counted, if it does not fit).
    fn pop(&mut self, buf: &mut [u8]) -> Option<Outgoing> {
        loop {
            let e = self.entries().next()?;
            let msg = &self.store[e.start + HEADER..e.end];
            let out = buf.get_mut(..msg.len()).map(|b| {
                b.copy_from_slice(msg);
                Outgoing {
                    dest: Destination::Endpoint(e.endpoint),
                    len: msg.len(),
                    confirmable: e.confirmable,
                }
            });
            self.remove(&e);
            if out.is_some() {
                self.counters.flushed += 1;
                return out;
            }
            self.counters.dropped += 1;
        }
    }

    /// Opens (or extends) the awake time after a message sent at `now`.
    fn sent(&mut self, now: Millis) {
        if self.awake_ms != 0 {
            self.awake_until = self.awake_until.max(now + Millis::from(self.awake_ms));
            self.asleep = false;
        }
    }
}

impl Engine<'_> {
    /// Switches Queue Mode on with an awake time of `awake_ms` milliseconds (e.g.
    /// [`DEFAULT_AWAKE_MS`]; 0 is taken as 1) or off (`None`). Set it before
    /// [`Engine::start`]: the `Q` parameter goes with the next Register. The client starts
    /// awake.
    pub fn set_queue_mode(&mut self, awake_ms: Option<u32>, now: Millis) {
        self.queue.awake_ms = awake_ms.map_or(0, |a| a.max(1));
        self.queue.awake_until = 0;
        self.queue.sent(now);
    }

    /// The awake time in milliseconds, `None` when Queue Mode is off.
    pub fn queue_mode(&self) -> Option<u32> {
        (self.queue.awake_ms != 0).then_some(self.queue.awake_ms)
    }

    /// Whether the client is awake at `now` (see [`QueueState`]).
    pub fn queue_state(&self, now: Millis) -> QueueState {
        if self.queue.awake_ms == 0 {
            QueueState::Off
        } else if now < self.queue.awake_until || self.registration.exchange_open() {
            QueueState::Awake {
                until: self.queue.awake_until,
            }
        } else {
            QueueState::Sleeping
        }
    }

    /// True unless the client sleeps in Queue Mode: only then may the driver hand it requests.
    pub fn is_awake(&self, now: Millis) -> bool {
        self.queue_state(now) != QueueState::Sleeping
    }

    /// Wakes the client (firmware's call): a registration Update goes to every registered
    /// server with the next [`Engine::poll`], then the stored notifications.
    pub fn wake(&mut self, now: Millis) {
        if self.queue.awake_ms != 0 {
            self.queue.sent(now);
            self.registration.update_registered();
        }
    }

    /// Tells the engine that the driver sent a message of its own at `now` (a retransmission,
    /// a client-to-client request): the awake time starts again.
    pub fn message_sent(&mut self, now: Millis) {
        self.queue.sent(now);
    }

    /// The notification store's counters.
    pub fn queue_counters(&self) -> QueueCounters {
        self.queue.counters
    }

    /// True if a stored notification goes to peer handle `endpoint`.
    pub(crate) fn queue_refers_to(&self, endpoint: u32) -> bool {
        self.queue.entries().any(|e| e.endpoint == endpoint)
    }

    /// When the awake time ends (for [`Engine::next_wakeup`]), unless the client already sleeps.
    pub(crate) fn queue_wakeup(&self) -> Option<Millis> {
        // While an exchange is open its end (answer or failure) makes the driver poll.
        let open = self.registration.exchange_open();
        (self.queue.awake_ms != 0 && !self.queue.asleep && !open).then_some(self.queue.awake_until)
    }

    /// Called by the driver (through `handle_request`) for every response it sends.
    pub(crate) fn queue_answered(&mut self, now: Millis) {
        self.queue.sent(now);
    }

    /// [`Engine::poll`] in Queue Mode: requests (which wake the client) first, then, awake,
    /// the stored notifications and new ones; asleep, new notifications are stored.
    pub(crate) fn poll_queue_mode(&mut self, now: Millis, buf: &mut [u8]) -> Option<Outgoing> {
        if self.queue.awake_ms == 0 {
            return self.poll_due(now, buf);
        }
        let awake = self.is_awake(now);
        let out = match self.poll_requests(now, buf) {
            Some(o) => Some(o),
            None if awake => self
                .queue
                .pop(buf)
                .or_else(|| self.poll_notifications(now, buf)),
            None => {
                // Bounded: each observation is due at most once per poll time.
                for _ in 0..=MAX_OBSERVATIONS {
                    let Some(o) = self.poll_notifications(now, buf) else {
                        break;
                    };
                    let latest_only = !self.storing_for(o.dest);
                    self.queue.push(&o, &buf[..o.len], latest_only);
                }
                if !self.queue.asleep {
                    self.queue.asleep = true;
                    self.queue.counters.sleeps += 1;
                }
                None
            }
        };
        if out.is_some() {
            self.queue.sent(now);
        }
        out
    }

    /// Notification Storing When Disabled or Offline (`/1/x/6`) of the server behind a
    /// notification's peer handle (false for peer clients).
    fn storing_for(&self, dest: Destination) -> bool {
        let Destination::Endpoint(ep) = dest else {
            return false;
        };
        let ssid = self.observations.list.iter().find_map(|o| match o.peer {
            p if p.endpoint == ep => match p.identity {
                Identity::Server(s) => Some(s),
                _ => None,
            },
            _ => None,
        });
        ssid.and_then(|s| self.server.by_ssid(s))
            .is_some_and(|s| s.storing)
    }
}
