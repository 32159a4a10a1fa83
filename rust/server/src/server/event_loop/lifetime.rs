//! A lifetime above `--max-lifetime` is shortened (`registration::rd`), and the client is
//! told: the server writes the shortened value to the Lifetime resource (`/1/x/1`) of the
//! client's Server object instance, and the client, whose Lifetime changed, sends an Update
//! with it (LwM2M 1.1 TS Core 5.3.1, 6.2.2) and schedules its Updates by it.
//!
//! The instance is the one `/1/x` the client registered. A client listing several Server
//! instances (one per server) gets no Write: which one is ours would take a Read of each
//! Short Server ID, and a wrong guess would shorten another server's lifetime. The event says
//! so instead, and the server still expires the registration at the shortened lifetime.

use std::time::Instant;

use lwm2m::coap::content_format as cf;
use lwm2m::objects::server;
use lwm2m::Path;

use super::EventLoop;
use crate::dm::ops::{self, Response};
use crate::error::ServerError;
use crate::event::Event;
use crate::registration::Registration;
use crate::server::exchange::Owner;
use crate::transport::msg::code_string;
use crate::values::{OwnedRecord, OwnedValue};

impl EventLoop {
    /// Reports a lifetime shortened from `requested` (`None`: not shortened), and queues the
    /// Write of the shortened one; it goes out after the reply to the Register / Update
    /// ([`Self::write_lifetimes`]).
    pub(super) fn lifetime_shortened(
        &mut self,
        registration: &Registration,
        requested: Option<u32>,
    ) {
        let Some(requested) = requested else { return };
        self.shared.emit(Event::RegistrationLimited {
            endpoint: registration.endpoint.clone(),
            reason: format!(
                "lifetime {requested} s shortened to {} s (--max-lifetime)",
                registration.lifetime
            ),
        });
        self.shortened.push(registration.clone());
    }

    /// Writes the shortened lifetimes queued by [`Self::lifetime_shortened`].
    pub(super) fn write_lifetimes(&mut self, now: Instant) {
        for reg in std::mem::take(&mut self.shortened) {
            let instances = reg
                .links
                .objects
                .iter()
                .find(|o| o.object == server::ID)
                .map_or(&[][..], |o| &o.instances[..]);
            let &[instance] = instances else {
                let listed: Vec<String> = instances.iter().map(|i| format!("/1/{i}")).collect();
                let reason = match listed.len() {
                    0 => "lifetime not written: no Server instance registered".to_owned(),
                    _ => format!(
                        "lifetime not written: which of {} is this server's is not known",
                        listed.join(", ")
                    ),
                };
                let endpoint = reg.endpoint.clone();
                self.shared
                    .emit(Event::RegistrationLimited { endpoint, reason });
                continue;
            };
            let path = Path::resource(server::ID, instance, server::res::LIFETIME);
            let record = OwnedRecord {
                path,
                value: OwnedValue::Integer(reg.lifetime.into()),
            };
            let Ok(mut req) = ops::write(&path, &[record], cf::TEXT, true) else {
                continue;
            };
            req.path = reg.uri_path(&path);
            let owner = Owner::Lifetime {
                endpoint: reg.endpoint.clone(),
                path,
                lifetime: reg.lifetime,
            };
            let token = self.ids.token();
            let deadline = now + self.config.request_timeout;
            self.send_request(reg.addr, path, req, token, owner, deadline, now);
        }
    }

    /// The client's answer to the Write of its Lifetime resource, as an event.
    pub(super) fn lifetime_written(
        &self,
        endpoint: String,
        path: Path,
        lifetime: u32,
        result: Result<Response, ServerError>,
    ) {
        let answer = match result {
            Ok(r) => code_string(r.code),
            Err(e) => e.to_string(),
        };
        self.shared.emit(Event::RegistrationLimited {
            endpoint,
            reason: format!("lifetime {lifetime} s written to {path}: {answer}"),
        });
    }
}
