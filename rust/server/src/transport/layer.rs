//! The CoAP message layer (RFC 7252 section 4) of the std endpoint
//! ([`lwm2m_endpoint::message::MessageLayer`]: CON retransmission, matching of ACK / RST /
//! separate responses by token and peer, duplicate detection with response replay, NSTART per
//! peer with its bounded queue), the same the host client runs, and its building blocks
//! ([`lwm2m_endpoint::transmission`], [`lwm2m_endpoint::clock::Rng`]). The server's event loop
//! drives it on a millisecond clock counted from its start.

pub use lwm2m_endpoint::clock::Rng;
pub use lwm2m_endpoint::message::{MessageLayer, Received, SendError, Sent, Timeout};
pub use lwm2m_endpoint::transmission::{IdGen, TransmissionParams};
