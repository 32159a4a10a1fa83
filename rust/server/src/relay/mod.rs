//! The server-centric baseline of the paper (section 6): the server observes a resource of the
//! hosting client and writes every new value to the requesting client itself, so every value
//! crosses the network twice and the server sits on the data path. It exists to compare with
//! client-to-client access (where the requester observes the host directly) in the demo.
//!
//! A relay observes `path` on the host; each notification (and the first value) is decoded,
//! re-rooted from `path` to `target` and written to the requester: PUT (replace) for a
//! resource target, POST (partial update) for an instance target, in the requester's default
//! format. Every forwarded value gives an [`crate::Event::Relayed`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use lwm2m::Path;
use serde_json::{json, Value as Json};

use crate::dm::values::OwnedRecord;
use crate::error::ServerError;

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

mod run;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dm::values::OwnedValue;

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
