//! Errors of the server's operations.

use std::fmt;

/// Why an operation toward a client did not produce a CoAP response.
#[derive(Clone, Debug, PartialEq)]
pub enum ServerError {
    /// No client is registered under this endpoint name.
    UnknownEndpoint(String),
    /// Cancel was asked for a path that is not observed.
    NotObserved,
    /// No response within the timeout (after all CoAP retransmissions, or the caller's limit).
    Timeout,
    /// The client answered with RST.
    Reset,
    /// The request could not be built from the arguments (bad path, value or format).
    InvalidArgument(String),
    /// Encoding or decoding a payload failed in the engine's codec.
    Codec(lwm2m::Error),
    /// A payload could not be encoded or decoded in the server's JSON formats (SenML JSON,
    /// LwM2M JSON).
    Payload(String),
    /// A response body grew past the configured limit during Block2 reassembly.
    TooLarge,
    /// The server is shutting down.
    Shutdown,
    /// No grant or relay with this ID.
    UnknownId(u64),
    /// An Observe the client answered with success but without the Observe option: it did not
    /// add the observation (RFC 7641 4.1), e.g. because its observation pool is full. Holds
    /// the answer (JSON) with the current value.
    ObserveRefused(String),
    /// The client already had `nstart` requests outstanding and this many more waiting
    /// ([`crate::transport::layer::TransmissionParams::nstart_queue`]).
    QueueFull(usize),
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::UnknownEndpoint(ep) => write!(f, "no client registered as {ep:?}"),
            ServerError::NotObserved => f.write_str("no such observation"),
            ServerError::Timeout => f.write_str("timeout: the client did not answer"),
            ServerError::Reset => f.write_str("the client answered with RST"),
            ServerError::InvalidArgument(s) => write!(f, "invalid argument: {s}"),
            ServerError::Codec(e) => write!(f, "codec error: {e}"),
            ServerError::Payload(s) => write!(f, "payload error: {s}"),
            ServerError::TooLarge => f.write_str("response too large"),
            ServerError::QueueFull(n) => write!(f, "{n} requests already wait for this client"),
            ServerError::Shutdown => f.write_str("server shutting down"),
            ServerError::UnknownId(id) => write!(f, "no grant or relay with ID {id}"),
            ServerError::ObserveRefused(answer) => write!(
                f,
                "the client did not add the observation (answer without Observe; its \
                 observation pool may be full): {answer}"
            ),
        }
    }
}

impl std::error::Error for ServerError {}

impl From<lwm2m::Error> for ServerError {
    fn from(e: lwm2m::Error) -> Self {
        ServerError::Codec(e)
    }
}
