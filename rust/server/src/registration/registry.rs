//! All current registrations, their limits and lifetime expiry.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::Instant;

use super::record::{ObjectLinks, Registration, UpdateParams};
use crate::transport::PeerSecurity;

/// Why [`Registry::sender`] found no one registration for a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SenderError {
    /// No registration has that identity (or, for NoSec, that address).
    NotRegistered,
    /// Several NoSec registrations share the address.
    Ambiguous,
}

/// Bounds of the registry (`--max-registrations`, `--max-lifetime`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegistryLimits {
    /// Most registrations held at once. A Register of a new endpoint beyond it gets 5.03
    /// Service Unavailable (retry later, RFC 7252 5.9.3.4); an endpoint already registered may
    /// always register again.
    pub max_registrations: usize,
    /// Longest lifetime (s) the server keeps a registration without an Update. A longer `lt`
    /// (in Register or Update) is accepted and shortened to this: the registration expires
    /// then, the event `registration-limited` says so, and the server writes the shortened
    /// lifetime to the client's Server object (`/1/x/1`), after which the client updates by it.
    pub max_lifetime: u32,
}

impl Default for RegistryLimits {
    fn default() -> Self {
        RegistryLimits {
            max_registrations: 4096,
            max_lifetime: 7 * 86_400,
        }
    }
}

/// All current registrations, by endpoint name.
#[derive(Debug, Default)]
pub struct Registry {
    by_ep: BTreeMap<String, Registration>,
    ep_of_id: HashMap<String, String>,
    limits: RegistryLimits,
}

impl Registry {
    /// An empty registry with the default limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty registry with `limits`.
    pub fn with_limits(limits: RegistryLimits) -> Self {
        Registry {
            limits,
            ..Self::default()
        }
    }

    /// The registry's bounds.
    pub fn limits(&self) -> RegistryLimits {
        self.limits
    }

    /// Adds a registration, replacing (and returning) an older one of the same endpoint.
    pub fn insert(&mut self, reg: Registration) -> Option<Registration> {
        let old = self.by_ep.insert(reg.endpoint.clone(), reg.clone());
        if let Some(o) = &old {
            self.ep_of_id.remove(&o.id);
        }
        self.ep_of_id.insert(reg.id, reg.endpoint);
        old
    }

    /// The registration of an endpoint.
    pub fn get(&self, endpoint: &str) -> Option<&Registration> {
        self.by_ep.get(endpoint)
    }

    /// The registration with an ID.
    pub fn get_by_id(&self, id: &str) -> Option<&Registration> {
        self.by_ep.get(self.ep_of_id.get(id)?)
    }

    /// The registration of the client at a transport address.
    pub fn find_by_addr(&self, addr: SocketAddr) -> Option<&Registration> {
        self.by_ep.values().find(|r| r.addr == addr)
    }

    /// The registration a request without a registration ID in its path comes from (`/ac`,
    /// `/dp`): over DTLS or OSCORE the one bound to that identity, over NoSec the NoSec one
    /// at that address.
    pub fn sender(
        &self,
        peer: SocketAddr,
        security: &PeerSecurity,
    ) -> Result<&Registration, SenderError> {
        let mut found = self.by_ep.values().filter(|r| match security {
            PeerSecurity::NoSec => r.security == PeerSecurity::NoSec && r.addr == peer,
            sec => r.security == *sec,
        });
        match (found.next(), found.next()) {
            (Some(r), None) => Ok(r),
            (None, _) => Err(SenderError::NotRegistered),
            (Some(_), Some(_)) => Err(SenderError::Ambiguous),
        }
    }

    /// True if the ID is in use.
    pub fn contains_id(&self, id: &str) -> bool {
        self.ep_of_id.contains_key(id)
    }

    /// Applies an Update; returns the updated registration.
    pub fn update(
        &mut self,
        id: &str,
        params: &UpdateParams,
        links: Option<ObjectLinks>,
        addr: SocketAddr,
        now: Instant,
    ) -> Option<Registration> {
        let reg = self.by_ep.get_mut(self.ep_of_id.get(id)?)?;
        if let Some(lt) = params.lifetime {
            reg.lifetime = lt;
        }
        if let Some(b) = &params.binding {
            reg.binding.clone_from(b);
        }
        if let Some(s) = &params.sms {
            reg.sms = Some(s.clone());
        }
        if let Some(q) = params.queue_mode {
            reg.queue_mode = q;
        }
        if let Some(l) = links {
            reg.links = l;
        }
        reg.addr = addr;
        reg.last_update = now;
        Some(reg.clone())
    }

    /// Records until when Queue Mode client `endpoint` counts as awake.
    pub fn set_awake_until(&mut self, endpoint: &str, until: Option<Instant>) {
        if let Some(r) = self.by_ep.get_mut(endpoint) {
            r.awake_until = until;
        }
    }

    /// Remembers the content format that worked for registration `id` (ignored when that
    /// registration is gone, e.g. replaced by a new Register meanwhile).
    pub fn set_format(&mut self, id: &str, format: u16) {
        if let Some(reg) = self.ep_of_id.get(id).and_then(|ep| self.by_ep.get_mut(ep)) {
            reg.format = Some(format);
        }
    }

    /// The registration with this ID.
    pub fn by_id(&self, id: &str) -> Option<&Registration> {
        self.by_ep.get(self.ep_of_id.get(id)?)
    }

    /// Removes a registration by ID.
    pub fn remove_id(&mut self, id: &str) -> Option<Registration> {
        let ep = self.ep_of_id.remove(id)?;
        self.by_ep.remove(&ep)
    }

    /// Removes and returns the registrations whose lifetime passed.
    pub fn expire(&mut self, now: Instant) -> Vec<Registration> {
        let gone: Vec<String> = self
            .by_ep
            .values()
            .filter(|r| r.expires_at() <= now)
            .map(|r| r.id.clone())
            .collect();
        gone.iter().filter_map(|id| self.remove_id(id)).collect()
    }

    /// All registrations, by endpoint name.
    pub fn list(&self) -> Vec<Registration> {
        self.by_ep.values().cloned().collect()
    }

    /// Number of registrations.
    pub fn len(&self) -> usize {
        self.by_ep.len()
    }

    /// True if nobody is registered.
    pub fn is_empty(&self) -> bool {
        self.by_ep.is_empty()
    }
}
