//! Host (Linux, std) runtime of the LwM2M engine.
//!
//! - [`transport`], [`secure`], [`message`], [`transmission`], [`clock`], [`oscore`]: the std
//!   CoAP endpoint shared with the server, from the `lwm2m-endpoint` crate (datagram
//!   transports with the authenticated identity: UDP, DTLS-PSK, OSCORE; the RFC 7252 message
//!   layer with NSTART and the transmission blocks it shares with the server);
//! - [`client`]: the driver [`client::HostClient`] (one thread, blocking socket with read
//!   timeout) and a complete simulated client behind [`client::spawn`] /
//!   [`client::ClientHandle`]; it also runs client-to-client operations in both roles
//!   (hosting: peer client accounts authenticate over DTLS-PSK or OSCORE; requesting:
//!   [`client::ClientHandle::c2c`] with hint, access request and secure request);
//! - [`uri`]: server URIs; [`objects`]: the simulated Device and sensors; [`firmware`]: the
//!   Firmware Update sink (a file, then a hook).
//!
//! ```no_run
//! use lwm2m_host::client::{spawn_with_events, wait_for_event, ClientConfig, Event};
//! use std::time::Duration;
//! let mut cfg = ClientConfig::new("sensor-1").server("coap://127.0.0.1:5683");
//! cfg.temperatures = 1;
//! let (client, events) = spawn_with_events(cfg)?;
//! wait_for_event(&events, Duration::from_secs(10), |e| matches!(e, Event::Registered { .. }));
//! client.stop(); // de-registers first
//! # Ok::<(), lwm2m_host::client::ClientError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod firmware;
pub mod objects;
pub mod uri;
pub use lwm2m_endpoint::{clock, message, oscore, secure, transmission, transport};

pub use client::{spawn, spawn_with_events, ClientConfig, ClientError, ClientHandle, Event};
