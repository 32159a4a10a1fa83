//! The engine: request dispatch, access control, the DM operations (one module each, after
//! Anjay's `core/dm`), observation, registration and bootstrap.
//!
//! A driver feeds it:
//! - [`Engine::handle_request`] for every incoming request, with the [`Peer`] the transport
//!   authenticated, writing the response into a [`MessageBuilder`] the driver prepared (type,
//!   message ID and token are the driver's);
//! - [`Engine::handle_response`] / [`Engine::request_failed`] for answers to requests it sent;
//! - [`Engine::poll`] whenever [`Engine::next_wakeup`] is reached or something changed, to
//!   collect outgoing requests and notifications.

mod access;
mod accounts;
mod attributes;
mod block;
#[cfg(feature = "bootstrap")]
mod bootstrap;
#[cfg(feature = "c2c")]
mod c2c;
#[cfg(feature = "c2c-auth")]
mod c2c_auth;
#[cfg(feature = "write")]
mod create;
#[cfg(feature = "write")]
mod delete;
#[cfg(feature = "discover")]
mod discover;
mod execute;
#[cfg(feature = "fota")]
mod firmware;
#[cfg(feature = "c2c")]
mod hint_limit;
mod observe;
#[cfg(feature = "observe-composite")]
mod observe_composite;
#[cfg(feature = "queue-mode")]
mod queue;
mod read;
mod register;
mod request;
#[cfg(feature = "send")]
mod send;
mod tree;
#[cfg(feature = "write")]
mod write;

pub use crate::coap::dedup::source_key;
pub use accounts::ServerConfig;
pub use attributes::Attributes;
#[cfg(feature = "c2c")]
pub use c2c::ClientAccount;
#[cfg(feature = "c2c-auth")]
pub use c2c_auth::{AccessOutcome, AccessResult, ACCESS_BACKOFF, ACCESS_TRIES, REFRESH_PERMILLE};
#[cfg(feature = "c2c")]
pub use hint_limit::{
    HintCounters, HINT_BURST, HINT_GLOBAL_BURST, HINT_GLOBAL_REFILL_MS, HINT_REFILL_MS,
};
#[cfg(feature = "queue-mode")]
pub use queue::{QueueCounters, QueueState, DEFAULT_AWAKE_MS};
pub use register::{RegistrationState, RetryPolicy};
pub(crate) use request::Request;
#[cfg(feature = "send")]
pub use send::{SendError, SendOutcome, SendResult};

use core::mem::MaybeUninit;

use crate::coap::{code, Message, MessageBuilder};
use crate::config::{ENDPOINT_LEN, MAX_OBJECTS};
use crate::dm::{Caller, Object, ObjectDef};
use crate::error::{Error, Result};
use crate::objects::access_control::AccessControl;
use crate::objects::security::Security;
use crate::objects::server::Server;
use crate::path::Path;
use crate::value::{DataType, Value};

/// Milliseconds on the driver's monotonic clock.
pub type Millis = u64;

/// Who sent a request, as the transport established it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identity {
    /// An LwM2M server, by Short Server ID.
    Server(u16),
    /// The bootstrap server.
    Bootstrap,
    /// A requesting client, by Short Client ID (client-to-client extension).
    Client(u16),
    /// Nobody the transport could authenticate.
    Unauthenticated,
}

/// The peer of a request: its identity and an opaque handle the driver uses to reach it again
/// (notifications go back to the same handle).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer {
    /// The authenticated identity.
    pub identity: Identity,
    /// Driver-defined handle of the remote endpoint / session.
    pub endpoint: u32,
    /// The driver's key of the remote's network address without port: a hash of the IPv4
    /// address, or of the full IPv6 address (not of the /64: on a 6LoWPAN all nodes share one
    /// prefix). Rate limits that must not let one remote starve others (owner server hints)
    /// count per source; [`coap::dedup::source_key`](crate::coap::dedup::source_key) computes
    /// it from the address bytes. 0 when the
    /// driver knows no address.
    pub source: u32,
}

/// Where an outgoing message goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    /// A DM server by Short Server ID (its URI is in the Security object).
    Server(u16),
    /// The bootstrap server.
    Bootstrap,
    /// A peer handle from an earlier request (notifications).
    Endpoint(u32),
}

/// A message [`Engine::poll`] built for the driver to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// Where to send it.
    pub dest: Destination,
    /// Bytes of the message at the start of the poll buffer. The message ID is 0: the driver's
    /// message layer sets it.
    pub len: usize,
    /// True for CON (the driver retransmits and reports the outcome), false for NON.
    pub confirmable: bool,
}

/// The LwM2M client engine. `'a` is the lifetime of the application objects.
pub struct Engine<'a> {
    endpoint: crate::objects::Text<ENDPOINT_LEN>,
    /// Object 0.
    pub(crate) security: Security,
    /// Object 1.
    pub(crate) server: Server,
    /// Object 2.
    pub(crate) acl: AccessControl,
    objects: &'a mut [&'a mut dyn Object],
    observations: observe::Observations,
    attributes: attributes::AttributeStore,
    registration: register::Registrations,
    #[cfg(feature = "bootstrap")]
    bootstrap: bootstrap::Bootstrap,
    block1: block::Block1,
    block1_buf: Option<&'a mut [u8]>,
    rng: u64,
    #[cfg(feature = "c2c")]
    c2c: c2c::State,
    #[cfg(feature = "send")]
    sends: send::Sends,
    #[cfg(feature = "queue-mode")]
    queue: queue::Queue,
    /// Object 5 (see [`Engine::set_firmware`]).
    #[cfg(feature = "fota")]
    firmware: Option<&'a mut crate::firmware::Firmware<'a>>,
    /// See [`Engine::config_generation`].
    generation: u32,
}

impl<'a> Engine<'a> {
    /// An engine with endpoint name `endpoint`, application `objects` (the Device object among
    /// them; IDs must be unique and not 0, 1 or 2, nor 11000, 11001, 11002 or 21 with `c2c`) and a seed for token and jitter generation
    /// (take it from a hardware RNG).
    pub fn new(endpoint: &str, objects: &'a mut [&'a mut dyn Object], seed: u64) -> Result<Self> {
        let endpoint = Self::check(endpoint, objects)?;
        Ok(Self::build(endpoint, objects, seed))
    }

    /// [`Engine::new`], built in `slot` rather than returned: a driver whose engine lives in a
    /// static (RIOT's) never has the whole engine on a thread's stack, which on a device is
    /// smaller than the engine. `slot` is left untouched on error.
    pub fn new_in<'s>(
        slot: &'s mut MaybeUninit<Self>,
        endpoint: &str,
        objects: &'a mut [&'a mut dyn Object],
        seed: u64,
    ) -> Result<&'s mut Self> {
        let endpoint = Self::check(endpoint, objects)?;
        Ok(slot.write(Self::build(endpoint, objects, seed)))
    }

    fn check(
        endpoint: &str,
        objects: &[&'a mut dyn Object],
    ) -> Result<crate::objects::Text<ENDPOINT_LEN>> {
        let mut ep = heapless::String::new();
        ep.push_str(endpoint).map_err(|_| Error::BadRequest)?;
        if endpoint.is_empty() || objects.len() + BUILT_IN.len() > MAX_OBJECTS {
            return Err(Error::BadRequest);
        }
        for (i, o) in objects.iter().enumerate() {
            let id = o.def().id;
            if BUILT_IN.contains(&id) || objects[..i].iter().any(|p| p.def().id == id) {
                return Err(Error::BadRequest);
            }
        }
        Ok(ep)
    }

    // Inlined into both constructors, so that `new_in` writes each part straight into its slot.
    #[inline(always)]
    fn build(
        endpoint: crate::objects::Text<ENDPOINT_LEN>,
        objects: &'a mut [&'a mut dyn Object],
        seed: u64,
    ) -> Self {
        Engine {
            endpoint,
            security: Security::default(),
            server: Server::default(),
            acl: AccessControl::default(),
            objects,
            observations: observe::Observations::default(),
            attributes: attributes::AttributeStore::default(),
            registration: register::Registrations::default(),
            #[cfg(feature = "bootstrap")]
            bootstrap: bootstrap::Bootstrap::default(),
            block1: block::Block1::default(),
            block1_buf: None,
            rng: seed | 1,
            #[cfg(feature = "c2c")]
            c2c: c2c::State::default(),
            #[cfg(feature = "send")]
            sends: send::Sends::default(),
            #[cfg(feature = "queue-mode")]
            queue: queue::Queue::default(),
            #[cfg(feature = "fota")]
            firmware: None,
            generation: 0,
        }
    }

    /// The endpoint name.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The Security (0) instances: server URIs and credentials, for the driver's transports.
    pub fn security(&self) -> &Security {
        &self.security
    }

    /// The Server (1) instances.
    pub fn servers(&self) -> &Server {
        &self.server
    }

    /// The Access Control (2) instances.
    pub fn access_control(&self) -> &AccessControl {
        &self.acl
    }

    /// Registration state toward a server.
    pub fn registration_state(&self, ssid: u16) -> RegistrationState {
        self.registration.state(ssid)
    }

    /// Number of active observations (for tests and diagnostics).
    pub fn observation_count(&self) -> usize {
        self.observations.len()
    }

    /// True if the engine still refers to peer handle `endpoint` (an observation notifies it,
    /// or a Block1 transfer or, with `fota`, a firmware download from it is in progress): a driver must not give the handle to
    /// another remote while this holds. Handles it refers to no longer are free to forget.
    pub fn endpoint_in_use(&self, endpoint: u32) -> bool {
        #[cfg(feature = "queue-mode")]
        if self.queue_refers_to(endpoint) {
            return true;
        }
        #[cfg(feature = "fota")]
        if self.fota_endpoint_in_use(endpoint) {
            return true;
        }
        self.observations.has_endpoint(endpoint) || self.block1.has_endpoint(endpoint)
    }

    /// Sets a resource value on behalf of the firmware (bypassing the R/W restriction, like a
    /// sensor updating its reading) and schedules the notifications it causes.
    pub fn set_value(&mut self, path: &Path, value: Value<'_>, now: Millis) -> Result<()> {
        let (o, i, r) = match path.ids() {
            [o, i, r] | [o, i, r, _] => (*o, *i, *r),
            _ => return Err(Error::BadRequest),
        };
        let dt = self.type_of(path).ok_or(Error::NotFound)?;
        let v = value.coerce(dt).ok_or(Error::BadRequest)?;
        let obj = self.object_mut(o).ok_or(Error::NotFound)?;
        obj.write(Caller::Local, i, r, path.resource_instance_id(), &v)?;
        self.value_changed(path, now);
        Ok(())
    }

    /// Tells the engine that the value at `path` changed (for objects that update themselves).
    pub fn value_changed(&mut self, path: &Path, now: Millis) {
        self.observations.mark_changed(path, now);
    }

    /// Mutable access to an application object, e.g. to update several values at once;
    /// call [`Engine::value_changed`] afterwards.
    pub fn object_mut(&mut self, id: u16) -> Option<&mut dyn Object> {
        match id {
            0 => Some(&mut self.security),
            1 => Some(&mut self.server),
            2 => Some(&mut self.acl),
            #[cfg(feature = "c2c")]
            crate::c2c::CLIENT_SECURITY
            | crate::c2c::CLIENT
            | crate::c2c::CLIENT_ACCESS_CONTROL
            | crate::c2c::OSCORE => self.c2c_object_mut(id),
            #[cfg(feature = "fota")]
            crate::firmware::ID if self.firmware.is_some() => self.firmware_object_mut(),
            _ => self
                .objects
                .iter_mut()
                .find(|o| o.def().id == id)
                .map(|o| &mut **o as &mut dyn Object),
        }
    }

    /// Shared access to an object.
    pub fn object(&self, id: u16) -> Option<&dyn Object> {
        match id {
            0 => Some(&self.security),
            1 => Some(&self.server),
            2 => Some(&self.acl),
            #[cfg(feature = "c2c")]
            crate::c2c::CLIENT_SECURITY
            | crate::c2c::CLIENT
            | crate::c2c::CLIENT_ACCESS_CONTROL
            | crate::c2c::OSCORE => self.c2c_object(id),
            #[cfg(feature = "fota")]
            crate::firmware::ID if self.firmware.is_some() => self.firmware_object(),
            _ => self
                .objects
                .iter()
                .find(|o| o.def().id == id)
                .map(|o| &**o as &dyn Object),
        }
    }

    /// Object IDs in ascending order.
    fn object_ids(&self) -> heapless::Vec<u16, MAX_OBJECTS> {
        let mut ids: heapless::Vec<u16, MAX_OBJECTS> = heapless::Vec::new();
        for id in BUILT_IN {
            let _ = ids.push(id);
        }
        for o in self.objects.iter() {
            let _ = ids.push(o.def().id);
        }
        #[cfg(feature = "fota")]
        if self.firmware.is_some() {
            let _ = ids.push(crate::firmware::ID);
        }
        // Insertion sort: a handful of IDs, and `sort_unstable` costs 2 KB of flash.
        for i in 1..ids.len() {
            let mut j = i;
            while j > 0 && ids[j - 1] > ids[j] {
                ids.swap(j - 1, j);
                j -= 1;
            }
        }
        ids
    }

    /// The definitions of all objects, for decoders (detached from `self` so writes can run
    /// while a decoder is alive). Only the writing operations decode payloads.
    #[cfg(feature = "write")]
    fn defs(&self) -> Defs {
        let mut d = heapless::Vec::new();
        for id in self.object_ids() {
            if let Some(o) = self.object(id) {
                let _ = d.push(o.def());
            }
        }
        Defs(d)
    }

    /// Declared type of a path. With `write` through [`Engine::defs`], which the decoders
    /// need anyway (smaller there); without it from the one object's definition, so that
    /// `defs` is not linked at all (`make size`: -120 B for `tiny`, +30 B elsewhere).
    fn type_of(&self, path: &Path) -> Option<DataType> {
        #[cfg(feature = "write")]
        return self.defs().type_of(path);
        #[cfg(not(feature = "write"))]
        type_in(self.object(path.object_id()?)?.def(), path)
    }

    /// Next random 32 bits (xorshift64*; seeded by the driver's RNG).
    #[inline(never)] // one copy instead of one per use: smaller (`make size`)
    fn random(&mut self) -> u32 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
    }

    /// Mixes fresh entropy into the token generator.
    pub fn add_entropy(&mut self, e: u64) {
        self.rng ^= e;
        if self.rng == 0 {
            self.rng = 1;
        }
        let _ = self.random();
    }

    /// Handles one request and writes the response code, options and payload into `resp`
    /// (whose header and token the driver has set). Every input, however malformed, yields a
    /// well-formed response; stored state is only changed by operations that succeed.
    pub fn handle_request(
        &mut self,
        peer: &Peer,
        req: &Message<'_>,
        now: Millis,
        resp: &mut MessageBuilder<'_>,
    ) {
        resp.reset_options();
        // Queue Mode: the response is a message sent, the awake time starts again.
        #[cfg(feature = "queue-mode")]
        self.queue_answered(now);
        #[cfg(feature = "c2c")]
        self.c2c_tick(now);
        if matches!(peer.identity, Identity::Server(_) | Identity::Bootstrap)
            && !matches!(req.code, code::GET | code::FETCH)
        {
            // Counted even if the request fails: a failed Write-Composite may still have
            // touched instances, and a spare re-read costs the driver little.
            self.touch_config();
        }
        #[cfg(feature = "fota")]
        let firmware = self.fota_snapshot();
        let result = self.dispatch(peer, req, now, resp);
        #[cfg(feature = "fota")]
        self.fota_changed(firmware, now);
        if let Err(e) = result {
            resp.reset_options();
            resp.set_code(e.code());
            #[cfg(feature = "c2c")]
            if e == Error::Unauthorized
                && matches!(
                    peer.identity,
                    Identity::Unauthenticated | Identity::Client(_)
                )
            {
                self.write_hint(peer, req, now, resp);
            }
        }
    }

    /// A number that changes whenever a server or the bootstrap server sent a request that
    /// may change objects (anything but GET and FETCH), and, with `c2c`, whenever a peer
    /// client account closes or comes back from Disable. Drivers that mirror credentials from
    /// objects 0, 11000 and 21 into their transports re-read them only when it changed.
    pub fn config_generation(&self) -> u32 {
        self.generation
    }

    pub(crate) fn touch_config(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    fn dispatch(
        &mut self,
        peer: &Peer,
        req: &Message<'_>,
        now: Millis,
        resp: &mut MessageBuilder<'_>,
    ) -> Result<()> {
        if !code::is_request(req.code) {
            return Err(Error::BadRequest);
        }
        if req.unknown_critical_option(request::known_option).is_some() {
            return Err(Error::BadOption);
        }
        // Peers nobody authenticated learn nothing but the owner server hint (T0).
        #[cfg(feature = "c2c")]
        if peer.identity == Identity::Unauthenticated {
            return Err(Error::Unauthorized);
        }
        // Bootstrap-Finish is the only request on a non-numeric path.
        #[cfg(feature = "bootstrap")]
        if let Some(first) = req.uri_path().next() {
            if first == b"bs" {
                return if req.uri_path().nth(1).is_none() && req.code == code::POST {
                    self.bootstrap_finish(peer, now, resp)
                } else {
                    Err(Error::NotFound)
                };
            }
        }
        let mut path = Path::ROOT;
        for seg in req.uri_path() {
            if seg.is_empty() && path.is_root() {
                continue;
            }
            let id = Path::parse_segment(seg).map_err(|_| Error::NotFound)?;
            path = path.child(id).map_err(|_| Error::NotFound)?;
        }
        let op = Request::new(req, path)?;
        match peer.identity {
            #[cfg(feature = "c2c")]
            Identity::Client(cid) => self.handle_client(peer, cid, &op, req, now, resp),
            #[cfg(not(feature = "c2c"))]
            Identity::Client(_) => Err(Error::Unauthorized),
            Identity::Unauthenticated => Err(Error::Unauthorized),
            #[cfg(feature = "bootstrap")]
            Identity::Bootstrap => self.handle_bootstrap(peer, &op, req, now, resp),
            #[cfg(not(feature = "bootstrap"))]
            Identity::Bootstrap => Err(Error::Unauthorized),
            Identity::Server(ssid) => {
                if self.server.by_ssid(ssid).is_none() {
                    return Err(Error::Unauthorized);
                }
                self.handle_dm(peer, Caller::Server(ssid), &op, req, now, resp)
            }
        }
    }

    /// The DM and information reporting operations of a server (or, with `c2c`, of a
    /// requesting client whose rights on the target were checked).
    fn handle_dm(
        &mut self,
        peer: &Peer,
        caller: Caller,
        op: &Request<'_>,
        req: &Message<'_>,
        now: Millis,
        resp: &mut MessageBuilder<'_>,
    ) -> Result<()> {
        match req.code {
            #[cfg(feature = "discover")]
            code::GET if op.accept == Some(crate::coap::content_format::LINK_FORMAT) => {
                self.discover(caller, &op.path, op.block2, resp)
            }
            code::GET => match op.observe {
                Some(0) => self.observe(peer, caller, op, req, now, resp),
                Some(1) => {
                    self.observations.cancel(peer.endpoint, req.token);
                    self.read(caller, op, resp)
                }
                _ => self.read(caller, op, resp),
            },
            code::FETCH => self.fetch(peer, caller, op, req, now, resp),
            code::PUT if op.is_write_attributes(req) => {
                self.write_attributes(caller, op, req, resp)
            }
            #[cfg(feature = "fota")]
            code::PUT | code::POST if self.is_package_write(op) => {
                self.fota_write(peer, caller, op, now, resp)
            }
            code::PUT | code::POST | code::IPATCH => {
                let method = req.code;
                self.with_payload(peer, op, req, resp, &mut |e, payload, resp| {
                    let res = match (method, op.path.len()) {
                        #[cfg(feature = "write")]
                        (code::IPATCH, 0) => e.write_composite(caller, op, payload, now),
                        #[cfg(feature = "write")]
                        (code::PUT, 2..=4) => e.write(caller, op, payload, true, now),
                        #[cfg(feature = "write")]
                        (code::POST, 1) => return e.create(caller, op, payload, now, resp),
                        #[cfg(feature = "write")]
                        (code::POST, 2) => e.write(caller, op, payload, false, now),
                        (code::POST, 3) => e.execute(caller, &op.path, payload, now),
                        _ => Err(Error::MethodNotAllowed),
                    };
                    res.map(|()| resp.set_code(code::CHANGED))
                })
            }
            #[cfg(feature = "write")]
            code::DELETE => {
                self.delete(caller, &op.path, now)?;
                resp.set_code(code::DELETED);
                Ok(())
            }
            _ => Err(Error::MethodNotAllowed),
        }
    }

    /// Handles the answer to a request the engine sent (matched by token).
    pub fn handle_response(&mut self, resp: &Message<'_>, now: Millis) {
        if self.registration.owns_token(resp.token) {
            self.registration_response(resp, now);
        } else if self.bootstrap_owns(resp.token) {
            #[cfg(feature = "bootstrap")]
            self.bootstrap_response(resp, now);
        }
        #[cfg(feature = "c2c-auth")]
        if self.c2c.auth.owns_token(resp.token) {
            self.access_response(resp);
        }
        #[cfg(feature = "send")]
        if self.sends.owns_token(resp.token) {
            self.send_response(resp);
        }
    }

    /// Tells the engine that a request or CON notification with `token` sent to `dest` got no
    /// answer (timeout) or was rejected with RST.
    pub fn request_failed(&mut self, dest: Destination, token: &[u8], now: Millis) {
        #[cfg(feature = "send")]
        if self.sends.owns_token(token) {
            return self.send_failed(token);
        }
        if self.registration.owns_token(token) {
            self.registration_failed(token, now);
        } else if self.bootstrap_owns(token) {
            #[cfg(feature = "bootstrap")]
            self.bootstrap_failed(now);
        } else if self.access_owns(token) {
            #[cfg(feature = "c2c-auth")]
            self.access_failed(token);
        } else if let Destination::Endpoint(ep) = dest {
            // RFC 7641 4.5: an unacknowledged or reset notification ends the observation.
            self.observations.cancel(ep, token);
        }
    }

    /// Starts operating: client-initiated bootstrap when no DM server is configured, else
    /// registration to every server.
    pub fn start(&mut self, now: Millis) {
        #[cfg(feature = "bootstrap")]
        if self.server.instances.is_empty() && self.security.bootstrap().is_some() {
            self.bootstrap.schedule(now, self.bootstrap_hold_off());
            return;
        }
        self.schedule_registrations(now);
    }

    /// Builds the next message to send into `buf`, if any is due at `now`. In Queue Mode
    /// (feature `queue-mode`, `Engine::set_queue_mode`) notifications falling due while the
    /// client sleeps are stored instead and come out of a later poll, once awake.
    pub fn poll(&mut self, now: Millis, buf: &mut [u8]) -> Option<Outgoing> {
        #[cfg(feature = "queue-mode")]
        return self.poll_queue_mode(now, buf);
        #[cfg(not(feature = "queue-mode"))]
        self.poll_due(now, buf)
    }

    /// Requests first, then notifications.
    fn poll_due(&mut self, now: Millis, buf: &mut [u8]) -> Option<Outgoing> {
        self.poll_requests(now, buf)
            .or_else(|| self.poll_notifications(now, buf))
    }

    /// The next due request (bootstrap, registration, access request, Send).
    fn poll_requests(&mut self, now: Millis, buf: &mut [u8]) -> Option<Outgoing> {
        #[cfg(feature = "bootstrap")]
        if let Some(o) = self.poll_bootstrap(now, buf) {
            return Some(o);
        }
        if let Some(o) = self.poll_registration(now, buf) {
            return Some(o);
        }
        #[cfg(feature = "c2c")]
        self.c2c_tick(now);
        #[cfg(feature = "c2c-auth")]
        if let Some(o) = self.poll_access(now, buf) {
            return Some(o);
        }
        #[cfg(feature = "send")]
        if let Some(o) = self.poll_send(buf) {
            return Some(o);
        }
        // The download timeout (Update Result 4); its State change is notified like others.
        #[cfg(feature = "fota")]
        self.fota_tick(now);
        None
    }

    /// The earliest time at which [`Engine::poll`] has something to do.
    pub fn next_wakeup(&self) -> Option<Millis> {
        #[cfg(feature = "bootstrap")]
        let mut t = self.bootstrap.next_wakeup();
        #[cfg(not(feature = "bootstrap"))]
        let mut t: Option<Millis> = None;
        let mut consider = |x: Option<Millis>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |t| t.min(x)));
            }
        };
        // Registrations wait while bootstrapping (see `poll_registration`).
        if !self.bootstrapping() {
            consider(self.registration.next_wakeup());
        }
        consider(self.notifications_wakeup());
        #[cfg(feature = "c2c")]
        consider(self.c2c_wakeup());
        #[cfg(feature = "c2c-auth")]
        consider(self.access_wakeup());
        #[cfg(feature = "send")]
        consider(self.sends.wakeup());
        #[cfg(feature = "queue-mode")]
        consider(self.queue_wakeup());
        #[cfg(feature = "fota")]
        consider(self.fota_wakeup());
        t
    }

    /// A fresh token for an outgoing request.
    fn new_token(&mut self) -> [u8; 4] {
        self.random().to_be_bytes()
    }

    /// Removes what belongs to a server that went away (observations, attributes).
    fn forget_server(&mut self, ssid: u16) {
        self.observations.remove_identity(Identity::Server(ssid));
        self.attributes
            .remove_server(attributes::owner_of(Caller::Server(ssid)));
    }

    /// True if `token` is that of the Bootstrap-Request in flight.
    fn bootstrap_owns(&self, token: &[u8]) -> bool {
        #[cfg(feature = "bootstrap")]
        return self.bootstrap.owns_token(token);
        #[cfg(not(feature = "bootstrap"))]
        {
            let _ = token;
            false
        }
    }

    /// True while bootstrapping (never without the `bootstrap` feature).
    #[cfg(not(feature = "bootstrap"))]
    pub fn bootstrapping(&self) -> bool {
        false
    }

    /// True if `token` is that of an access request in flight.
    fn access_owns(&self, token: &[u8]) -> bool {
        #[cfg(feature = "c2c-auth")]
        return self.c2c.auth.owns_token(token);
        #[cfg(not(feature = "c2c-auth"))]
        {
            let _ = token;
            false
        }
    }
}

/// Objects the engine holds itself.
#[cfg(not(feature = "c2c"))]
const BUILT_IN: [u16; 3] = [0, 1, 2];
/// Objects the engine holds itself.
#[cfg(feature = "c2c")]
const BUILT_IN: [u16; 7] = [
    0,
    1,
    2,
    crate::c2c::OSCORE,
    crate::c2c::CLIENT_SECURITY,
    crate::c2c::CLIENT,
    crate::c2c::CLIENT_ACCESS_CONTROL,
];

/// True for objects whose instances are listed in registrations and whose creation or
/// deletion causes a registration Update: not the C2C accounts (an authorization must not
/// cost a registration Update, nor tell the servers how many peers a node has).
pub(crate) fn registers_instances(oid: u16) -> bool {
    #[cfg(feature = "c2c")]
    return !crate::c2c::is_c2c_object(oid);
    #[cfg(not(feature = "c2c"))]
    {
        let _ = oid;
        true
    }
}

/// Object definitions, detached from the objects.
#[cfg(feature = "write")]
pub(crate) struct Defs(heapless::Vec<&'static ObjectDef, MAX_OBJECTS>);

#[cfg(feature = "write")]
impl Defs {
    fn type_of(&self, path: &Path) -> Option<DataType> {
        type_in(
            self.0.iter().find(|d| Some(d.id) == path.object_id())?,
            path,
        )
    }
}

/// Declared type of `path` in its object's definition `def`: a single resource, or an instance
/// of a multiple one.
fn type_in(def: &ObjectDef, path: &Path) -> Option<DataType> {
    let r = def.resource(path.resource_id()?)?;
    match (r.multiple, path.len()) {
        (_, 3) | (true, 4) => Some(r.data_type),
        _ => None,
    }
}

/// A response that does not fit the driver's buffer is the engine's failure (5.00), not a
/// request that is too large (4.13).
#[cfg(feature = "bootstrap")]
pub(crate) fn own_overflow(e: Error) -> Error {
    match e {
        Error::RequestEntityTooLarge => Error::InternalServerError,
        e => e,
    }
}
