//! Device management: the values a server reads and writes, their content formats, and the
//! operations toward a client.
//!
//! Bottom up: [`types`] (the resource type table), [`values`] (owned values and records,
//! their JSON form), [`senml_json`] (SenML JSON / LwM2M JSON), [`codec`] (every content
//! format, on the engine's codecs and [`senml_json`]), [`ops`] (each operation as a CoAP
//! request and its response), [`formats`] (the format choice per client, on [`ops`]).

pub mod codec;
pub mod formats;
pub mod ops;
pub mod senml_json;
pub mod types;
pub mod values;
