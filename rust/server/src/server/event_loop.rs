//! The event loop: the one thread that owns the CoAP message layer
//! ([`crate::transport::layer::MessageLayer`]), the exchanges, observations and bootstrap
//! sessions. The message layer does the RFC 7252 part (message IDs, retransmission, matching
//! ACK / RST / separate responses by token and peer, duplicates with response replay, NSTART
//! per client with its bounded queue: [`ServerError::QueueFull`]); this loop decides what the
//! messages mean.

mod block1;
mod lifetime;
mod queue;

pub use queue::QueueConfig;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lwm2m::coap::{code, option, Block, Message, MessageType};
use lwm2m::Path;

use crate::access::ac::{self, Checked, Job};
use crate::access::limit::AcLimiter;
use crate::shared::{Call, CallKind, Input, Shared};
use crate::sync::lock;

use crate::bootstrap::{self, BootstrapConfig};
use crate::config::Config;
use crate::dm::ops::Response;
use crate::error::ServerError;
use crate::event::Event;
use crate::registration::{self, Outcome};
use crate::transport::layer::{
    IdGen, MessageLayer, Received, Rng, SendError, Sent, Timeout, TransmissionParams,
};
use crate::transport::msg::{self, IncomingRequest, OutRequest, Reply};
use crate::transport::{PeerSecurity, Transport};

use super::exchange::{
    content_format, known_option, location_path, observe_value, BootstrapSession, Dispatched,
    Exchange, Observation, Owner,
};

pub(super) struct EventLoop {
    shared: Arc<Shared>,
    transport: Box<dyn Transport + Send>,
    rx: Receiver<Input>,
    config: Config,
    /// CON / NON bookkeeping; messages are tagged by token, so the tag is `()`.
    layer: MessageLayer<()>,
    /// Time 0 of the message layer's millisecond clock.
    epoch: Instant,
    /// Tokens.
    ids: IdGen,
    rng: Rng,
    exchanges: HashMap<Vec<u8>, Exchange>,
    observations: HashMap<Vec<u8>, Observation>,
    bootstraps: HashMap<String, BootstrapSession>,
    next_expiry_check: Instant,
    jobs: Sender<Job>,
    /// The per-requester token buckets of `POST /ac`.
    ac_limiter: AcLimiter,
    /// Registrations whose lifetime was shortened, told once the reply is out (`lifetime`).
    shortened: Vec<crate::registration::Registration>,
    /// Queue Mode clients (`queue`).
    sleepers: queue::Sleepers,
}

impl EventLoop {
    /// The loop over `transport`, fed by `rx`, handing access requests to `jobs`.
    pub(super) fn new(
        shared: Arc<Shared>,
        transport: Box<dyn Transport + Send>,
        rx: Receiver<Input>,
        jobs: Sender<Job>,
        config: &Config,
    ) -> Self {
        let mut ids = IdGen::new(Rng::new());
        let params = TransmissionParams {
            dedup_capacity: config.dedup_capacity,
            ..config.transmission
        };
        let layer_rng = Rng::from_seed(ids.rng().next_u64());
        EventLoop {
            shared,
            transport,
            rx,
            layer: MessageLayer::new(params, layer_rng).reset_stray_non(true),
            epoch: Instant::now(),
            rng: Rng::from_seed(ids.rng().next_u64()),
            ids,
            exchanges: HashMap::new(),
            observations: HashMap::new(),
            bootstraps: HashMap::new(),
            next_expiry_check: Instant::now(),
            jobs,
            shortened: Vec::new(),
            sleepers: Default::default(),
            ac_limiter: AcLimiter::new(
                config.c2c.rate_limit,
                config.registrations.max_registrations,
            ),
            config: config.clone(),
        }
    }

    pub(super) fn run(mut self) {
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

    /// `t` on the message layer's clock.
    fn millis(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }

    /// Hands a message to the message layer and sends it unless NSTART queues it (the
    /// layer's `poll` hands it out later, [`EventLoop::on_timers`]).
    fn transmit(
        &mut self,
        peer: SocketAddr,
        mut bytes: Vec<u8>,
        now: Instant,
    ) -> Result<(), SendError> {
        let ms = self.millis(now);
        if let Sent::Now(_) = self.layer.send(peer, (), &mut bytes, ms)? {
            self.send(peer, &bytes);
        }
        Ok(())
    }

    /// The answer to an access request, once the C2C worker is done (a CON separate response
    /// is retransmitted until acknowledged).
    fn send_separate(
        &mut self,
        peer: SocketAddr,
        token: &[u8],
        con: bool,
        reply: &Reply,
        now: Instant,
    ) {
        let mtype = if con {
            MessageType::Con
        } else {
            MessageType::Non
        };
        let Some(bytes) = reply.encode(mtype, 0, token) else {
            return;
        };
        // With the requester's NSTART queue full the answer is lost like a datagram: the
        // requester retries its access request.
        let _ = self.transmit(peer, bytes, now);
    }

    fn next_wakeup(&self, now: Instant) -> Instant {
        let mut at = self.next_expiry_check.max(now);
        if let Some(ms) = self.layer.next_timeout() {
            at = at.min(self.epoch + Duration::from_millis(ms));
        }
        for ex in self.exchanges.values() {
            at = at.min(ex.deadline);
        }
        if let Some(t) = self.queue_next() {
            at = at.min(t.max(now));
        }
        at
    }

    fn send(&mut self, peer: SocketAddr, bytes: &[u8]) {
        // UDP send errors (unreachable peer) show up as timeouts of the exchange.
        let _ = self.transport.send(bytes, peer);
    }

    fn on_timers(&mut self, now: Instant) {
        let ms = self.millis(now);
        while let Some(t) = self.layer.poll(ms) {
            match t {
                Timeout::Transmit { to, bytes } | Timeout::Retransmit { to, bytes } => {
                    self.send(to, &bytes)
                }
                Timeout::Failed {
                    token,
                    request_code,
                    ..
                } => {
                    // A separate response given up ends nothing of ours.
                    if code::is_request(request_code) && !self.block1_retry(&token, now) {
                        self.complete(&token, Err(ServerError::Timeout), now);
                    }
                }
            }
        }
        let expired: Vec<Vec<u8>> = self
            .exchanges
            .iter()
            .filter(|(_, ex)| ex.deadline <= now)
            .map(|(t, _)| t.clone())
            .collect();
        if let Some(flag) = &self.config.c2c.reload_flag {
            if flag.swap(false, Ordering::Relaxed) {
                let _ = ac::reload_policy(&self.shared, &self.config.c2c);
            }
        }
        for t in expired {
            self.complete(&t, Err(ServerError::Timeout), now);
        }
        self.queue_timers(now);
        if now >= self.next_expiry_check {
            self.next_expiry_check = now + self.config.expiry_check_interval;
            let gone = lock(&self.shared.registry).expire(now);
            for r in gone {
                self.drop_observations(&r.id, "registration expired");
                self.shared.emit(Event::Expired { registration: r });
            }
        }
    }

    fn on_datagram(&mut self, peer: SocketAddr, data: &[u8], sec: PeerSecurity, now: Instant) {
        let ms = self.millis(now);
        let inbound = self.layer.receive(peer, data, ms);
        if let Some(r) = &inbound.reply {
            self.send(peer, r);
        }
        match inbound.event {
            Received::Request(m) => self.on_request(peer, &m, sec, now),
            Received::Response { msg, .. } => self.on_response(peer, &msg, now),
            Received::Reset {
                token,
                request_code,
                ..
            } if code::is_request(request_code) => {
                self.complete(&token, Err(ServerError::Reset), now)
            }
            Received::Reset { .. } | Received::Nothing => {}
        }
        // After the reply (a Register's 2.01 first), then what waited for the client.
        self.queue_heard(peer, now);
    }

    fn on_request(&mut self, peer: SocketAddr, m: &Message<'_>, sec: PeerSecurity, now: Instant) {
        let con = m.mtype == MessageType::Con;
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
                                self.layer.responded(peer, m.message_id, &b);
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
        let (mtype, mid) = self.layer.response_header(m);
        if let Some(bytes) = reply.encode(mtype, mid, m.token) {
            self.send(peer, &bytes);
            if con {
                self.layer.responded(peer, m.message_id, &bytes);
            }
        }
        if let Some((ep, cfg)) = post {
            self.start_bootstrap(ep, peer, &cfg, now);
        }
        self.write_lifetimes(now);
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
            Some("dp") => Dispatched::Reply(self.shared.on_send(req)),
            Some("fw") => {
                let (reply, event) = lock(&self.shared.packages).serve(req);
                if let Some(ev) = event {
                    self.shared.emit(ev);
                }
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
                    ac::check(
                        req,
                        &registry,
                        &policy,
                        &state,
                        &self.config.c2c,
                        &mut self.ac_limiter,
                        now,
                    )
                };
                self.shared.emit(event);
                match checked {
                    Checked::Reply(r) => Dispatched::Reply(r),
                    Checked::Install(job) => Dispatched::Deferred(job),
                    Checked::Existing => {
                        let host = req.query.iter().find_map(|q| q.strip_prefix("ep="));
                        let reg = host.and_then(|h| lock(&self.shared.registry).get(h).cloned());
                        Dispatched::Reply(ac::created_for(reg.as_ref()))
                    }
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
                self.lifetime_shortened(&registration, lifetime_requested);
                self.shared.emit(Event::Registered {
                    registration,
                    replaced: replaced.map(|r| r.id),
                });
            }
            Outcome::Updated {
                registration,
                lifetime_requested,
            } => {
                self.lifetime_shortened(&registration, lifetime_requested);
                self.shared.emit(Event::Updated { registration });
            }
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
                self.layer.forget_token(o.peer, &t);
                self.shared.emit(Event::ObservationEnded {
                    endpoint: o.endpoint,
                    path: o.path,
                    reason: reason.into(),
                });
            }
        }
    }

    /// A response of a client (the layer acknowledged a CON one): to an exchange, or a
    /// notification of an observation.
    fn on_response(&mut self, peer: SocketAddr, m: &Message<'_>, now: Instant) {
        let token = m.token.to_vec();
        if self.exchanges.get(&token).is_some_and(|e| e.peer == peer) {
            self.on_exchange_response(&token, m, now);
        } else if let Some((endpoint, path)) = self
            .observations
            .get(&token)
            .map(|o| (o.endpoint.clone(), o.path))
        {
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
                self.layer.forget_token(peer, &token);
                self.shared.emit(Event::ObservationEnded {
                    endpoint,
                    path,
                    reason: format!("client answered {}", msg::code_string(m.code)),
                });
            }
        }
    }

    fn on_exchange_response(&mut self, token: &[u8], m: &Message<'_>, now: Instant) {
        if self.block1_continue(token, m, now) {
            return;
        }
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
            let peer = ex.peer;
            let Some(bytes) = req.encode(0, token) else {
                return self.complete(token, Err(ServerError::TooLarge), now);
            };
            if let Err(e) = self.transmit(peer, bytes, now) {
                let e = self.send_error(e);
                self.complete(token, Err(e), now);
            }
            return;
        }
        let Some(ex) = self.exchanges.get_mut(token) else {
            return;
        };
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
        // Given up (deadline, size, shutdown): no longer outstanding, the next may go.
        let ms = self.millis(now);
        self.layer.cancel(ex.peer, token, ms);
        match ex.owner {
            Owner::Call {
                reply,
                kind,
                endpoint,
                reg_id,
            } => {
                if let (CallKind::Observe, Ok(r)) = (kind, &result) {
                    if r.is_success() && r.observe.is_some() {
                        // GET, or FETCH for an Observe-Composite.
                        self.layer.keep_token(ex.peer, token, (), ex.req.code);
                        self.observations.insert(
                            token.to_vec(),
                            Observation {
                                peer: ex.peer,
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
            Owner::Lifetime {
                endpoint,
                path,
                lifetime,
            } => self.lifetime_written(endpoint, path, lifetime, result),
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
        let Some(call) = self.queue_hold(&reg, call, now) else {
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
                        self.layer.forget_token(o.peer, &t);
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
        let Some(bytes) = req.encode(0, &token) else {
            let e = ServerError::InvalidArgument("request does not fit a CoAP message".into());
            return self.reject(owner, e, now);
        };
        // NSTART (RFC 7252 4.7): with `nstart` interactions outstanding at this peer the
        // layer queues the request (bounded by `nstart_queue`) and releases it when one ends.
        if let Err(e) = self.transmit(peer, bytes, now) {
            let e = self.send_error(e);
            return self.reject(owner, e, now);
        }
        let ex = Exchange {
            peer,
            target,
            req,
            deadline,
            body: Vec::new(),
            first: None,
            block1_retries: 0,
            owner,
        };
        self.exchanges.insert(token, ex);
    }

    /// What a refusal of the message layer means for the caller.
    fn send_error(&self, e: SendError) -> ServerError {
        match e {
            SendError::QueueFull => ServerError::QueueFull(self.config.transmission.nstart_queue),
            SendError::NotCoap => {
                ServerError::InvalidArgument("request does not fit a CoAP message".into())
            }
        }
    }

    /// Answers the owner of a request that never became an exchange.
    fn reject(&mut self, owner: Owner, e: ServerError, now: Instant) {
        match owner {
            Owner::Call { reply, .. } => {
                let _ = reply.send(Err(e));
            }
            Owner::Bootstrap { endpoint } => self.bootstrap_step_done(endpoint, Err(e), now),
            Owner::Lifetime {
                endpoint,
                path,
                lifetime,
            } => self.lifetime_written(endpoint, path, lifetime, Err(e)),
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
