//! [`SecureTransport`]: one UDP socket carrying plain CoAP, CoAP over DTLS-PSK (as DTLS client
//! toward `coaps://` servers and, optionally, as DTLS server for peers that contact this
//! client) and OSCORE-protected CoAP, under the unchanged message layer.
//!
//! Demultiplexing on the one socket: a datagram whose first byte is a DTLS content type (20 to
//! 25) is DTLS; CoAP's first byte is 0x40 to 0x7f (version 1). DTLS records from an address
//! we connected to as client go to the client endpoint, others to the server endpoint (when
//! enabled). Plain datagrams from a `coaps://` server address are dropped: once a server is
//! configured for DTLS nothing it sends in clear is believed.
//!
//! OSCORE sits above the carrier ([`crate::oscore::OscorePeer`]): requests to a peer address
//! with a context are protected, protected requests are matched to a context by their kid.
//! Contexts belong to accounts ([`OscoreOwner`]: a DM server or a peer client); when two
//! share a Recipient ID, the one whose peer address is the request's source verifies it, so a
//! peer client's context can never stand in for a server's (or the reverse).
//!
//! [`Transport::received_security`] tells the driver how the datagram it just got was
//! authenticated; that, not the source address, decides who sent it. A protected request that
//! no context verifies (unknown kid, malformed OSCORE option) is handed up unverified, so the
//! driver can answer it as RFC 8613 section 8.2 says ([`Transport::verifies_oscore`]).

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lwm2m_dtls::{Config, DtlsEndpoint, Event as DtlsEvent, Key, PskStore, Role};

use crate::contexts::{OscoreContexts, Unprotected};
use crate::dtls::{is_dtls, session_security, transmits, ListenerKeys};
use crate::oscore::OscorePeer;
use crate::transport::{OscoreOwner, PeerSecurity, Transport, UdpTransport};

/// Most datagrams queued per peer while its handshake runs.
const MAX_QUEUED: usize = 16;
/// Longest single wait on the socket, so DTLS timers run while idle.
const TIMER_TICK: Duration = Duration::from_millis(100);

type ClientKeys = Arc<Mutex<HashMap<SocketAddr, (Vec<u8>, Key)>>>;

struct ClientPsk(ClientKeys);

impl PskStore for ClientPsk {
    fn client_credentials(&self, peer: SocketAddr) -> Option<(Vec<u8>, Key)> {
        self.0.lock().ok()?.get(&peer).cloned()
    }
}

/// Wire-level counters (for the demo's size report).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WireStats {
    /// Datagrams and bytes sent on the socket.
    pub sent: (u64, u64),
    /// Datagrams and bytes received on the socket.
    pub received: (u64, u64),
    /// Datagrams dropped (cleartext from a DTLS server, failed OSCORE verification, ...).
    pub dropped: u64,
}

/// Plain UDP, DTLS-PSK and OSCORE on one socket (see the module documentation).
pub struct SecureTransport {
    udp: UdpTransport,
    client_keys: ClientKeys,
    client: DtlsEndpoint,
    /// Keys of the DTLS server role: listener PSKs, then the peer client accounts (as the
    /// driver last copied them from the engine's Client Security instances).
    server_keys: ListenerKeys,
    server: Option<DtlsEndpoint>,
    /// Limits of the DTLS server role, used when it starts.
    server_config: Config,
    queued: HashMap<SocketAddr, Vec<Vec<u8>>>,
    /// OSCORE contexts, each with its destination and owning account.
    oscore: OscoreContexts,
    inbox: VecDeque<(Vec<u8>, SocketAddr, PeerSecurity)>,
    last: PeerSecurity,
    stats: WireStats,
    rx: Vec<u8>,
}

impl std::fmt::Debug for SecureTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecureTransport")
            .field("udp", &self.udp)
            .field("client", &self.client)
            .field("server", &self.server)
            .field("oscore", &self.oscore.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl SecureTransport {
    /// Binds the socket. DTLS client sessions start on demand for peers added with
    /// [`Transport::add_dtls_peer`].
    pub fn bind(addr: SocketAddr) -> io::Result<Self> {
        let client_keys = ClientKeys::default();
        let client = DtlsEndpoint::new(
            Role::Client,
            ClientPsk(client_keys.clone()),
            Config::default(),
        )
        .map_err(|e| io::Error::other(e.to_string()))?;
        Ok(SecureTransport {
            udp: UdpTransport::bind(addr)?,
            client_keys,
            client,
            server_keys: ListenerKeys::default(),
            server: None,
            server_config: Config::default(),
            queued: HashMap::new(),
            oscore: OscoreContexts::new(),
            inbox: VecDeque::new(),
            last: PeerSecurity::NoSec,
            stats: WireStats::default(),
            rx: vec![0; 2048],
        })
    }

    /// Accepts DTLS handshakes from peers presenting `identity` with `key` (the client acts
    /// as DTLS server for them). Who such a peer is comes from its identity
    /// ([`PeerSecurity::Dtls`]).
    pub fn add_listener_psk(&mut self, identity: &[u8], key: &[u8]) -> io::Result<()> {
        Key::new(key).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        self.ensure_server()?;
        self.server_keys
            .add(identity, key)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
    }

    /// Limits of the DTLS server role (sessions, handshakes, per-source and half-open bounds;
    /// [`Config`]). Takes effect when that role starts (the first listener PSK or peer
    /// account), so call it right after [`SecureTransport::bind`].
    pub fn set_dtls_server_config(&mut self, config: Config) {
        self.server_config = config;
    }

    fn ensure_server(&mut self) -> io::Result<()> {
        if self.server.is_none() {
            let ep = DtlsEndpoint::new(Role::Server, self.server_keys.clone(), self.server_config)
                .map_err(|e| io::Error::other(e.to_string()))?;
            self.server = Some(ep);
        }
        Ok(())
    }

    /// The DTLS server endpoint, once there is one (session counts).
    pub fn dtls_server(&self) -> Option<&DtlsEndpoint> {
        self.server.as_ref()
    }

    /// Number of OSCORE contexts of peer client accounts.
    pub fn peer_oscore_count(&self) -> usize {
        self.oscore
            .count(|o| matches!(o, Some(OscoreOwner::Client(_))))
    }

    /// Socket-level counters.
    pub fn wire_stats(&self) -> WireStats {
        self.stats
    }

    /// The DTLS client endpoint (handshake and drop counters).
    pub fn dtls_client(&self) -> &DtlsEndpoint {
        &self.client
    }

    fn raw_send(&mut self, bytes: &[u8], to: SocketAddr) -> io::Result<()> {
        self.stats.sent.0 += 1;
        self.stats.sent.1 += bytes.len() as u64;
        self.udp.send(bytes, to)
    }

    fn flush_dtls(&mut self) {
        let mut out = transmits(&mut self.client);
        if let Some(s) = &mut self.server {
            out.extend(transmits(s));
        }
        for t in out {
            // Lost handshake flights are retransmitted by the DTLS timers.
            let _ = self.raw_send(&t.bytes, t.peer);
        }
    }

    fn is_dtls_server_peer(&self, addr: SocketAddr) -> bool {
        self.client_keys.lock().is_ok_and(|k| k.contains_key(&addr))
    }

    /// Sends already OSCORE-processed bytes on the right carrier.
    fn send_carrier(&mut self, bytes: &[u8], to: SocketAddr) -> io::Result<()> {
        if self.is_dtls_server_peer(to) {
            if self.client.session_identity(to).is_some() {
                self.client
                    .send(to, bytes)
                    .map_err(|e| io::Error::other(e.to_string()))?;
            } else {
                let q = self.queued.entry(to).or_default();
                if q.len() >= MAX_QUEUED {
                    return Err(io::Error::new(
                        io::ErrorKind::WouldBlock,
                        "DTLS handshake in progress, queue full",
                    ));
                }
                q.push(bytes.to_vec());
                match self.client.connect(to) {
                    Ok(()) | Err(lwm2m_dtls::Error::PeerExists) => {}
                    Err(e) => return Err(io::Error::other(format!("DTLS connect: {e}"))),
                }
            }
            self.flush_dtls();
            return Ok(());
        }
        if let Some(s) = &mut self.server {
            if s.session_identity(to).is_some() {
                s.send(to, bytes)
                    .map_err(|e| io::Error::other(e.to_string()))?;
                self.flush_dtls();
                return Ok(());
            }
        }
        self.raw_send(bytes, to)
    }

    fn on_dtls_events(&mut self, events: Vec<DtlsEvent>, server_side: bool) {
        for e in events {
            match e {
                DtlsEvent::Connected { peer, .. } => {
                    for bytes in self.queued.remove(&peer).unwrap_or_default() {
                        if let Err(e) = self.client.send(peer, &bytes) {
                            let _ = e;
                            self.stats.dropped += 1;
                        }
                    }
                }
                DtlsEvent::Data { peer, plaintext } => {
                    let ep = if server_side {
                        self.server.as_ref()
                    } else {
                        Some(&self.client)
                    };
                    let carrier = ep.map_or(
                        PeerSecurity::Dtls {
                            identity: Vec::new(),
                        },
                        |ep| session_security(ep, peer),
                    );
                    self.oscore_inbound(plaintext, peer, carrier);
                }
                DtlsEvent::Closed { peer } => {
                    self.queued.remove(&peer);
                }
                DtlsEvent::Alert { .. } => {}
            }
        }
        self.flush_dtls();
    }

    /// Runs the OSCORE stage on a carrier-level datagram and queues what is delivered. A
    /// protected request no context verifies is handed up unverified: the driver answers it
    /// unprotected (4.01 / 4.02, RFC 8613 section 8.2).
    fn oscore_inbound(&mut self, data: Vec<u8>, from: SocketAddr, carrier: PeerSecurity) {
        match self.oscore.unprotect(data, from, carrier.clone()) {
            Unprotected::Deliver(plain, sec) => self.inbox.push_back((plain, from, sec)),
            Unprotected::Unverified(data) => self.inbox.push_back((data, from, carrier)),
            Unprotected::Answer(bytes) => {
                let _ = self.send_carrier(&bytes, from);
            }
            Unprotected::Dropped => self.stats.dropped += 1,
        }
    }

    fn poll_timers(&mut self) {
        let now = Instant::now();
        let ev = self.client.poll_timers(now);
        self.on_dtls_events(ev, false);
        if let Some(s) = &mut self.server {
            let ev = s.poll_timers(now);
            self.on_dtls_events(ev, true);
        }
    }

    fn receive_socket(&mut self, wait: Duration) -> io::Result<bool> {
        let mut rx = std::mem::take(&mut self.rx);
        let r = self.udp.recv(&mut rx, wait);
        let got = match &r {
            Ok(Some((n, from))) => Some((rx.get(..*n).unwrap_or_default().to_vec(), *from)),
            _ => None,
        };
        self.rx = rx;
        let Some((data, from)) = got else {
            return r.map(|_| false);
        };
        self.stats.received.0 += 1;
        self.stats.received.1 += data.len() as u64;
        if is_dtls(&data) {
            if self.is_dtls_server_peer(from) {
                let ev = self.client.handle_datagram(from, &data);
                self.on_dtls_events(ev, false);
            } else if let Some(s) = &mut self.server {
                let ev = s.handle_datagram(from, &data);
                self.on_dtls_events(ev, true);
            } else {
                self.stats.dropped += 1;
            }
        } else if self.is_dtls_server_peer(from) {
            // A coaps:// server never speaks in clear.
            self.stats.dropped += 1;
        } else {
            self.oscore_inbound(data, from, PeerSecurity::NoSec);
        }
        Ok(true)
    }
}

impl Transport for SecureTransport {
    fn send(&mut self, data: &[u8], to: SocketAddr) -> io::Result<()> {
        match self.oscore.protect(data, to)? {
            Some(b) => self.send_carrier(&b, to),
            None => self.send_carrier(data, to),
        }
    }

    fn recv(
        &mut self,
        buf: &mut [u8],
        timeout: Duration,
    ) -> io::Result<Option<(usize, SocketAddr)>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some((data, from, sec)) = self.inbox.pop_front() {
                let n = data.len().min(buf.len());
                if let (Some(dst), Some(src)) = (buf.get_mut(..n), data.get(..n)) {
                    dst.copy_from_slice(src);
                }
                self.last = sec;
                return Ok(Some((n, from)));
            }
            self.poll_timers();
            if !self.inbox.is_empty() {
                continue;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            self.receive_socket(left.min(TIMER_TICK))?;
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.udp.local_addr()
    }

    fn received_security(&self) -> PeerSecurity {
        self.last.clone()
    }

    fn verifies_oscore(&self) -> bool {
        true
    }

    fn add_dtls_peer(&mut self, addr: SocketAddr, identity: &[u8], key: &[u8]) -> io::Result<()> {
        let key = Key::new(key).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let mut keys = self
            .client_keys
            .lock()
            .map_err(|_| io::Error::other("DTLS key table poisoned"))?;
        keys.insert(addr, (identity.to_vec(), key));
        Ok(())
    }

    fn set_peer_psks(&mut self, psks: &[crate::transport::PeerPsk]) {
        let usable = psks.iter().any(|(_, key)| Key::new(key).is_ok());
        if usable && self.ensure_server().is_err() {
            return;
        }
        self.server_keys.set_peers(psks);
    }

    fn close_dtls_identity(&mut self, identity: &[u8]) -> usize {
        let mut closed = self.client.close_identity(identity);
        if let Some(s) = &mut self.server {
            closed.extend(s.close_identity(identity));
        }
        if let Ok(mut keys) = self.client_keys.lock() {
            keys.retain(|addr, (id, _)| {
                let gone = id.as_slice() == identity;
                if gone {
                    self.queued.remove(addr);
                }
                !gone
            });
        }
        // The close_notify alerts.
        self.flush_dtls();
        closed.len()
    }

    fn add_peer_oscore(
        &mut self,
        short_id: u16,
        dest: Option<SocketAddr>,
        peer: OscorePeer,
    ) -> io::Result<()> {
        self.oscore
            .insert(dest, Some(OscoreOwner::Client(short_id)), peer);
        Ok(())
    }

    fn remove_peer_oscore(&mut self, short_id: u16) -> bool {
        self.oscore.remove(OscoreOwner::Client(short_id)).is_some()
    }

    fn add_server_oscore(
        &mut self,
        ssid: u16,
        dest: Option<SocketAddr>,
        peer: OscorePeer,
    ) -> io::Result<()> {
        self.oscore
            .insert(dest, Some(OscoreOwner::Server(ssid)), peer);
        Ok(())
    }

    fn remove_server_oscore(&mut self, ssid: u16) -> Option<OscorePeer> {
        self.oscore.remove(OscoreOwner::Server(ssid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contexts::tests::{get, peer};

    /// A server context and a peer client context with the same Recipient ID (01): each
    /// request is verified by the context of its sender's address, and reported as its
    /// account's.
    #[test]
    fn shared_recipient_id_goes_by_peer_address() {
        let local = "127.0.0.1:0".parse().unwrap();
        let mut t = SecureTransport::bind(local).unwrap();
        let to = t.local_addr().unwrap();
        let mut server = UdpTransport::bind(local).unwrap();
        let mut client = UdpTransport::bind(local).unwrap();
        const S1: &str = "0102030405060708090a0b0c0d0e0f10";
        const S2: &str = "1112131415161718191a1b1c1d1e1f20";
        t.add_server_oscore(1, Some(server.local_addr().unwrap()), peer(S1, "02", "01"))
            .unwrap();
        t.add_peer_oscore(7, Some(client.local_addr().unwrap()), peer(S2, "03", "01"))
            .unwrap();
        let mut at_server = peer(S1, "01", "02");
        let mut at_client = peer(S2, "01", "03");
        let mut buf = [0u8; 256];
        // Twice each, in both orders of arrival.
        for round in 0..2u16 {
            for (i, (side, ctx, owner)) in [
                (&mut server, &mut at_server, OscoreOwner::Server(1)),
                (&mut client, &mut at_client, OscoreOwner::Client(7)),
            ]
            .into_iter()
            .enumerate()
            {
                let req = get(round * 2 + i as u16);
                side.send(&ctx.protect(&req).unwrap(), to).unwrap();
                let (n, from) = t.recv(&mut buf, Duration::from_secs(5)).unwrap().unwrap();
                assert_eq!(from, side.local_addr().unwrap());
                assert_eq!(&buf[..n], &req[..], "round {round}, {owner:?}");
                assert_eq!(
                    t.received_security(),
                    PeerSecurity::Oscore {
                        kid: vec![1],
                        owner: Some(owner)
                    }
                );
            }
        }
        assert_eq!(t.wire_stats().dropped, 0);
        assert!(t.remove_server_oscore(1).is_some());
        assert!(t.remove_server_oscore(1).is_none());
        assert_eq!(t.peer_oscore_count(), 1);
    }
}
