//! [`ServerHandle`]: every operation toward a registered client, the registry, the event
//! stream, grants and policy.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use lwm2m::coap::content_format as cf;
use lwm2m::Path;

use crate::access::ac::{self, Job};
use crate::shared::{CallKind, Caller, Input, Shared};
use crate::sync::lock;

use crate::access::policy::{Policy, PolicyError};
use crate::config::Config;
use crate::dm::formats;
use crate::dm::ops::{self, Attributes, Response};
use crate::dm::values::OwnedRecord;
use crate::error::ServerError;
use crate::event::Event;
use crate::registration::Registration;
use crate::transport::msg::OutRequest;

pub(super) struct HandleInner {
    pub(super) shared: Arc<Shared>,
    pub(super) tx: Mutex<Sender<Input>>,
    pub(super) jobs: Mutex<Sender<Job>>,
    pub(super) config: Config,
    pub(super) relays: Mutex<crate::relay::Relays>,
    pub(super) coap_addr: SocketAddr,
    pub(super) coaps_addr: Mutex<Option<SocketAddr>>,
    pub(super) http_addr: Mutex<Option<SocketAddr>>,
    pub(super) timeout: Duration,
    pub(super) threads: Mutex<Vec<JoinHandle<()>>>,
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
    pub(super) inner: Arc<HandleInner>,
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

    /// Records the bound HTTP address ([`ServerHandle::start_http`]).
    pub(crate) fn set_http_addr(&self, addr: SocketAddr) {
        *lock(&self.inner.http_addr) = Some(addr);
    }

    /// The HTTP API's limits and credential.
    pub(crate) fn http_config(&self) -> &crate::config::HttpConfig {
        &self.inner.config.http
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

    /// The packages served for pulls ([`crate::fota`]).
    pub(crate) fn packages(&self) -> MutexGuard<'_, crate::fota::PackageStore> {
        lock(&self.inner.shared.packages)
    }

    /// The registration of one endpoint.
    pub fn client(&self, endpoint: &str) -> Option<Registration> {
        lock(&self.inner.shared.registry).get(endpoint).cloned()
    }

    /// The latest values `endpoint` sent (`POST /dp`, [`crate::reporting`]) under its current
    /// registration; `None` if it sent nothing yet.
    pub fn sent_values(
        &self,
        endpoint: &str,
    ) -> Result<Option<crate::reporting::Received>, ServerError> {
        let registry = lock(&self.inner.shared.registry);
        if registry.get(endpoint).is_none() {
            return Err(ServerError::UnknownEndpoint(endpoint.into()));
        }
        Ok(lock(&self.inner.shared.sends)
            .get(endpoint, &registry)
            .cloned())
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

    /// Observe-Composite (FETCH with Observe=0 and the list of `paths`, LwM2M 1.1): the first
    /// response is returned; notifications, each with the records of every path, arrive as
    /// [`Event::Notification`] with path `/`. `format` as for [`ServerHandle::read_composite`];
    /// a success without Observe is [`ServerError::ObserveRefused`]. Cancel with
    /// [`ServerHandle::cancel_observe`] on `/`.
    pub fn observe_composite(
        &self,
        endpoint: &str,
        paths: &[Path],
        format: Option<u16>,
    ) -> Result<Response, ServerError> {
        let mut req = ops::read_composite(paths, format.unwrap_or(cf::SENML_CBOR))?;
        req.observe = Some(0);
        let r = self.call(endpoint, Path::ROOT, req, CallKind::Observe)?;
        if r.is_success() && r.observe.is_none() {
            return Err(ServerError::ObserveRefused(r.to_json().to_string()));
        }
        Ok(r)
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
