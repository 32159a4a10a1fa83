//! Host (Linux, std) runtime of the LwM2M engine.
//!
//! - [`transport`]: datagram transports ([`transport::UdpTransport`]; DTLS will slot in
//!   behind the same [`transport::Transport`] trait);
//! - [`message`]: the RFC 7252 message layer (message IDs, CON retransmission, ACK / RST /
//!   separate-response matching, duplicate detection), sans-IO and clock-injected;
//! - [`client`]: the driver [`client::HostClient`] (one thread, blocking socket with read
//!   timeout) and a complete simulated client behind [`client::spawn`] /
//!   [`client::ClientHandle`]; it also runs client-to-client operations in both roles
//!   (hosting: peer client accounts authenticate over DTLS-PSK or OSCORE; requesting:
//!   [`client::ClientHandle::c2c`] with hint, access request and secure request);
//! - [`uri`]: server URIs; [`clock`]: injectable time and randomness; [`objects`]: the
//!   simulated Device and sensors.
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
pub mod clock;
pub mod message;
pub mod objects;
/// OSCORE per peer: [`lwm2m_oscore::peer`], shared with the other host-side crate.
pub use lwm2m_oscore::peer as oscore;
pub mod secure;
pub mod transport;
pub mod uri;

pub use client::{spawn, spawn_with_events, ClientConfig, ClientError, ClientHandle, Event};
