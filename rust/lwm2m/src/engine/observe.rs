//! Observe (RFC 7641) and notifications under the LwM2M attributes. The engine keeps the
//! observer list itself (path, token, sequence number, last notified value), so notifications
//! are built the same way on RIOT and on the host. An Observe-Composite observation (feature
//! `observe-composite`, `observe_composite.rs`) takes a slot of the same list, with `/` as its
//! path and its paths in a small set beside the list.

use super::read::respond_records;
use super::tree::{Composite, Tree};
use super::{Engine, Identity, Millis, Outgoing, Peer, Request};
use crate::coap::{code, MessageBuilder, MessageType};
use crate::config::MAX_OBSERVATIONS;
use crate::dm::Caller;
use crate::error::{Error, Result};
use crate::path::Path;

/// Every this many notifications one is sent confirmable, so a vanished observer is noticed
/// (RFC 7641 section 4.5).
const CON_EVERY: u32 = 16;

#[derive(Debug, Clone)]
pub(crate) struct Observation {
    pub peer: Peer,
    /// A one-byte length: the observer list is engine RAM.
    pub token: heapless::Vec<u8, 8, u8>,
    pub path: Path,
    pub format: u16,
    pub seq: u32,
    pub last_sent: Millis,
    pub last_eval: Millis,
    pub changed: bool,
    /// Last notified numeric value, valid if `has_last` (an `Option<f64>` would take 16 bytes).
    pub last_value: f64,
    pub has_last: bool,
    /// The target or the access rights may be gone: check before anything else.
    pub recheck: bool,
}

impl Observation {
    /// A fresh observation of `path` registered at `now`.
    pub(crate) fn new(
        peer: Peer,
        token: heapless::Vec<u8, 8, u8>,
        path: Path,
        format: u16,
        now: Millis,
    ) -> Self {
        Observation {
            peer,
            token,
            path,
            format,
            seq: 0,
            last_sent: now,
            last_eval: now,
            changed: false,
            last_value: 0.0,
            has_last: false,
            recheck: false,
        }
    }

    fn last(&self) -> Option<f64> {
        self.has_last.then_some(self.last_value)
    }

    fn set_last(&mut self, v: Option<f64>) {
        self.has_last = v.is_some();
        self.last_value = v.unwrap_or(0.0);
    }
}

/// The path sets of Observe-Composite observations (nothing without the feature).
#[cfg(feature = "observe-composite")]
pub(crate) type PathSets = super::observe_composite::PathSets;
/// The path sets of Observe-Composite observations (nothing without the feature).
#[cfg(not(feature = "observe-composite"))]
pub(crate) type PathSets = ();

/// The observer list.
#[derive(Debug, Default)]
pub(crate) struct Observations {
    pub(crate) list: heapless::Vec<Observation, MAX_OBSERVATIONS>,
    pub(crate) sets: PathSets,
}

/// The paths `o` observes: its path, or the set of an Observe-Composite observation (the
/// only observations of `/`).
fn paths_of<'s>(sets: &'s PathSets, o: &'s Observation) -> &'s [Path] {
    #[cfg(feature = "observe-composite")]
    if o.path.is_root() {
        return super::observe_composite::set_paths(sets, o);
    }
    let _ = sets;
    core::slice::from_ref(&o.path)
}

impl Observations {
    /// One `retain` instantiation for every filter (each closure type would get its own).
    pub(crate) fn retain(&mut self, keep: &dyn Fn(&Observation) -> bool) {
        self.list.retain(|o| keep(o));
        self.drop_unused_sets();
    }

    /// Ends observation `i`.
    fn remove(&mut self, i: usize) {
        self.list.remove(i);
        self.drop_unused_sets();
    }

    /// Forgets the path sets no observation refers to any more.
    fn drop_unused_sets(&mut self) {
        #[cfg(feature = "observe-composite")]
        super::observe_composite::drop_unused(&mut self.sets, &self.list);
    }

    /// The paths `o` observes.
    pub(crate) fn paths<'s>(&'s self, o: &'s Observation) -> &'s [Path] {
        paths_of(&self.sets, o)
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// True if an observation notifies peer handle `endpoint`.
    pub fn has_endpoint(&self, endpoint: u32) -> bool {
        self.list.iter().any(|o| o.peer.endpoint == endpoint)
    }

    /// Marks every observation overlapping `path` as changed.
    pub fn mark_changed(&mut self, path: &Path, _now: Millis) {
        for o in self.list.iter_mut() {
            let paths = paths_of(&self.sets, o);
            if paths
                .iter()
                .any(|p| p.starts_with(path) || path.starts_with(p))
            {
                o.changed = true;
            }
        }
    }

    /// Ends the observation with this endpoint and token.
    pub fn cancel(&mut self, endpoint: u32, token: &[u8]) {
        self.retain(&|o| !(o.peer.endpoint == endpoint && o.token.as_slice() == token));
    }

    /// Marks observations at or below `path` (every one for `None`) for a check of target and
    /// access rights at the next poll; those that fail get an error notification and end.
    #[cfg(feature = "write")]
    pub fn recheck(&mut self, path: Option<&Path>) {
        for o in self.list.iter_mut() {
            let paths = paths_of(&self.sets, o);
            if path.is_none_or(|p| paths.iter().any(|q| q.starts_with(p))) {
                o.recheck = true;
            }
        }
    }

    /// Ends every observation of an identity.
    pub fn remove_identity(&mut self, id: Identity) {
        self.retain(&|o| o.peer.identity != id);
    }
}

impl Engine<'_> {
    /// GET with Observe: 0. Registers (or re-registers) the observer and answers like a Read
    /// with an Observe option; with no free slot it falls back to a plain Read (RFC 7641 4.1).
    pub(crate) fn observe(
        &mut self,
        peer: &Peer,
        caller: Caller,
        op: &Request<'_>,
        req: &crate::coap::Message<'_>,
        now: Millis,
        resp: &mut MessageBuilder<'_>,
    ) -> Result<()> {
        if op.path.is_root() {
            return Err(Error::MethodNotAllowed);
        }
        self.check_read_target(caller, &op.path)?;
        let format = self.response_format(op.accept, &op.path)?;
        let token = heapless::Vec::from_slice(req.token).map_err(|_| Error::BadRequest)?;
        self.observations
            .retain(&|o| !(o.peer.endpoint == peer.endpoint && o.path == op.path));
        let mut obs = Observation::new(*peer, token, op.path, format, now);
        obs.set_last(self.numeric_value(&op.path));
        let registered = self.observations.list.push(obs).is_ok();
        let tree = Tree {
            engine: self,
            caller,
        };
        let r = respond_records(
            format,
            &op.path,
            &tree,
            op.block2,
            registered.then_some(0),
            resp,
        );
        if r.is_err() && registered {
            self.observations.list.pop();
        }
        r
    }

    /// Checks that every path `o` observes exists and may still be read by its observer.
    fn check_observed(&self, o: &Observation) -> Result<()> {
        let caller = caller_of(o.peer.identity);
        self.observations
            .paths(o)
            .iter()
            .try_for_each(|p| self.check_read_target(caller, p))
    }

    /// When observation `i` is next due, or `None` if it waits for a change.
    fn due_at(&self, o: &Observation) -> Option<Millis> {
        let a = self.effective_attributes(caller_of(o.peer.identity), &o.path);
        let s = |x: Option<u32>| x.map(|v| u64::from(v) * 1000);
        let pmin = s(a.pmin).unwrap_or(0);
        let epmin = s(a.epmin).unwrap_or(0);
        if o.recheck {
            return Some(0);
        }
        let mut due = None::<Millis>;
        let mut consider = |t: Millis| due = Some(due.map_or(t, |d| d.min(t)));
        if o.changed {
            consider((o.last_sent + pmin).max(o.last_eval + epmin));
        }
        if let Some(pmax) = s(a.pmax).filter(|&p| p > 0 && p >= pmin) {
            consider(o.last_sent + pmax);
        }
        if let Some(epmax) = s(a.epmax).filter(|&p| p > 0) {
            consider(o.last_eval + epmax);
        }
        due
    }

    /// Earliest due notification.
    pub(crate) fn notifications_wakeup(&self) -> Option<Millis> {
        self.observations
            .list
            .iter()
            .filter_map(|o| self.due_at(o))
            .min()
    }

    /// Builds the next due notification.
    pub(crate) fn poll_notifications(&mut self, now: Millis, buf: &mut [u8]) -> Option<Outgoing> {
        let n = self.observations.list.len();
        for i in 0..n {
            // Borrowed, not copied: the observer list is engine RAM and a copy costs code too.
            let o = &self.observations.list[i];
            if self.due_at(o).is_none_or(|t| t > now) {
                continue;
            }
            if o.recheck {
                let gone = self.check_observed(o).is_err();
                self.observations.list[i].recheck = false;
                if gone {
                    return self.build_notification(i, now, None, buf);
                }
                if self
                    .due_at(&self.observations.list[i])
                    .is_none_or(|t| t > now)
                {
                    continue;
                }
            }
            let o = &self.observations.list[i];
            let a = self.effective_attributes(caller_of(o.peer.identity), &o.path);
            let pmax_due = a
                .pmax
                .map(|p| u64::from(p) * 1000)
                .is_some_and(|p| p > 0 && now >= o.last_sent + p);
            let value = self.numeric_value(&o.path);
            let mut changed = o.changed;
            // epmax: re-evaluate values that may change without being reported.
            if !changed && value.is_some() && !super::attributes::same(value, o.last()) {
                changed = true;
            }
            let trigger = changed
                && match value {
                    Some(v) => a.numeric_trigger(o.last(), v),
                    None => true,
                };
            let slot = &mut self.observations.list[i];
            slot.last_eval = now;
            slot.changed = false;
            if !trigger && !pmax_due {
                continue;
            }
            return self.build_notification(i, now, value, buf);
        }
        None
    }

    fn build_notification(
        &mut self,
        i: usize,
        now: Millis,
        value: Option<f64>,
        buf: &mut [u8],
    ) -> Option<Outgoing> {
        let o = &self.observations.list[i];
        let endpoint = o.peer.endpoint;
        let seq = (o.seq + 1) & 0x00ff_ffff;
        let confirmable = seq.is_multiple_of(CON_EVERY);
        let mtype = if confirmable {
            MessageType::Con
        } else {
            MessageType::Non
        };
        let mut b = MessageBuilder::new(buf, mtype, code::CONTENT, 0, &o.token).ok()?;
        let result = self.check_observed(o).and_then(|()| {
            let tree = Tree {
                engine: self,
                caller: caller_of(o.peer.identity),
            };
            // One path or many: the records of each (for one, the same as the tree's).
            let src = Composite {
                tree: &tree,
                paths: self.observations.paths(o),
            };
            respond_records(o.format, &o.path, &src, None, Some(seq), &mut b)
        });
        let ended = if let Err(e) = result {
            // The target went away or access was revoked: tell the observer and end it.
            b.reset_options();
            b.set_code(e.code());
            true
        } else {
            false
        };
        let len = b.finish();
        if ended {
            self.observations.remove(i);
        } else {
            let slot = &mut self.observations.list[i];
            slot.seq = seq;
            slot.last_sent = now;
            slot.set_last(value);
        }
        Some(Outgoing {
            dest: super::Destination::Endpoint(endpoint),
            len,
            confirmable,
        })
    }
}

/// The caller an observation's notifications are built for.
fn caller_of(id: Identity) -> Caller {
    match id {
        Identity::Server(s) => Caller::Server(s),
        Identity::Client(c) => Caller::Client(c),
        Identity::Bootstrap => Caller::Bootstrap,
        // Never registered (requests from unauthenticated peers are refused); if it were, it
        // must not read anything.
        Identity::Unauthenticated => Caller::Client(0),
    }
}
