//! The Bootstrap-server side (LwM2M 1.1 TS Transport section 6.1): after a client's
//! `POST /bs?ep=..` the server deletes the client's configuration, writes one Security (0)
//! and one Server (1) instance pointing at the configured DM server, optionally discovers, and
//! finishes with `POST /bs`.
//!
//! With OSCORE (`oscore=` in the spec) the account is protected as LwM2M 1.1 does it: an
//! OSCORE (21) instance with the context parameters is written first, and res 17 of the
//! Security instance links it (Security Mode stays NoSec, the URI `coap://`). The DM server
//! needs the same parameters for that endpoint (`--oscore-client`).

use std::collections::BTreeMap;

use lwm2m::coap::{code, content_format as cf};
use lwm2m::Path;

use crate::dm::codec;
use crate::dm::values::{OwnedRecord, OwnedValue};
use crate::error::ServerError;
use crate::oscore::OscoreParams;
use crate::transport::msg::OutRequest;

/// Security mode NoSec (resource /0/x/2).
pub const SECURITY_MODE_NOSEC: i64 = 3;
/// Default instance ID of a provisioned OSCORE (21) instance.
pub const DEFAULT_OSCORE_INSTANCE: u16 = 65534;
/// OSCORE object ID.
const OSCORE: u16 = lwm2m_oscore::resource::OBJECT_ID;

/// What to provision for one endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootstrapConfig {
    /// LwM2M Server URI written to the Security instance (`coap://[2001:db8::1]:5683`).
    pub server_uri: String,
    /// Short Server ID of the DM server.
    pub short_server_id: u16,
    /// Registration lifetime (s) written to the Server instance.
    pub lifetime: u32,
    /// Binding written to the Server instance.
    pub binding: String,
    /// Instance ID of the Security instance to write (the client's bootstrap-server account
    /// usually occupies another one).
    pub security_instance: u16,
    /// Instance ID of the Server instance to write.
    pub server_instance: u16,
    /// Run a Bootstrap-Discover before finishing.
    pub discover: bool,
    /// OSCORE context of the account (client's view), if the account uses OSCORE.
    pub oscore: Option<OscoreParams>,
    /// Instance ID of the OSCORE (21) instance to write. The default, 65534, stays clear of
    /// the low IDs the server allocates for C2C contexts.
    pub oscore_instance: u16,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        BootstrapConfig {
            server_uri: "coap://[::1]:5683".into(),
            short_server_id: 1,
            lifetime: 300,
            binding: "U".into(),
            security_instance: 1,
            server_instance: 0,
            discover: false,
            oscore: None,
            oscore_instance: DEFAULT_OSCORE_INSTANCE,
        }
    }
}

/// One request of a bootstrap session.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// Step name for events.
    pub name: &'static str,
    /// The request (Uri-Path filled in).
    pub request: OutRequest,
}

fn segments(p: &Path) -> Vec<String> {
    p.ids().iter().map(u16::to_string).collect()
}

fn rec(path: Path, value: OwnedValue) -> OwnedRecord {
    OwnedRecord { path, value }
}

/// The records of the Security instance.
pub fn security_records(cfg: &BootstrapConfig) -> Vec<OwnedRecord> {
    let i = cfg.security_instance;
    let r = |id| Path::resource(0, i, id);
    vec![
        rec(r(0), OwnedValue::String(cfg.server_uri.clone())),
        rec(r(1), OwnedValue::Boolean(false)),
        rec(r(2), OwnedValue::Integer(SECURITY_MODE_NOSEC)),
        rec(r(3), OwnedValue::Opaque(Vec::new())),
        rec(r(4), OwnedValue::Opaque(Vec::new())),
        rec(r(5), OwnedValue::Opaque(Vec::new())),
        rec(r(10), OwnedValue::Integer(i64::from(cfg.short_server_id))),
    ]
    .into_iter()
    .chain(cfg.oscore.as_ref().map(|_| {
        rec(
            r(lwm2m_oscore::resource::SECURITY_OSCORE_LINK),
            OwnedValue::ObjLnk(OSCORE, cfg.oscore_instance),
        )
    }))
    .collect()
}

/// The records of the OSCORE (21) instance (empty without OSCORE): the client's Sender and
/// Recipient IDs, secret, salt, AES-CCM-16-64-128 (the HKDF stays at its default).
pub fn oscore_records(cfg: &BootstrapConfig) -> Vec<OwnedRecord> {
    use lwm2m_oscore::resource as res;
    let Some(p) = &cfg.oscore else {
        return Vec::new();
    };
    let r = |id| Path::resource(OSCORE, cfg.oscore_instance, id);
    vec![
        rec(
            r(res::MASTER_SECRET),
            OwnedValue::Opaque(p.master_secret.to_vec()),
        ),
        rec(r(res::SENDER_ID), OwnedValue::Opaque(p.sender_id.clone())),
        rec(
            r(res::RECIPIENT_ID),
            OwnedValue::Opaque(p.recipient_id.clone()),
        ),
        rec(
            r(res::AEAD_ALGORITHM),
            OwnedValue::Integer(i64::from(lwm2m_oscore::AES_CCM_16_64_128)),
        ),
        rec(
            r(res::MASTER_SALT),
            OwnedValue::Opaque(p.master_salt.clone()),
        ),
    ]
}

/// The records of the Server instance.
pub fn server_records(cfg: &BootstrapConfig) -> Vec<OwnedRecord> {
    let i = cfg.server_instance;
    let r = |id| Path::resource(1, i, id);
    vec![
        rec(r(0), OwnedValue::Integer(i64::from(cfg.short_server_id))),
        rec(r(1), OwnedValue::Integer(i64::from(cfg.lifetime))),
        rec(r(6), OwnedValue::Boolean(true)),
        rec(r(7), OwnedValue::String(cfg.binding.clone())),
    ]
}

/// The requests of a session, in order.
pub fn plan(cfg: &BootstrapConfig) -> Result<Vec<Step>, ServerError> {
    let mut steps = vec![Step {
        name: "delete",
        request: OutRequest::new(code::DELETE, Vec::new()),
    }];
    let oscore = oscore_records(cfg);
    let oscore_step = (!oscore.is_empty()).then(|| {
        (
            "write-oscore",
            Path::instance(OSCORE, cfg.oscore_instance),
            oscore,
        )
    });
    for (name, base, recs) in oscore_step.into_iter().chain([
        (
            "write-security",
            Path::instance(0, cfg.security_instance),
            security_records(cfg),
        ),
        (
            "write-server",
            Path::instance(1, cfg.server_instance),
            server_records(cfg),
        ),
    ]) {
        let mut r = OutRequest::new(code::PUT, segments(&base));
        r.content_format = Some(cf::LWM2M_TLV);
        r.payload = codec::encode(cf::LWM2M_TLV, &base, &recs)?;
        steps.push(Step { name, request: r });
    }
    if cfg.discover {
        let mut r = OutRequest::new(code::GET, Vec::new());
        r.accept = Some(cf::LINK_FORMAT);
        steps.push(Step {
            name: "discover",
            request: r,
        });
    }
    steps.push(Step {
        name: "finish",
        request: OutRequest::new(code::POST, vec!["bs".into()]),
    });
    Ok(steps)
}

/// The endpoint name of a Bootstrap-Request query (`ep=..`, other items ignored).
pub fn parse_bs_query(items: &[String]) -> Option<String> {
    items
        .iter()
        .find_map(|q| q.strip_prefix("ep="))
        .filter(|ep| !ep.is_empty())
        .map(str::to_owned)
}

/// The configuration for an endpoint: its own entry, else the wildcard `*` entry.
pub fn lookup<'a>(
    configs: &'a BTreeMap<String, BootstrapConfig>,
    endpoint: &str,
) -> Option<&'a BootstrapConfig> {
    configs.get(endpoint).or_else(|| configs.get("*"))
}

/// Parses a command-line bootstrap spec
/// `EP,URI[,ssid=N][,lifetime=N][,binding=B][,security-instance=N][,server-instance=N][,discover]
/// [,oscore=SECRET:SALT:SID:RID][,oscore-instance=N]` into the endpoint name (`*` for any) and
/// its configuration. The OSCORE parameters are hex, in the client's view (as the client's
/// `--oscore`, with `:` for `,`; salt and IDs may be empty).
pub fn parse_spec(spec: &str) -> Result<(String, BootstrapConfig), String> {
    let mut parts = spec.split(',');
    let ep = parts
        .next()
        .filter(|e| !e.is_empty())
        .ok_or("missing endpoint")?;
    let uri = parts
        .next()
        .filter(|u| !u.is_empty())
        .ok_or("missing server URI")?;
    let mut cfg = BootstrapConfig {
        server_uri: uri.to_owned(),
        ..Default::default()
    };
    for p in parts {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        let num = |what: &str| {
            v.parse::<u32>()
                .map_err(|_| format!("{what} needs a number"))
        };
        let id = |what: &str| v.parse::<u16>().map_err(|_| format!("{what} needs an ID"));
        match k {
            "ssid" => cfg.short_server_id = id(k)?,
            "lifetime" | "lt" => cfg.lifetime = num(k)?,
            "binding" | "b" => cfg.binding = v.to_owned(),
            "security-instance" => cfg.security_instance = id(k)?,
            "server-instance" => cfg.server_instance = id(k)?,
            "discover" => cfg.discover = true,
            "oscore" => {
                cfg.oscore = Some(
                    OscoreParams::parse(&v.replace(':', ","))
                        .map_err(|e| format!("oscore: {e}"))?,
                )
            }
            "oscore-instance" => cfg.oscore_instance = id(k)?,
            _ => return Err(format!("unknown bootstrap option {k:?}")),
        }
    }
    Ok((ep.to_owned(), cfg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_parsing() {
        let (ep, cfg) = parse_spec("node1,coap://[::1]:5683,ssid=2,lifetime=60,discover").unwrap();
        assert_eq!(ep, "node1");
        assert_eq!(cfg.server_uri, "coap://[::1]:5683");
        assert_eq!(
            (cfg.short_server_id, cfg.lifetime, cfg.discover),
            (2, 60, true)
        );
        assert!(parse_spec("node1").is_err());
        assert!(parse_spec("n,u,ssid=x").is_err());
        assert!(parse_spec("n,u,foo").is_err());
    }

    #[test]
    fn oscore_spec_and_records() {
        let (_, cfg) = parse_spec(
            "n,coap://[::1]:5683,oscore=0102030405060708090a0b0c0d0e0f10:aabb:01:,oscore-instance=9",
        )
        .unwrap();
        let p = cfg.oscore.as_ref().expect("oscore");
        assert_eq!(
            (p.sender_id.as_slice(), p.recipient_id.as_slice()),
            (&[1][..], &[][..])
        );
        assert_eq!(p.master_salt, [0xaa, 0xbb]);
        assert_eq!(cfg.oscore_instance, 9);
        let sec = security_records(&cfg);
        assert_eq!(
            sec.last().map(|r| (&r.path, &r.value)),
            Some((&Path::resource(0, 1, 17), &OwnedValue::ObjLnk(21, 9)))
        );
        let o = oscore_records(&cfg);
        assert_eq!(o[0].path, Path::resource(21, 9, 0));
        assert_eq!(o[1].value, OwnedValue::Opaque(vec![1]));
        assert_eq!(o[2].value, OwnedValue::Opaque(vec![]));
        let steps = plan(&cfg).unwrap();
        let names: Vec<&str> = steps.iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "delete",
                "write-oscore",
                "write-security",
                "write-server",
                "finish"
            ]
        );
        assert_eq!(steps[1].request.path, ["21", "9"]);
        // Errors name the field, never the secret.
        let e = parse_spec("n,u,oscore=zz01:aa:01:02").unwrap_err();
        assert!(e.contains("master secret") && !e.contains("zz01"), "{e}");
        assert!(parse_spec("n,u,oscore=0102:aa").is_err());
        // Without OSCORE: no 21 records, no link.
        let (_, plain) = parse_spec("n,u").unwrap();
        assert!(oscore_records(&plain).is_empty());
        assert_eq!(security_records(&plain).len(), 7);
    }

    #[test]
    fn query_and_lookup() {
        assert_eq!(
            parse_bs_query(&["ep=n1".into(), "pct=112".into()]),
            Some("n1".into())
        );
        assert_eq!(parse_bs_query(&["ep=".into()]), None);
        assert_eq!(parse_bs_query(&[]), None);
        let mut m = BTreeMap::new();
        assert!(lookup(&m, "a").is_none());
        m.insert("*".to_string(), BootstrapConfig::default());
        m.insert(
            "b".to_string(),
            BootstrapConfig {
                short_server_id: 7,
                ..Default::default()
            },
        );
        assert_eq!(lookup(&m, "a").unwrap().short_server_id, 1);
        assert_eq!(lookup(&m, "b").unwrap().short_server_id, 7);
    }

    #[test]
    fn provisioned_values() {
        let cfg = BootstrapConfig {
            server_uri: "coap://[::1]:5683".into(),
            short_server_id: 3,
            ..Default::default()
        };
        let sec = security_records(&cfg);
        assert_eq!(sec[0].path, Path::resource(0, 1, 0));
        assert_eq!(sec[0].value, OwnedValue::String("coap://[::1]:5683".into()));
        assert_eq!(sec[2].value, OwnedValue::Integer(3));
        assert_eq!(sec[6].value, OwnedValue::Integer(3));
        let srv = server_records(&cfg);
        assert_eq!(srv[0].value, OwnedValue::Integer(3));
        assert_eq!(srv[1].value, OwnedValue::Integer(300));
        assert_eq!(srv[3].value, OwnedValue::String("U".into()));
    }
}
