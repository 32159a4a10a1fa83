//! [`SecureTransport`]: the server's plain CoAP socket (`--coap`, optionally with OSCORE
//! clients), plus a DTLS-PSK listener socket (`--coaps`), under the unchanged message layer.
//!
//! Each socket has a reader thread that turns datagrams into plain CoAP with the way they were
//! authenticated ([`PeerSecurity`]): the PSK identity of the DTLS session, or the kid of the
//! OSCORE context that verified them. Nothing that fails DTLS or OSCORE verification reaches
//! the message layer, and nothing is answered for it.
//!
//! Outgoing datagrams go over the DTLS session with the destination if there is one, else in
//! clear; OSCORE protects requests to an address whose last verified request came under a
//! context, and responses / notifications to requests that came protected.
//!
//! Credentials come from [`Credentials`]: the PSK table (`--psk-file`, lines
//! `endpoint identity key-hex`) and the OSCORE clients (`--oscore-client
//! EP,secret,salt,sid,rid`). Keys never appear in `Debug` output, events or errors.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use lwm2m::coap::{code, option, Message};
use lwm2m_dtls::{Config as DtlsConfig, DtlsEndpoint, Event as DtlsEvent, Key, PskStore, Role};
use zeroize::Zeroizing;

use crate::oscore::{unhex, FileSeqnoStore, Inbound, OscoreParams, OscorePeer, VolatileStore};
use crate::sync::lock;
use crate::transport::udp::{PeerSecurity, Transport};
use lwm2m_oscore::SeqnoStore;

/// One PSK table entry: the endpoint that may use `identity`, and its key.
#[derive(Clone, PartialEq, Eq)]
pub struct PskEntry {
    /// Endpoint client name bound to the identity.
    pub endpoint: String,
    /// PSK identity.
    pub identity: Vec<u8>,
    /// The key (1 to 16 bytes).
    pub key: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for PskEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PskEntry")
            .field("endpoint", &self.endpoint)
            .field("identity", &String::from_utf8_lossy(&self.identity))
            .field("key", &"<redacted>")
            .finish()
    }
}

/// An OSCORE client: the endpoint and its context (server side: sender ID = the client's
/// recipient ID).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OscoreClient {
    /// Endpoint client name bound to the context.
    pub endpoint: String,
    /// Context parameters, server view.
    pub params: OscoreParams,
}

/// Credentials of secured clients.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Credentials {
    /// DTLS PSK table.
    pub psk: Vec<PskEntry>,
    /// OSCORE clients.
    pub oscore: Vec<OscoreClient>,
}

impl Credentials {
    /// Parses a PSK file: one `endpoint identity key-hex` per line (identity as text, no
    /// spaces; `#` comments and blank lines ignored). Errors give the line number only.
    pub fn parse_psk_file(text: &str) -> Result<Vec<PskEntry>, String> {
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split_whitespace().collect();
            let [ep, id, key] = f.as_slice() else {
                return Err(format!("line {}: want `endpoint identity key-hex`", i + 1));
            };
            let key = Zeroizing::new(unhex(key).ok_or(format!("line {}: bad key hex", i + 1))?);
            if key.is_empty() || key.len() > lwm2m_dtls::MAX_KEY_LEN {
                return Err(format!("line {}: key must have 1..=16 bytes", i + 1));
            }
            if id.len() > lwm2m_dtls::MAX_IDENTITY_LEN {
                return Err(format!("line {}: identity longer than 32 bytes", i + 1));
            }
            out.push(PskEntry {
                endpoint: (*ep).to_owned(),
                identity: id.as_bytes().to_vec(),
                key,
            });
        }
        Ok(out)
    }

    /// Parses `EP,secret,salt,client_sender_id,client_recipient_id` (the client's view, as
    /// given to the client's `--oscore`; the server swaps the IDs).
    pub fn parse_oscore_client(s: &str) -> Result<OscoreClient, String> {
        let (ep, rest) = s
            .split_once(',')
            .ok_or("--oscore-client is EP,secret,salt,sid,rid")?;
        let client = OscoreParams::parse(rest)?;
        let params = OscoreParams {
            sender_id: client.recipient_id.clone(),
            recipient_id: client.sender_id.clone(),
            ..client
        };
        Ok(OscoreClient {
            endpoint: ep.to_owned(),
            params,
        })
    }

    /// The security a registration of `endpoint` must arrive with, if it has credentials.
    pub fn expected(&self, endpoint: &str) -> Option<PeerSecurity> {
        if let Some(p) = self.psk.iter().find(|p| p.endpoint == endpoint) {
            return Some(PeerSecurity::Dtls {
                identity: p.identity.clone(),
            });
        }
        self.oscore
            .iter()
            .find(|o| o.endpoint == endpoint)
            .map(|o| PeerSecurity::Oscore {
                kid: o.params.recipient_id.clone(),
                owner: None,
            })
    }

    /// The endpoint bound to a secure channel identity.
    pub fn endpoint_of(&self, sec: &PeerSecurity) -> Option<&str> {
        match sec {
            PeerSecurity::NoSec => None,
            PeerSecurity::Dtls { identity } => self
                .psk
                .iter()
                .find(|p| p.identity == *identity)
                .map(|p| p.endpoint.as_str()),
            PeerSecurity::Oscore { kid, .. } => self
                .oscore
                .iter()
                .find(|o| o.params.recipient_id == *kid)
                .map(|o| o.endpoint.as_str()),
        }
    }
}

struct TableStore(HashMap<Vec<u8>, Key>);

impl PskStore for TableStore {
    fn psk_for_identity(&self, identity: &[u8]) -> Option<Key> {
        self.0.get(identity).cloned()
    }
}

/// One application datagram as the socket saw it (for size reports).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireRecord {
    /// Sent by the server (else received).
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

/// Most wire records kept.
const MAX_TAP: usize = 4096;

/// How long `send_to` waits for the OSCORE thread.
const OSCORE_REPLY: Duration = Duration::from_secs(2);

/// The OSCORE contexts live on their own thread: liboscore's context holds raw pointers and is
/// not `Send`, so the reader threads and the event loop talk to it through [`Cmd`]s.
struct OscoreState {
    peers: Vec<OscorePeer>,
    /// Peer address -> context, from the last request verified under it.
    by_addr: HashMap<SocketAddr, usize>,
}

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

struct Inner {
    plain: Option<UdpSocket>,
    dtls_sock: Option<UdpSocket>,
    dtls: Mutex<DtlsEndpoint>,
    oscore: Option<Mutex<Sender<Cmd>>>,
    tx: Mutex<Sender<(Vec<u8>, SocketAddr, PeerSecurity)>>,
    stop: AtomicBool,
    tap: Mutex<Vec<WireRecord>>,
    handshake: Mutex<(HandshakeStats, HashMap<SocketAddr, bool>)>,
    dropped: Mutex<u64>,
}

/// The server's secured transport (see the module documentation).
pub struct SecureTransport {
    inner: Arc<Inner>,
    rx: Mutex<Receiver<(Vec<u8>, SocketAddr, PeerSecurity)>>,
    poll: Duration,
}

impl fmt::Debug for SecureTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecureTransport")
            .field("coap", &self.coap_addr())
            .field("coaps", &self.coaps_addr())
            .finish_non_exhaustive()
    }
}

impl Drop for SecureTransport {
    fn drop(&mut self) {
        self.inner.stop.store(true, Ordering::Relaxed);
    }
}

fn bind(addr: &str, poll: Duration) -> io::Result<UdpSocket> {
    let s = UdpSocket::bind(addr.to_socket_addrs()?.collect::<Vec<_>>().as_slice())?;
    s.set_read_timeout(Some(poll.max(Duration::from_millis(1))))?;
    Ok(s)
}

impl SecureTransport {
    /// Binds `coap` (plain CoAP and OSCORE) and/or `coaps` (DTLS-PSK) and starts the reader
    /// threads; they end when the transport is dropped. OSCORE sequence numbers are not
    /// persisted (see [`SecureTransport::bind_with_seqno`]).
    pub fn bind(
        coap: Option<&str>,
        coaps: Option<&str>,
        credentials: &Credentials,
        poll: Duration,
    ) -> io::Result<Self> {
        Self::bind_with_seqno(coap, coaps, credentials, poll, None)
    }

    /// [`SecureTransport::bind`], persisting the sequence numbers of each OSCORE context in
    /// a [`FileSeqnoStore`] at [`seqno_path`]`(seqno_file, recipient ID)`. A context whose file
    /// exists resumes above the limit stored there (its replay window is then rebuilt with an
    /// Echo exchange, RFC 8613 B.1.2); a file that cannot be read or parsed is an error.
    pub fn bind_with_seqno(
        coap: Option<&str>,
        coaps: Option<&str>,
        credentials: &Credentials,
        poll: Duration,
        seqno_file: Option<&std::path::Path>,
    ) -> io::Result<Self> {
        Self::bind_with_limits(
            coap,
            coaps,
            credentials,
            poll,
            seqno_file,
            DtlsConfig::default(),
        )
    }

    /// [`SecureTransport::bind_with_seqno`] with the DTLS listener's limits.
    pub fn bind_with_limits(
        coap: Option<&str>,
        coaps: Option<&str>,
        credentials: &Credentials,
        poll: Duration,
        seqno_file: Option<&std::path::Path>,
        dtls_config: DtlsConfig,
    ) -> io::Result<Self> {
        let plain = coap.map(|a| bind(a, poll)).transpose()?;
        let dtls_sock = coaps.map(|a| bind(a, poll)).transpose()?;
        let table = credentials
            .psk
            .iter()
            .filter_map(|p| Some((p.identity.clone(), Key::new(&p.key).ok()?)))
            .collect();
        let dtls = DtlsEndpoint::new(Role::Server, TableStore(table), dtls_config)
            .map_err(|e| io::Error::other(e.to_string()))?;
        for o in &credentials.oscore {
            o.params
                .context()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{e:?}")))?;
        }
        let (tx, rx) = mpsc::channel();
        let (otx, orx) = mpsc::channel();
        let oscore = (!credentials.oscore.is_empty()).then(|| Mutex::new(otx));
        let inner = Arc::new(Inner {
            plain,
            dtls_sock,
            dtls: Mutex::new(dtls),
            oscore,
            tx: Mutex::new(tx),
            stop: AtomicBool::new(false),
            tap: Mutex::new(Vec::new()),
            handshake: Mutex::new((HandshakeStats::default(), HashMap::new())),
            dropped: Mutex::new(0),
        });
        if inner.oscore.is_some() {
            let i = inner.clone();
            let mut params: Vec<ContextSetup> = Vec::new();
            for o in &credentials.oscore {
                let (store, limit): (Box<dyn SeqnoStore + Send>, _) = match seqno_file {
                    Some(f) => {
                        let path = seqno_path(f, &o.params.recipient_id);
                        let (s, l) = FileSeqnoStore::open(&path).map_err(|e| {
                            io::Error::new(e.kind(), format!("{}: {e}", path.display()))
                        })?;
                        (Box::new(s), l)
                    }
                    None => (Box::new(VolatileStore), None),
                };
                params.push((o.params.clone(), store, limit));
            }
            thread::Builder::new()
                .name("lwm2m-oscore".into())
                .spawn(move || oscore_loop(&i, params, &orx))?;
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
        Ok(SecureTransport {
            inner,
            rx: Mutex::new(rx),
            poll,
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

    /// Application datagrams seen so far (at most 4096).
    pub fn wire_log(&self) -> Vec<WireRecord> {
        lock(&self.inner.tap).clone()
    }

    /// DTLS handshake traffic so far.
    pub fn handshake_stats(&self) -> HandshakeStats {
        lock(&self.inner.handshake).0
    }

    /// Datagrams dropped (failed DTLS or OSCORE verification, replays, unknown kids).
    pub fn dropped(&self) -> u64 {
        *lock(&self.inner.dropped) + lock(&self.inner.dtls).stats().handshakes_failed
    }

    /// Ends every DTLS session of a PSK identity (revocation).
    pub fn close_identity(&self, identity: &[u8]) -> usize {
        let n = lock(&self.inner.dtls).close_identity(identity).len();
        self.inner.flush_dtls();
        n
    }
}

impl Inner {
    fn record(&self, outgoing: bool, peer: SocketAddr, plain: &[u8], wire_len: usize) {
        let mut tap = lock(&self.tap);
        if tap.len() < MAX_TAP {
            tap.push(WireRecord {
                outgoing,
                peer,
                plain: plain.to_vec(),
                wire_len,
            });
        }
    }

    fn drop_one(&self) {
        *lock(&self.dropped) += 1;
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
        let mut out = Vec::new();
        {
            let mut d = lock(&self.dtls);
            while let Some(t) = d.poll_transmit() {
                out.push(t);
            }
        }
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
        st: &mut OscoreState,
        data: Vec<u8>,
        peer: SocketAddr,
        carrier: PeerSecurity,
        wire_len: usize,
    ) {
        let Ok(m) = Message::parse(&data) else {
            return self.deliver(data, peer, carrier);
        };
        let protected = m.option(option::OSCORE).is_some();
        let idx = st.peers.iter().position(|p| {
            if code::is_request(m.code) {
                protected && p.is_for_us(&data)
            } else {
                p.owns_response(&data)
            }
        });
        let Some(i) = idx else {
            if protected {
                return self.drop_one();
            }
            self.record(false, peer, &data, wire_len);
            return self.deliver(data, peer, carrier);
        };
        let Some(p) = st.peers.get_mut(i) else { return };
        match p.unprotect(&data) {
            Inbound::Verified { plain, kid } => {
                if code::is_request(m.code) {
                    st.by_addr.insert(peer, i);
                    if st.by_addr.len() > 4096 {
                        st.by_addr.clear();
                        st.by_addr.insert(peer, i);
                    }
                }
                self.record(false, peer, &plain, wire_len);
                // For a response the kid is the client's Sender ID, i.e. who answered.
                let kid = if code::is_request(m.code) {
                    kid
                } else {
                    st.peers
                        .get(i)
                        .map(|p| p.recipient_id().to_vec())
                        .unwrap_or_default()
                };
                self.deliver(plain, peer, PeerSecurity::Oscore { kid, owner: None });
            }
            Inbound::Plain(plain) => {
                self.record(false, peer, &plain, wire_len);
                self.deliver(plain, peer, carrier);
            }
            Inbound::Answer(bytes) => {
                let _ = self.send_carrier(peer, &bytes);
            }
            Inbound::Dropped(_) => self.drop_one(),
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
            Some(s) => s.send_to(bytes, peer),
            None => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "no DTLS session with this peer and no plain CoAP socket",
            )),
        }
    }
}

/// The file holding the sequence-number limit of the OSCORE context whose Recipient ID (the
/// kid of the requests it verifies) is `recipient_id`: `file` with `.kid-<hex>` appended.
pub fn seqno_path(file: &std::path::Path, recipient_id: &[u8]) -> std::path::PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(format!(".kid-{}", crate::oscore::hex(recipient_id)));
    name.into()
}

/// One OSCORE context to build on the OSCORE thread: its parameters, where its sequence
/// numbers go, and the limit stored before (a restart).
type ContextSetup = (OscoreParams, Box<dyn SeqnoStore + Send>, Option<u64>);

fn oscore_loop(inner: &Inner, params: Vec<ContextSetup>, cmds: &Receiver<Cmd>) {
    let mut st = OscoreState {
        peers: Vec::new(),
        by_addr: HashMap::new(),
    };
    for (p, store, limit) in params {
        // Checked in `bind`.
        if let Ok(mut ctx) = p.context() {
            if let Some(l) = limit {
                // Continue above every number used before this restart.
                ctx.resume(l);
            }
            st.peers.push(OscorePeer::new(ctx, store));
        }
    }
    while !inner.stop.load(Ordering::Relaxed) {
        match cmds.recv_timeout(Duration::from_millis(200)) {
            Ok(Cmd::Inbound {
                data,
                peer,
                carrier,
                wire_len,
            }) => inner.oscore_inbound(&mut st, data, peer, carrier, wire_len),
            Ok(Cmd::Protect {
                peer,
                datagram,
                reply,
            }) => {
                let _ = reply.send(protect(&mut st, peer, &datagram));
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// The protected form of an outgoing datagram, `None` if OSCORE does not apply to it.
fn protect(
    st: &mut OscoreState,
    peer: SocketAddr,
    datagram: &[u8],
) -> Result<Option<Vec<u8>>, String> {
    let Ok(m) = Message::parse(datagram) else {
        return Ok(None);
    };
    let idx = if code::is_request(m.code) {
        st.by_addr.get(&peer).copied()
    } else {
        st.peers.iter().position(|p| p.knows_request(m.token))
    };
    match idx.and_then(|i| st.peers.get_mut(i)) {
        Some(p) => p
            .protect(datagram)
            .map(Some)
            .map_err(|e| format!("OSCORE: {e:?}")),
        None => Ok(None),
    }
}

/// Application data (content type 23) rather than handshake, CCS or alert records.
fn is_application_data(datagram: &[u8]) -> bool {
    datagram.first() == Some(&23)
}

fn plain_loop(inner: &Inner) {
    let Some(sock) = &inner.plain else { return };
    let mut buf = vec![0u8; 2048];
    while !inner.stop.load(Ordering::Relaxed) {
        match sock.recv_from(&mut buf) {
            Ok((n, peer)) => {
                let data = buf.get(..n).unwrap_or_default().to_vec();
                inner.inbound(data, peer, PeerSecurity::NoSec, n);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(_) => thread::sleep(Duration::from_millis(10)),
        }
    }
}

fn dtls_loop(inner: &Inner) {
    let Some(sock) = &inner.dtls_sock else { return };
    let mut buf = vec![0u8; 2048];
    while !inner.stop.load(Ordering::Relaxed) {
        let events = match sock.recv_from(&mut buf) {
            Ok((n, peer)) => {
                let data = buf.get(..n).unwrap_or_default();
                if !is_application_data(data) {
                    inner.handshake_datagram(peer, false, n);
                }
                let ev = lock(&inner.dtls).handle_datagram(peer, data);
                ev.into_iter().map(|e| (e, n)).collect()
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Vec::new()
            }
            Err(_) => {
                thread::sleep(Duration::from_millis(10));
                Vec::new()
            }
        };
        let timer_events = lock(&inner.dtls).poll_timers(Instant::now());
        inner.flush_dtls();
        for (e, n) in events
            .into_iter()
            .chain(timer_events.into_iter().map(|e| (e, 0)))
        {
            match e {
                DtlsEvent::Data { peer, plaintext } => {
                    let identity = lock(&inner.dtls)
                        .session_identity(peer)
                        .map(<[u8]>::to_vec)
                        .unwrap_or_default();
                    inner.inbound(plaintext, peer, PeerSecurity::Dtls { identity }, n);
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

impl Transport for SecureTransport {
    fn send_to(&self, peer: SocketAddr, datagram: &[u8]) -> io::Result<()> {
        let mut wire = None;
        if let Some(o) = &self.inner.oscore {
            let (tx, rx) = mpsc::channel();
            let cmd = Cmd::Protect {
                peer,
                datagram: datagram.to_vec(),
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
        let bytes = wire.as_deref().unwrap_or(datagram);
        let n = self.inner.send_carrier(peer, bytes)?;
        self.inner.record(true, peer, datagram, n);
        Ok(())
    }

    fn recv_from(&self, buf: &mut [u8]) -> io::Result<Option<(usize, SocketAddr)>> {
        Ok(self.recv_secure(buf)?.map(|(n, a, _)| (n, a)))
    }

    fn recv_secure(&self, buf: &mut [u8]) -> io::Result<Option<(usize, SocketAddr, PeerSecurity)>> {
        match lock(&self.rx).recv_timeout(self.poll) {
            Ok((data, peer, sec)) => {
                let n = data.len().min(buf.len());
                if let (Some(d), Some(s)) = (buf.get_mut(..n), data.get(..n)) {
                    d.copy_from_slice(s);
                }
                Ok(Some((n, peer, sec)))
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psk_file_and_oscore_client() {
        let t = Credentials::parse_psk_file(
            "# comment\n\nep-1 id-1 000102030405060708090a0b0c0d0e0f\nep-2 id-2 aabb # x\n",
        )
        .unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(
            (t[1].endpoint.as_str(), &t[1].identity[..]),
            ("ep-2", &b"id-2"[..])
        );
        assert!(!format!("{t:?}").contains("0a0b"), "Debug shows no key");
        let e = Credentials::parse_psk_file("a b c0ffeezz").unwrap_err();
        assert!(e.contains("line 1") && !e.contains("c0ffee"), "{e}");
        assert!(Credentials::parse_psk_file("a b").is_err());
        let o = Credentials::parse_oscore_client("ep-3,0102,,01,02").unwrap();
        assert_eq!(
            (
                o.params.sender_id.as_slice(),
                o.params.recipient_id.as_slice()
            ),
            (&[2][..], &[1][..])
        );
        let c = Credentials {
            psk: t,
            oscore: vec![o],
        };
        assert_eq!(
            c.expected("ep-1"),
            Some(PeerSecurity::Dtls {
                identity: b"id-1".to_vec()
            })
        );
        assert_eq!(
            c.expected("ep-3"),
            Some(PeerSecurity::Oscore {
                kid: vec![1],
                owner: None
            })
        );
        assert_eq!(c.expected("other"), None);
        assert_eq!(
            c.endpoint_of(&PeerSecurity::Oscore {
                kid: vec![1],
                owner: None
            }),
            Some("ep-3")
        );
        assert_eq!(c.endpoint_of(&PeerSecurity::NoSec), None);
    }
}
