//! A client's registration record and the object links it announced.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use lwm2m::Path;
use serde_json::{json, Value as Json};

use crate::transport::PeerSecurity;

/// Lifetime when the client sends no `lt` (LwM2M default, seconds).
pub const DEFAULT_LIFETIME: u32 = 86400;

/// One object a client announced, with its instances and version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectLink {
    /// Object ID.
    pub object: u16,
    /// `ver=` of the object link, if given.
    pub version: Option<String>,
    /// Instance IDs, ascending.
    pub instances: Vec<u16>,
}

/// The parsed registration payload.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ObjectLinks {
    /// The alternate root path (`/` unless a link with `rt="oma.lwm2m"` names another).
    pub root_path: String,
    /// Objects in ascending ID order.
    pub objects: Vec<ObjectLink>,
}

/// Query parameters of Register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterParams {
    /// `ep`: endpoint client name.
    pub endpoint: String,
    /// `lt`: lifetime in seconds.
    pub lifetime: u32,
    /// `lwm2m`: enabler version (`1.0` if absent).
    pub version: String,
    /// `b`: binding (`U` if absent).
    pub binding: String,
    /// `Q`: queue mode (or a 1.0 binding such as `UQ`).
    pub queue_mode: bool,
    /// `sms`: MSISDN.
    pub sms: Option<String>,
}

/// Query parameters of Update (all optional).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateParams {
    /// New lifetime.
    pub lifetime: Option<u32>,
    /// New binding.
    pub binding: Option<String>,
    /// New MSISDN.
    pub sms: Option<String>,
    /// Queue mode flag present.
    pub queue_mode: Option<bool>,
}

/// A registered client.
#[derive(Clone, Debug, PartialEq)]
pub struct Registration {
    /// Registration ID (the `<id>` of `/rd/<id>`).
    pub id: String,
    /// Endpoint client name.
    pub endpoint: String,
    /// Where the client's requests come from, and where the server sends its own.
    pub addr: SocketAddr,
    /// Lifetime in seconds.
    pub lifetime: u32,
    /// LwM2M version.
    pub version: String,
    /// Binding mode.
    pub binding: String,
    /// Queue mode.
    pub queue_mode: bool,
    /// MSISDN.
    pub sms: Option<String>,
    /// Root path and objects.
    pub links: ObjectLinks,
    /// Wall-clock time of the Register.
    pub registered_at: SystemTime,
    /// Monotonic time of the last Register or Update; expiry counts from here.
    pub last_update: Instant,
    /// The channel the registration was made on. For DTLS and OSCORE the registration is
    /// bound to it: Updates, De-registers and access requests must come over the same
    /// identity; NoSec registrations keep the address rule.
    pub security: PeerSecurity,
    /// The content format this client last answered or accepted a multi-value payload in
    /// (remembered by the server's format choice, see [`crate::dm::formats`]); `None` until then.
    pub format: Option<u16>,
    /// Queue Mode: until when the server takes the client for awake (its last message plus
    /// the awake time); `None` until it is heard after registering.
    pub awake_until: Option<Instant>,
}

impl Registration {
    /// False only for a Queue Mode client the server takes for asleep.
    pub fn is_awake(&self, now: Instant) -> bool {
        !self.queue_mode || self.awake_until.is_some_and(|t| t > now)
    }

    /// When the registration expires without an Update.
    pub fn expires_at(&self) -> Instant {
        self.last_update + Duration::from_secs(u64::from(self.lifetime))
    }

    /// Uri-Path segments of `path` on this client (prefixed by the alternate root path).
    pub fn uri_path(&self, path: &Path) -> Vec<String> {
        let mut segs: Vec<String> = self
            .links
            .root_path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        segs.extend(path.ids().iter().map(u16::to_string));
        segs
    }

    /// The JSON form used by the HTTP API and events.
    pub fn to_json(&self, now: Instant) -> Json {
        let objects: Vec<Json> = self
            .links
            .objects
            .iter()
            .map(|o| json!({"id": o.object, "version": o.version, "instances": o.instances}))
            .collect();
        let registered = self
            .registered_at
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        json!({
            "endpoint": self.endpoint,
            "id": self.id,
            "address": self.addr.to_string(),
            "security": self.security.label(),
            "lifetime": self.lifetime,
            "version": self.version,
            "binding": self.binding,
            "queue_mode": self.queue_mode,
            "awake": self.is_awake(now),
            "sms": self.sms,
            "root_path": self.links.root_path,
            "objects": objects,
            "registered_at": registered,
            "expires_in": self.expires_at().saturating_duration_since(now).as_secs(),
            "format": self.format.map(crate::dm::values::format_name),
        })
    }
}
