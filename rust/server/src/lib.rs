//! An LwM2M 1.1 server (a minimal Leshan): CoAP over UDP on the std endpoint's transmission
//! blocks (`lwm2m-endpoint`), the Registration and Bootstrap interfaces, device management and
//! observation toward registered clients, and three front ends: the library API ([`ServerHandle`]), an HTTP/JSON API
//! ([`http`]) and a line console ([`cli`]).
//!
//! The wire formats come from the engine crate `lwm2m` (`coap` message codec, content-format
//! codecs); this crate adds what a server needs on top: sockets, threads, timers and state.
//!
//! # Client-to-client authorization
//!
//! The server is the trusted third party of the C2C extension (`docs/c2c-protocol.md`):
//! - [`ac`]: `POST /ac?ep=<host>[&c]`, its checks in order and its answers (2.01 as a separate
//!   response once both clients acknowledged, 4.00 / 4.01 / 4.03 at once, 5.03 when a client
//!   cannot be reached);
//! - [`policy`]: the policy file format (allow/deny rules by requester, host, path prefix and
//!   rights, first match wins, default deny, optional lifetime cap), reloadable on SIGHUP
//!   ([`C2cConfig::reload_flag`]), [`ServerHandle::reload_policy`] or `POST /api/policy/reload`;
//! - [`c2c`]: Short Client IDs, instance IDs, fresh credentials from the OS RNG (never stored,
//!   logged or shown), and the records installed: one Write-Composite per client by default,
//!   or the artifact's sequence of Creates ([`c2c::InstallMode::Separate`]);
//! - grants are listed with [`ServerHandle::grants`] and revoked with [`ServerHandle::revoke`]
//!   (also `GET /api/grants`, `DELETE /api/grants/<id>`, console `grants`, `revoke <id>`);
//!   with [`C2cConfig::state_file`] they survive a restart ([`state`]); when a pair's
//!   lifetime ends the server forgets its grants ([`Event::GrantsExpired`]);
//! - [`relay`]: the server-centric baseline of the paper, for comparison
//!   ([`ServerHandle::relay`]).
//!
//! ```no_run
//! use lwm2m_server::{Config, Server};
//! let server = Server::start(Config { coap_addr: "[::]:5683".into(), ..Default::default() })?;
//! let events = server.subscribe();
//! let ev = events.recv().expect("server running");
//! println!("{}", ev.to_json());
//! # Ok::<(), std::io::Error>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod ac;
pub mod bootstrap;
pub mod c2c;
pub mod cli;
pub mod config;
pub mod error;
pub mod event;
pub mod formats;
pub mod http;
mod http_server;
pub mod layer;
pub mod msg;
pub mod ops;
/// OSCORE per peer: [`lwm2m_oscore::peer`], shared with the other host-side crate.
pub use lwm2m_oscore::peer as oscore;
pub mod policy;
pub mod registration;
pub mod relay;
pub mod secure;
pub mod senml_json;
pub mod server;
pub mod state;
pub mod transport;
pub mod types;
pub mod values;

pub use config::{C2cConfig, Config, HttpConfig};
pub use error::ServerError;
pub use event::Event;
pub use ops::{Attributes, Response};
pub use policy::Policy;
pub use registration::Registration;
pub use server::{Server, ServerHandle};
pub use values::{OwnedRecord, OwnedValue};
