//! The event loop: the one thread that owns the CoAP message layer, the exchanges,
//! observations and bootstrap sessions.

mod lifetime;
mod nstart;

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
use crate::transport::layer::{Dedup, DedupCache, IdGen, Retransmission, RetransmitAction, Rng};
use crate::transport::msg::{self, IncomingRequest, OutRequest, Reply};
use crate::transport::{PeerSecurity, Transport};

use super::exchange::{
    content_format, known_option, location_path, observe_value, BootstrapSession, Dispatched,
    Exchange, Observation, Owner, SeparateResponse,
};

pub(super) struct EventLoop {
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
    /// The per-requester token buckets of `POST /ac`.
    ac_limiter: AcLimiter,
    /// [`Exchange::seq`] of the next exchange.
    next_seq: u64,
    /// Registrations whose lifetime was shortened, told once the reply is out (`lifetime`).
    shortened: Vec<crate::registration::Registration>,
}

impl EventLoop {
    /// The loop over `transport`, fed by `rx`, handing access requests to `jobs`.
    pub(super) fn new(
        shared: Arc<Shared>,
        transport: Arc<dyn Transport>,
        rx: Receiver<Input>,
        jobs: Sender<Job>,
        config: &Config,
    ) -> Self {
        let mut ids = IdGen::new(Rng::new());
        EventLoop {
            shared,
            transport,
            rx,
            dedup: DedupCache::new(config.transmission.exchange_lifetime, config.dedup_capacity),
            rng: Rng::from_seed(ids.rng().next_u64()),
            ids,
            exchanges: HashMap::new(),
            observations: HashMap::new(),
            bootstraps: HashMap::new(),
            next_expiry_check: Instant::now(),
            jobs,
            separate: Vec::new(),
            next_seq: 0,
            shortened: Vec::new(),
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
                    Checked::Existing => Dispatched::Reply(Reply::code(code::CREATED)),
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
            // No longer outstanding (RFC 7252 4.7): the next queued request may go.
            self.release(peer, now);
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
        self.release(ex.peer, now);
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
        let params = self.config.transmission;
        // NSTART (RFC 7252 4.7): with `nstart` interactions outstanding at this peer, the
        // request waits (bounded by `nstart_queue`) and goes out when one of them ends.
        let queued = ok && self.outstanding(peer) >= params.nstart.max(1);
        if queued && self.queued_at(peer) >= params.nstart_queue {
            return self.reject(owner, ServerError::QueueFull(params.nstart_queue), now);
        }
        let mut ex = Exchange {
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
            queued,
            seq: self.next_seq,
        };
        self.next_seq += 1;
        if queued {
            ex.retrans = None;
        } else if ok {
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
