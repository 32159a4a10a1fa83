//! The CoAP side: datagram transports reporting how each datagram was authenticated
//! ([`udp`]: plain UDP, [`secure`]: DTLS-PSK and OSCORE), the message-layer blocks
//! ([`layer`], from `lwm2m-endpoint`) and the request / reply shapes ([`msg`]).
//! Nothing here imports the rest of the server.

pub mod layer;
pub mod msg;
pub mod secure;
pub mod udp;

pub use udp::{PeerSecurity, Transport, UdpTransport};
