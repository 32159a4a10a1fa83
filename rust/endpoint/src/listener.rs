//! [`ListenerTransport`]: a server's listening sockets: plain CoAP (optionally with OSCORE
//! clients) on one, DTLS-PSK on another, behind the one [`Transport`] trait.
//!
//! Each socket has a reader thread that turns datagrams into plain CoAP with the way they were
//! authenticated ([`PeerSecurity`]): the PSK identity of the DTLS session, or the kid of the
//! OSCORE context that verified them. Nothing that fails DTLS or OSCORE verification is handed
//! up, and nothing is answered for it (a protected request under an unknown kid included).
//!
//! Addresses from the plain socket are canonical ([`canonical`]); those of DTLS sessions are
//! as the socket reports them (the sessions are kept by them).
//!
//! Outgoing datagrams go over the DTLS session with the destination if there is one, else in
//! clear; OSCORE protects requests to an address whose last verified request came under a
//! context ([`OscoreContexts::learning`]), and responses / notifications to requests that came
//! protected.
//!
//! The OSCORE contexts live on a thread of their own: liboscore's context holds raw pointers
//! and is not `Send`, so the reader threads and the senders talk to it through commands.
//! Clones of a [`ListenerTransport`] share sockets, sessions and contexts, so one thread can
//! receive while another sends ([`Transport::try_clone`]); the threads end when the last clone
//! is dropped. Keys never appear in `Debug` output, events or errors.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use lwm2m::coap::{option, Message};
use lwm2m_dtls::{Config as DtlsConfig, DtlsEndpoint, Event as DtlsEvent, Role};
use lwm2m_oscore::SeqnoStore;

use crate::contexts::{OscoreContexts, Unprotected};
use crate::dtls::{is_application_data, session_security, transmits, ListenerKeys};
use crate::oscore::{FileSeqnoStore, OscoreParams, OscorePeer, VolatileStore};
use crate::transport::{canonical, for_socket, PeerPsk, PeerSecurity, Transport};

/// What a [`ListenerTransport`] binds and whom it accepts.
#[derive(Clone)]
pub struct ListenerConfig {
    /// Address of the plain CoAP (and OSCORE) socket, if any.
    pub coap: Option<String>,
    /// Address of the DTLS-PSK socket, if any.
    pub coaps: Option<String>,
    /// PSK identities and keys the DTLS socket accepts.
    pub psks: Vec<PeerPsk>,
    /// OSCORE contexts of the clients, in the listener's view (its Sender ID is the client's
    /// Recipient ID).
    pub oscore: Vec<OscoreParams>,
    /// Where the sequence numbers of each OSCORE context persist ([`seqno_path`]); `None`:
    /// not at all.
    pub seqno_file: Option<PathBuf>,
    /// Limits of the DTLS server role.
    pub dtls: DtlsConfig,
    /// How often the reader threads look whether the transport was dropped.
    pub poll: Duration,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        ListenerConfig {
            coap: None,
            coaps: None,
            psks: Vec::new(),
            oscore: Vec::new(),
            seqno_file: None,
            dtls: DtlsConfig::default(),
            poll: Duration::from_millis(100),
        }
    }
}

impl fmt::Debug for ListenerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListenerConfig")
            .field("coap", &self.coap)
            .field("coaps", &self.coaps)
            .field("psks", &self.psks.len())
            .field("oscore", &self.oscore.len())
            .field("seqno_file", &self.seqno_file)
            .field("dtls", &self.dtls)
            .field("poll", &self.poll)
            .finish()
    }
}

/// One application datagram as the socket saw it (for size reports).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireRecord {
    /// Sent by the listener (else received).
    pub outgoing: bool,
    /// Remote address.
    pub peer: SocketAddr,
    /// The plain CoAP datagram (never key material).
    pub plain: Vec<u8>,
    /// Bytes of the UDP payload on the wire.
    pub wire_len: usize,
}

/// DTLS handshake traffic seen by the listener, all sessions together.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HandshakeStats {
    /// Datagrams and bytes received before the session was established.
    pub received: (u64, u64),
    /// Datagrams and bytes sent before the session was established.
    pub sent: (u64, u64),
    /// Flights (runs of datagrams in one direction), per handshake summed.
    pub flights: u64,
    /// Handshakes completed.
    pub completed: u64,
}

/// Most wire records kept ([`ListenerTransport::wire_log`]).
pub const MAX_WIRE_RECORDS: usize = 4096;

/// How long a send waits for the OSCORE thread.
const OSCORE_REPLY: Duration = Duration::from_secs(2);

/// Largest datagram read from a socket.
const MAX_DATAGRAM: usize = 2048;

enum Cmd {
    Inbound {
        data: Vec<u8>,
        peer: SocketAddr,
        carrier: PeerSecurity,
        wire_len: usize,
    },
    Protect {
        peer: SocketAddr,
        datagram: Vec<u8>,
        reply: Sender<Result<Option<Vec<u8>>, String>>,
    },
}

type Delivered = (Vec<u8>, SocketAddr, PeerSecurity);

struct Inner {
    plain: Option<UdpSocket>,
    dtls_sock: Option<UdpSocket>,
    dtls: Mutex<DtlsEndpoint>,
    oscore: Option<Mutex<Sender<Cmd>>>,
    tx: Mutex<Sender<Delivered>>,
    stop: AtomicBool,
    tap: Mutex<Vec<WireRecord>>,
    handshake: Mutex<(HandshakeStats, HashMap<SocketAddr, bool>)>,
    dropped: AtomicU64,
}

/// Stops the threads when the last [`ListenerTransport`] clone goes.
struct Stopper(Arc<Inner>);

impl Drop for Stopper {
    fn drop(&mut self) {
        self.0.stop.store(true, Ordering::Relaxed);
    }
}

/// A server's listening sockets (see the module documentation).
#[derive(Clone)]
pub struct ListenerTransport {
    inner: Arc<Inner>,
    rx: Arc<Mutex<Receiver<Delivered>>>,
    _stopper: Arc<Stopper>,
    /// How the datagram last returned by this handle's `recv` was authenticated.
    last: PeerSecurity,
}

impl fmt::Debug for ListenerTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListenerTransport")
            .field("coap", &self.coap_addr())
            .field("coaps", &self.coaps_addr())
            .finish_non_exhaustive()
    }
}

/// Locks `m`; a panicked holder leaves counters and logs, nothing worth stopping for.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn bind(addr: &str, poll: Duration) -> io::Result<UdpSocket> {
    let s = UdpSocket::bind(addr.to_socket_addrs()?.collect::<Vec<_>>().as_slice())?;
    s.set_read_timeout(Some(poll.max(Duration::from_millis(1))))?;
    Ok(s)
}

/// The file holding the sequence-number limit of the OSCORE context whose Recipient ID (the
/// kid of the requests it verifies) is `recipient_id`: `file` with `.kid-<hex>` appended.
pub fn seqno_path(file: &Path, recipient_id: &[u8]) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(format!(".kid-{}", crate::oscore::hex(recipient_id)));
    name.into()
}

/// One OSCORE context to build on the OSCORE thread: its parameters, where its sequence
/// numbers go, and the limit stored before (a restart).
type ContextSetup = (OscoreParams, Box<dyn SeqnoStore + Send>, Option<u64>);

impl ListenerTransport {
    /// Binds the sockets of `config` and starts the reader threads. With
    /// [`ListenerConfig::seqno_file`], a context whose file exists resumes above the limit
    /// stored there (its replay window is then rebuilt with an Echo exchange, RFC 8613
    /// B.1.2); a file that cannot be read or parsed is an error, as are unusable keys.
    pub fn bind(config: &ListenerConfig) -> io::Result<Self> {
        let poll = config.poll;
        let plain = config.coap.as_deref().map(|a| bind(a, poll)).transpose()?;
        let dtls_sock = config.coaps.as_deref().map(|a| bind(a, poll)).transpose()?;
        let keys = ListenerKeys::default();
        for (identity, key) in &config.psks {
            keys.add(identity, key)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        }
        let dtls = DtlsEndpoint::new(Role::Server, keys, config.dtls)
            .map_err(|e| io::Error::other(e.to_string()))?;
        let mut setups: Vec<ContextSetup> = Vec::new();
        for p in &config.oscore {
            p.context()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{e:?}")))?;
            let (store, limit): (Box<dyn SeqnoStore + Send>, _) = match &config.seqno_file {
                Some(f) => {
                    let path = seqno_path(f, &p.recipient_id);
                    let (s, l) = FileSeqnoStore::open(&path).map_err(|e| {
                        io::Error::new(e.kind(), format!("{}: {e}", path.display()))
                    })?;
                    (Box::new(s), l)
                }
                None => (Box::new(VolatileStore), None),
            };
            setups.push((p.clone(), store, limit));
        }
        let (tx, rx) = mpsc::channel();
        let (otx, orx) = mpsc::channel();
        let inner = Arc::new(Inner {
            plain,
            dtls_sock,
            dtls: Mutex::new(dtls),
            oscore: (!setups.is_empty()).then(|| Mutex::new(otx)),
            tx: Mutex::new(tx),
            stop: AtomicBool::new(false),
            tap: Mutex::new(Vec::new()),
            handshake: Mutex::new((HandshakeStats::default(), HashMap::new())),
            dropped: AtomicU64::new(0),
        });
        if inner.oscore.is_some() {
            let i = inner.clone();
            thread::Builder::new()
                .name("lwm2m-oscore".into())
                .spawn(move || oscore_loop(&i, setups, &orx))?;
        }
        if inner.plain.is_some() {
            let i = inner.clone();
            thread::Builder::new()
                .name("lwm2m-coap".into())
                .spawn(move || plain_loop(&i))?;
        }
        if inner.dtls_sock.is_some() {
            let i = inner.clone();
            thread::Builder::new()
                .name("lwm2m-coaps".into())
                .spawn(move || dtls_loop(&i))?;
        }
        Ok(ListenerTransport {
            _stopper: Arc::new(Stopper(inner.clone())),
            inner,
            rx: Arc::new(Mutex::new(rx)),
            last: PeerSecurity::NoSec,
        })
    }

    /// The plain CoAP address.
    pub fn coap_addr(&self) -> Option<SocketAddr> {
        self.inner.plain.as_ref()?.local_addr().ok()
    }

    /// The DTLS listener address.
    pub fn coaps_addr(&self) -> Option<SocketAddr> {
        self.inner.dtls_sock.as_ref()?.local_addr().ok()
    }

    /// Application datagrams seen so far (at most [`MAX_WIRE_RECORDS`]).
    pub fn wire_log(&self) -> Vec<WireRecord> {
        lock(&self.inner.tap).clone()
    }

    /// DTLS handshake traffic so far.
    pub fn handshake_stats(&self) -> HandshakeStats {
        lock(&self.inner.handshake).0
    }

    /// Datagrams dropped (failed DTLS or OSCORE verification, replays, unknown kids).
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
            + lock(&self.inner.dtls).stats().handshakes_failed
    }
}

impl Inner {
    fn record(&self, outgoing: bool, peer: SocketAddr, plain: &[u8], wire_len: usize) {
        let mut tap = lock(&self.tap);
        if tap.len() < MAX_WIRE_RECORDS {
            tap.push(WireRecord {
                outgoing,
                peer,
                plain: plain.to_vec(),
                wire_len,
            });
        }
    }

    fn drop_one(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    fn handshake_datagram(&self, peer: SocketAddr, outgoing: bool, len: usize) {
        let mut h = lock(&self.handshake);
        let (stats, dir) = &mut *h;
        let last = dir.insert(peer, outgoing);
        if last != Some(outgoing) {
            stats.flights += 1;
        }
        let c = if outgoing {
            &mut stats.sent
        } else {
            &mut stats.received
        };
        c.0 += 1;
        c.1 += len as u64;
    }

    fn flush_dtls(&self) {
        let Some(sock) = &self.dtls_sock else { return };
        let out = transmits(&mut lock(&self.dtls));
        for t in out {
            if !is_application_data(&t.bytes) {
                self.handshake_datagram(t.peer, true, t.bytes.len());
            }
            let _ = sock.send_to(&t.bytes, t.peer);
        }
    }

    fn deliver(&self, plain: Vec<u8>, peer: SocketAddr, sec: PeerSecurity) {
        let _ = lock(&self.tx).send((plain, peer, sec));
    }

    /// Hands a carrier-level datagram to the OSCORE thread, or delivers it when there is no
    /// OSCORE (dropping anything protected).
    fn inbound(&self, data: Vec<u8>, peer: SocketAddr, carrier: PeerSecurity, wire_len: usize) {
        if let Some(o) = &self.oscore {
            let _ = lock(o).send(Cmd::Inbound {
                data,
                peer,
                carrier,
                wire_len,
            });
            return;
        }
        let protected = Message::parse(&data).is_ok_and(|m| m.option(option::OSCORE).is_some());
        if protected {
            return self.drop_one();
        }
        self.record(false, peer, &data, wire_len);
        self.deliver(data, peer, carrier);
    }

    /// OSCORE stage of a carrier-level datagram, then delivery (on the OSCORE thread).
    fn oscore_inbound(
        &self,
        contexts: &mut OscoreContexts,
        data: Vec<u8>,
        peer: SocketAddr,
        carrier: PeerSecurity,
        wire_len: usize,
    ) {
        match contexts.unprotect(data, peer, carrier) {
            Unprotected::Deliver(plain, sec) => {
                self.record(false, peer, &plain, wire_len);
                self.deliver(plain, peer, sec);
            }
            Unprotected::Answer(bytes) => {
                let _ = self.send_carrier(peer, &bytes);
            }
            Unprotected::Unverified(_) | Unprotected::Dropped => self.drop_one(),
        }
    }

    fn send_carrier(&self, peer: SocketAddr, bytes: &[u8]) -> io::Result<usize> {
        {
            let mut d = lock(&self.dtls);
            if d.session_identity(peer).is_some() {
                d.send(peer, bytes)
                    .map_err(|e| io::Error::other(e.to_string()))?;
                drop(d);
                self.flush_dtls();
                return Ok(bytes.len() + lwm2m_dtls::RECORD_OVERHEAD);
            }
        }
        match &self.plain {
            Some(s) => s.send_to(bytes, for_socket(peer, s.local_addr()?.is_ipv6())?),
            None => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "no DTLS session with this peer and no plain CoAP socket",
            )),
        }
    }
}

fn oscore_loop(inner: &Inner, setups: Vec<ContextSetup>, cmds: &Receiver<Cmd>) {
    let mut contexts = OscoreContexts::learning();
    for (p, store, limit) in setups {
        // Checked in `bind`.
        if let Ok(mut ctx) = p.context() {
            if let Some(l) = limit {
                // Continue above every number used before this restart.
                ctx.resume(l);
            }
            contexts.insert(None, None, OscorePeer::new(ctx, store));
        }
    }
    while !inner.stop.load(Ordering::Relaxed) {
        match cmds.recv_timeout(Duration::from_millis(200)) {
            Ok(Cmd::Inbound {
                data,
                peer,
                carrier,
                wire_len,
            }) => inner.oscore_inbound(&mut contexts, data, peer, carrier, wire_len),
            Ok(Cmd::Protect {
                peer,
                datagram,
                reply,
            }) => {
                let r = contexts.protect(&datagram, peer).map_err(|e| e.to_string());
                let _ = reply.send(r);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// One datagram from `sock`, `None` on timeout (errors pause briefly: they are usually ICMP
/// reports of earlier sends).
fn read(sock: &UdpSocket, buf: &mut [u8]) -> Option<(usize, SocketAddr)> {
    match sock.recv_from(buf) {
        Ok(r) => Some(r),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            None
        }
        Err(_) => {
            thread::sleep(Duration::from_millis(10));
            None
        }
    }
}

fn plain_loop(inner: &Inner) {
    let Some(sock) = &inner.plain else { return };
    let mut buf = vec![0u8; MAX_DATAGRAM];
    while !inner.stop.load(Ordering::Relaxed) {
        if let Some((n, peer)) = read(sock, &mut buf) {
            let data = buf.get(..n).unwrap_or_default().to_vec();
            inner.inbound(data, canonical(peer), PeerSecurity::NoSec, n);
        }
    }
}

fn dtls_loop(inner: &Inner) {
    let Some(sock) = &inner.dtls_sock else { return };
    let mut buf = vec![0u8; MAX_DATAGRAM];
    while !inner.stop.load(Ordering::Relaxed) {
        let events: Vec<(DtlsEvent, usize)> = match read(sock, &mut buf) {
            Some((n, peer)) => {
                let data = buf.get(..n).unwrap_or_default();
                if !is_application_data(data) {
                    inner.handshake_datagram(peer, false, n);
                }
                let ev = lock(&inner.dtls).handle_datagram(peer, data);
                ev.into_iter().map(|e| (e, n)).collect()
            }
            None => Vec::new(),
        };
        let timer_events = lock(&inner.dtls).poll_timers(Instant::now());
        inner.flush_dtls();
        for (e, n) in events
            .into_iter()
            .chain(timer_events.into_iter().map(|e| (e, 0)))
        {
            match e {
                DtlsEvent::Data { peer, plaintext } => {
                    let carrier = session_security(&lock(&inner.dtls), peer);
                    inner.inbound(plaintext, peer, carrier, n);
                }
                DtlsEvent::Connected { peer, .. } => {
                    let mut h = lock(&inner.handshake);
                    h.0.completed += 1;
                    h.1.remove(&peer);
                }
                DtlsEvent::Closed { .. } | DtlsEvent::Alert { .. } => {}
            }
        }
    }
}

impl Transport for ListenerTransport {
    fn send(&mut self, data: &[u8], to: SocketAddr) -> io::Result<()> {
        let mut wire = None;
        if let Some(o) = &self.inner.oscore {
            let (tx, rx) = mpsc::channel();
            let cmd = Cmd::Protect {
                peer: to,
                datagram: data.to_vec(),
                reply: tx,
            };
            lock(o)
                .send(cmd)
                .map_err(|_| io::Error::other("OSCORE thread gone"))?;
            wire = rx
                .recv_timeout(OSCORE_REPLY)
                .map_err(|_| io::Error::other("OSCORE thread did not answer"))?
                .map_err(io::Error::other)?;
        }
        let bytes = wire.as_deref().unwrap_or(data);
        let n = self.inner.send_carrier(to, bytes)?;
        self.inner.record(true, to, data, n);
        Ok(())
    }

    fn recv(
        &mut self,
        buf: &mut [u8],
        timeout: Duration,
    ) -> io::Result<Option<(usize, SocketAddr)>> {
        let got = lock(&self.rx).recv_timeout(timeout.max(Duration::from_millis(1)));
        match got {
            Ok((data, peer, sec)) => {
                let n = data.len().min(buf.len());
                if let (Some(d), Some(s)) = (buf.get_mut(..n), data.get(..n)) {
                    d.copy_from_slice(s);
                }
                self.last = sec;
                Ok(Some((n, peer)))
            }
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(io::Error::other("transport stopped")),
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.coap_addr()
            .or(self.coaps_addr())
            .ok_or_else(|| io::Error::other("no socket"))
    }

    fn received_security(&self) -> PeerSecurity {
        self.last.clone()
    }

    fn verifies_oscore(&self) -> bool {
        self.inner.oscore.is_some()
    }

    fn close_dtls_identity(&mut self, identity: &[u8]) -> usize {
        let n = lock(&self.inner.dtls).close_identity(identity).len();
        // The close_notify alerts.
        self.inner.flush_dtls();
        n
    }

    fn try_clone(&self) -> io::Result<Box<dyn Transport + Send>> {
        Ok(Box::new(self.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::UdpTransport;

    /// Clones share the sockets: one receives what was sent to the listener, another sends;
    /// a protected request without any OSCORE context is dropped and counted, and the
    /// threads end with the last clone.
    #[test]
    fn clones_share_the_listener_and_protected_datagrams_are_dropped() {
        let l = ListenerTransport::bind(&ListenerConfig {
            coap: Some("127.0.0.1:0".into()),
            ..ListenerConfig::default()
        })
        .unwrap();
        let at = l.coap_addr().unwrap();
        let mut rx_half = l.try_clone().unwrap();
        let mut tx_half = l.clone();
        let mut peer = UdpTransport::bind("127.0.0.1:0".parse::<SocketAddr>().unwrap()).unwrap();
        // CON GET, mid 1, no token, OSCORE option (9) empty: protected.
        peer.send(&[0x40, 1, 0, 1, 0x90], at).unwrap();
        peer.send(&[0x40, 1, 0, 2], at).unwrap();
        let mut buf = [0u8; 64];
        let (n, from) = rx_half
            .recv(&mut buf, Duration::from_secs(5))
            .unwrap()
            .unwrap();
        assert_eq!(
            (&buf[..n], from),
            (&[0x40, 1, 0, 2][..], peer.local_addr().unwrap())
        );
        assert_eq!(rx_half.received_security(), PeerSecurity::NoSec);
        assert_eq!(l.dropped(), 1);
        tx_half.send(b"\x60\x00\x00\x02", from).unwrap();
        let (n, _) = peer
            .recv(&mut buf, Duration::from_secs(5))
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..n], b"\x60\x00\x00\x02");
        assert_eq!(l.wire_log().len(), 2);
        let inner = Arc::downgrade(&l.inner);
        drop((l, rx_half, tx_half));
        let deadline = Instant::now() + Duration::from_secs(5);
        while inner.strong_count() > 0 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(inner.strong_count(), 0, "reader threads ended");
    }
}
