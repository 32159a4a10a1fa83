//! Datagram transports under the CoAP message layer.
//!
//! [`UdpTransport`] is plain CoAP (`coap://`). [`crate::secure::SecureTransport`] adds
//! DTLS-PSK (`coaps://`) and OSCORE behind the same trait: it keeps one session per peer
//! address, hands decrypted records up through [`Transport::recv`] and encrypts in
//! [`Transport::send`]; the driver learns how each datagram was authenticated from
//! [`Transport::received_security`] and identifies peers by that, not by address.
//! [`crate::listener::ListenerTransport`] is the server's shape: a plain and a DTLS socket,
//! OSCORE clients, reader threads; it can be cloned so that one thread receives while another
//! sends ([`Transport::try_clone`]).

use std::io;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::Duration;

use crate::oscore::OscorePeer;
use zeroize::Zeroizing;

/// A DTLS PSK of a peer client account: identity and key (zeroed on drop).
pub type PeerPsk = (Vec<u8>, Zeroizing<Vec<u8>>);

/// How a received datagram was authenticated (the host client's transports and the server's).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum PeerSecurity {
    /// Not at all (plain CoAP): only the source address is known.
    #[default]
    NoSec,
    /// Over a DTLS-PSK session; `identity` is the session's PSK identity.
    Dtls {
        /// The PSK identity whose key the session proved.
        identity: Vec<u8>,
    },
    /// OSCORE-protected and verified; `kid` is the context's Recipient ID, `owner` the
    /// account whose context verified it (two accounts may share a Recipient ID).
    Oscore {
        /// The verified key ID.
        kid: Vec<u8>,
        /// The account of the context, when the transport ties contexts to accounts (the
        /// host client's [`crate::secure::SecureTransport`]); `None` on the server, whose
        /// contexts are bound to endpoints by their kid.
        owner: Option<OscoreOwner>,
    },
}

impl PeerSecurity {
    /// `nosec`, `dtls:<identity>` or `oscore:<kid hex>` (for events and the HTTP API).
    pub fn label(&self) -> String {
        match self {
            PeerSecurity::NoSec => "nosec".into(),
            PeerSecurity::Dtls { identity } => {
                format!("dtls:{}", String::from_utf8_lossy(identity))
            }
            PeerSecurity::Oscore { kid, .. } => format!("oscore:{}", crate::oscore::hex(kid)),
        }
    }
}

/// The account an OSCORE context of the transport belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OscoreOwner {
    /// A DM server account (Short Server ID): its Security (0) instance links the OSCORE (21)
    /// instance through res 17.
    Server(u16),
    /// A peer client account (Short Client ID): its Client Security (11000) instance links
    /// the OSCORE (21) instance through res 17.
    Client(u16),
}

/// A datagram transport.
pub trait Transport {
    /// Sends one datagram to `to`.
    fn send(&mut self, data: &[u8], to: SocketAddr) -> io::Result<()>;

    /// Waits at most `timeout` (at least 1 ms) for one datagram; `Ok(None)` on timeout. The
    /// source address is canonical ([`canonical`]).
    fn recv(
        &mut self,
        buf: &mut [u8],
        timeout: Duration,
    ) -> io::Result<Option<(usize, SocketAddr)>>;

    /// The local address.
    fn local_addr(&self) -> io::Result<SocketAddr>;

    /// How the datagram last returned by [`Transport::recv`] was authenticated.
    fn received_security(&self) -> PeerSecurity {
        PeerSecurity::NoSec
    }

    /// True if the transport verifies OSCORE: then a request it hands up with an OSCORE
    /// option but not as [`PeerSecurity::Oscore`] matched none of its contexts (or its option
    /// is malformed), and the driver answers it as RFC 8613 section 8.2 says. Without OSCORE
    /// the option is an unknown critical one (4.02, RFC 7252 section 5.4.1).
    fn verifies_oscore(&self) -> bool {
        false
    }

    /// Makes `addr` a `coaps://` peer: datagrams to it go over a DTLS-PSK session (started on
    /// the first send) with this identity and key, and nothing it sends in clear is accepted.
    /// Transports without DTLS refuse.
    fn add_dtls_peer(&mut self, addr: SocketAddr, identity: &[u8], key: &[u8]) -> io::Result<()> {
        let _ = (addr, identity, key);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this transport has no DTLS (coaps://)",
        ))
    }

    /// Replaces the PSKs of peer client accounts (Client Security, 11000) this side accepts
    /// DTLS handshakes with, besides its fixed listener keys. Transports without DTLS ignore
    /// it.
    fn set_peer_psks(&mut self, psks: &[PeerPsk]) {
        let _ = psks;
    }

    /// Closes every DTLS session and handshake authenticated with `identity`, in both roles,
    /// and forgets the client-role credentials using it (the peer is then no longer a
    /// `coaps://` peer). Returns how many sessions or handshakes were closed.
    fn close_dtls_identity(&mut self, identity: &[u8]) -> usize {
        let _ = identity;
        0
    }

    /// Adds the OSCORE context of peer client account `short_id`: requests to `dest` are
    /// protected with it, protected requests with its Recipient ID verified with it.
    /// Transports without OSCORE refuse.
    fn add_peer_oscore(
        &mut self,
        short_id: u16,
        dest: Option<SocketAddr>,
        peer: OscorePeer,
    ) -> io::Result<()> {
        let _ = (short_id, dest, peer);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this transport has no OSCORE",
        ))
    }

    /// Another handle on the same transport for another thread (a server receives on one
    /// thread and sends from its event loop). Each handle reports the security of what it
    /// received itself. Transports whose state cannot be shared refuse.
    fn try_clone(&self) -> io::Result<Box<dyn Transport + Send>> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this transport cannot be shared between threads",
        ))
    }

    /// Drops the OSCORE context of peer client account `short_id`; true if there was one.
    fn remove_peer_oscore(&mut self, short_id: u16) -> bool {
        let _ = short_id;
        false
    }

    /// Adds (or replaces) the OSCORE context of DM server `ssid`: requests to `dest` are
    /// protected with it, protected requests with its Recipient ID verified with it.
    /// Transports without OSCORE refuse.
    fn add_server_oscore(
        &mut self,
        ssid: u16,
        dest: Option<SocketAddr>,
        peer: OscorePeer,
    ) -> io::Result<()> {
        let _ = (ssid, dest, peer);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this transport has no OSCORE",
        ))
    }

    /// Takes the OSCORE context of DM server `ssid` out of the transport (the caller may
    /// keep it, so that the same material never starts over at sequence number 0).
    fn remove_server_oscore(&mut self, ssid: u16) -> Option<OscorePeer> {
        let _ = ssid;
        None
    }
}

/// The address with an IPv4-mapped IPv6 address (what a dual-stack socket reports for IPv4
/// peers) turned into plain IPv4, so that one peer has one key. Other IPv6 addresses stay as
/// they are, with their scope (a link-local peer is unreachable without it) and flow label.
pub fn canonical(a: SocketAddr) -> SocketAddr {
    match a {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(v4.into(), v6.port()),
            None => a,
        },
        a => a,
    }
}

/// The address to pass to a socket of the family `v6` (IPv6 if true) for a datagram to `to`:
/// IPv4 becomes IPv4-mapped on an IPv6 socket; IPv6 cannot be reached from an IPv4 one.
pub fn for_socket(to: SocketAddr, v6: bool) -> io::Result<SocketAddr> {
    match to {
        SocketAddr::V4(a) if v6 => Ok(SocketAddr::new(a.ip().to_ipv6_mapped().into(), a.port())),
        SocketAddr::V6(a) if !v6 => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("cannot reach IPv6 {a} from an IPv4 socket (use --bind [::]:0)"),
        )),
        a => Ok(a),
    }
}

/// CoAP over plain UDP.
#[derive(Debug)]
pub struct UdpTransport {
    socket: UdpSocket,
    v6: bool,
}

impl UdpTransport {
    /// Binds a socket. An IPv6 wildcard (`[::]:0`) also reaches IPv4 peers through
    /// IPv4-mapped addresses where the system allows dual-stack sockets (Linux default).
    pub fn bind(addr: SocketAddr) -> io::Result<Self> {
        Self::bind_any(addr)
    }

    /// [`UdpTransport::bind`] to the first address of `addr` that binds (`localhost:5683`).
    pub fn bind_any(addr: impl ToSocketAddrs) -> io::Result<Self> {
        let socket = UdpSocket::bind(addr)?;
        Ok(UdpTransport {
            v6: socket.local_addr()?.is_ipv6(),
            socket,
        })
    }
}

impl Transport for UdpTransport {
    fn send(&mut self, data: &[u8], to: SocketAddr) -> io::Result<()> {
        self.socket
            .send_to(data, for_socket(to, self.v6)?)
            .map(|_| ())
    }

    fn recv(
        &mut self,
        buf: &mut [u8],
        timeout: Duration,
    ) -> io::Result<Option<(usize, SocketAddr)>> {
        self.socket
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))))?;
        match self.socket.recv_from(buf) {
            Ok((n, from)) => Ok(Some((n, canonical(from)))),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                        // ICMP errors of earlier sends surface here on some systems.
                        | io::ErrorKind::ConnectionRefused
                        | io::ErrorKind::ConnectionReset
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

    fn try_clone(&self) -> io::Result<Box<dyn Transport + Send>> {
        Ok(Box::new(UdpTransport {
            socket: self.socket.try_clone()?,
            v6: self.v6,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// IPv4-mapped becomes IPv4; a link-local IPv6 peer keeps its scope (tests/riot/run.sh
    /// reaches the RIOT node at fe80::..%tap0 through the address the server reports).
    #[test]
    fn canonical_maps_ipv4_and_keeps_ipv6_scope() {
        let mapped: SocketAddr = "[::ffff:192.0.2.1]:5683".parse().unwrap();
        assert_eq!(
            canonical(mapped),
            "192.0.2.1:5683".parse::<SocketAddr>().unwrap()
        );
        let ll = SocketAddr::V6(std::net::SocketAddrV6::new(
            "fe80::2".parse().unwrap(),
            5683,
            0,
            7,
        ));
        assert_eq!(canonical(ll), ll);
        assert_eq!(canonical(ll).to_string(), "[fe80::2%7]:5683");
    }

    #[test]
    fn udp_round_trip_and_timeout() {
        let mut a = UdpTransport::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let mut b = UdpTransport::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(a.recv(&mut buf, Duration::from_millis(1)).unwrap(), None);
        a.send(b"hi", b.local_addr().unwrap()).unwrap();
        let (n, from) = b.recv(&mut buf, Duration::from_secs(5)).unwrap().unwrap();
        assert_eq!(&buf[..n], b"hi");
        assert_eq!(from, a.local_addr().unwrap());
    }

    /// A clone sends and receives on the same socket.
    #[test]
    fn clone_shares_the_socket() {
        let mut a = UdpTransport::bind_any("127.0.0.1:0").unwrap();
        let mut b = a.try_clone().unwrap();
        assert_eq!(a.local_addr().unwrap(), b.local_addr().unwrap());
        let to = a.local_addr().unwrap();
        b.send(b"hi", to).unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = a.recv(&mut buf, Duration::from_secs(5)).unwrap().unwrap();
        assert_eq!((&buf[..n], from), (&b"hi"[..], to));
    }

    #[test]
    fn ipv4_socket_refuses_ipv6_destination() {
        let mut a = UdpTransport::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let e = a.send(b"x", "[::1]:5683".parse().unwrap()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }
}
