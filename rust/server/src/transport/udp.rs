//! The datagram transport under the CoAP message layer.
//!
//! The server talks to the network only through [`Transport`], so the secured transport
//! ([`crate::transport::secure::SecureTransport`]: DTLS-PSK and OSCORE) replaces [`UdpTransport`] without
//! touching the message layer. It reports how each datagram was authenticated
//! ([`Transport::recv_secure`]); registrations and the access-request handler ([`crate::access::ac`])
//! identify clients by that.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::Duration;

/// How a received datagram was authenticated: the std endpoint's type, shared with the host
/// client (OSCORE contexts here carry no account owner: `owner` is `None`).
pub use lwm2m_endpoint::transport::PeerSecurity;

/// Sends and receives whole datagrams. Implementations are shared between the receiving
/// thread and the event loop, hence `Send + Sync`.
pub trait Transport: Send + Sync + 'static {
    /// Sends one datagram to `peer`.
    fn send_to(&self, peer: SocketAddr, datagram: &[u8]) -> io::Result<()>;

    /// Waits a bounded time (the transport's poll interval) for one datagram. `Ok(None)` when
    /// nothing arrived, so the caller can check for shutdown.
    fn recv_from(&self, buf: &mut [u8]) -> io::Result<Option<(usize, SocketAddr)>>;

    /// The local address the transport is bound to.
    fn local_addr(&self) -> io::Result<SocketAddr>;

    /// [`Transport::recv_from`] with how the datagram was authenticated.
    fn recv_secure(&self, buf: &mut [u8]) -> io::Result<Option<(usize, SocketAddr, PeerSecurity)>> {
        Ok(self
            .recv_from(buf)?
            .map(|(n, a)| (n, a, PeerSecurity::NoSec)))
    }
}

/// Plain CoAP over UDP (`coap://`). Binding `[::]` accepts IPv4 peers too (as IPv4-mapped
/// addresses) on systems where `IPV6_V6ONLY` defaults to off, as on Linux.
#[derive(Debug)]
pub struct UdpTransport {
    socket: UdpSocket,
}

impl UdpTransport {
    /// Binds a UDP socket; `poll` bounds how long [`Transport::recv_from`] blocks.
    pub fn bind(addr: impl ToSocketAddrs, poll: Duration) -> io::Result<Self> {
        let socket = UdpSocket::bind(addr)?;
        socket.set_read_timeout(Some(poll.max(Duration::from_millis(1))))?;
        Ok(UdpTransport { socket })
    }
}

impl Transport for UdpTransport {
    fn send_to(&self, peer: SocketAddr, datagram: &[u8]) -> io::Result<()> {
        self.socket.send_to(datagram, peer).map(|_| ())
    }

    fn recv_from(&self, buf: &mut [u8]) -> io::Result<Option<(usize, SocketAddr)>> {
        match self.socket.recv_from(buf) {
            Ok(r) => Ok(Some(r)),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }
}
