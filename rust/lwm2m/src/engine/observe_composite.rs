//! Observe-Composite (LwM2M 1.1 TS Core 6.4.3, Transport 6.4.x): FETCH on `/` with Observe 0
//! and a SenML CBOR list of paths registers one observation over all of them; a change of any
//! notifies the observer with the records of all (SenML CBOR, or LwM2M CBOR when accepted).
//! FETCH with Observe 1 and the same token, a reset notification, and the end of the
//! observer's account (deregistration, a closed client account) cancel it.
//!
//! The observation takes a slot of the observer list like one of a single path, with `/` as
//! its path; its paths sit in a [`PathSet`] beside the list (at most
//! [`MAX_COMPOSITE_OBSERVATIONS`] sets of [`COMPOSITE_PATHS`] paths each, so the list's slots
//! do not all carry a path array). A request with more paths gets 4.13; with no free slot or
//! set the engine answers a plain Read-Composite, without Observe (RFC 7641 4.1).
//!
//! Attributes: a composite observation uses the observer's default pmin / pmax (Server object
//! resources 2 and 3, or the client account's with `c2c`; Write-Attributes on `/` is 4.05).
//! Attributes written on the individual paths, gt / lt / st among them, do not apply to it: a
//! change of any path is reported once the default pmin has passed.

use super::observe::{Observation, Observations};
use super::read::composite_format;
use super::{Engine, Millis, Peer, Request};
use crate::coap::{Message, MessageBuilder};
use crate::config::{COMPOSITE_PATHS, MAX_COMPOSITE_OBSERVATIONS};
use crate::dm::Caller;
use crate::error::{Error, Result};
use crate::path::Path;

/// The paths of one Observe-Composite observation, keyed like the observation itself by peer
/// handle and token (so the list's slots carry no field for it).
#[derive(Debug, Clone)]
pub(crate) struct PathSet {
    endpoint: u32,
    token: heapless::Vec<u8, 8, u8>,
    paths: heapless::Vec<Path, COMPOSITE_PATHS, u8>,
}

impl PathSet {
    fn of(&self, o: &Observation) -> bool {
        o.path.is_root() && o.peer.endpoint == self.endpoint && o.token == self.token
    }
}

/// The path sets of the observer list.
pub(crate) type PathSets = heapless::Vec<PathSet, MAX_COMPOSITE_OBSERVATIONS>;

/// The paths of composite observation `o` (none if its set is gone).
pub(crate) fn set_paths<'s>(sets: &'s PathSets, o: &Observation) -> &'s [Path] {
    sets.iter().find(|s| s.of(o)).map_or(&[], |s| &s.paths)
}

/// Forgets the sets no observation of `list` refers to.
pub(crate) fn drop_unused(sets: &mut PathSets, list: &[Observation]) {
    sets.retain(|s| list.iter().any(|o| s.of(o)));
}

impl Observations {
    /// Adds `obs` (an observation of `/`) observing `paths`; false when the list or the sets
    /// are full.
    fn add_composite(
        &mut self,
        obs: Observation,
        paths: heapless::Vec<Path, COMPOSITE_PATHS, u8>,
    ) -> bool {
        if self.list.is_full() || self.sets.is_full() {
            return false;
        }
        let set = PathSet {
            endpoint: obs.peer.endpoint,
            token: obs.token.clone(),
            paths,
        };
        self.sets.push(set).is_ok() && self.list.push(obs).is_ok()
    }
}

impl Engine<'_> {
    /// FETCH on `/` with Observe 0: registers (or, with the same token, re-registers) the
    /// observer of the listed paths and answers like Read-Composite with an Observe option.
    pub(crate) fn observe_composite(
        &mut self,
        peer: &Peer,
        caller: Caller,
        op: &Request<'_>,
        req: &Message<'_>,
        now: Millis,
        resp: &mut MessageBuilder<'_>,
    ) -> Result<()> {
        let mut paths = heapless::Vec::<Path, COMPOSITE_PATHS, u8>::new();
        self.composite_paths(caller, op, &mut |p| {
            paths.push(p).map_err(|_| Error::RequestEntityTooLarge)
        })?;
        let format = composite_format(op.accept)?;
        let token = heapless::Vec::from_slice(req.token).map_err(|_| Error::BadRequest)?;
        self.observations.cancel(peer.endpoint, req.token);
        let obs = Observation::new(*peer, token, Path::ROOT, format, now);
        let registered = self.observations.add_composite(obs, paths.clone());
        let observe = registered.then_some(0);
        let r = self.respond_composite(caller, format, &paths, op.block2, observe, resp);
        if r.is_err() && registered {
            self.observations.cancel(peer.endpoint, req.token);
        }
        r
    }
}
