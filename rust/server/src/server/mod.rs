//! The server: one event-loop thread owns the CoAP message layer, the exchanges, observations
//! and bootstrap sessions; a receiver thread feeds it datagrams; API callers feed it requests
//! through a channel and wait on a reply channel. The registry is shared (behind a mutex) so
//! listing clients needs no round trip through the loop.
//!
//! [`handle`] is the API ([`ServerHandle`]), [`start`] wires the threads, `event_loop` is the
//! loop itself.

mod event_loop;
mod exchange;
pub mod handle;
pub mod start;

pub use event_loop::QueueConfig;
pub use handle::ServerHandle;
pub use start::Server;
