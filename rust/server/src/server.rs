//! The server: one event-loop thread owns the CoAP message layer, the exchanges, observations
//! and bootstrap sessions; a receiver thread feeds it datagrams; API callers feed it requests
//! through a channel and wait on a reply channel. The registry is shared (behind a mutex) so
//! listing clients needs no round trip through the loop.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use lwm2m::coap::{code, content_format as cf, option, Block, Message, MessageType};
use lwm2m::Path;

use crate::ac::{self, Checked, Job};
use crate::bootstrap::{self, BootstrapConfig, Step};
use crate::c2c::C2cState;
use crate::config::Config;
use crate::error::ServerError;
use crate::event::Event;
use crate::formats;
use crate::layer::{Dedup, DedupCache, IdGen, Retransmission, RetransmitAction, Rng};
use crate::msg::{self, IncomingRequest, OutRequest, Reply};
use crate::ops::{self, Attributes, Response};
use crate::policy::{Policy, PolicyError};
use crate::registration::{self, Outcome, Registration, Registry};
use crate::secure::SecureTransport;
use crate::transport::{PeerSecurity, Transport, UdpTransport};
use crate::values::OwnedRecord;

/// Largest datagram the server accepts.
const MAX_DATAGRAM: usize = 65_535;

/// State shared by the loop, the handles, the C2C worker and the HTTP threads.
pub(crate) struct Shared {
    pub(crate) registry: Mutex<Registry>,
    subscribers: Mutex<Vec<Sender<Event>>>,
    pub(crate) stop: AtomicBool,
    /// The access policy in force.
    pub(crate) policy: Mutex<Policy>,
    /// C2C accounts and grants.
    pub(crate) c2c: Mutex<C2cState>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking holder cannot leave the registry half-updated in a way that matters more
    // than losing the server, so poisoning is ignored.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub(crate) fn emit(&self, ev: Event) {
        lock(&self.subscribers).retain(|s| s.send(ev.clone()).is_ok());
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CallKind {
    Plain,
    Observe,
    CancelObserve,
}

pub(crate) struct Call {
    endpoint: String,
    target: Path,
    req: OutRequest,
    kind: CallKind,
    deadline: Instant,
    reply: Sender<Result<Response, ServerError>>,
}

pub(crate) enum Input {
    Datagram(SocketAddr, Vec<u8>, PeerSecurity),
    Call(Call),
    /// The C2C worker finished an access request: send the separate response.
    AcDone {
        peer: SocketAddr,
        token: Vec<u8>,
        con: bool,
        reply: Reply,
    },
    Shutdown,
}

/// Sends requests to clients through the event loop and waits for the answers.
#[derive(Clone)]
pub(crate) struct Caller {
    tx: Sender<Input>,
    timeout: Duration,
}

impl Caller {
    /// Queues a plain request; the answer arrives on the returned channel.
    pub(crate) fn start(
        &self,
        endpoint: &str,
        target: Path,
        req: OutRequest,
    ) -> Receiver<Result<Response, ServerError>> {
        self.start_kind(endpoint, target, req, CallKind::Plain)
    }

    fn start_kind(
        &self,
        endpoint: &str,
        target: Path,
        req: OutRequest,
        kind: CallKind,
    ) -> Receiver<Result<Response, ServerError>> {
        let (tx, rx) = mpsc::channel();
        let call = Call {
            endpoint: endpoint.to_owned(),
            target,
            req,
            kind,
            deadline: Instant::now() + self.timeout,
            reply: tx,
        };
        // If the loop is gone, the call (and its reply sender) is dropped: the wait ends.
        let _ = self.tx.send(Input::Call(call));
        rx
    }

    /// Waits for an answer queued with [`Caller::start`].
    pub(crate) fn wait(
        &self,
        rx: Receiver<Result<Response, ServerError>>,
    ) -> Result<Response, ServerError> {
        // The loop answers Timeout itself at the deadline; the margin covers its tick.
        match rx.recv_timeout(self.timeout + Duration::from_secs(2)) {
            Ok(r) => r,
            Err(RecvTimeoutError::Timeout) => Err(ServerError::Timeout),
            Err(RecvTimeoutError::Disconnected) => Err(ServerError::Shutdown),
        }
    }

    /// Sends a plain request and waits for the answer.
    pub(crate) fn call(
        &self,
        endpoint: &str,
        target: Path,
        req: OutRequest,
    ) -> Result<Response, ServerError> {
        self.wait(self.start(endpoint, target, req))
    }
}

/// Entry point: `Server::start(config)` returns a [`ServerHandle`].
#[derive(Debug)]
pub struct Server;

impl Server {
    /// Binds the UDP socket (and the HTTP API if configured) and starts the server threads.
    /// With [`Config::coaps_addr`] or OSCORE clients the transport is a
    /// [`SecureTransport`] (plain CoAP and OSCORE on `coap_addr`, DTLS-PSK on `coaps_addr`).
    pub fn start(config: Config) -> io::Result<ServerHandle> {
        let poll = Duration::from_millis(100);
        if config.coaps_addr.is_some() || !config.credentials.oscore.is_empty() {
            let t = SecureTransport::bind_with_seqno(
                Some(config.coap_addr.as_str()),
                config.coaps_addr.as_deref(),
                &config.credentials,
                poll,
                config.oscore_seqno_file.as_deref(),
            )?;
            let coaps = t.coaps_addr();
            let h = Self::start_with(config, Arc::new(t))?;
            *lock(&h.inner.coaps_addr) = coaps;
            return Ok(h);
        }
        let transport = UdpTransport::bind(config.coap_addr.as_str(), poll)?;
        Self::start_with(config, Arc::new(transport))
    }

    /// Starts the server over any [`Transport`].
    pub fn start_with(config: Config, transport: Arc<dyn Transport>) -> io::Result<ServerHandle> {
        let coap_addr = transport.local_addr()?;
        let c2c_state = match &config.c2c.state_file {
            Some(f) => {
                let err = |e: io::Error| {
                    io::Error::new(e.kind(), format!("state file {}: {e}", f.display()))
                };
                let st = crate::state::load(f).map_err(err)?.unwrap_or_default();
                // Written at once: an unwritable place is an error now, not after a grant.
                crate::state::save(f, &st).map_err(err)?;
                st
            }
            None => C2cState::default(),
        };
        let shared = Arc::new(Shared {
            registry: Mutex::new(Registry::with_limits(config.registrations)),
            subscribers: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            policy: Mutex::new(config.c2c.policy.clone()),
            c2c: Mutex::new(c2c_state),
        });
        let (tx, rx) = mpsc::channel();
        let (jobs_tx, jobs_rx) = mpsc::channel();
        let mut threads = Vec::new();
        let worker = ac::Worker {
            shared: shared.clone(),
            caller: Caller {
                tx: tx.clone(),
                timeout: config.request_timeout,
            },
            jobs: jobs_rx,
            loop_tx: tx.clone(),
            cfg: config.c2c.clone(),
            bootstrap: config.bootstrap.clone(),
            oscore_ids: config.oscore_ids(),
        };
        threads.push(
            thread::Builder::new()
                .name("lwm2m-c2c".into())
                .spawn(move || worker.run())?,
        );

        let (rt, rsh, rtx) = (transport.clone(), shared.clone(), tx.clone());
        threads.push(
            thread::Builder::new()
                .name("lwm2m-recv".into())
                .spawn(move || receive_loop(&*rt, &rsh, &rtx))?,
        );

        let mut ids = IdGen::new(Rng::new());
        let lp = EventLoop {
            shared: shared.clone(),
            transport,
            rx,
            dedup: DedupCache::new(config.transmission.exchange_lifetime, config.dedup_capacity),
            rng: Rng::from_seed(ids.rng().next_u64()),
            ids,
            exchanges: HashMap::new(),
            observations: HashMap::new(),
            bootstraps: HashMap::new(),
            next_expiry_check: Instant::now(),
            jobs: jobs_tx.clone(),
            separate: Vec::new(),
            config: config.clone(),
        };
        threads.push(
            thread::Builder::new()
                .name("lwm2m-loop".into())
                .spawn(move || lp.run())?,
        );

        let handle = ServerHandle {
            inner: Arc::new(HandleInner {
                shared,
                tx: Mutex::new(tx),
                jobs: Mutex::new(jobs_tx),
                config: config.clone(),
                relays: Mutex::new(crate::relay::Relays::default()),
                coap_addr,
                coaps_addr: Mutex::new(None),
                http_addr: Mutex::new(None),
                timeout: config.request_timeout,
                threads: Mutex::new(threads),
            }),
        };
        if let Some(addr) = &config.http_addr {
            handle.start_http(addr)?;
        }
        Ok(handle)
    }
}

fn receive_loop(t: &dyn Transport, shared: &Shared, tx: &Sender<Input>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    while !shared.stop.load(Ordering::Relaxed) {
        match t.recv_secure(&mut buf) {
            Ok(Some((n, peer, sec))) => {
                let data = buf.get(..n).unwrap_or(&[]).to_vec();
                if tx.send(Input::Datagram(peer, data, sec)).is_err() {
                    return;
                }
            }
            Ok(None) => {}
            // e.g. ICMP errors surfacing on some systems: keep serving, but don't spin.
            Err(_) => thread::sleep(Duration::from_millis(10)),
        }
    }
}

struct HandleInner {
    shared: Arc<Shared>,
    tx: Mutex<Sender<Input>>,
    jobs: Mutex<Sender<Job>>,
    config: Config,
    relays: Mutex<crate::relay::Relays>,
    coap_addr: SocketAddr,
    coaps_addr: Mutex<Option<SocketAddr>>,
    http_addr: Mutex<Option<SocketAddr>>,
    timeout: Duration,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl HandleInner {
    fn shutdown(&self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        let _ = lock(&self.tx).send(Input::Shutdown);
        let threads: Vec<_> = lock(&self.threads).drain(..).collect();
        let me = thread::current().id();
        for t in threads {
            if t.thread().id() != me {
                let _ = t.join();
            }
        }
    }
}

impl Drop for HandleInner {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A handle on a running server: every LwM2M operation toward a registered client, the
/// registry and the event stream. Cheap to clone; operations block the calling thread until
/// the client answers or the request timeout passes.
///
/// The server stops on [`ServerHandle::shutdown`] or when the last handle is dropped (the
/// HTTP API holds a handle, so with HTTP enabled call `shutdown`).
#[derive(Clone)]
pub struct ServerHandle {
    inner: Arc<HandleInner>,
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("coap_addr", &self.inner.coap_addr)
            .finish()
    }
}

impl ServerHandle {
    /// The bound CoAP address.
    pub fn coap_addr(&self) -> SocketAddr {
        self.inner.coap_addr
    }

    /// The DTLS listener address, if [`Config::coaps_addr`] was set.
    pub fn coaps_addr(&self) -> Option<SocketAddr> {
        *lock(&self.inner.coaps_addr)
    }

    /// The bound HTTP address, if the HTTP API runs.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        *lock(&self.inner.http_addr)
    }

    /// Starts the HTTP API on `addr` (see [`crate::http`]); returns the bound address.
    pub fn start_http(&self, addr: &str) -> io::Result<SocketAddr> {
        let (bound, t) = crate::http::spawn(addr, self.clone(), &self.inner.config.http)?;
        *lock(&self.inner.http_addr) = Some(bound);
        lock(&self.inner.threads).push(t);
        Ok(bound)
    }

    /// True once shutdown started.
    pub fn is_stopped(&self) -> bool {
        self.inner.shared.stop.load(Ordering::Relaxed)
    }

    /// Stops all server threads and waits for them.
    pub fn shutdown(&self) {
        self.inner.shutdown();
    }

    /// A new subscription to the event stream. Events are queued without bound until read,
    /// so drop receivers you no longer read.
    pub fn subscribe(&self) -> Receiver<Event> {
        let (tx, rx) = mpsc::channel();
        lock(&self.inner.shared.subscribers).push(tx);
        rx
    }

    /// All registrations, by endpoint name.
    pub fn clients(&self) -> Vec<Registration> {
        lock(&self.inner.shared.registry).list()
    }

    /// The registration of one endpoint.
    pub fn client(&self, endpoint: &str) -> Option<Registration> {
        lock(&self.inner.shared.registry).get(endpoint).cloned()
    }

    /// The first content format tried for a client without an explicit one: the format it
    /// last answered in, else SenML CBOR for LwM2M 1.1 and TLV for 1.0 (see [`formats`]).
    pub fn default_format(&self, endpoint: &str) -> Result<u16, ServerError> {
        let reg = self
            .client(endpoint)
            .ok_or_else(|| ServerError::UnknownEndpoint(endpoint.into()))?;
        Ok(reg
            .format
            .unwrap_or_else(|| formats::default_format(&reg.version)))
    }

    /// Runs an operation in `explicit` or, without, in the formats of [`formats::candidates`]
    /// until the client takes one; remembers a format that worked for this registration.
    fn with_formats(
        &self,
        endpoint: &str,
        path: &Path,
        explicit: Option<u16>,
        kind: CallKind,
        build: impl FnMut(u16) -> Result<OutRequest, ServerError>,
    ) -> Result<Response, ServerError> {
        let reg = self
            .client(endpoint)
            .ok_or_else(|| ServerError::UnknownEndpoint(endpoint.into()))?;
        let list = match explicit {
            Some(f) => vec![f],
            None => formats::candidates(&reg.version, reg.format, path),
        };
        let send = |req| self.call(endpoint, *path, req, kind);
        let (r, asked) = formats::try_formats(&list, build, send)?;
        if r.is_success() {
            // A read answers in its own Content-Format; a write was taken in the one it had.
            let used = r.content_format.unwrap_or(asked);
            if let Some(f) = Some(used).filter(|f| formats::is_general(*f)) {
                if reg.format != Some(f) && !r.is_undecodable() {
                    lock(&self.inner.shared.registry).set_format(&reg.id, f);
                }
            }
        }
        Ok(r)
    }

    pub(crate) fn caller(&self) -> Caller {
        Caller {
            tx: lock(&self.inner.tx).clone(),
            timeout: self.inner.timeout,
        }
    }

    fn call(
        &self,
        endpoint: &str,
        target: Path,
        req: OutRequest,
        kind: CallKind,
    ) -> Result<Response, ServerError> {
        if self.is_stopped() {
            return Err(ServerError::Shutdown);
        }
        let c = self.caller();
        c.wait(c.start_kind(endpoint, target, req, kind))
    }

    /// The grants of client-to-client authorizations (JSON list, no secrets).
    pub fn grants(&self) -> serde_json::Value {
        lock(&self.inner.shared.c2c).grants_json(std::time::SystemTime::now())
    }

    /// Revokes a grant: deletes it from the host's 11002 instance (the instance itself when
    /// no other requester is in its ACL) and, when it was the pair's last grant, the accounts
    /// on both clients. Returns a report of every step.
    pub fn revoke(&self, grant: u64) -> Result<serde_json::Value, ServerError> {
        let (tx, rx) = mpsc::channel();
        lock(&self.inner.jobs)
            .send(Job::Revoke(grant, tx))
            .map_err(|_| ServerError::Shutdown)?;
        // A revocation is up to 7 requests, each bounded by the request timeout.
        match rx.recv_timeout(self.inner.timeout * 8 + Duration::from_secs(2)) {
            Ok(r) => r,
            Err(RecvTimeoutError::Timeout) => Err(ServerError::Timeout),
            Err(RecvTimeoutError::Disconnected) => Err(ServerError::Shutdown),
        }
    }

    /// Reloads the policy file (`--policy`); on error the old policy stays in force. Returns
    /// the number of rules.
    pub fn reload_policy(&self) -> Result<usize, PolicyError> {
        ac::reload_policy(&self.inner.shared, &self.inner.config.c2c)
    }

    /// Replaces the policy in force (not the file).
    pub fn set_policy(&self, policy: Policy) {
        *lock(&self.inner.shared.policy) = policy;
    }

    /// The policy in force.
    pub fn policy(&self) -> Policy {
        lock(&self.inner.shared.policy).clone()
    }

    pub(crate) fn relays(&self) -> MutexGuard<'_, crate::relay::Relays> {
        lock(&self.inner.relays)
    }

    pub(crate) fn emit(&self, ev: Event) {
        self.inner.shared.emit(ev);
    }

    pub(crate) fn push_thread(&self, t: JoinHandle<()>) {
        lock(&self.inner.threads).push(t);
    }

    /// Read (GET). Without `format`, the client's format with fallback ([`formats`]).
    pub fn read(
        &self,
        endpoint: &str,
        path: &Path,
        format: Option<u16>,
    ) -> Result<Response, ServerError> {
        self.with_formats(endpoint, path, format, CallKind::Plain, |f| {
            Ok(ops::read(f))
        })
    }

    /// Write: replace (PUT) or partial update (POST) of an instance or resource. Without
    /// `format`, the client's format with fallback on 4.15 ([`formats`]).
    pub fn write(
        &self,
        endpoint: &str,
        path: &Path,
        records: &[OwnedRecord],
        format: Option<u16>,
        replace: bool,
    ) -> Result<Response, ServerError> {
        self.with_formats(endpoint, path, format, CallKind::Plain, |f| {
            ops::write(path, records, f, replace)
        })
    }

    /// Execute (POST on a resource) with optional arguments.
    pub fn execute(
        &self,
        endpoint: &str,
        path: &Path,
        args: Option<&str>,
    ) -> Result<Response, ServerError> {
        self.call(endpoint, *path, ops::execute(path, args)?, CallKind::Plain)
    }

    /// Create an instance of `object` (with the given ID, or one the client picks). Records
    /// lie under `/object/instance` (`/object/0` when the client picks); the answer's
    /// [`Response::location`] names the instance created. Without `format`, the client's
    /// format with fallback on 4.15 ([`formats`]).
    pub fn create(
        &self,
        endpoint: &str,
        object: u16,
        instance: Option<u16>,
        records: &[OwnedRecord],
        format: Option<u16>,
    ) -> Result<Response, ServerError> {
        let target = Path::object(object);
        self.with_formats(endpoint, &target, format, CallKind::Plain, |f| {
            ops::create(object, instance, records, f).map(|(_, req)| req)
        })
    }

    /// Delete an object instance.
    pub fn delete(&self, endpoint: &str, path: &Path) -> Result<Response, ServerError> {
        self.call(endpoint, *path, ops::delete(), CallKind::Plain)
    }

    /// Discover (GET with Accept 40).
    pub fn discover(&self, endpoint: &str, path: &Path) -> Result<Response, ServerError> {
        self.call(endpoint, *path, ops::discover(), CallKind::Plain)
    }

    /// Write-Attributes (PUT with Uri-Query only).
    pub fn write_attributes(
        &self,
        endpoint: &str,
        path: &Path,
        attrs: &Attributes,
    ) -> Result<Response, ServerError> {
        self.call(
            endpoint,
            *path,
            ops::write_attributes(attrs)?,
            CallKind::Plain,
        )
    }

    /// Observe (GET Observe=0). The first response is returned; notifications arrive as
    /// [`Event::Notification`]. Without `format`, the client's format with fallback. A
    /// success without the Observe option (the client did not add the observation, e.g. its
    /// pool is full) is [`ServerError::ObserveRefused`].
    pub fn observe(
        &self,
        endpoint: &str,
        path: &Path,
        format: Option<u16>,
    ) -> Result<Response, ServerError> {
        let r = self.with_formats(endpoint, path, format, CallKind::Observe, |f| {
            Ok(ops::observe(f, false))
        })?;
        if r.is_success() && r.observe.is_none() {
            return Err(ServerError::ObserveRefused(r.to_json().to_string()));
        }
        Ok(r)
    }

    /// Cancels an observation actively: GET with Observe=1, the observation's token and the
    /// options of the request that registered it (RFC 7641 3.6). Later notifications on that
    /// token are answered with RST.
    pub fn cancel_observe(&self, endpoint: &str, path: &Path) -> Result<Response, ServerError> {
        // The event loop replaces this request with the registering one.
        self.call(
            endpoint,
            *path,
            ops::observe(cf::SENML_CBOR, true),
            CallKind::CancelObserve,
        )
    }

    /// Read-Composite (FETCH with a list of paths). `format` defaults to SenML CBOR; with
    /// SenML JSON the list is in SenML JSON too.
    pub fn read_composite(
        &self,
        endpoint: &str,
        paths: &[Path],
        format: Option<u16>,
    ) -> Result<Response, ServerError> {
        let req = ops::read_composite(paths, format.unwrap_or(cf::SENML_CBOR))?;
        self.call(endpoint, Path::ROOT, req, CallKind::Plain)
    }

    /// Write-Composite (iPATCH) in `format`: SenML CBOR (default) or SenML JSON.
    pub fn write_composite(
        &self,
        endpoint: &str,
        records: &[OwnedRecord],
        format: Option<u16>,
    ) -> Result<Response, ServerError> {
        let req = ops::write_composite(records, format.unwrap_or(cf::SENML_CBOR))?;
        self.call(endpoint, Path::ROOT, req, CallKind::Plain)
    }
}

enum Owner {
    Call {
        reply: Sender<Result<Response, ServerError>>,
        kind: CallKind,
        endpoint: String,
        reg_id: String,
    },
    Bootstrap {
        endpoint: String,
    },
}

struct Exchange {
    peer: SocketAddr,
    mid: u16,
    target: Path,
    req: OutRequest,
    bytes: Vec<u8>,
    /// `None` once an empty ACK arrived (a separate response follows).
    retrans: Option<Retransmission>,
    deadline: Instant,
    body: Vec<u8>,
    /// Content-Format and Observe of the first block.
    first: Option<(Option<u16>, Option<u32>)>,
    owner: Owner,
}

struct Observation {
    endpoint: String,
    reg_id: String,
    path: Path,
    /// The registering request: a cancel repeats its options (RFC 7641 3.6).
    req: OutRequest,
}

struct BootstrapSession {
    peer: SocketAddr,
    steps: VecDeque<Step>,
    current: &'static str,
}

struct EventLoop {
    shared: Arc<Shared>,
    transport: Arc<dyn Transport>,
    rx: Receiver<Input>,
    config: Config,
    dedup: DedupCache,
    ids: IdGen,
    rng: Rng,
    exchanges: HashMap<Vec<u8>, Exchange>,
    observations: HashMap<Vec<u8>, Observation>,
    bootstraps: HashMap<String, BootstrapSession>,
    next_expiry_check: Instant,
    jobs: Sender<Job>,
    /// Separate CON responses to access requests, until ACKed.
    separate: Vec<SeparateResponse>,
}

struct SeparateResponse {
    peer: SocketAddr,
    mid: u16,
    bytes: Vec<u8>,
    retrans: Retransmission,
}

/// What the dispatcher decided for a request.
enum Dispatched {
    Reply(Reply),
    /// Reply, then start a bootstrap session.
    Bootstrap(Reply, String, BootstrapConfig),
    /// An empty ACK now, a separate response when the C2C worker is done.
    Deferred(ac::AcJob),
}

/// Options the server understands in requests it receives.
fn known_option(n: u16) -> bool {
    matches!(
        n,
        option::URI_HOST
            | option::URI_PORT
            | option::URI_PATH
            | option::URI_QUERY
            | option::CONTENT_FORMAT
            | option::ACCEPT
    )
}

impl EventLoop {
    fn run(mut self) {
        loop {
            if self.shared.stop.load(Ordering::Relaxed) {
                break;
            }
            let now = Instant::now();
            self.on_timers(now);
            let wait = self
                .next_wakeup(now)
                .saturating_duration_since(Instant::now())
                .clamp(Duration::from_millis(1), Duration::from_millis(500));
            match self.rx.recv_timeout(wait) {
                Ok(Input::Datagram(peer, data, sec)) => {
                    self.on_datagram(peer, &data, sec, Instant::now())
                }
                Ok(Input::Call(c)) => self.on_call(c, Instant::now()),
                Ok(Input::AcDone {
                    peer,
                    token,
                    con,
                    reply,
                }) => self.send_separate(peer, &token, con, &reply, Instant::now()),
                Ok(Input::Shutdown) | Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
        let tokens: Vec<Vec<u8>> = self.exchanges.keys().cloned().collect();
        for t in tokens {
            self.complete(&t, Err(ServerError::Shutdown), Instant::now());
        }
    }

    fn send_separate(
        &mut self,
        peer: SocketAddr,
        token: &[u8],
        con: bool,
        reply: &Reply,
        now: Instant,
    ) {
        let mid = self.ids.mid();
        let mtype = if con {
            MessageType::Con
        } else {
            MessageType::Non
        };
        let Some(bytes) = reply.encode(mtype, mid, token) else {
            return;
        };
        self.send(peer, &bytes);
        if con {
            let retrans = Retransmission::new(&self.config.transmission, now, self.rng.next_f64());
            self.separate.push(SeparateResponse {
                peer,
                mid,
                bytes,
                retrans,
            });
        }
    }

    fn next_wakeup(&self, now: Instant) -> Instant {
        let mut at = self.next_expiry_check.max(now);
        for s in &self.separate {
            at = at.min(s.retrans.next_at);
        }
        for ex in self.exchanges.values() {
            at = at.min(ex.deadline);
            if let Some(r) = &ex.retrans {
                at = at.min(r.next_at);
            }
        }
        at
    }

    fn send(&self, peer: SocketAddr, bytes: &[u8]) {
        // UDP send errors (unreachable peer) show up as timeouts of the exchange.
        let _ = self.transport.send_to(peer, bytes);
    }

    fn on_timers(&mut self, now: Instant) {
        let mut expired = Vec::new();
        let mut resend = Vec::new();
        for (tok, ex) in &mut self.exchanges {
            if ex.deadline <= now {
                expired.push(tok.clone());
                continue;
            }
            if let Some(r) = &mut ex.retrans {
                if r.next_at <= now {
                    match r.on_timeout(&self.config.transmission, now) {
                        RetransmitAction::Resend => resend.push((ex.peer, ex.bytes.clone())),
                        RetransmitAction::GiveUp => expired.push(tok.clone()),
                    }
                }
            }
        }
        let params = self.config.transmission;
        self.separate.retain_mut(|s| {
            if s.retrans.next_at > now {
                return true;
            }
            match s.retrans.on_timeout(&params, now) {
                RetransmitAction::Resend => {
                    resend.push((s.peer, s.bytes.clone()));
                    true
                }
                RetransmitAction::GiveUp => false,
            }
        });
        for (peer, bytes) in resend {
            self.send(peer, &bytes);
        }
        if let Some(flag) = &self.config.c2c.reload_flag {
            if flag.swap(false, Ordering::Relaxed) {
                let _ = ac::reload_policy(&self.shared, &self.config.c2c);
            }
        }
        for t in expired {
            self.complete(&t, Err(ServerError::Timeout), now);
        }
        if now >= self.next_expiry_check {
            self.next_expiry_check = now + self.config.expiry_check_interval;
            let gone = lock(&self.shared.registry).expire(now);
            for r in gone {
                self.drop_observations(&r.id, "registration expired");
                self.shared.emit(Event::Expired { registration: r });
            }
            self.dedup.purge(now);
        }
    }

    fn on_datagram(&mut self, peer: SocketAddr, data: &[u8], sec: PeerSecurity, now: Instant) {
        let m = match Message::parse(data) {
            Ok(m) => m,
            Err(_) => {
                // A malformed CON still gets a RST (RFC 7252 4.2) if its header is readable.
                if let [b0, _, m0, m1, ..] = *data {
                    if b0 >> 6 == 1 && (b0 >> 4) & 3 == 0 {
                        self.send_empty(peer, MessageType::Rst, u16::from_be_bytes([m0, m1]));
                    }
                }
                return;
            }
        };
        match m.mtype {
            MessageType::Con | MessageType::Non if code::is_request(m.code) => {
                self.on_request(peer, &m, sec, now)
            }
            MessageType::Con | MessageType::Non if code::is_response(m.code) => {
                self.on_response(peer, &m, now)
            }
            // CoAP ping, or a CON/NON with a code we do not handle.
            MessageType::Con => self.send_empty(peer, MessageType::Rst, m.message_id),
            MessageType::Non => {}
            MessageType::Ack => self.on_ack(peer, &m, now),
            MessageType::Rst => self.on_rst(peer, &m, now),
        }
    }

    fn send_empty(&self, peer: SocketAddr, mtype: MessageType, mid: u16) {
        if let Some(b) = msg::empty(mtype, mid) {
            self.send(peer, &b);
        }
    }

    fn on_request(&mut self, peer: SocketAddr, m: &Message<'_>, sec: PeerSecurity, now: Instant) {
        let con = m.mtype == MessageType::Con;
        match self.dedup.check(peer, m.message_id, now) {
            Dedup::New => {}
            Dedup::Duplicate(Some(bytes)) if con => return self.send(peer, &bytes),
            Dedup::Duplicate(_) => return,
        }
        let mut post = None;
        let reply = if m.unknown_critical_option(known_option).is_some() {
            Reply::code(code::BAD_OPTION)
        } else {
            let req = IncomingRequest::from_message(peer, m).map(|mut r| {
                r.security = sec;
                r
            });
            match req {
                Some(req) => match self.dispatch(&req, now) {
                    Dispatched::Reply(r) => r,
                    Dispatched::Bootstrap(r, ep, cfg) => {
                        post = Some((ep, cfg));
                        r
                    }
                    Dispatched::Deferred(mut job) => {
                        job.token = m.token.to_vec();
                        job.con = con;
                        if con {
                            if let Some(b) = msg::empty(MessageType::Ack, m.message_id) {
                                self.send(peer, &b);
                                self.dedup.set_response(peer, m.message_id, b);
                            }
                        }
                        if self.jobs.send(Job::Install(job)).is_err() {
                            let r = Reply::code(code::SERVICE_UNAVAILABLE);
                            self.send_separate(peer, m.token, con, &r, now);
                        }
                        return;
                    }
                },
                None => Reply::code(code::BAD_REQUEST),
            }
        };
        let (mtype, mid) = if con {
            (MessageType::Ack, m.message_id)
        } else {
            (MessageType::Non, self.ids.mid())
        };
        if let Some(bytes) = reply.encode(mtype, mid, m.token) {
            self.send(peer, &bytes);
            if con {
                self.dedup.set_response(peer, m.message_id, bytes);
            }
        }
        if let Some((ep, cfg)) = post {
            self.start_bootstrap(ep, peer, &cfg, now);
        }
    }

    fn dispatch(&mut self, req: &IncomingRequest, now: Instant) -> Dispatched {
        match req.path.first().map(String::as_str) {
            Some("rd") => {
                if let Some(c) = self.register_check(req) {
                    return Dispatched::Reply(Reply::code(c));
                }
                let (reply, outcome) = {
                    let mut reg = lock(&self.shared.registry);
                    registration::handle(&mut reg, req, now, &mut self.rng)
                };
                self.on_outcome(outcome);
                Dispatched::Reply(reply)
            }
            Some("bs") if req.path.len() == 1 => {
                if req.code != code::POST {
                    return Dispatched::Reply(Reply::code(code::METHOD_NOT_ALLOWED));
                }
                let Some(ep) = bootstrap::parse_bs_query(&req.query) else {
                    return Dispatched::Reply(Reply::code(code::BAD_REQUEST));
                };
                match bootstrap::lookup(&self.config.bootstrap, &ep) {
                    Some(cfg) => Dispatched::Bootstrap(Reply::code(code::CHANGED), ep, cfg.clone()),
                    None => Dispatched::Reply(Reply::code(code::BAD_REQUEST)),
                }
            }
            Some("ac") if req.path.len() == 1 => {
                if req.code != code::POST {
                    return Dispatched::Reply(Reply::code(code::METHOD_NOT_ALLOWED));
                }
                let (checked, event) = {
                    let registry = lock(&self.shared.registry);
                    let policy = lock(&self.shared.policy);
                    let state = lock(&self.shared.c2c);
                    ac::check(req, &registry, &policy, &state, &self.config.c2c)
                };
                self.shared.emit(event);
                match checked {
                    Checked::Reply(r) => Dispatched::Reply(r),
                    Checked::Install(job) => Dispatched::Deferred(job),
                }
            }
            _ => Dispatched::Reply(Reply::code(code::NOT_FOUND)),
        }
    }

    /// A Register of an endpoint with credentials must come over its secure channel, and a
    /// secure channel may only register the endpoint its identity is bound to.
    fn register_check(&self, req: &IncomingRequest) -> Option<u8> {
        if req.code != code::POST || req.path.len() != 1 {
            return None;
        }
        let ep = req.query.iter().find_map(|q| q.strip_prefix("ep="))?;
        let creds = &self.config.credentials;
        let ok = match creds.expected(ep) {
            Some(exp) => exp == req.security,
            None => {
                req.security == PeerSecurity::NoSec || creds.endpoint_of(&req.security) == Some(ep)
            }
        };
        (!ok).then_some(code::FORBIDDEN)
    }

    fn on_outcome(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Nothing => {}
            Outcome::Registered {
                registration,
                replaced,
                lifetime_requested,
            } => {
                if let Some(old) = &replaced {
                    self.drop_observations(&old.id, "client registered again");
                }
                if let Some(requested) = lifetime_requested {
                    self.shared.emit(Event::RegistrationLimited {
                        endpoint: registration.endpoint.clone(),
                        reason: format!(
                            "lifetime {requested} s shortened to {} s (--max-lifetime)",
                            registration.lifetime
                        ),
                    });
                }
                self.shared.emit(Event::Registered {
                    registration,
                    replaced: replaced.map(|r| r.id),
                });
            }
            Outcome::Updated(registration) => self.shared.emit(Event::Updated { registration }),
            Outcome::Refused { endpoint, reason } => {
                self.shared
                    .emit(Event::RegistrationLimited { endpoint, reason });
            }
            Outcome::Deregistered(registration) => {
                self.drop_observations(&registration.id, "client de-registered");
                self.shared.emit(Event::Deregistered { registration });
            }
        }
    }

    fn drop_observations(&mut self, reg_id: &str, reason: &str) {
        let gone: Vec<Vec<u8>> = self
            .observations
            .iter()
            .filter(|(_, o)| o.reg_id == reg_id)
            .map(|(t, _)| t.clone())
            .collect();
        for t in gone {
            if let Some(o) = self.observations.remove(&t) {
                self.shared.emit(Event::ObservationEnded {
                    endpoint: o.endpoint,
                    path: o.path,
                    reason: reason.into(),
                });
            }
        }
    }

    fn on_response(&mut self, peer: SocketAddr, m: &Message<'_>, now: Instant) {
        let con = m.mtype == MessageType::Con;
        if let Dedup::Duplicate(_) = self.dedup.check(peer, m.message_id, now) {
            if con {
                self.send_empty(peer, MessageType::Ack, m.message_id);
            }
            return;
        }
        let token = m.token.to_vec();
        let ack = |s: &mut Self| {
            if con {
                s.send_empty(peer, MessageType::Ack, m.message_id);
            }
        };
        if self.exchanges.get(&token).is_some_and(|e| e.peer == peer) {
            // A separate response.
            ack(self);
            self.on_exchange_response(&token, m, now);
        } else if let Some((endpoint, path)) = self
            .observations
            .get(&token)
            .map(|o| (o.endpoint.clone(), o.path))
        {
            ack(self);
            let response = Response {
                code: m.code,
                content_format: content_format(m),
                payload: m.payload.to_vec(),
                observe: observe_value(m),
                path,
                location: Vec::new(),
            };
            if response.is_success() && response.observe.is_some() {
                self.shared.emit(Event::Notification {
                    endpoint,
                    path,
                    response,
                });
            } else {
                // An error or a response without Observe ends the observation (RFC 7641 3.2).
                self.observations.remove(&token);
                self.shared.emit(Event::ObservationEnded {
                    endpoint,
                    path,
                    reason: format!("client answered {}", msg::code_string(m.code)),
                });
            }
        } else {
            // Nobody waits for this (e.g. a notification after cancel): reject it.
            self.send_empty(peer, MessageType::Rst, m.message_id);
        }
    }

    fn on_ack(&mut self, peer: SocketAddr, m: &Message<'_>, now: Instant) {
        self.separate
            .retain(|s| !(s.mid == m.message_id && s.peer == peer));
        let Some(token) = self
            .exchanges
            .iter()
            .find(|(_, e)| e.mid == m.message_id && e.peer == peer)
            .map(|(t, _)| t.clone())
        else {
            return;
        };
        if m.code == code::EMPTY {
            if let Some(ex) = self.exchanges.get_mut(&token) {
                ex.retrans = None;
            }
        } else if m.token == token.as_slice() {
            self.on_exchange_response(&token, m, now);
        }
    }

    fn on_rst(&mut self, peer: SocketAddr, m: &Message<'_>, now: Instant) {
        self.separate
            .retain(|s| !(s.mid == m.message_id && s.peer == peer));
        let token = self
            .exchanges
            .iter()
            .find(|(_, e)| e.mid == m.message_id && e.peer == peer)
            .map(|(t, _)| t.clone());
        if let Some(t) = token {
            self.complete(&t, Err(ServerError::Reset), now);
        }
    }

    fn on_exchange_response(&mut self, token: &[u8], m: &Message<'_>, now: Instant) {
        let max_body = self.config.max_body;
        let Some(ex) = self.exchanges.get_mut(token) else {
            return;
        };
        let first = *ex
            .first
            .get_or_insert((content_format(m), observe_value(m)));
        ex.body.extend_from_slice(m.payload);
        if ex.body.len() > max_body {
            return self.complete(token, Err(ServerError::TooLarge), now);
        }
        let block2 = m.option(option::BLOCK2).and_then(Block::decode);
        if let Some(b) = block2.filter(|b| b.more && m.code >> 5 == 2) {
            let mut req = ex.req.clone();
            req.observe = None;
            req.block2 = Some(Block {
                num: b.num + 1,
                more: false,
                szx: b.szx,
            });
            let mid = self.ids.mid();
            let Some(bytes) = req.encode(mid, token) else {
                return self.complete(token, Err(ServerError::TooLarge), now);
            };
            ex.mid = mid;
            ex.bytes = bytes;
            ex.retrans = Some(Retransmission::new(
                &self.config.transmission,
                now,
                self.rng.next_f64(),
            ));
            let (peer, bytes) = (ex.peer, ex.bytes.clone());
            return self.send(peer, &bytes);
        }
        let response = Response {
            code: m.code,
            content_format: first.0,
            payload: std::mem::take(&mut ex.body),
            observe: first.1,
            path: ex.target,
            location: location_path(m),
        };
        self.complete(token, Ok(response), now);
    }

    fn complete(&mut self, token: &[u8], result: Result<Response, ServerError>, now: Instant) {
        let Some(ex) = self.exchanges.remove(token) else {
            return;
        };
        match ex.owner {
            Owner::Call {
                reply,
                kind,
                endpoint,
                reg_id,
            } => {
                if let (CallKind::Observe, Ok(r)) = (kind, &result) {
                    if r.is_success() && r.observe.is_some() {
                        self.observations.insert(
                            token.to_vec(),
                            Observation {
                                endpoint,
                                reg_id,
                                path: ex.target,
                                req: ex.req.clone(),
                            },
                        );
                    }
                }
                let _ = reply.send(result);
            }
            Owner::Bootstrap { endpoint } => self.bootstrap_step_done(endpoint, result, now),
        }
    }

    fn on_call(&mut self, call: Call, now: Instant) {
        let reg = lock(&self.shared.registry).get(&call.endpoint).cloned();
        let Some(reg) = reg else {
            let _ = call
                .reply
                .send(Err(ServerError::UnknownEndpoint(call.endpoint)));
            return;
        };
        let mut req = call.req;
        let token = match call.kind {
            CallKind::CancelObserve => {
                let found = self
                    .observations
                    .iter()
                    .find(|(_, o)| o.endpoint == call.endpoint && o.path == call.target)
                    .map(|(t, _)| t.clone());
                match found.and_then(|t| self.observations.remove(&t).map(|o| (t, o))) {
                    Some((t, o)) => {
                        // The registering request's options (Accept, query), Observe = 1.
                        req = OutRequest {
                            observe: Some(1),
                            block2: None,
                            ..o.req
                        };
                        t
                    }
                    None => {
                        let _ = call.reply.send(Err(ServerError::NotObserved));
                        return;
                    }
                }
            }
            _ => self.ids.token(),
        };
        req.path = reg.uri_path(&call.target);
        let owner = Owner::Call {
            reply: call.reply,
            kind: call.kind,
            endpoint: call.endpoint,
            reg_id: reg.id,
        };
        self.send_request(reg.addr, call.target, req, token, owner, call.deadline, now);
    }

    #[allow(clippy::too_many_arguments)]
    fn send_request(
        &mut self,
        peer: SocketAddr,
        target: Path,
        req: OutRequest,
        token: Vec<u8>,
        owner: Owner,
        deadline: Instant,
        now: Instant,
    ) {
        let mid = self.ids.mid();
        let bytes = req.encode(mid, &token);
        let ok = bytes.is_some();
        let ex = Exchange {
            peer,
            mid,
            target,
            req,
            bytes: bytes.unwrap_or_default(),
            retrans: Some(Retransmission::new(
                &self.config.transmission,
                now,
                self.rng.next_f64(),
            )),
            deadline,
            body: Vec::new(),
            first: None,
            owner,
        };
        if ok {
            self.send(peer, &ex.bytes);
        }
        self.exchanges.insert(token.clone(), ex);
        if !ok {
            let e = ServerError::InvalidArgument("request does not fit a CoAP message".into());
            self.complete(&token, Err(e), now);
        }
    }

    fn start_bootstrap(
        &mut self,
        endpoint: String,
        peer: SocketAddr,
        cfg: &BootstrapConfig,
        now: Instant,
    ) {
        self.shared.emit(Event::Bootstrap {
            endpoint: endpoint.clone(),
            step: "request".into(),
            code: None,
            detail: None,
        });
        match bootstrap::plan(cfg) {
            Ok(steps) => {
                self.bootstraps.insert(
                    endpoint.clone(),
                    BootstrapSession {
                        peer,
                        steps: steps.into(),
                        current: "request",
                    },
                );
                self.bootstrap_next(endpoint, now);
            }
            Err(e) => self.shared.emit(Event::BootstrapFailed {
                endpoint,
                step: "request".into(),
                reason: e.to_string(),
            }),
        }
    }

    fn bootstrap_next(&mut self, endpoint: String, now: Instant) {
        let Some(s) = self.bootstraps.get_mut(&endpoint) else {
            return;
        };
        let Some(step) = s.steps.pop_front() else {
            self.bootstraps.remove(&endpoint);
            self.shared.emit(Event::BootstrapFinished { endpoint });
            return;
        };
        s.current = step.name;
        let peer = s.peer;
        let token = self.ids.token();
        let deadline = now + self.config.request_timeout;
        self.send_request(
            peer,
            Path::ROOT,
            step.request,
            token,
            Owner::Bootstrap { endpoint },
            deadline,
            now,
        );
    }

    fn bootstrap_step_done(
        &mut self,
        endpoint: String,
        result: Result<Response, ServerError>,
        now: Instant,
    ) {
        let Some(step) = self.bootstraps.get(&endpoint).map(|s| s.current) else {
            return;
        };
        let failure = match &result {
            Ok(r) => {
                let detail = (step == "discover" && !r.payload.is_empty())
                    .then(|| String::from_utf8_lossy(&r.payload).into_owned());
                self.shared.emit(Event::Bootstrap {
                    endpoint: endpoint.clone(),
                    step: step.into(),
                    code: Some(r.code),
                    detail,
                });
                (!r.is_success()).then(|| format!("client answered {}", msg::code_string(r.code)))
            }
            Err(e) => Some(e.to_string()),
        };
        match failure {
            None => self.bootstrap_next(endpoint, now),
            Some(reason) => {
                self.bootstraps.remove(&endpoint);
                self.shared.emit(Event::BootstrapFailed {
                    endpoint,
                    step: step.into(),
                    reason,
                });
            }
        }
    }
}

fn content_format(m: &Message<'_>) -> Option<u16> {
    match m.option_uint(option::CONTENT_FORMAT) {
        Some(Ok(v)) => u16::try_from(v).ok(),
        _ => None,
    }
}

/// The Location-Path segments of a response (a Create's 2.01).
fn location_path(m: &Message<'_>) -> Vec<String> {
    m.options()
        .filter(|o| o.number == option::LOCATION_PATH)
        .map(|o| String::from_utf8_lossy(o.value).into_owned())
        .collect()
}

fn observe_value(m: &Message<'_>) -> Option<u32> {
    match m.option_uint(option::OBSERVE) {
        Some(Ok(v)) => Some(v),
        _ => None,
    }
}
