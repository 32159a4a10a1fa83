//! The server-centric baseline of the paper (section 6): the server observes a resource of the
//! hosting client and writes every new value to the requesting client itself, so every value
//! crosses the network twice and the server sits on the data path. It exists to compare with
//! client-to-client access (where the requester observes the host directly) in the demo.
//!
//! A relay observes `path` on the host; each notification (and the first value) is decoded,
//! re-rooted from `path` to `target` and written to the requester: PUT (replace) for a
//! resource target, POST (partial update) for an instance target, in the requester's default
//! format. Every forwarded value gives an [`Event::Relayed`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use lwm2m::Path;
use serde_json::{json, Value as Json};

use crate::error::ServerError;
use crate::event::Event;
use crate::msg::code_string;
use crate::ops::Response;
use crate::server::ServerHandle;
use crate::values::OwnedRecord;

/// One running relay.
#[derive(Clone, Debug)]
pub struct RelayInfo {
    /// Relay ID.
    pub id: u64,
    /// Hosting client observed.
    pub host: String,
    /// Observed path.
    pub path: Path,
    /// Requesting client written to.
    pub requester: String,
    /// Path written at the requester.
    pub target: Path,
    forwarded: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl RelayInfo {
    /// The JSON form.
    pub fn to_json(&self) -> Json {
        json!({
            "id": self.id,
            "host": self.host,
            "path": self.path.to_string(),
            "requester": self.requester,
            "target": self.target.to_string(),
            "forwarded": self.forwarded.load(Ordering::Relaxed),
        })
    }
}

/// The relays of a server.
#[derive(Debug, Default)]
pub(crate) struct Relays {
    next: u64,
    list: BTreeMap<u64, RelayInfo>,
}

/// Moves the records from below `from` to below `to`.
pub fn reroot(
    records: &[OwnedRecord],
    from: &Path,
    to: &Path,
) -> Result<Vec<OwnedRecord>, ServerError> {
    records
        .iter()
        .map(|r| {
            let suffix = r.path.ids().get(from.len()..).unwrap_or(&[]);
            let path = suffix
                .iter()
                .try_fold(*to, |p, id| p.child(*id))
                .map_err(|_| {
                    ServerError::InvalidArgument(format!("{} does not fit below {to}", r.path))
                })?;
            Ok(OwnedRecord {
                path,
                value: r.value.clone(),
            })
        })
        .collect()
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::OwnedValue;

    #[test]
    fn records_move_to_the_target() {
        let v = |p| OwnedRecord {
            path: p,
            value: OwnedValue::Float(1.0),
        };
        let r = reroot(
            &[v(Path::resource(3303, 0, 5700))],
            &Path::resource(3303, 0, 5700),
            &Path::resource(3311, 0, 5851),
        )
        .unwrap();
        assert_eq!(r[0].path, Path::resource(3311, 0, 5851));
        let r = reroot(
            &[
                v(Path::resource(3303, 0, 5700)),
                v(Path::resource(3303, 0, 5701)),
            ],
            &Path::instance(3303, 0),
            &Path::instance(9, 2),
        )
        .unwrap();
        assert_eq!(r[1].path, Path::resource(9, 2, 5701));
        assert!(reroot(
            &[v(Path::resource_instance(3303, 0, 5700, 1))],
            &Path::instance(3303, 0),
            &Path::resource(1, 2, 3)
        )
        .is_err());
    }
}
