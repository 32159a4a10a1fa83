//! The relay threads and the handle's relay methods.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use lwm2m::Path;

use super::{reroot, RelayInfo};
use crate::dm::ops::Response;
use crate::error::ServerError;
use crate::event::Event;
use crate::server::ServerHandle;
use crate::transport::msg::code_string;

impl ServerHandle {
    /// Starts relaying: observes `path` on `host` and writes every value to `target` on
    /// `requester`. Returns the relay ID. One relay per observed (host, path).
    pub fn relay(
        &self,
        host: &str,
        path: &Path,
        requester: &str,
        target: &Path,
    ) -> Result<u64, ServerError> {
        if path.len() < 2 || target.len() < 2 || target.len() < path.len() {
            return Err(ServerError::InvalidArgument(
                "relay needs instance or resource paths, the target at least as deep".into(),
            ));
        }
        if self.client(requester).is_none() {
            return Err(ServerError::UnknownEndpoint(requester.into()));
        }
        if self
            .relays()
            .list
            .values()
            .any(|r| r.host == host && r.path == *path)
        {
            return Err(ServerError::InvalidArgument(format!(
                "{host} {path} is relayed already"
            )));
        }
        // Subscribe before observing so no notification slips through.
        let events = self.subscribe();
        let first = self.observe(host, path, None)?;
        if !first.is_success() || first.observe.is_none() {
            return Err(ServerError::InvalidArgument(format!(
                "the host answered {} to Observe",
                code_string(first.code)
            )));
        }
        let info = {
            let mut relays = self.relays();
            relays.next += 1;
            let info = RelayInfo {
                id: relays.next,
                host: host.into(),
                path: *path,
                requester: requester.into(),
                target: *target,
                forwarded: Arc::new(AtomicU64::new(0)),
                stop: Arc::new(AtomicBool::new(false)),
            };
            relays.list.insert(info.id, info.clone());
            info
        };
        let h = self.clone();
        let id = info.id;
        let t = std::thread::Builder::new()
            .name("lwm2m-relay".into())
            .spawn(move || run(&h, &info, &first, &events))
            .map_err(|e| ServerError::InvalidArgument(format!("cannot start relay: {e}")))?;
        self.push_thread(t);
        Ok(id)
    }

    /// The running relays.
    pub fn relay_list(&self) -> Vec<RelayInfo> {
        self.relays().list.values().cloned().collect()
    }

    /// Stops a relay and cancels its observation.
    pub fn stop_relay(&self, id: u64) -> Result<(), ServerError> {
        let info = self
            .relays()
            .list
            .remove(&id)
            .ok_or(ServerError::UnknownId(id))?;
        info.stop.store(true, Ordering::Relaxed);
        // The observation may be gone already (client re-registered): that is fine.
        let _ = self.cancel_observe(&info.host, &info.path);
        Ok(())
    }
}

fn forward(h: &ServerHandle, info: &RelayInfo, resp: &Response) {
    let result = resp
        .values()
        .and_then(|v| reroot(&v, &info.path, &info.target))
        .and_then(|recs| {
            let replace = info.target.len() >= 3;
            h.write(&info.requester, &info.target, &recs, None, replace)
        });
    let result = match result {
        Ok(r) => {
            if r.is_success() {
                info.forwarded.fetch_add(1, Ordering::Relaxed);
            }
            code_string(r.code)
        }
        Err(e) => e.to_string(),
    };
    h.emit(Event::Relayed {
        relay: info.id,
        host: info.host.clone(),
        requester: info.requester.clone(),
        target: info.target,
        result,
    });
}

fn run(h: &ServerHandle, info: &RelayInfo, first: &Response, events: &Receiver<Event>) {
    forward(h, info, first);
    while !h.is_stopped() && !info.stop.load(Ordering::Relaxed) {
        match events.recv_timeout(Duration::from_millis(200)) {
            Ok(Event::Notification {
                endpoint,
                path,
                response,
            }) if endpoint == info.host && path == info.path => forward(h, info, &response),
            Ok(Event::ObservationEnded { endpoint, path, .. })
                if endpoint == info.host && path == info.path =>
            {
                h.relays().list.remove(&info.id);
                break;
            }
            Ok(_) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
}
