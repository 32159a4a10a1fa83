//! Queue Mode clients (LwM2M 1.1 TS Core 6.5: registered with `Q`): the server takes a client
//! for awake for [`QueueConfig::awake`] after each message it receives from it (Register,
//! Update, any request, a notification, a response), and asleep after that. DM requests (from
//! the console, the HTTP API, the access-request worker) for a sleeping client wait in a
//! queue of at most [`QueueConfig::max_requests`] per client (more: [`ServerError::QueueFull`])
//! and go out, in order, as soon as the client next talks to the server. A queued request
//! still ends at its deadline (the request timeout, `--timeout`). Events `awake`,
//! `sleeping` and `request-queued`; the client listing shows `awake`.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::EventLoop;
use crate::error::ServerError;
use crate::event::Event;
use crate::registration::Registration;
use crate::shared::Call;
use crate::sync::lock;

/// Queue Mode knobs of the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueConfig {
    /// How long a Queue Mode client counts as awake after its last message
    /// (`--queue-awake-ms`; default CoAP MAX_TRANSMIT_WAIT, 93 s, the client's default).
    pub awake: Duration,
    /// Requests that may wait for one sleeping client (`--queue-max-requests`).
    pub max_requests: usize,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            awake: Duration::from_millis(93_000),
            max_requests: 8,
        }
    }
}

/// One Queue Mode client as the loop sees it.
#[derive(Default)]
pub(super) struct Sleeper {
    /// Awake until then; `None`: asleep (the `sleeping` event is out).
    awake_until: Option<Instant>,
    /// Requests waiting for it to wake, oldest first.
    pending: VecDeque<Call>,
}

/// The Queue Mode clients by endpoint name.
pub(super) type Sleepers = HashMap<String, Sleeper>;

impl EventLoop {
    /// A message came from `peer`: if it is a Queue Mode client, it is awake now; its queued
    /// requests go out.
    pub(super) fn queue_heard(&mut self, peer: SocketAddr, now: Instant) {
        let reg = lock(&self.shared.registry).find_by_addr(peer).cloned();
        let Some(reg) = reg.filter(|r| r.queue_mode) else {
            return;
        };
        let until = now + self.config.queue.awake;
        let s = self.sleepers.entry(reg.endpoint.clone()).or_default();
        let woke = s.awake_until.is_none_or(|t| t <= now);
        s.awake_until = Some(until);
        let pending = std::mem::take(&mut s.pending);
        lock(&self.shared.registry).set_awake_until(&reg.endpoint, Some(until));
        if woke {
            self.shared.emit(Event::Awake {
                endpoint: reg.endpoint.clone(),
                queued: pending.len(),
            });
        }
        for call in pending {
            self.on_call(call, now);
        }
    }

    /// `call` for `reg`: handed back if it may go out now, else queued (or refused when the
    /// client's queue is full).
    pub(super) fn queue_hold(
        &mut self,
        reg: &Registration,
        call: Call,
        now: Instant,
    ) -> Option<Call> {
        if !reg.queue_mode {
            return Some(call);
        }
        let max = self.config.queue.max_requests;
        let s = self.sleepers.entry(reg.endpoint.clone()).or_default();
        if s.awake_until.is_some_and(|t| t > now) {
            return Some(call);
        }
        if s.pending.len() >= max {
            let _ = call.reply.send(Err(ServerError::QueueFull(max)));
            return None;
        }
        s.pending.push_back(call);
        let queued = s.pending.len();
        self.shared.emit(Event::RequestQueued {
            endpoint: reg.endpoint.clone(),
            queued,
        });
        None
    }

    /// Clients whose awake time ended fall asleep; queued requests past their deadline, or of
    /// clients no longer registered, end.
    pub(super) fn queue_timers(&mut self, now: Instant) {
        let registered: Vec<String> = {
            let reg = lock(&self.shared.registry);
            self.sleepers
                .keys()
                .filter(|ep| reg.get(ep).is_some_and(|r| r.queue_mode))
                .cloned()
                .collect()
        };
        let mut asleep = Vec::new();
        for (ep, s) in self.sleepers.iter_mut() {
            let gone = !registered.contains(ep);
            for call in std::mem::take(&mut s.pending) {
                if gone {
                    let _ = call
                        .reply
                        .send(Err(ServerError::UnknownEndpoint(ep.clone())));
                } else if call.deadline <= now {
                    let _ = call.reply.send(Err(ServerError::Timeout));
                } else {
                    s.pending.push_back(call);
                }
            }
            if !gone && s.awake_until.is_some_and(|t| t <= now) {
                s.awake_until = None;
                asleep.push((ep.clone(), s.pending.len()));
            }
        }
        self.sleepers.retain(|ep, _| registered.contains(ep));
        for (endpoint, queued) in asleep {
            self.shared.emit(Event::Sleeping { endpoint, queued });
        }
    }

    /// The next Queue Mode deadline: a client falling asleep or a queued request's end.
    pub(super) fn queue_next(&self) -> Option<Instant> {
        self.sleepers
            .values()
            .flat_map(|s| {
                s.awake_until
                    .into_iter()
                    .chain(s.pending.iter().map(|c| c.deadline))
            })
            .min()
    }
}
