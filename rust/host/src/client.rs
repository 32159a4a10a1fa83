//! The driver: [`HostClient`] joins the engine, the CoAP message layer and a transport in one
//! single-threaded event loop; [`spawn`] runs a complete simulated client (Device, IPSO
//! temperature sensors, lights) on a thread behind a [`ClientHandle`].
//!
//! Its parts, imports pointing one way (later ones use earlier ones, never the reverse):
//! - `event.rs` ([`Event`]), `config.rs` ([`ClientConfig`], [`ClientError`]), `c2c.rs`
//!   (client-to-client requests, steps and state) and `oscore_state.rs` (server OSCORE
//!   contexts): types only;
//! - `driver.rs`: [`HostClient`], the loop core (registration, device management, serving
//!   requests, message-layer timers);
//! - `security.rs` (destinations and peer identities), `c2c_requesting.rs` and
//!   `c2c_hosting.rs` (the two client-to-client roles), `server_oscore.rs` (server OSCORE
//!   contexts from the engine's objects), `send.rs` (Send, `POST /dp`), `queue.rs` (Queue
//!   Mode: dropping while asleep, its events), `fota_pull.rs` (Firmware Update pull: the
//!   Package URI fetched with Block2): further `impl` blocks of [`HostClient`];
//! - `handle.rs`: the thread, [`spawn`] and [`ClientHandle`].

mod c2c;
mod c2c_hosting;
mod c2c_requesting;
mod config;
mod driver;
mod event;
mod fota_pull;
mod handle;
mod oscore_state;
mod queue;
mod security;
mod send;
mod server_oscore;
#[cfg(test)]
mod tests;

pub use c2c::{C2cChannel, C2cRequest, C2cStep, C2C_RETRIES, C2C_RETRY_BASE_MS};
pub use config::{unsupported_mode, ClientConfig, ClientError, Psk, ServerSpec};
pub use driver::{
    oscore_rejection, DriverOptions, HostClient, PeerTable, BUF_LEN, MAX_PEERS, PEER_IDLE_MS,
};
pub use event::Event;
pub use fota_pull::{PullOptions, DEFAULT_PULL_BLOCK, DEFAULT_PULL_RETRIES, PULL_PROTOCOLS};
pub use handle::{
    server_oscore_instance, spawn, spawn_with_events, wait_for_event, ClientHandle, Command,
    EngineFn, SecureState, Stopper,
};
/// Values for [`ClientHandle::set_value`]: the endpoint crate's owned value.
pub use lwm2m_endpoint::OwnedValue;
