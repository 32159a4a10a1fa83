//! An LwM2M 1.1 server (a minimal Leshan): CoAP on the std endpoint (`lwm2m-endpoint`: its
//! transports and message layer, the same the host client runs), the Registration and
//! Bootstrap interfaces, device management and observation toward registered clients, and
//! three front ends: the library API ([`ServerHandle`]), an HTTP/JSON API ([`api::http`]) and
//! a line console ([`api::cli`]).
//!
//! The wire formats come from the engine crate `lwm2m` (`coap` message codec, content-format
//! codecs); this crate adds what a server needs on top: sockets, threads, timers and state.
//!
//! # Client-to-client authorization
//!
//! The server is the trusted third party of the C2C extension (`docs/c2c-protocol.md`):
//! - [`access::ac`]: `POST /ac?ep=<host>[&c]`, its checks in order and its answers (2.01 as a separate
//!   response once both clients acknowledged, 4.00 / 4.01 / 4.03 at once, 5.03 when a client
//!   cannot be reached);
//! - [`access::policy`]: the policy file format (allow/deny rules by requester, host, path prefix and
//!   rights, first match wins, default deny, optional lifetime cap), reloadable on SIGHUP
//!   ([`C2cConfig::reload_flag`]), [`ServerHandle::reload_policy`] or `POST /api/policy/reload`;
//! - [`access::c2c`]: Short Client IDs, instance IDs, fresh credentials from the OS RNG (never stored,
//!   logged or shown), and the records installed: one Write-Composite per client by default,
//!   or the artifact's sequence of Creates ([`access::c2c::InstallMode::Separate`]);
//! - grants are listed with [`ServerHandle::grants`] and revoked with [`ServerHandle::revoke`]
//!   (also `GET /api/grants`, `DELETE /api/grants/<id>`, console `grants`, `revoke <id>`);
//!   with [`C2cConfig::state_file`] they survive a restart ([`access::state`]); when a pair's
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
//!
//! # Layout
//!
//! One folder per part of the server. Modules import only modules above them in this order
//! (no module imports one that imports it; parents only declare and re-export children):
//!
//! 1. `sync` (lock helper), [`error`] ([`ServerError`]);
//! 2. [`transport`]: the std endpoint's transports ([`transport::Transport`],
//!    [`transport::UdpTransport`], [`transport::PeerSecurity`]), `layer` (the endpoint's
//!    message layer and its blocks), `msg` (request / reply shapes), `secure` (the clients'
//!    credentials for the endpoint's DTLS-PSK and OSCORE
//!    [`transport::secure::ListenerTransport`]);
//! 3. [`dm`] (device management): `types`, `values`, `senml_json`, `codec`, `ops`, `formats`;
//! 4. [`registration`]: `record`, `registry` (limits, expiry), `rd` (the `/rd` handler);
//! 5. [`bootstrap`], then [`event`], then [`reporting`] (Send, `POST /dp`: decoding, the latest
//!    values per client);
//! 6. [`access`], lower half: `limit` (the `/ac` rate limit), `policy`, `c2c` (accounts,
//!    grants, credentials), `state` (grant state file);
//! 7. [`config`] (every knob, [`Config`]), then `shared` (state shared by the threads, the
//!    channel into the event loop);
//! 8. [`access`], upper half: `ac` (the `/ac` checks), `worker` (installs, revocations);
//! 9. [`relay`] (the baseline's list);
//! 10. [`server`], the thin core: `exchange`, `event_loop` (on the endpoint's message
//!     layer), `handle` ([`ServerHandle`]), `start` ([`Server::start`], the one place that wires every part);
//! 11. on [`ServerHandle`]: `relay::run` (the relays' threads and [`ServerHandle::relay`]),
//!     [`api`]: `http` (routes), `http_server` (hyper, [`ServerHandle::start_http`]), `cli`.
//!
//! The flat paths of before (`lwm2m_server::ops`, `values`, `secure`, `c2c`, `policy`, ...)
//! stay as re-exports.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod access;
pub mod api;
pub mod bootstrap;
pub mod config;
pub mod dm;
pub mod error;
pub mod event;
pub mod fota;
/// OSCORE per peer: [`lwm2m_oscore::peer`], shared with the other host-side crate.
pub use lwm2m_oscore::peer as oscore;
pub mod registration;
pub mod relay;
pub mod reporting;
pub mod server;
pub(crate) mod shared;
pub(crate) mod sync;
pub mod transport;

// The flat paths of the modules before the layout above.
pub use access::{ac, c2c, policy, state};
pub use api::{cli, http};
pub use dm::{formats, ops, senml_json, types};
pub use transport::{layer, msg, secure};
/// Owned values ([`dm::values`]) and the content-format codecs ([`dm::codec`]).
pub mod values {
    pub use crate::dm::codec::{decode, encode, CodecError};
    pub use crate::dm::values::*;
}

pub use config::{C2cConfig, Config, HttpConfig};
pub use error::ServerError;
pub use event::Event;
pub use ops::{Attributes, Response};
pub use policy::Policy;
pub use registration::Registration;
pub use server::{Server, ServerHandle};
pub use values::{OwnedRecord, OwnedValue};
