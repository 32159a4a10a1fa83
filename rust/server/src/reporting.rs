//! Send (LwM2M 1.1 TS Core 6.4.2, TS Transport 6.4.x): `POST /dp` from a registered client
//! with values it reports unasked, in SenML CBOR, LwM2M CBOR, SenML JSON or LwM2M JSON
//! (decoded by [`crate::dm::codec`], as Read answers are).
//!
//! The sender is identified as for access requests ([`Registry::sender`]): over DTLS or
//! OSCORE the registration bound to that identity, over NoSec the one at the source address.
//! Anyone else gets 4.04 and no event (as an Update to an unknown registration), so that
//! unregistered peers cannot fill the event stream. A registered sender gets 2.04 and the
//! event `send` with the values; an empty or undecodable payload 4.00, a payload in another
//! format 4.15, each with the event `send-failed`.
//!
//! The latest value of each path is kept per client ([`SendStore`], shown by
//! `GET /api/clients/<ep>/send`), at most [`MAX_SEND_VALUES`] paths per client: values of
//! further paths are not kept, and counted (`dropped` in the event and the API). Entries of
//! clients no longer registered are dropped with the next Send of anyone, and a client that
//! registers again starts empty; so the store holds at most one entry per registration.

use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;

use lwm2m::coap::{code, content_format as cf};
use lwm2m::Path;
use serde_json::{json, Value as Json};

use crate::dm::codec;
use crate::dm::values::{format_name, OwnedRecord};
use crate::event::Event;
use crate::registration::Registry;
use crate::transport::msg::{IncomingRequest, Reply};

/// Paths whose latest Send value is kept per client.
pub const MAX_SEND_VALUES: usize = 256;

/// The values one client sent.
#[derive(Clone, Debug, PartialEq)]
pub struct Received {
    /// The registration they came with (a new registration starts empty).
    pub registration: String,
    /// Latest value per path.
    pub values: BTreeMap<Path, OwnedRecord>,
    /// Sends taken (2.04).
    pub sends: u64,
    /// Values not kept because [`MAX_SEND_VALUES`] paths were held.
    pub dropped: u64,
    /// Wall-clock time of the last Send taken.
    pub last: Option<SystemTime>,
}

impl Received {
    /// `{"sends":..,"dropped":..,"last_unix_ms":..,"values":[{path,value,type}..]}`.
    pub fn to_json(&self) -> Json {
        let last = self
            .last
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as u64);
        json!({
            "sends": self.sends,
            "dropped": self.dropped,
            "last_unix_ms": last,
            "values": self.values.values().map(OwnedRecord::to_json).collect::<Vec<_>>(),
        })
    }
}

/// The latest Send values of every registered client.
#[derive(Debug, Default)]
pub struct SendStore {
    by_ep: HashMap<String, Received>,
}

impl SendStore {
    /// What `endpoint` sent under its current registration (`None`: nothing yet).
    pub fn get(&self, endpoint: &str, registry: &Registry) -> Option<&Received> {
        let reg = registry.get(endpoint)?;
        self.by_ep
            .get(endpoint)
            .filter(|r| r.registration == reg.id)
    }

    /// Clients with an entry (for tests of the bound).
    pub fn len(&self) -> usize {
        self.by_ep.len()
    }

    /// True if no client has an entry.
    pub fn is_empty(&self) -> bool {
        self.by_ep.is_empty()
    }
}

/// Formats a Send may use (LwM2M 1.1 TS Transport 6.4.x).
fn is_send_format(f: u16) -> bool {
    matches!(
        f,
        cf::SENML_CBOR | cf::LWM2M_CBOR | cf::SENML_JSON | cf::LWM2M_JSON
    )
}

/// Handles a request on `/dp`: the reply, and the event to emit (none for unknown peers).
pub fn handle(
    req: &IncomingRequest,
    registry: &Registry,
    store: &mut SendStore,
) -> (Reply, Option<Event>) {
    if req.path.len() != 1 {
        return (Reply::code(code::NOT_FOUND), None);
    }
    let Ok(reg) = registry.sender(req.peer, &req.security) else {
        return (Reply::code(code::NOT_FOUND), None);
    };
    let endpoint = reg.endpoint.clone();
    let failed = |c: u8, reason: String| {
        let reply = Reply {
            code: c,
            payload: reason.clone().into_bytes(),
            ..Default::default()
        };
        let ev = Event::SendFailed {
            endpoint: endpoint.clone(),
            code: c,
            reason,
        };
        (reply, Some(ev))
    };
    if req.code != code::POST {
        return failed(code::METHOD_NOT_ALLOWED, "Send is POST /dp".into());
    }
    let format = match req.content_format {
        Some(f) if is_send_format(f) => f,
        Some(f) => return failed(code::UNSUPPORTED_CONTENT_FORMAT, format!("format {f}")),
        None => return failed(code::BAD_REQUEST, "no Content-Format".into()),
    };
    if req.payload.is_empty() {
        return failed(code::BAD_REQUEST, "empty payload".into());
    }
    let records = match codec::decode(format, &Path::ROOT, &req.payload) {
        Ok(r) if !r.is_empty() => r,
        Ok(_) => return failed(code::BAD_REQUEST, "no values".into()),
        Err(e) => {
            let reason = format!("undecodable {}: {e}", format_name(format));
            return failed(code::BAD_REQUEST, reason);
        }
    };
    store
        .by_ep
        .retain(|ep, r| registry.get(ep).is_some_and(|g| g.id == r.registration));
    let entry = store
        .by_ep
        .entry(endpoint.clone())
        .or_insert_with(|| Received {
            registration: reg.id.clone(),
            values: BTreeMap::new(),
            sends: 0,
            dropped: 0,
            last: None,
        });
    let mut dropped = 0;
    for r in &records {
        if entry.values.len() >= MAX_SEND_VALUES && !entry.values.contains_key(&r.path) {
            dropped += 1;
            continue;
        }
        entry.values.insert(r.path, r.clone());
    }
    entry.sends += 1;
    entry.dropped += dropped;
    entry.last = Some(SystemTime::now());
    let ev = Event::Send {
        endpoint,
        format,
        values: records,
        dropped,
    };
    (Reply::code(code::CHANGED), Some(ev))
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::Instant;

    use lwm2m::coap::{code, content_format as cf};
    use lwm2m::Path;

    use super::*;
    use crate::dm::values::OwnedValue;
    use crate::transport::layer::Rng;
    use crate::transport::PeerSecurity;

    fn request(
        c: u8,
        path: &[&str],
        query: &[&str],
        format: u16,
        payload: &[u8],
    ) -> IncomingRequest {
        IncomingRequest {
            peer: SocketAddr::from(([127, 0, 0, 1], 5683)),
            code: c,
            path: path.iter().map(|s| s.to_string()).collect(),
            query: query.iter().map(|s| s.to_string()).collect(),
            content_format: Some(format),
            payload: payload.to_vec(),
            security: PeerSecurity::NoSec,
            block2: None,
        }
    }

    fn send_of(paths: impl Iterator<Item = Path>) -> IncomingRequest {
        let recs: Vec<OwnedRecord> = paths
            .map(|path| OwnedRecord {
                path,
                value: OwnedValue::Integer(1),
            })
            .collect();
        let p = codec::encode(cf::SENML_CBOR, &Path::ROOT, &recs).unwrap();
        request(code::POST, &["dp"], &[], cf::SENML_CBOR, &p)
    }

    /// Beyond MAX_SEND_VALUES paths per client, values of new paths are counted, not kept;
    /// known paths still update.
    #[test]
    fn values_per_client_are_bounded_and_drops_counted() {
        let mut registry = Registry::new();
        let reg = request(
            code::POST,
            &["rd"],
            &["ep=a", "lt=60"],
            cf::LINK_FORMAT,
            b"</3/0>",
        );
        let mut rng = Rng::from_seed(1);
        let _ = crate::registration::handle(&mut registry, &reg, Instant::now(), &mut rng);
        let mut store = SendStore::default();
        let n = MAX_SEND_VALUES as u16 + 3;
        let (reply, ev) = handle(
            &send_of((0..n).map(|i| Path::resource(3303, i, 5700))),
            &registry,
            &mut store,
        );
        assert_eq!(reply.code, code::CHANGED);
        assert!(matches!(ev, Some(Event::Send { dropped: 3, .. })), "{ev:?}");
        let got = store.get("a", &registry).unwrap();
        assert_eq!((got.values.len(), got.dropped), (MAX_SEND_VALUES, 3));
        let (_, ev) = handle(
            &send_of([Path::resource(3303, 0, 5700)].into_iter()),
            &registry,
            &mut store,
        );
        assert!(matches!(ev, Some(Event::Send { dropped: 0, .. })));
        assert_eq!(store.get("a", &registry).unwrap().sends, 2);
        assert_eq!(store.len(), 1);
    }
}
