//! Events the server reports to subscribers (library API, HTTP `/api/events`, the console).

use std::time::Instant;

use lwm2m::Path;
use serde_json::{json, Value as Json};

use crate::ops::Response;
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
    /// A registration's lifetime passed without an Update.
    Expired {
        /// The removed registration.
        registration: Registration,
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
    /// `write-security`, `write-server`, `discover`, `finish`.
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
}

impl Event {
    /// Short name of the event kind (the `event` field of the JSON form).
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Registered { .. } => "registered",
            Event::Updated { .. } => "updated",
            Event::Deregistered { .. } => "deregistered",
            Event::Expired { .. } => "expired",
            Event::Notification { .. } => "notification",
            Event::ObservationEnded { .. } => "observation-ended",
            Event::Bootstrap { .. } => "bootstrap",
            Event::BootstrapFinished { .. } => "bootstrap-finished",
            Event::BootstrapFailed { .. } => "bootstrap-failed",
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
            | Event::ObservationEnded { endpoint, .. }
            | Event::Bootstrap { endpoint, .. }
            | Event::BootstrapFinished { endpoint }
            | Event::BootstrapFailed { endpoint, .. } => endpoint,
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
            Event::ObservationEnded { path, reason, .. } => {
                j["path"] = json!(path.to_string());
                j["reason"] = json!(reason);
            }
            Event::Bootstrap {
                step, code, detail, ..
            } => {
                j["step"] = json!(step);
                if let Some(c) = code {
                    j["code"] = json!(crate::msg::code_string(*c));
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
        }
        j
    }
}
