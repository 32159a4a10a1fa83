//! The Registration interface (LwM2M 1.1 TS Transport section 6.2): `POST /rd` (Register),
//! `POST /rd/<id>` (Update), `DELETE /rd/<id>` (De-register), and the registry with lifetime
//! expiry.
//!
//! [`record`]: the registration record; [`registry`]: the registrations with their limits
//! and expiry; [`rd`]: the requests (parsing and handler), on top of both.

pub mod rd;
pub mod record;
pub mod registry;
#[cfg(test)]
mod tests;

pub use rd::{
    handle, parse_object_links, parse_register_query, parse_update_query, Outcome,
    SUPPORTED_VERSIONS,
};
pub use record::{
    ObjectLink, ObjectLinks, RegisterParams, Registration, UpdateParams, DEFAULT_LIFETIME,
};
pub use registry::{Registry, RegistryLimits, SenderError};
