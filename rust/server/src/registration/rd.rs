//! The `/rd` requests: query and payload parsing, and the handler.

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime};

use lwm2m::coap::{code, content_format as cf};
use lwm2m::codec::link;
use lwm2m::Path;

use super::record::{
    ObjectLink, ObjectLinks, RegisterParams, Registration, UpdateParams, DEFAULT_LIFETIME,
};
use super::registry::Registry;

use crate::transport::layer::Rng;
use crate::transport::msg::{IncomingRequest, Reply};

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

// Short-lived (returned and consumed at once), so the size of the variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
/// What a `/rd` request changed (for events and observation clean-up).
pub enum Outcome {
    /// Nothing changed (an error reply).
    Nothing,
    /// A new registration, possibly replacing an older one of the same endpoint.
    Registered {
        /// The new registration.
        registration: Registration,
        /// The one it replaced.
        replaced: Option<Registration>,
        /// The `lt` asked for, when it was above [`super::RegistryLimits::max_lifetime`].
        lifetime_requested: Option<u32>,
    },
    /// An Update.
    Updated {
        /// The registration after the Update.
        registration: Registration,
        /// The `lt` asked for, when it was above [`super::RegistryLimits::max_lifetime`].
        lifetime_requested: Option<u32>,
    },
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
                awake_until: None,
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
            let lifetime_requested = params.lifetime.filter(|&lt| lt > max);
            params.lifetime = params.lifetime.map(|lt| lt.min(max));
            let Ok(l) = links(req) else {
                return fail(code::BAD_REQUEST);
            };
            match registry.update(id, &params, l, req.peer, now) {
                Some(registration) => (
                    Reply::code(code::CHANGED),
                    Outcome::Updated {
                        registration,
                        lifetime_requested,
                    },
                ),
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
