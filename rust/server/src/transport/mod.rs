//! The CoAP side: the std endpoint's datagram transports (`lwm2m-endpoint`: the
//! [`Transport`] trait, plain [`UdpTransport`], the DTLS-PSK and OSCORE
//! [`secure::ListenerTransport`], each datagram with how it was authenticated,
//! [`PeerSecurity`]), the server's credentials for them ([`secure`]), the message-layer blocks
//! ([`layer`]) and the request / reply shapes ([`msg`]). Nothing here imports the rest of the
//! server.

pub mod layer;
pub mod msg;
pub mod secure;

pub use lwm2m_endpoint::transport::{PeerSecurity, Transport, UdpTransport};
