//! The std CoAP endpoint shared by the host client (`lwm2m-host`) and the server
//! (`lwm2m-server`).
//!
//! - [`transmission`]: the RFC 7252 section 4 building blocks of the message layer
//!   (transmission parameters, retransmission schedule, duplicate cache with the response to
//!   replay, message IDs and tokens);
//! - [`message`]: the RFC 7252 message layer ([`message::MessageLayer`]) of both the host
//!   client and the server's event loop: message IDs, CON retransmission with the section
//!   4.8 parameters, matching of ACK / RST / separate responses, duplicate detection with
//!   replay of the cached answer, and NSTART (section 4.7: one outstanding confirmable
//!   message per peer, later ones queued). Sans-IO and clock-injected;
//! - [`transport`]: the datagram [`transport::Transport`] trait, plain UDP
//!   ([`transport::UdpTransport`]) and how a datagram was authenticated
//!   ([`transport::PeerSecurity`]);
//! - [`secure`]: [`secure::SecureTransport`], plain CoAP, DTLS-PSK (client and server roles)
//!   and OSCORE on one socket, reporting the authenticated identity of each datagram;
//! - [`listener`]: [`listener::ListenerTransport`], a server's plain CoAP (with OSCORE
//!   clients) and DTLS-PSK sockets behind the same trait;
//! - [`contexts`]: the OSCORE contexts of a transport (which verifies, which protects) and
//!   [`dtls`]: the DTLS-PSK pieces (listener key store, record kinds, session identity),
//!   both shared by the two secure transports;
//! - [`oscore`]: OSCORE per peer ([`lwm2m_oscore::peer`]);
//! - [`msg`]: code names and whole-message building; [`clock`]: injectable time and
//!   randomness; [`value`]: [`value::OwnedValue`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod clock;
pub mod contexts;
pub mod dtls;
pub mod listener;
pub mod message;
pub mod msg;
/// OSCORE per peer: [`lwm2m_oscore::peer`].
pub use lwm2m_oscore::peer as oscore;
pub mod secure;
pub mod transmission;
pub mod transport;
pub mod value;

pub use value::OwnedValue;
