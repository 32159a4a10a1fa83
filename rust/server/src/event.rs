//! Events the server reports to subscribers (library API, HTTP `/api/events`, the console).

use std::net::SocketAddr;
use std::time::Instant;

use lwm2m::Path;
use serde_json::{json, Value as Json};

use crate::dm::ops::Response;
use crate::registration::Registration;

/// Something that happened on the server.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A client registered (possibly replacing an older registration of the same endpoint).
    Registered {
        /// The new registration.
        registration: Registration,
        /// ID of the registration it replaced.
        replaced: Option<String>,
    },
    /// A client updated its registration.
    Updated {
        /// The registration after the update.
        registration: Registration,
    },
    /// A client de-registered.
    Deregistered {
        /// The removed registration.
        registration: Registration,
    },
    /// A registration limit was hit ([`crate::registration::RegistryLimits`]): a Register
    /// refused with 5.03 because the registry is full, or a lifetime shortened.
    RegistrationLimited {
        /// The endpoint that registered.
        endpoint: String,
        /// What happened.
        reason: String,
    },
    /// A registration's lifetime passed without an Update.
    Expired {
        /// The removed registration.
        registration: Registration,
    },
    /// A Send (`POST /dp`) from a registered client, answered 2.04 ([`crate::reporting`]).
    Send {
        /// The client.
        endpoint: String,
        /// Content-Format of the payload.
        format: u16,
        /// The values, in payload order.
        values: Vec<crate::dm::values::OwnedRecord>,
        /// Values not kept (the client's store was full, [`crate::reporting::MAX_SEND_VALUES`]).
        dropped: u64,
    },
    /// A Send from a registered client was refused (4.00 undecodable or empty, 4.15 format).
    SendFailed {
        /// The client.
        endpoint: String,
        /// The answer.
        code: u8,
        /// Why (the decoder's error).
        reason: String,
    },
    /// A Queue Mode client was heard after sleeping (or for the first time): awake for the
    /// server's awake time; `queued` requests that waited for it go out now.
    Awake {
        /// The client.
        endpoint: String,
        /// Requests that waited for it.
        queued: usize,
    },
    /// A Queue Mode client's awake time ended: requests for it wait until it talks again.
    Sleeping {
        /// The client.
        endpoint: String,
        /// Requests waiting for it.
        queued: usize,
    },
    /// A request for a sleeping Queue Mode client was queued.
    RequestQueued {
        /// The client.
        endpoint: String,
        /// Requests waiting for it, this one included.
        queued: usize,
    },
    /// A notification of an observation.
    Notification {
        /// Endpoint name.
        endpoint: String,
        /// Observed path.
        path: Path,
        /// The notification content.
        response: Response,
    },
    /// An observation ended without a cancel from our side (error notification, or the
    /// registration went away).
    ObservationEnded {
        /// Endpoint name.
        endpoint: String,
        /// Observed path.
        path: Path,
        /// Why.
        reason: String,
    },
    /// One step of a bootstrap session: `request` (the client asked), `delete`,
    /// `write-oscore` (with OSCORE), `write-security`, `write-server`, `discover`, `finish`.
    Bootstrap {
        /// Endpoint name.
        endpoint: String,
        /// Step name.
        step: String,
        /// The client's response code for the step (`None` for `request`).
        code: Option<u8>,
        /// Response payload as text where useful (the Bootstrap-Discover links).
        detail: Option<String>,
    },
    /// The bootstrap session ended with a successful Bootstrap-Finish.
    BootstrapFinished {
        /// Endpoint name.
        endpoint: String,
    },
    /// The bootstrap session stopped at a step.
    BootstrapFailed {
        /// Endpoint name.
        endpoint: String,
        /// Step name.
        step: String,
        /// Error code or transport failure.
        reason: String,
    },
    /// A `POST /ac` was checked.
    AccessRequest {
        /// The requester's endpoint name, or its address when it is not identified.
        requester: String,
        /// The hosting client's endpoint (`ep=`), if given.
        host: Option<String>,
        /// `c` was given (credentials wanted).
        credentials: bool,
        /// The requested paths and rights.
        grants: Vec<(Path, u8)>,
        /// `allowed`, `existing` (answered from the grant in place, nothing written),
        /// `rate-limited` (5.03 with Max-Age), `denied`, `malformed` or `unauthenticated`.
        decision: String,
        /// The answer (for `allowed`: the 2.01 comes after the installs).
        code: u8,
        /// Why (the policy rule, the malformed part).
        reason: String,
    },
    /// An authorization was installed on both clients.
    C2cInstalled {
        /// Requesting client.
        requester: String,
        /// Hosting client.
        host: String,
        /// The grant IDs created or extended.
        grants: Vec<u64>,
        /// New credentials were installed.
        credentials: bool,
        /// Security mode.
        security: String,
        /// Account lifetime written (s).
        lifetime: u32,
        /// `composite` or `separate`.
        mode: String,
        /// Every message sent: `{to, op, path, content_format, payload_bytes,
        /// message_bytes, code}` (composite messages also list the size in each format).
        messages: Vec<Json>,
    },
    /// An install failed (nothing granted; what was created is deleted again).
    C2cInstallFailed {
        /// Requesting client.
        requester: String,
        /// Hosting client.
        host: String,
        /// What failed.
        reason: String,
    },
    /// A grant was revoked by the operator.
    GrantRevoked {
        /// Grant ID.
        grant: u64,
        /// Requesting client.
        requester: String,
        /// Hosting client.
        host: String,
        /// The target.
        path: Path,
        /// No grant was left for the pair, so both accounts were deleted.
        accounts_removed: bool,
        /// Steps that failed (the IDs involved are then never reused).
        failures: Vec<String>,
    },
    /// A pair's account lifetime ended: the server forgot its grants and freed the IDs of
    /// its accounts (the clients closed the accounts themselves).
    GrantsExpired {
        /// Requesting client.
        requester: String,
        /// Hosting client.
        host: String,
        /// The grant IDs dropped.
        grants: Vec<u64>,
    },
    /// Writing the state file (`--state`) failed; the state in memory is unchanged.
    StateSaveFailed {
        /// The error.
        error: String,
    },
    /// The policy file was reloaded.
    PolicyReloaded {
        /// Number of rules now in force.
        rules: usize,
    },
    /// Reloading the policy failed; the old policy stays in force.
    PolicyReloadFailed {
        /// The error (with its line number).
        error: String,
    },
    /// A Block1 request (a firmware package push) advanced by another tenth of its payload.
    Block1Progress {
        /// The client.
        endpoint: String,
        /// The request's target.
        path: Path,
        /// Payload bytes the client acknowledged.
        sent: usize,
        /// Payload bytes in all.
        total: usize,
    },
    /// A firmware package served for a pull (`GET /fw/<id>` with Block2) advanced by another
    /// tenth: a client fetched the block that ends at `sent`.
    Block2Progress {
        /// The client the package was written to (whoever fetches it).
        endpoint: String,
        /// Package ID (`/fw/<id>`).
        package: u32,
        /// Who fetched the block.
        peer: SocketAddr,
        /// How the request for the block was protected ([`crate::transport::PeerSecurity::label`]:
        /// `nosec`, `dtls:<identity>`, `oscore:<kid>`).
        security: String,
        /// Bytes up to the end of the block.
        sent: usize,
        /// Package bytes in all.
        total: usize,
    },
    /// A relay (server-centric baseline) forwarded a value, or failed to.
    Relayed {
        /// Relay ID.
        relay: u64,
        /// Hosting client.
        host: String,
        /// Requesting client written to.
        requester: String,
        /// Path written at the requester.
        target: Path,
        /// The write's result (`2.04`, or the error).
        result: String,
    },
}

impl Event {
    /// Short name of the event kind (the `event` field of the JSON form).
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Registered { .. } => "registered",
            Event::Updated { .. } => "updated",
            Event::Deregistered { .. } => "deregistered",
            Event::Expired { .. } => "expired",
            Event::RegistrationLimited { .. } => "registration-limited",
            Event::Notification { .. } => "notification",
            Event::Awake { .. } => "awake",
            Event::Sleeping { .. } => "sleeping",
            Event::RequestQueued { .. } => "request-queued",
            Event::Send { .. } => "send",
            Event::SendFailed { .. } => "send-failed",
            Event::ObservationEnded { .. } => "observation-ended",
            Event::Bootstrap { .. } => "bootstrap",
            Event::BootstrapFinished { .. } => "bootstrap-finished",
            Event::BootstrapFailed { .. } => "bootstrap-failed",
            Event::AccessRequest { .. } => "access-request",
            Event::C2cInstalled { .. } => "c2c-installed",
            Event::C2cInstallFailed { .. } => "c2c-install-failed",
            Event::GrantRevoked { .. } => "grant-revoked",
            Event::GrantsExpired { .. } => "grants-expired",
            Event::StateSaveFailed { .. } => "state-save-failed",
            Event::PolicyReloaded { .. } => "policy-reloaded",
            Event::PolicyReloadFailed { .. } => "policy-reload-failed",
            Event::Relayed { .. } => "relayed",
            Event::Block1Progress { .. } => "block1-progress",
            Event::Block2Progress { .. } => "block2-progress",
        }
    }

    /// The endpoint the event is about.
    pub fn endpoint(&self) -> &str {
        match self {
            Event::Registered { registration, .. }
            | Event::Updated { registration }
            | Event::Deregistered { registration }
            | Event::Expired { registration } => &registration.endpoint,
            Event::Notification { endpoint, .. }
            | Event::Awake { endpoint, .. }
            | Event::Sleeping { endpoint, .. }
            | Event::RequestQueued { endpoint, .. }
            | Event::Send { endpoint, .. }
            | Event::SendFailed { endpoint, .. }
            | Event::Block1Progress { endpoint, .. }
            | Event::Block2Progress { endpoint, .. }
            | Event::RegistrationLimited { endpoint, .. }
            | Event::ObservationEnded { endpoint, .. }
            | Event::Bootstrap { endpoint, .. }
            | Event::BootstrapFinished { endpoint }
            | Event::BootstrapFailed { endpoint, .. } => endpoint,
            Event::AccessRequest { requester, .. }
            | Event::C2cInstalled { requester, .. }
            | Event::C2cInstallFailed { requester, .. }
            | Event::GrantRevoked { requester, .. }
            | Event::GrantsExpired { requester, .. } => requester,
            Event::Relayed { host, .. } => host,
            Event::PolicyReloaded { .. }
            | Event::PolicyReloadFailed { .. }
            | Event::StateSaveFailed { .. } => "",
        }
    }

    /// The JSON form: `{"event":"<kind>","endpoint":...,...}`.
    pub fn to_json(&self) -> Json {
        let now = Instant::now();
        let mut j = json!({"event": self.kind(), "endpoint": self.endpoint()});
        match self {
            Event::Registered {
                registration,
                replaced,
            } => {
                j["registration"] = registration.to_json(now);
                if let Some(r) = replaced {
                    j["replaced"] = json!(r);
                }
            }
            Event::Updated { registration }
            | Event::Deregistered { registration }
            | Event::Expired { registration } => j["registration"] = registration.to_json(now),
            Event::Notification { path, response, .. } => {
                j["path"] = json!(path.to_string());
                j["response"] = response.to_json();
            }
            Event::Send {
                format,
                values,
                dropped,
                ..
            } => {
                j["format"] = json!(crate::dm::values::format_name(*format));
                j["values"] = json!(values.iter().map(|r| r.to_json()).collect::<Vec<_>>());
                j["dropped"] = json!(dropped);
            }
            Event::SendFailed { code, reason, .. } => {
                j["code"] = json!(crate::transport::msg::code_string(*code));
                j["reason"] = json!(reason);
            }
            Event::RegistrationLimited { reason, .. } => j["reason"] = json!(reason),
            Event::Awake { queued, .. }
            | Event::Sleeping { queued, .. }
            | Event::RequestQueued { queued, .. } => j["queued"] = json!(queued),
            Event::Block1Progress {
                path, sent, total, ..
            } => {
                j["path"] = json!(path.to_string());
                j["sent"] = json!(sent);
                j["total"] = json!(total);
            }
            Event::Block2Progress {
                package,
                peer,
                security,
                sent,
                total,
                ..
            } => {
                j["package"] = json!(package);
                j["peer"] = json!(peer.to_string());
                j["security"] = json!(security);
                j["sent"] = json!(sent);
                j["total"] = json!(total);
            }
            Event::ObservationEnded { path, reason, .. } => {
                j["path"] = json!(path.to_string());
                j["reason"] = json!(reason);
            }
            Event::Bootstrap {
                step, code, detail, ..
            } => {
                j["step"] = json!(step);
                if let Some(c) = code {
                    j["code"] = json!(crate::transport::msg::code_string(*c));
                }
                if let Some(d) = detail {
                    j["detail"] = json!(d);
                }
            }
            Event::BootstrapFinished { .. } => {}
            Event::BootstrapFailed { step, reason, .. } => {
                j["step"] = json!(step);
                j["reason"] = json!(reason);
            }
            Event::AccessRequest {
                host,
                credentials,
                grants,
                decision,
                code,
                reason,
                ..
            } => {
                j["host"] = json!(host);
                j["credentials"] = json!(credentials);
                j["grants"] = Json::Array(
                    grants
                        .iter()
                        .map(|(p, r)| json!({"path": p.to_string(), "rights": r}))
                        .collect(),
                );
                j["decision"] = json!(decision);
                j["code"] = json!(crate::transport::msg::code_string(*code));
                j["reason"] = json!(reason);
            }
            Event::C2cInstalled {
                host,
                grants,
                credentials,
                security,
                lifetime,
                mode,
                messages,
                ..
            } => {
                j["host"] = json!(host);
                j["grants"] = json!(grants);
                j["credentials"] = json!(credentials);
                j["security"] = json!(security);
                j["lifetime"] = json!(lifetime);
                j["mode"] = json!(mode);
                j["messages"] = json!(messages);
            }
            Event::C2cInstallFailed { host, reason, .. } => {
                j["host"] = json!(host);
                j["reason"] = json!(reason);
            }
            Event::GrantRevoked {
                grant,
                host,
                path,
                accounts_removed,
                failures,
                ..
            } => {
                j["grant"] = json!(grant);
                j["host"] = json!(host);
                j["path"] = json!(path.to_string());
                j["accounts_removed"] = json!(accounts_removed);
                j["failures"] = json!(failures);
            }
            Event::GrantsExpired { host, grants, .. } => {
                j["host"] = json!(host);
                j["grants"] = json!(grants);
            }
            Event::StateSaveFailed { error } => j["error"] = json!(error),
            Event::PolicyReloaded { rules } => j["rules"] = json!(rules),
            Event::PolicyReloadFailed { error } => j["error"] = json!(error),
            Event::Relayed {
                relay,
                requester,
                target,
                result,
                ..
            } => {
                j["relay"] = json!(relay);
                j["requester"] = json!(requester);
                j["target"] = json!(target.to_string());
                j["result"] = json!(result);
            }
        }
        j
    }
}
