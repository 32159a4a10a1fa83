//! NSTART (RFC 7252 4.7) in the event loop: requests to a client beyond
//! [`TransmissionParams::nstart`](crate::transport::layer::TransmissionParams::nstart)
//! outstanding ones wait, in order, bounded by `nstart_queue`, and go out when one ends.

use std::net::SocketAddr;
use std::time::Instant;

use super::super::exchange::Owner;
use super::EventLoop;
use crate::error::ServerError;
use crate::transport::layer::Retransmission;

impl EventLoop {
    /// Exchanges sent to `peer` and neither answered nor acknowledged.
    pub(super) fn outstanding(&self, peer: SocketAddr) -> usize {
        self.exchanges
            .values()
            .filter(|e| e.peer == peer && !e.queued && e.retrans.is_some())
            .count()
    }

    /// Exchanges waiting for `peer` (NSTART).
    pub(super) fn queued_at(&self, peer: SocketAddr) -> usize {
        self.exchanges
            .values()
            .filter(|e| e.peer == peer && e.queued)
            .count()
    }

    /// Sends the oldest queued requests to `peer` while fewer than NSTART are outstanding.
    pub(super) fn release(&mut self, peer: SocketAddr, now: Instant) {
        let nstart = self.config.transmission.nstart.max(1);
        while self.outstanding(peer) < nstart {
            let next = self
                .exchanges
                .iter()
                .filter(|(_, e)| e.peer == peer && e.queued)
                .min_by_key(|(_, e)| e.seq)
                .map(|(t, _)| t.clone());
            let Some(token) = next else { return };
            let jitter = self.rng.next_f64();
            let params = self.config.transmission;
            let Some(ex) = self.exchanges.get_mut(&token) else {
                return;
            };
            ex.queued = false;
            ex.retrans = Some(Retransmission::new(&params, now, jitter));
            let bytes = ex.bytes.clone();
            self.send(peer, &bytes);
        }
    }

    /// Answers the owner of a request that never became an exchange.
    pub(super) fn reject(&mut self, owner: Owner, e: ServerError, now: Instant) {
        match owner {
            Owner::Call { reply, .. } => {
                let _ = reply.send(Err(e));
            }
            Owner::Bootstrap { endpoint } => self.bootstrap_step_done(endpoint, Err(e), now),
            Owner::Lifetime {
                endpoint,
                path,
                lifetime,
            } => self.lifetime_written(endpoint, path, lifetime, Err(e)),
        }
    }
}
