//! A `no_std`, heap-free LwM2M 1.1 client engine.
//!
//! The engine is sans-IO: a driver hands it incoming CoAP messages with the identity of the
//! peer and the current time, and calls [`engine::Engine::poll`] for timers; the engine answers
//! with responses, notifications and requests to send. It never opens a socket or reads a
//! clock, so every protocol decision can be tested by feeding bytes and times.
//!
//! Layout (after Anjay's `core/`): [`coap`] is the message codec (with the drivers' duplicate
//! detection and notification ordering), [`codec`] holds one module per content format,
//! [`dm`] the data model, [`objects`] the built-in objects and [`engine`] the operations,
//! access control, observation and registration.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod c2c;
pub mod coap;
pub mod codec;
pub mod config;
pub mod dm;
pub mod engine;
pub mod error;
#[cfg(feature = "fota")]
pub mod firmware;
pub mod objects;
pub mod path;
pub mod value;

pub use error::{Error, Result};
pub use path::Path;
pub use value::{DataType, Value};
