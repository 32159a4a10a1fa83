//! Client-to-client extension, requesting side (feature `c2c-auth`): checking owner server
//! hints against the servers this client is registered with (T3), the access request
//! `POST /ac?ep=<host>[&c]` to the server, its outcome, and the refresh of an account before
//! its lifetime ends.
//!
//! The requester remembers the last access request per hosting client. When the account the
//! server installed for that host (the 11001 instance whose res 9 names the host) has a
//! lifetime, the same rights are requested again, without `c`, once [`REFRESH_PERMILLE`] per
//! mille of it have passed since the server last wrote it; the server renews the account by
//! rewriting res 1 on both clients. One refresh is sent per lifetime period; if it fails the
//! account runs out and the application asks again.
//!
//! # Retries
//!
//! An access request (the application's or a refresh) that gets no answer (the driver reports
//! a timeout or RST through [`Engine::request_failed`], i.e. after the CoAP layer's own
//! retransmissions) or is answered 5.03 (the server could not reach a client to install the
//! accounts) is sent again with exponential back-off: at most [`ACCESS_TRIES`] tries in all,
//! the second [`ACCESS_BACKOFF`] ms after the first failed, each further one after twice the
//! previous wait (2 s, then 4 s with the defaults). Each try has a fresh token; a late answer
//! to an earlier try is ignored. Only the last failure is reported by
//! [`Engine::take_access_result`] ([`AccessOutcome::Timeout`] or
//! [`AccessOutcome::Rejected`]`(5.03)`); any other answer is final at once.
//!
//! The back-off starts when the engine learns of the failure: the failure only marks the
//! request, and the next [`Engine::poll`] (which [`Engine::next_wakeup`] asks for at once)
//! fixes the retry time from its `now`.

use super::{Destination, Engine, Millis, Outgoing, RegistrationState};
use crate::c2c::access_request::{self, Grant, MAX_ENTRIES};
use crate::coap::{code, content_format as cf, option, Message, MessageBuilder, MessageType};
use crate::codec::Writer;
use crate::config::{ENDPOINT_LEN, MAX_CLIENTS};
use crate::error::{Error, Result};

/// Share of an account lifetime, in per mille, after which the requester asks for a refresh.
pub const REFRESH_PERMILLE: u64 = 800;
/// Access results kept until the application takes them (the oldest is dropped beyond).
const MAX_RESULTS: usize = 4;
/// Tries of one access request, the first included, when it times out or is answered 5.03.
pub const ACCESS_TRIES: u8 = 3;
/// Wait (ms) before the second try; it doubles for each further one.
pub const ACCESS_BACKOFF: Millis = 2_000;

/// How an access request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessOutcome {
    /// 2.01: the server installed the rights (and credentials).
    Granted,
    /// Any other response code, e.g. 4.00 (malformed, unknown host) or 4.03 (denied).
    Rejected(u8),
    /// No answer (the driver reported a timeout or reset).
    Timeout,
}

/// The outcome of one access request, from [`Engine::take_access_result`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessResult {
    /// The server asked.
    pub ssid: u16,
    /// Endpoint name of the hosting client.
    pub host: crate::objects::Text<ENDPOINT_LEN>,
    /// What happened.
    pub outcome: AccessOutcome,
    /// True for an automatic refresh, false for a request of the application.
    pub refresh: bool,
    /// The 2.01 said the hosting client is in Queue Mode
    /// ([`QUEUE_MODE_HOST`](crate::c2c::access_request::QUEUE_MODE_HOST)).
    pub host_queue_mode: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Queued,
    Sent([u8; 4]),
    /// A try failed; the next is due at this time (`None`: fixed by the next poll).
    Retry(Option<Millis>),
    Done,
}

#[derive(Clone, Debug)]
struct Entry {
    ssid: u16,
    host: crate::objects::Text<ENDPOINT_LEN>,
    grants: heapless::Vec<Grant, MAX_ENTRIES>,
    creds: bool,
    refresh: bool,
    phase: Phase,
    /// Tries sent so far (reset by a new request or a refresh).
    tries: u8,
    /// `refreshed_at` of the account the last refresh was sent for.
    refreshed_for: Option<Millis>,
}

/// Access requests per hosting client.
#[derive(Debug, Default)]
pub(crate) struct Requester {
    entries: heapless::Vec<Entry, MAX_CLIENTS>,
    results: heapless::Vec<AccessResult, MAX_RESULTS>,
}

impl Requester {
    pub fn owns_token(&self, token: &[u8]) -> bool {
        self.entries
            .iter()
            .any(|e| matches!(e.phase, Phase::Sent(t) if t == token))
    }

    fn finish(&mut self, token: &[u8], outcome: AccessOutcome, host_queue_mode: bool) {
        let Some(e) = self
            .entries
            .iter_mut()
            .find(|e| matches!(e.phase, Phase::Sent(t) if t == token))
        else {
            return;
        };
        let retry = matches!(outcome, AccessOutcome::Timeout)
            || outcome == AccessOutcome::Rejected(code::SERVICE_UNAVAILABLE);
        if retry && e.tries < ACCESS_TRIES {
            e.phase = Phase::Retry(None);
            return;
        }
        e.phase = Phase::Done;
        let r = AccessResult {
            ssid: e.ssid,
            host: e.host.clone(),
            outcome,
            refresh: e.refresh,
            host_queue_mode,
        };
        if self.results.is_full() {
            self.results.remove(0);
        }
        let _ = self.results.push(r);
    }
}

impl Engine<'_> {
    /// Checks an owner server hint (the payload of a hosting client's 4.01): returns the
    /// Short Server ID of the first URI in it that is the URI of a server this client is
    /// registered with. Hints naming only other servers are ignored ([`Error::Forbidden`]):
    /// they may have been forged (T3). A malformed hint is [`Error::BadRequest`].
    pub fn hint_server(&self, payload: &[u8]) -> Result<u16> {
        let uris = crate::c2c::hint::decode(payload)?;
        uris.iter()
            .find_map(|u| {
                let s = self
                    .security
                    .instances
                    .iter()
                    .find(|s| !s.bootstrap && s.uri == *u)?;
                self.registered(s.ssid).then_some(s.ssid)
            })
            .ok_or(Error::Forbidden)
    }

    fn registered(&self, ssid: u16) -> bool {
        matches!(
            self.registration.state(ssid),
            RegistrationState::Registered | RegistrationState::Updating
        )
    }

    /// Queues an access request to server `ssid` for rights on hosting client `host`
    /// (endpoint name): `POST /ac?ep=<host>[&c]`, CON, Content-Format 60, payload the rights
    /// map of `grants`; `with_credentials` adds `c` (no account with that host yet). The next
    /// [`Engine::poll`] sends it; the outcome comes from [`Engine::take_access_result`]. A
    /// request for the same host replaces an earlier one.
    pub fn request_access(
        &mut self,
        ssid: u16,
        host: &str,
        grants: &[Grant],
        with_credentials: bool,
        _now: Millis,
    ) -> Result<()> {
        if !self.registered(ssid) {
            return Err(Error::Forbidden);
        }
        if host.is_empty() {
            return Err(Error::BadRequest);
        }
        let mut none = [0u8; 0];
        access_request::encode(grants, &mut Writer::window(&mut none, 0))?;
        let entry = Entry {
            ssid,
            host: heapless::String::try_from(host).map_err(|_| Error::BadRequest)?,
            grants: heapless::Vec::from_slice(grants).map_err(|_| Error::BadRequest)?,
            creds: with_credentials,
            refresh: false,
            phase: Phase::Queued,
            tries: 0,
            refreshed_for: None,
        };
        let list = &mut self.c2c.auth.entries;
        if let Some(i) = list.iter().position(|e| e.host == host) {
            list[i] = entry;
            return Ok(());
        }
        if list.is_full() {
            // Make room by forgetting a finished request (its account can no longer refresh).
            let i = list
                .iter()
                .position(|e| e.phase == Phase::Done)
                .ok_or(Error::ServiceUnavailable)?;
            list.remove(i);
        }
        list.push(entry).map_err(|_| Error::ServiceUnavailable)
    }

    /// The next finished access request.
    pub fn take_access_result(&mut self) -> Option<AccessResult> {
        let r = &mut self.c2c.auth.results;
        if r.is_empty() {
            None
        } else {
            Some(r.remove(0))
        }
    }

    /// When the remembered request for entry `i` is due for a refresh.
    fn refresh_due(&self, i: usize) -> Option<(Millis, Millis)> {
        let e = self.c2c.auth.entries.get(i)?;
        if e.phase != Phase::Done {
            return None;
        }
        let c = self.c2c.client.by_endpoint(&e.host)?;
        if c.lifetime == 0 || e.refreshed_for == Some(c.refreshed_at) || c.off_until.is_some() {
            return None;
        }
        let due = c.refreshed_at + u64::from(c.lifetime) * REFRESH_PERMILLE;
        Some((due, c.refreshed_at))
    }

    pub(crate) fn access_wakeup(&self) -> Option<Millis> {
        (0..self.c2c.auth.entries.len())
            .filter_map(|i| match self.c2c.auth.entries.get(i)?.phase {
                Phase::Queued | Phase::Retry(None) => Some(0),
                Phase::Retry(Some(t)) => Some(t),
                _ => self.refresh_due(i).map(|d| d.0),
            })
            .min()
    }

    /// Builds the next due access request.
    pub(crate) fn poll_access(&mut self, now: Millis, buf: &mut [u8]) -> Option<Outgoing> {
        for i in 0..self.c2c.auth.entries.len() {
            if let Some((due, at)) = self.refresh_due(i) {
                if due <= now {
                    let e = &mut self.c2c.auth.entries[i];
                    e.phase = Phase::Queued;
                    e.creds = false;
                    e.refresh = true;
                    e.tries = 0;
                    e.refreshed_for = Some(at);
                }
            }
            let e = &mut self.c2c.auth.entries[i];
            match e.phase {
                Phase::Retry(None) => {
                    let wait = ACCESS_BACKOFF << e.tries.saturating_sub(1).min(16);
                    e.phase = Phase::Retry(Some(now.saturating_add(wait)));
                }
                Phase::Retry(Some(t)) if t <= now => e.phase = Phase::Queued,
                _ => {}
            }
            // Borrowed, not copied (host name and grants are most of the entry).
            let e = &self.c2c.auth.entries[i];
            if e.phase != Phase::Queued || !self.registered(e.ssid) {
                continue;
            }
            let token = self.new_token();
            let len = build(&self.c2c.auth.entries[i], &token, buf)?;
            let e = &mut self.c2c.auth.entries[i];
            e.phase = Phase::Sent(token);
            e.tries = e.tries.saturating_add(1);
            return Some(Outgoing {
                dest: Destination::Server(e.ssid),
                len,
                confirmable: true,
            });
        }
        None
    }

    pub(crate) fn access_response(&mut self, resp: &Message<'_>) {
        let outcome = if resp.code == code::CREATED {
            AccessOutcome::Granted
        } else {
            AccessOutcome::Rejected(resp.code)
        };
        let queue = outcome == AccessOutcome::Granted
            && resp.payload == crate::c2c::access_request::QUEUE_MODE_HOST;
        self.c2c.auth.finish(resp.token, outcome, queue);
    }

    pub(crate) fn access_failed(&mut self, token: &[u8]) {
        self.c2c.auth.finish(token, AccessOutcome::Timeout, false);
    }
}

fn build(e: &Entry, token: &[u8], buf: &mut [u8]) -> Option<usize> {
    let mut b = MessageBuilder::new(buf, MessageType::Con, code::POST, 0, token).ok()?;
    b.option(option::URI_PATH, b"ac").ok()?;
    b.option_uint(option::CONTENT_FORMAT, cf::CBOR.into())
        .ok()?;
    let mut q = [0u8; 3 + ENDPOINT_LEN];
    let n = 3 + e.host.len();
    q[..3].copy_from_slice(b"ep=");
    q.get_mut(3..n)?.copy_from_slice(e.host.as_bytes());
    b.option(option::URI_QUERY, &q[..n]).ok()?;
    if e.creds {
        b.option(option::URI_QUERY, b"c").ok()?;
    }
    let mut w = Writer::new(b.payload_mut());
    access_request::encode(&e.grants, &mut w).ok()?;
    let n = w.total();
    b.set_payload_len(n).ok()?;
    Some(b.finish())
}
