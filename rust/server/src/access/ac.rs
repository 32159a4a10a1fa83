//! The access-request interface `POST /ac?ep=<host>[&c]` (client-to-client authorization, see
//! `docs/c2c-protocol.md` and [`crate::access::c2c`] for what gets installed).
//!
//! # Checks, in order, and answers
//!
//! | # | Check | Answer when it fails |
//! |---|---|---|
//! | 1 | method is POST | 4.05 |
//! | 2 | the requester is identified: over DTLS or OSCORE, the one registration made on the same identity (PSK identity / kid); in clear, the one NoSec registration at the request's source address | 4.01 |
//! | 2a | the requester has a token in its bucket ([`crate::access::limit`]; every identified request takes one) | 5.03 with Max-Age = seconds until the next token |
//! | 3 | Uri-Query is `ep=<non-empty>` plus an optional valueless `c`, nothing else, nothing twice | 4.00 |
//! | 4 | Content-Format 60 and a valid rights map (`lwm2m::c2c::access_request::decode`) | 4.00 |
//! | 5 | the host endpoint is registered and is not the requester | 4.00 |
//! | 6 | every path is among the host's registered objects (`/O`) or instances (`/O/I`) | 4.00 |
//! | 7 | the policy allows every grant ([`crate::access::policy`]; objects 0, 1, 2, 21, 11000-11002 never) | 4.03 |
//! | 8 | without `c`: this server installed accounts for the pair before | 4.00 |
//!
//! Nothing is sent to any client when a check fails. A request with `c` for a pair whose
//! accounts still hold (not expired, last written after both clients' current registrations)
//! and whose grants already cover every asked right is answered **2.01** at once, from the
//! existing grant, without writing to any client (no re-keying; a client that registered again
//! may have rebooted and lost its accounts, so it gets a new install). Otherwise, when all
//! pass, the server answers the CON request with an empty ACK at once and installs the
//! accounts / grants; the result comes as a separate response (RFC 7252 5.2.2): **2.01** once
//! every client acknowledged its install, or **5.03** (with a short diagnostic text) when a
//! client did not answer or rejected the install; whatever was created before the failure is
//! deleted again.
//!
//! For NoSec registrations the requester identification of check 2 is only as strong as NoSec:
//! anyone who can send from a registered client's address can ask in its name. Registrations
//! made over DTLS or OSCORE are bound to the channel's identity ([`Registration::security`]):
//! only a request authenticated with that identity speaks for them, whatever its address, and
//! a request in clear never does.
//!
//! Installs and revocations run one at a time on a worker thread, so the allocation of Short
//! Client IDs and instance IDs never races.

use std::net::SocketAddr;
use std::sync::mpsc::Sender;
use std::time::{Instant, SystemTime};

use lwm2m::c2c::access_request::{self, Grant};
use lwm2m::coap::{code, content_format as cf};
use lwm2m::Path;
use serde_json::Value as Json;

use super::limit::AcLimiter;
use crate::access::c2c::{C2cState, Pair};
use crate::access::policy::{bounded_lifetime, Decision, Policy, PolicyError};
use crate::config::C2cConfig;
use crate::error::ServerError;
use crate::event::Event;
use crate::registration::{Registration, Registry, SenderError};
use crate::shared::Shared;
use crate::sync::lock;
use crate::transport::msg::{IncomingRequest, Reply};

/// An access request that passed every check: what the worker installs.
#[derive(Clone, Debug)]
pub(crate) struct AcJob {
    pub requester: String,
    pub host: String,
    pub grants: Vec<Grant>,
    pub credentials: bool,
    pub lifetime: u32,
    /// Where and how to send the separate response.
    pub peer: SocketAddr,
    pub token: Vec<u8>,
    pub con: bool,
}

/// Work for the C2C worker thread.
pub(crate) enum Job {
    Install(AcJob),
    Revoke(u64, Sender<Result<Json, ServerError>>),
}

/// The result of the synchronous checks.
pub(crate) enum Checked {
    /// Answer at once (an error).
    Reply(Reply),
    /// Install, then answer.
    Install(AcJob),
    /// Answered 2.01 from the existing grant: nothing to write.
    Existing,
}

/// The 2.01 to an access request: for a host in Queue Mode with the payload saying so
/// ([`QUEUE_MODE_HOST`](lwm2m::c2c::access_request::QUEUE_MODE_HOST)).
pub(crate) fn created_for(host: Option<&Registration>) -> Reply {
    let mut r = Reply::code(code::CREATED);
    if host.is_some_and(|h| h.queue_mode) {
        r.content_format = Some(cf::CBOR);
        r.payload = lwm2m::c2c::access_request::QUEUE_MODE_HOST.to_vec();
    }
    r
}

pub(super) fn diag(c: u8, text: &str) -> Reply {
    Reply {
        code: c,
        payload: text.as_bytes().to_vec(),
        ..Default::default()
    }
}

struct Query {
    host: String,
    credentials: bool,
}

fn parse_query(items: &[String]) -> Result<Query, String> {
    let mut host = None;
    let mut credentials = false;
    for it in items {
        match it.split_once('=') {
            Some(("ep", v)) if !v.is_empty() && host.is_none() => host = Some(v.to_owned()),
            None if it == "c" && !credentials => credentials = true,
            _ => return Err(format!("bad or repeated query item {it:?}")),
        }
    }
    Ok(Query {
        host: host.ok_or("missing ep")?,
        credentials,
    })
}

/// The account lifetime: the default, lowered to the policy's cap.
fn lifetime(default: u32, cap: Option<u32>) -> u32 {
    match (default, cap) {
        (0, Some(c)) => c,
        (d, Some(c)) => d.min(c),
        (d, None) => d,
    }
}

/// Runs checks 2-8 (the dispatcher did 1). Returns the outcome and its event.
pub(crate) fn check(
    req: &IncomingRequest,
    registry: &Registry,
    policy: &Policy,
    state: &C2cState,
    cfg: &C2cConfig,
    limiter: &mut AcLimiter,
    now: Instant,
) -> (Checked, Event) {
    let mut ev = Event::AccessRequest {
        requester: req.peer.to_string(),
        host: None,
        credentials: false,
        grants: Vec::new(),
        decision: "malformed".into(),
        code: code::BAD_REQUEST,
        reason: String::new(),
    };
    let r = check_inner(req, registry, policy, state, cfg, limiter, now, &mut ev);
    if let Event::AccessRequest {
        decision,
        code: c,
        reason,
        ..
    } = &mut ev
    {
        match &r {
            Checked::Reply(reply) => {
                *c = reply.code;
                if !reply.payload.is_empty() {
                    *reason = String::from_utf8_lossy(&reply.payload).into_owned();
                }
                if reply.code == code::UNAUTHORIZED {
                    *decision = "unauthenticated".into();
                } else if reply.code == code::FORBIDDEN {
                    *decision = "denied".into();
                } else if reply.max_age.is_some() {
                    *decision = "rate-limited".into();
                }
            }
            Checked::Install(_) => {
                *c = code::CREATED;
                *decision = "allowed".into();
            }
            Checked::Existing => {
                *c = code::CREATED;
                *decision = "existing".into();
            }
        }
    }
    (r, ev)
}

// The checks in order need every input; a struct of them would only rename the arguments.
#[allow(clippy::too_many_arguments)]
fn check_inner(
    req: &IncomingRequest,
    registry: &Registry,
    policy: &Policy,
    state: &C2cState,
    cfg: &C2cConfig,
    limiter: &mut AcLimiter,
    now: Instant,
    ev: &mut Event,
) -> Checked {
    let Event::AccessRequest {
        requester: ev_req,
        host: ev_host,
        credentials: ev_c,
        grants: ev_grants,
        reason: ev_reason,
        ..
    } = ev
    else {
        return Checked::Reply(Reply::code(code::INTERNAL_SERVER_ERROR));
    };
    let requester = match registry.sender(req.peer, &req.security) {
        Ok(r) => r,
        Err(SenderError::NotRegistered) => {
            return Checked::Reply(diag(code::UNAUTHORIZED, "requester not registered"))
        }
        Err(SenderError::Ambiguous) => {
            return Checked::Reply(diag(code::UNAUTHORIZED, "requester not identified"))
        }
    };
    ev_req.clone_from(&requester.endpoint);
    if let Err(secs) = limiter.take(&requester.endpoint, now) {
        return Checked::Reply(Reply {
            max_age: Some(secs),
            ..diag(
                code::SERVICE_UNAVAILABLE,
                &format!("rate limited: retry in {secs} s"),
            )
        });
    }
    let q = match parse_query(&req.query) {
        Ok(q) => q,
        Err(e) => return Checked::Reply(diag(code::BAD_REQUEST, &e)),
    };
    *ev_host = Some(q.host.clone());
    *ev_c = q.credentials;
    if req.content_format != Some(cf::CBOR) {
        return Checked::Reply(diag(code::BAD_REQUEST, "Content-Format must be 60"));
    }
    let grants: Vec<Grant> = match access_request::decode(&req.payload) {
        Ok(g) => g.into_iter().collect(),
        Err(_) => return Checked::Reply(diag(code::BAD_REQUEST, "bad rights map")),
    };
    *ev_grants = grants.iter().map(|g| (g.path, g.rights)).collect();
    let Some(host) = registry
        .get(&q.host)
        .filter(|h| h.endpoint != requester.endpoint)
    else {
        return Checked::Reply(diag(code::BAD_REQUEST, "unknown host endpoint"));
    };
    for g in &grants {
        if !registered(host, &g.path) {
            return Checked::Reply(diag(
                code::BAD_REQUEST,
                &format!("{} is not registered by the host", g.path),
            ));
        }
    }
    let (cap, renew) = match policy.decide(&requester.endpoint, &host.endpoint, &grants) {
        Decision::Allow {
            max_lifetime,
            renew,
        } => (max_lifetime, renew),
        Decision::Deny { reason } => {
            // The requester learns only "forbidden"; the operator sees the rule in the event.
            *ev_reason = reason;
            return Checked::Reply(Reply::code(code::FORBIDDEN));
        }
    };
    let key = (requester.endpoint.clone(), host.endpoint.clone());
    let existing = state.pairs.get(&key);
    if !q.credentials && existing.is_none() {
        return Checked::Reply(diag(
            code::BAD_REQUEST,
            "no account for this host: ask with c",
        ));
    }
    let granted = existing.map(|p| p.granted);
    let lifetime = match bounded_lifetime(
        lifetime(cfg.default_lifetime, cap),
        renew,
        granted,
        SystemTime::now(),
    ) {
        Ok(l) => l,
        Err(reason) => {
            *ev_reason = reason;
            return Checked::Reply(Reply::code(code::FORBIDDEN));
        }
    };
    if q.credentials
        && existing.is_some_and(|p| still_installed(p, requester, host, &grants, state))
    {
        return Checked::Existing;
    }
    Checked::Install(AcJob {
        requester: requester.endpoint.clone(),
        host: host.endpoint.clone(),
        grants,
        credentials: q.credentials,
        lifetime,
        peer: req.peer,
        token: Vec::new(),
        con: true,
    })
}

/// A pair's accounts still hold on both clients and cover `grants`: not expired, last
/// written (install or renewal, [`Pair::renewed`]) after both clients' current registrations
/// (a client that registered again may have rebooted and lost them), and every asked right
/// already granted. Then a request with `c` is answered from the existing grant, not re-keyed.
fn still_installed(
    pair: &Pair,
    requester: &Registration,
    host: &Registration,
    grants: &[Grant],
    state: &C2cState,
) -> bool {
    let valid = pair.expires_at().is_none_or(|e| e > SystemTime::now());
    let after = pair.renewed >= requester.registered_at && pair.renewed >= host.registered_at;
    let covered = grants.iter().all(|g| {
        state
            .grant_for(&pair.requester, &pair.host, &g.path)
            .is_some_and(|have| have.rights & g.rights == g.rights)
    });
    valid && after && covered
}

fn registered(host: &Registration, path: &Path) -> bool {
    let Some(o) = host
        .links
        .objects
        .iter()
        .find(|o| Some(o.object) == path.object_id())
    else {
        return false;
    };
    path.instance_id().is_none_or(|i| o.instances.contains(&i))
}

pub(super) fn instances_of(reg: &Registration, object: u16) -> Vec<u16> {
    reg.links
        .objects
        .iter()
        .find(|o| o.object == object)
        .map(|o| o.instances.clone())
        .unwrap_or_default()
}

/// Reloads the policy from the configured file; keeps the old one on error.
pub(crate) fn reload_policy(shared: &Shared, cfg: &C2cConfig) -> Result<usize, PolicyError> {
    let r = match &cfg.policy_file {
        Some(f) => Policy::load(f),
        None => Err(PolicyError {
            line: 0,
            message: "no policy file configured (--policy)".into(),
        }),
    };
    match r {
        Ok(p) => {
            let n = p.rules.len();
            *lock(&shared.policy) = p;
            shared.emit(Event::PolicyReloaded { rules: n });
            Ok(n)
        }
        Err(e) => {
            shared.emit(Event::PolicyReloadFailed {
                error: e.to_string(),
            });
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries() {
        let q = |v: &[&str]| parse_query(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let ok = q(&["ep=lamp", "c"]).unwrap();
        assert_eq!((ok.host.as_str(), ok.credentials), ("lamp", true));
        assert!(!q(&["ep=lamp"]).unwrap().credentials);
        for bad in [
            &[][..],
            &["c"],
            &["ep="],
            &["ep=a", "ep=b"],
            &["ep=a", "c", "c"],
            &["ep=a", "c=1"],
            &["ep=a", "x=1"],
        ] {
            assert!(q(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn lifetimes() {
        assert_eq!(lifetime(3600, None), 3600);
        assert_eq!(lifetime(3600, Some(600)), 600);
        assert_eq!(lifetime(60, Some(600)), 60);
        assert_eq!(lifetime(0, Some(600)), 600);
        assert_eq!(lifetime(0, None), 0);
    }
}
