//! An LwM2M 1.1 server (a minimal Leshan): CoAP over UDP with its own message layer, the
//! Registration and Bootstrap interfaces, device management and observation toward registered
//! clients, and three front ends: the library API ([`ServerHandle`]), an HTTP/JSON API
//! ([`http`]) and a line console ([`cli`]).
//!
//! The wire formats come from the engine crate `lwm2m` (`coap` message codec, content-format
//! codecs); this crate adds what a server needs on top: sockets, threads, timers and state.
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
pub mod http;
pub mod layer;
pub mod msg;
pub mod ops;
pub mod policy;
pub mod registration;
pub mod relay;
pub mod server;
pub mod transport;
pub mod types;
pub mod values;

pub use config::{C2cConfig, Config};
pub use error::ServerError;
pub use event::Event;
pub use ops::{Attributes, Response};
pub use policy::Policy;
pub use registration::Registration;
pub use server::{Server, ServerHandle};
pub use values::{OwnedRecord, OwnedValue};
