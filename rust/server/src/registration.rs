//! The Registration interface (LwM2M 1.1 TS Transport section 6.2): `POST /rd` (Register),
//! `POST /rd/<id>` (Update), `DELETE /rd/<id>` (De-register), and the registry with lifetime
//! expiry.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use lwm2m::coap::{code, content_format as cf};
use lwm2m::codec::link;
use lwm2m::Path;
use serde_json::{json, Value as Json};

use crate::transport::PeerSecurity;

use crate::layer::Rng;
use crate::msg::{IncomingRequest, Reply};

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
    /// (remembered by the server's format choice, see [`crate::formats`]); `None` until then.
    pub format: Option<u16>,
}

impl Registration {
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
            "sms": self.sms,
            "root_path": self.links.root_path,
            "objects": objects,
            "registered_at": registered,
            "expires_in": self.expires_at().saturating_duration_since(now).as_secs(),
            "format": self.format.map(crate::values::format_name),
        })
    }
}

/// Splits `k=v` query items; a bare `k` has no value. Repeated keys are an error.
fn query_map(items: &[String]) -> Result<BTreeMap<&str, Option<&str>>, String> {
    let mut m = BTreeMap::new();
    for it in items {
        let (k, v) = match it.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (it.as_str(), None),
        };
        if k.is_empty() || m.insert(k, v).is_some() {
            return Err(format!("bad or repeated query {it:?}"));
        }
    }
    Ok(m)
}

fn parse_lifetime(v: Option<&str>) -> Result<u32, String> {
    match v.map(str::parse::<u32>) {
        Some(Ok(lt)) if lt > 0 => Ok(lt),
        _ => Err("lt must be a positive integer".into()),
    }
}

fn parse_binding(v: Option<&str>) -> Result<String, String> {
    match v {
        Some(b) if !b.is_empty() && b.chars().all(|c| "UMHSNTQ".contains(c)) => Ok(b.to_owned()),
        _ => Err("b must be a binding such as U".into()),
    }
}

fn parse_queue(v: Option<&str>) -> Result<bool, String> {
    match v {
        None => Ok(true),
        Some(_) => Err("Q takes no value".into()),
    }
}

/// The LwM2M enabler versions this server accepts in Register (`lwm2m=`; absent means 1.0).
/// Any other version is answered with 4.12 Precondition Failed.
pub const SUPPORTED_VERSIONS: [&str; 2] = ["1.0", "1.1"];

/// Parses the Register query (`ep` is required; unknown parameters are ignored).
pub fn parse_register_query(items: &[String]) -> Result<RegisterParams, String> {
    let m = query_map(items)?;
    let endpoint = match m.get("ep") {
        Some(Some(ep)) if !ep.is_empty() => (*ep).to_owned(),
        _ => return Err("missing ep".into()),
    };
    let lifetime = match m.get("lt") {
        Some(v) => parse_lifetime(*v)?,
        None => DEFAULT_LIFETIME,
    };
    let version = match m.get("lwm2m") {
        Some(Some(v)) if !v.is_empty() => (*v).to_owned(),
        Some(_) => return Err("empty lwm2m version".into()),
        None => "1.0".to_owned(),
    };
    let binding = match m.get("b") {
        Some(v) => parse_binding(*v)?,
        None => "U".to_owned(),
    };
    let queue_mode = match m.get("Q") {
        Some(v) => parse_queue(*v)?,
        None => binding.contains('Q'),
    };
    let sms = m.get("sms").copied().flatten().map(str::to_owned);
    Ok(RegisterParams {
        endpoint,
        lifetime,
        version,
        binding,
        queue_mode,
        sms,
    })
}

/// Parses the Update query.
pub fn parse_update_query(items: &[String]) -> Result<UpdateParams, String> {
    let m = query_map(items)?;
    Ok(UpdateParams {
        lifetime: m.get("lt").map(|v| parse_lifetime(*v)).transpose()?,
        binding: m.get("b").map(|v| parse_binding(*v)).transpose()?,
        sms: m.get("sms").copied().flatten().map(str::to_owned),
        queue_mode: m.get("Q").map(|v| parse_queue(*v)).transpose()?,
    })
}

/// Parses a registration payload (`</>;rt="oma.lwm2m",</1/0>,</3/0>,</3303>;ver=1.1`).
/// Links outside the root path or not naming an object / instance are ignored.
pub fn parse_object_links(payload: &[u8]) -> Result<ObjectLinks, String> {
    let doc = std::str::from_utf8(payload).map_err(|_| "payload is not UTF-8".to_string())?;
    let mut links = Vec::new();
    for l in link::parse(doc) {
        links.push(l.map_err(|e| format!("bad link format: {e}"))?);
    }
    let mut root = "/".to_owned();
    for l in &links {
        if l.attributes()
            .any(|(k, v)| k == "rt" && v == Some("oma.lwm2m"))
        {
            root = l.target.trim_end_matches('/').to_owned();
            if root.is_empty() {
                root.push('/');
            }
        }
    }
    let prefix = if root == "/" { "" } else { root.as_str() };
    let mut objects: BTreeMap<u16, ObjectLink> = BTreeMap::new();
    for l in &links {
        let Some(rest) = l.target.strip_prefix(prefix) else {
            continue;
        };
        let Ok(p) = Path::parse_str(rest) else {
            continue;
        };
        let Some(obj) = p.object_id() else {
            continue;
        };
        if p.len() > 2 {
            continue;
        }
        let entry = objects.entry(obj).or_insert_with(|| ObjectLink {
            object: obj,
            version: None,
            instances: Vec::new(),
        });
        if let Some(v) = l.attributes().find(|(k, _)| *k == "ver").and_then(|a| a.1) {
            entry.version = Some(v.to_owned());
        }
        if let Some(i) = p.instance_id() {
            if !entry.instances.contains(&i) {
                entry.instances.push(i);
            }
        }
    }
    let mut objects: Vec<ObjectLink> = objects.into_values().collect();
    for o in &mut objects {
        o.instances.sort_unstable();
    }
    Ok(ObjectLinks {
        root_path: root,
        objects,
    })
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
    /// then, and the event `lifetime-limited` says so.
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

/// What a `/rd` request changed (for events and observation clean-up).
// Short-lived (returned and consumed at once), so the size of the variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Nothing changed (an error reply).
    Nothing,
    /// A new registration, possibly replacing an older one of the same endpoint.
    Registered {
        /// The new registration.
        registration: Registration,
        /// The one it replaced.
        replaced: Option<Registration>,
        /// The `lt` asked for, when it was above [`RegistryLimits::max_lifetime`].
        lifetime_requested: Option<u32>,
    },
    /// An Update.
    Updated(Registration),
    /// A Register refused because the registry is full.
    Refused {
        /// The endpoint that asked.
        endpoint: String,
        /// Why (for the event).
        reason: String,
    },
    /// A De-register.
    Deregistered(Registration),
}

/// Handles a request whose Uri-Path starts with `rd`.
pub fn handle(
    registry: &mut Registry,
    req: &IncomingRequest,
    now: Instant,
    rng: &mut Rng,
) -> (Reply, Outcome) {
    let fail = |c| (Reply::code(c), Outcome::Nothing);
    let links = |req: &IncomingRequest| -> Result<Option<ObjectLinks>, String> {
        if req.payload.is_empty() {
            return Ok(None);
        }
        if req.content_format.is_some_and(|f| f != cf::LINK_FORMAT) {
            return Err("registration payload must be link-format".into());
        }
        parse_object_links(&req.payload).map(Some)
    };
    if let [_rd, id] = req.path.as_slice() {
        // A registration made over DTLS or OSCORE only answers to that identity.
        if registry
            .by_id(id)
            .is_some_and(|r| r.security != req.security)
        {
            return fail(code::FORBIDDEN);
        }
    }
    match (req.code, req.path.as_slice()) {
        (code::POST, [_rd]) => {
            let Ok(mut params) = parse_register_query(&req.query) else {
                return fail(code::BAD_REQUEST);
            };
            // LwM2M 1.1 TS Transport 6.2.1: an unsupported version gets 4.12, and the client
            // may register again with an older one.
            if !SUPPORTED_VERSIONS.contains(&params.version.as_str()) {
                return fail(code::PRECONDITION_FAILED);
            }
            let Ok(l) = links(req) else {
                return fail(code::BAD_REQUEST);
            };
            let limits = registry.limits();
            if registry.get(&params.endpoint).is_none()
                && registry.len() >= limits.max_registrations
            {
                let reason = format!(
                    "registration limit reached ({} registrations)",
                    limits.max_registrations
                );
                let reply = Reply {
                    code: code::SERVICE_UNAVAILABLE,
                    payload: reason.clone().into_bytes(),
                    ..Default::default()
                };
                let endpoint = params.endpoint;
                return (reply, Outcome::Refused { endpoint, reason });
            }
            let requested = params.lifetime;
            params.lifetime = requested.min(limits.max_lifetime);
            let mut id = rng.ident(10);
            while registry.contains_id(&id) {
                id = rng.ident(10);
            }
            let reg = Registration {
                id: id.clone(),
                endpoint: params.endpoint,
                addr: req.peer,
                lifetime: params.lifetime,
                version: params.version,
                binding: params.binding,
                queue_mode: params.queue_mode,
                sms: params.sms,
                links: l.unwrap_or_else(|| ObjectLinks {
                    root_path: "/".into(),
                    objects: Vec::new(),
                }),
                registered_at: SystemTime::now(),
                last_update: now,
                security: req.security.clone(),
                format: None,
            };
            let params_lifetime = reg.lifetime;
            let replaced = registry.insert(reg.clone());
            let reply = Reply {
                code: code::CREATED,
                location: vec!["rd".into(), id],
                ..Default::default()
            };
            (
                reply,
                Outcome::Registered {
                    registration: reg,
                    replaced,
                    lifetime_requested: (requested > params_lifetime).then_some(requested),
                },
            )
        }
        (code::POST, [_rd, id]) => {
            let Ok(mut params) = parse_update_query(&req.query) else {
                return fail(code::BAD_REQUEST);
            };
            let max = registry.limits().max_lifetime;
            params.lifetime = params.lifetime.map(|lt| lt.min(max));
            let Ok(l) = links(req) else {
                return fail(code::BAD_REQUEST);
            };
            match registry.update(id, &params, l, req.peer, now) {
                Some(reg) => (Reply::code(code::CHANGED), Outcome::Updated(reg)),
                None => fail(code::NOT_FOUND),
            }
        }
        (code::DELETE, [_rd, id]) => match registry.remove_id(id) {
            Some(reg) => (Reply::code(code::DELETED), Outcome::Deregistered(reg)),
            None => fail(code::NOT_FOUND),
        },
        (code::POST | code::DELETE, _) => fail(code::NOT_FOUND),
        _ => fail(code::METHOD_NOT_ALLOWED),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn req(c: u8, path: &[&str], query: &[&str], payload: &[u8]) -> IncomingRequest {
        IncomingRequest {
            peer: SocketAddr::from(([127, 0, 0, 1], 5683)),
            code: c,
            path: q(path),
            query: q(query),
            content_format: (!payload.is_empty()).then_some(cf::LINK_FORMAT),
            payload: payload.to_vec(),
            security: PeerSecurity::NoSec,
        }
    }

    /// A registration made over DTLS answers only to that PSK identity: Updates and
    /// De-registers in clear or from another identity get 4.03 and change nothing.
    #[test]
    fn secure_registration_is_bound_to_its_identity() {
        let mut reg = Registry::new();
        let mut rng = Rng::from_seed(3);
        let now = Instant::now();
        let dtls = |id: &[u8]| PeerSecurity::Dtls {
            identity: id.to_vec(),
        };
        let mut r = req(code::POST, &["rd"], &["ep=a", "lt=60"], b"</3/0>");
        r.security = dtls(b"id-a");
        let (reply, _) = handle(&mut reg, &r, now, &mut rng);
        assert_eq!(reply.code, code::CREATED);
        let id = reply.location[1].clone();
        assert_eq!(reg.by_id(&id).unwrap().security, dtls(b"id-a"));
        for sec in [PeerSecurity::NoSec, dtls(b"id-b")] {
            for (c, q) in [(code::POST, vec!["lt=5"]), (code::DELETE, vec![])] {
                let mut u = req(c, &["rd", &id], &q, b"");
                u.security = sec.clone();
                let (reply, outcome) = handle(&mut reg, &u, now, &mut rng);
                assert_eq!((reply.code, outcome), (code::FORBIDDEN, Outcome::Nothing));
            }
        }
        assert_eq!(reg.by_id(&id).unwrap().lifetime, 60);
        let mut u = req(code::DELETE, &["rd", &id], &[], b"");
        u.security = dtls(b"id-a");
        assert_eq!(handle(&mut reg, &u, now, &mut rng).0.code, code::DELETED);
    }

    #[test]
    fn register_query_defaults_and_values() {
        let p = parse_register_query(&q(&["ep=node1"])).unwrap();
        assert_eq!(p.endpoint, "node1");
        assert_eq!(p.lifetime, DEFAULT_LIFETIME);
        assert_eq!(p.version, "1.0");
        assert_eq!(p.binding, "U");
        assert!(!p.queue_mode);
        let p = parse_register_query(&q(&[
            "ep=n",
            "lt=300",
            "lwm2m=1.1",
            "b=U",
            "Q",
            "sms=123",
            "x=y",
        ]))
        .unwrap();
        assert_eq!(
            p,
            RegisterParams {
                endpoint: "n".into(),
                lifetime: 300,
                version: "1.1".into(),
                binding: "U".into(),
                queue_mode: true,
                sms: Some("123".into()),
            }
        );
        assert!(
            parse_register_query(&q(&["ep=n", "b=UQ"]))
                .unwrap()
                .queue_mode
        );
    }

    #[test]
    fn register_query_rejects_bad_input() {
        for bad in [
            &["lt=60"][..],
            &["ep="],
            &["ep"],
            &["ep=a", "lt=x"],
            &["ep=a", "lt=0"],
            &["ep=a", "lt=-1"],
            &["ep=a", "ep=b"],
            &["ep=a", "b=Z"],
            &["ep=a", "Q=1"],
            &["ep=a", "=x"],
        ] {
            assert!(parse_register_query(&q(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn update_query() {
        assert_eq!(parse_update_query(&[]).unwrap(), UpdateParams::default());
        let u = parse_update_query(&q(&["lt=20", "b=U"])).unwrap();
        assert_eq!(u.lifetime, Some(20));
        assert_eq!(u.binding.as_deref(), Some("U"));
        assert!(parse_update_query(&q(&["lt=abc"])).is_err());
    }

    #[test]
    fn object_links_with_versions_and_instances() {
        let l = parse_object_links(
            br#"</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>,</3303>;ver=1.1,</3303/1>,</3303/0>"#,
        )
        .unwrap();
        assert_eq!(l.root_path, "/");
        assert_eq!(
            l.objects,
            vec![
                ObjectLink {
                    object: 1,
                    version: None,
                    instances: vec![0]
                },
                ObjectLink {
                    object: 3,
                    version: None,
                    instances: vec![0]
                },
                ObjectLink {
                    object: 3303,
                    version: Some("1.1".into()),
                    instances: vec![0, 1]
                },
            ]
        );
    }

    #[test]
    fn object_links_with_alternate_path() {
        let l = parse_object_links(br#"</lwm2m>;rt="oma.lwm2m",</lwm2m/1/0>,</lwm2m/3/0>,</x/5>"#)
            .unwrap();
        assert_eq!(l.root_path, "/lwm2m");
        let ids: Vec<u16> = l.objects.iter().map(|o| o.object).collect();
        assert_eq!(ids, vec![1, 3]);
        let reg_path = Registration {
            id: "i".into(),
            endpoint: "e".into(),
            addr: SocketAddr::from(([127, 0, 0, 1], 1)),
            lifetime: 1,
            version: "1.1".into(),
            binding: "U".into(),
            queue_mode: false,
            sms: None,
            links: l,
            registered_at: SystemTime::now(),
            last_update: Instant::now(),
            security: PeerSecurity::NoSec,
            format: None,
        }
        .uri_path(&Path::resource(3, 0, 1));
        assert_eq!(reg_path, vec!["lwm2m", "3", "0", "1"]);
        assert!(parse_object_links(&[0xff]).is_err());
    }

    #[test]
    fn register_update_deregister_flow() {
        let mut reg = Registry::new();
        let mut rng = Rng::from_seed(1);
        let t0 = Instant::now();
        let (r, out) = handle(
            &mut reg,
            &req(code::POST, &["rd"], &["ep=a", "lt=10"], b""),
            t0,
            &mut rng,
        );
        assert_eq!(r.code, code::CREATED);
        assert_eq!(r.location.len(), 2);
        assert_eq!(r.location[0], "rd");
        let id = r.location[1].clone();
        assert!(matches!(out, Outcome::Registered { replaced: None, .. }));
        assert_eq!(reg.get("a").unwrap().lifetime, 10);

        let (r, out) = handle(
            &mut reg,
            &req(code::POST, &["rd", &id], &["lt=20"], b""),
            t0,
            &mut rng,
        );
        assert_eq!(r.code, code::CHANGED);
        assert!(matches!(out, Outcome::Updated(ref g) if g.lifetime == 20));

        let (r, _) = handle(
            &mut reg,
            &req(code::POST, &["rd", "nope"], &[], b""),
            t0,
            &mut rng,
        );
        assert_eq!(r.code, code::NOT_FOUND);
        let (r, _) = handle(
            &mut reg,
            &req(code::POST, &["rd"], &["lt=5"], b""),
            t0,
            &mut rng,
        );
        assert_eq!(r.code, code::BAD_REQUEST);

        let (r, out) = handle(
            &mut reg,
            &req(code::DELETE, &["rd", &id], &[], b""),
            t0,
            &mut rng,
        );
        assert_eq!(r.code, code::DELETED);
        assert!(matches!(out, Outcome::Deregistered(_)));
        assert!(reg.is_empty());
        let (r, _) = handle(
            &mut reg,
            &req(code::DELETE, &["rd", &id], &[], b""),
            t0,
            &mut rng,
        );
        assert_eq!(r.code, code::NOT_FOUND);
    }

    #[test]
    fn reregistration_replaces_and_lifetime_expires() {
        let mut reg = Registry::new();
        let mut rng = Rng::from_seed(2);
        let t0 = Instant::now();
        let (r1, _) = handle(
            &mut reg,
            &req(code::POST, &["rd"], &["ep=a", "lt=10"], b""),
            t0,
            &mut rng,
        );
        let (r2, out) = handle(
            &mut reg,
            &req(code::POST, &["rd"], &["ep=a", "lt=30"], b""),
            t0,
            &mut rng,
        );
        assert!(
            matches!(out, Outcome::Registered { replaced: Some(ref o), .. } if o.id == r1.location[1])
        );
        assert_eq!(reg.len(), 1);
        assert!(reg.get_by_id(&r1.location[1]).is_none());
        assert!(reg.get_by_id(&r2.location[1]).is_some());
        assert!(reg.expire(t0 + Duration::from_secs(29)).is_empty());
        let gone = reg.expire(t0 + Duration::from_secs(30));
        assert_eq!(gone.len(), 1);
        assert!(reg.is_empty());
    }
}
