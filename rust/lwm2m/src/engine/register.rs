//! Registration interface (LwM2M 1.1 TS Core section 6.2): Register, Update (before the
//! lifetime ends, and when objects, lifetime or binding change), De-register; retries with
//! exponential back-off and jitter, re-registration after errors, fallback to bootstrap.

use super::{Destination, Engine, Millis, Outgoing};
use crate::coap::{code, content_format as cf, option, Message, MessageBuilder, MessageType};
use crate::codec::link::{write_link, LinkAttr};
use crate::codec::Writer;
use crate::config::{LOCATION_LEN, MAX_SERVERS, UPDATE_MARGIN_MS};
use crate::path::Path;

/// Retry policy of registration and bootstrap requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// First retry delay in milliseconds.
    pub base_ms: u32,
    /// Largest retry delay in milliseconds.
    pub max_ms: u32,
    /// Failed registrations in a row after which the client falls back to bootstrap (when a
    /// bootstrap server is configured).
    pub attempts_before_bootstrap: u8,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base_ms: 4_000,
            max_ms: 300_000,
            attempts_before_bootstrap: 5,
        }
    }
}

/// Registration state toward one server, as reported to the application.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistrationState {
    /// No such server, or not started.
    NotRegistered,
    /// A Register request is under way or waits for its retry.
    Registering,
    /// Registered.
    Registered,
    /// Registered, an Update is under way.
    Updating,
    /// De-registering or disabled by the server.
    Disabled,
}

/// `until` of a server that stays disabled (an `Option` would make every `Reg` 8 bytes larger).
const NEVER: Millis = Millis::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Register at `due`.
    Pending { due: Millis },
    /// Register sent.
    Registering,
    /// Registered; update at `due`.
    Registered { due: Millis },
    /// Update sent.
    Updating,
    /// De-register sent; then disabled until `until` ([`NEVER`]: stay off).
    Deregistering { until: Millis },
    /// Disabled until `until` ([`NEVER`]: stay off).
    Disabled { until: Millis },
}

#[derive(Debug, Clone)]
pub(super) struct Reg {
    ssid: u16,
    state: State,
    token: [u8; 4],
    location: crate::objects::Text<LOCATION_LEN>,
    attempts: u8,
    /// Update must carry the object list.
    send_objects: bool,
    /// Update must carry lt / b.
    send_params: bool,
    /// Update wanted as soon as possible.
    update_now: bool,
}

/// Registration state per server.
#[derive(Debug, Default)]
pub(crate) struct Registrations {
    pub(super) regs: heapless::Vec<Reg, MAX_SERVERS>,
    pub policy: RetryPolicy,
}

impl Registrations {
    pub fn state(&self, ssid: u16) -> RegistrationState {
        match self.regs.iter().find(|r| r.ssid == ssid).map(|r| r.state) {
            None => RegistrationState::NotRegistered,
            Some(State::Pending { .. } | State::Registering) => RegistrationState::Registering,
            Some(State::Registered { .. }) => RegistrationState::Registered,
            Some(State::Updating) => RegistrationState::Updating,
            Some(State::Deregistering { .. } | State::Disabled { .. }) => {
                RegistrationState::Disabled
            }
        }
    }

    pub fn owns_token(&self, token: &[u8]) -> bool {
        self.regs.iter().any(|r| {
            r.token == token
                && matches!(
                    r.state,
                    State::Registering | State::Updating | State::Deregistering { .. }
                )
        })
    }

    pub fn next_wakeup(&self) -> Option<Millis> {
        self.regs
            .iter()
            .filter_map(|r| match r.state {
                State::Pending { due } => Some(due),
                State::Registered { due } => Some(if r.update_now { 0 } else { due }),
                State::Deregistering { .. } if r.token == [0; 4] => Some(0),
                State::Disabled { until } => (until != NEVER).then_some(until),
                _ => None,
            })
            .min()
    }

    /// True while a Register, Update or De-register waits for its answer (Queue Mode stays
    /// awake meanwhile).
    #[cfg(feature = "queue-mode")]
    pub fn exchange_open(&self) -> bool {
        self.regs
            .iter()
            .any(|r| r.token != [0; 4] && self.owns_token(&r.token))
    }

    /// Asks for a plain Update to every registered server (Queue Mode's wake).
    #[cfg(feature = "queue-mode")]
    pub fn update_registered(&mut self) {
        for r in self.regs.iter_mut() {
            r.update_now |= matches!(r.state, State::Registered { .. });
        }
    }

    /// Asks for an Update to `ssid` (with the object list if `objects`).
    #[inline(never)] // one copy instead of one per use: smaller (`make size`)
    pub fn request_update(&mut self, ssid: u16, objects: bool, _now: Millis) {
        if let Some(r) = self.regs.iter_mut().find(|r| r.ssid == ssid) {
            r.update_now = true;
            r.send_objects |= objects;
            r.send_params |= !objects;
        }
    }

    /// Asks for an Update to every server.
    #[cfg(feature = "write")]
    pub fn request_update_all(&mut self, objects: bool, now: Millis) {
        let ids: heapless::Vec<u16, MAX_SERVERS> = self.regs.iter().map(|r| r.ssid).collect();
        for s in ids {
            self.request_update(s, objects, now);
        }
    }

    /// The server executed Disable: de-register, then stay quiet for `timeout` seconds.
    pub fn disable(&mut self, ssid: u16, now: Millis, timeout: u32) {
        if let Some(r) = self.regs.iter_mut().find(|r| r.ssid == ssid) {
            let until = now + u64::from(timeout) * 1000;
            r.state = match r.state {
                State::Registered { .. } | State::Updating => State::Deregistering { until },
                _ => State::Disabled { until },
            };
            // A request in flight is forgotten so that the De-register goes out now.
            r.token = [0; 4];
            r.update_now = false;
        }
    }

    /// Delay before retry number `attempts` (from 0).
    #[cfg(feature = "bootstrap")]
    pub fn backoff_for(&self, attempts: u8, jitter: u32) -> Millis {
        self.backoff(attempts, jitter)
    }

    #[inline(never)] // one copy instead of one per use: smaller (`make size`)
    fn backoff(&self, attempts: u8, jitter: u32) -> Millis {
        let p = self.policy;
        let exp = u64::from(p.base_ms) << attempts.min(20);
        let d = exp.min(u64::from(p.max_ms));
        // +-25 % jitter so that a fleet does not retry in lock-step.
        let j = d / 2;
        d - d / 4 + if j > 0 { u64::from(jitter) % j } else { 0 }
    }
}

impl Engine<'_> {
    /// Sets the retry policy.
    pub fn set_retry_policy(&mut self, policy: RetryPolicy) {
        self.registration.policy = policy;
    }

    /// Brings the registration table in line with the Server object and schedules every
    /// server that is not registered yet.
    pub(crate) fn schedule_registrations(&mut self, now: Millis) {
        let servers: heapless::Vec<u16, MAX_SERVERS> =
            self.server.instances.iter().map(|s| s.ssid).collect();
        self.registration.regs.retain(|r| servers.contains(&r.ssid));
        for ssid in servers {
            if self.registration.regs.iter().any(|r| r.ssid == ssid) {
                continue;
            }
            let _ = self.registration.regs.push(Reg {
                ssid,
                state: State::Pending { due: now },
                token: [0; 4],
                location: heapless::String::new(),
                attempts: 0,
                send_objects: false,
                send_params: false,
                update_now: false,
            });
        }
    }

    /// De-registers from every server (e.g. before shutdown). The requests go out with
    /// the next polls.
    pub fn deregister_all(&mut self, _now: Millis) {
        for r in self.registration.regs.iter_mut() {
            r.state = match r.state {
                State::Registered { .. } | State::Updating => State::Deregistering { until: NEVER },
                _ => State::Disabled { until: NEVER },
            };
            r.token = [0; 4];
        }
    }

    fn lifetime_of(&self, ssid: u16) -> u32 {
        self.server.by_ssid(ssid).map_or(86400, |s| s.lifetime)
    }

    /// When to send the Update that keeps a registration alive: `UPDATE_MARGIN_MS` (by default
    /// MAX_TRANSMIT_WAIT, 93 s) before the lifetime ends, so that a lost Update's
    /// retransmissions still end before the server expires the registration, but never before
    /// half the lifetime (short lifetimes: Update at the half).
    fn update_due(&self, ssid: u16, now: Millis) -> Millis {
        let lt = u64::from(self.lifetime_of(ssid)) * 1000;
        now + lt.saturating_sub(UPDATE_MARGIN_MS as u64).max(lt / 2)
    }

    pub(crate) fn poll_registration(&mut self, now: Millis, buf: &mut [u8]) -> Option<Outgoing> {
        if self.bootstrapping() {
            // The bootstrap server is about to rewrite the accounts (6.1.2); registrations
            // start over with Bootstrap-Finish.
            return None;
        }
        for i in 0..self.registration.regs.len() {
            // No copy of the entry (its location string is most of it): borrowed in turn.
            let r = &mut self.registration.regs[i];
            let kind = match r.state {
                State::Pending { due } if due <= now => Kind::Register,
                State::Registered { due } if due <= now || r.update_now => Kind::Update,
                State::Deregistering { .. } if r.token == [0; 4] => Kind::Deregister,
                State::Disabled { until } if until != NEVER && until <= now => {
                    r.state = State::Pending { due: now };
                    Kind::Register
                }
                _ => continue,
            };
            let token = self.new_token();
            let r = &self.registration.regs[i];
            let ssid = r.ssid;
            let len = match self.build_registration(kind, r, &token, buf) {
                Some(len) => len,
                None => continue,
            };
            let reg = &mut self.registration.regs[i];
            reg.token = token;
            if kind != Kind::Deregister {
                // What this request carries; changes made while it is in flight set the flags
                // again and cause another Update.
                reg.update_now = false;
                reg.send_objects = false;
                reg.send_params = false;
            }
            reg.state = match kind {
                Kind::Register => State::Registering,
                Kind::Update => State::Updating,
                Kind::Deregister => reg.state,
            };
            return Some(Outgoing {
                dest: Destination::Server(ssid),
                len,
                confirmable: true,
            });
        }
        None
    }

    #[inline(never)] // measured: smaller outlined than inlined into its caller
    fn build_registration(
        &self,
        kind: Kind,
        r: &Reg,
        token: &[u8],
        buf: &mut [u8],
    ) -> Option<usize> {
        let c = if kind == Kind::Deregister {
            code::DELETE
        } else {
            code::POST
        };
        let mut b = MessageBuilder::new(buf, MessageType::Con, c, 0, token).ok()?;
        if kind == Kind::Register {
            b.option(option::URI_PATH, b"rd").ok()?;
        } else {
            // Bytes, not `str::split`: the same segments without the char searcher's code.
            for seg in r.location.as_bytes().split(|&c| c == b'/') {
                if seg.is_empty() {
                    continue;
                }
                b.option(option::URI_PATH, seg).ok()?;
            }
        }
        let with_objects = kind == Kind::Register || kind == Kind::Update && r.send_objects;
        if with_objects {
            b.option_uint(option::CONTENT_FORMAT, cf::LINK_FORMAT.into())
                .ok()?;
        }
        let mut q = [0u8; 8 + crate::config::ENDPOINT_LEN];
        if kind == Kind::Register {
            query(&mut b, &mut q, "ep=", self.endpoint.as_bytes())?;
        }
        if kind == Kind::Register || kind == Kind::Update && r.send_params {
            let mut n = [0u8; 10];
            query(
                &mut b,
                &mut q,
                "lt=",
                fmt_u32(self.lifetime_of(r.ssid), &mut n),
            )?;
        }
        if kind == Kind::Register {
            query(&mut b, &mut q, "lwm2m=", b"1.1")?;
        }
        if kind == Kind::Register || kind == Kind::Update && r.send_params {
            let binding = self
                .server
                .by_ssid(r.ssid)
                .map_or("U", |s| s.binding.as_str());
            query(&mut b, &mut q, "b=", binding.as_bytes())?;
        }
        // Queue Mode: `Q`, no value, in Register only (LwM2M 1.1 TS Core 6.2.1).
        #[cfg(feature = "queue-mode")]
        if kind == Kind::Register && self.queue_mode().is_some() {
            b.option(option::URI_QUERY, b"Q").ok()?;
        }
        if with_objects {
            let payload = b.payload_mut();
            let mut w = Writer::new(payload);
            self.write_object_links(&mut w).ok()?;
            let n = w.total();
            b.set_payload_len(n).ok()?;
        }
        Some(b.finish())
    }

    /// The object list of Register / Update: `</1>;ver=1.1,</1/0>,</3/0>,...`. Security (0)
    /// and OSCORE (21) are never listed.
    pub(crate) fn write_object_links(&self, w: &mut Writer<'_>) -> crate::Result<()> {
        let mut first = true;
        for id in self.object_ids() {
            if matches!(id, 0 | 21) {
                continue;
            }
            let Some(obj) = self.object(id) else { continue };
            let ver = obj.def().version;
            let listed = super::registers_instances(id);
            let has_instances = listed && obj.next_instance(None).is_some();
            if ver.is_some() || !has_instances {
                let attrs = ver.map(|v| LinkAttr::Token("ver", v));
                write_link(w, first, &Path::object(id), attrs.as_slice())?;
                first = false;
            }
            let mut cur = None;
            while let Some(i) = obj.next_instance(cur).filter(|_| listed) {
                cur = Some(i);
                write_link(w, first, &Path::instance(id, i), &[])?;
                first = false;
            }
        }
        Ok(())
    }

    pub(crate) fn registration_response(&mut self, resp: &Message<'_>, now: Millis) {
        let Some(i) = self
            .registration
            .regs
            .iter()
            .position(|r| r.token == resp.token)
        else {
            return;
        };
        let jitter = self.random();
        let ok = code::is_response(resp.code) && resp.code >> 5 == 2;
        let (ssid, state, attempts, token) = {
            let r = &self.registration.regs[i];
            (r.ssid, r.state, r.attempts, r.token)
        };
        let update_due = self.update_due(ssid, now);
        let backoff = self.registration.backoff(attempts, jitter);
        let reg = &mut self.registration.regs[i];
        reg.token = [0; 4];
        match state {
            State::Registering if ok && resp.code == code::CREATED => {
                let mut loc: crate::objects::Text<LOCATION_LEN> = heapless::String::new();
                let mut fits = true;
                for seg in resp.option_values(option::LOCATION_PATH) {
                    let seg = core::str::from_utf8(seg).unwrap_or("");
                    fits &= loc.push('/').is_ok() && loc.push_str(seg).is_ok();
                }
                if !fits || loc.is_empty() {
                    reg.state = State::Pending { due: now + backoff };
                    reg.attempts = reg.attempts.saturating_add(1);
                    return;
                }
                reg.location = loc;
                reg.attempts = 0;
                reg.state = State::Registered { due: update_due };
            }
            State::Updating if ok => {
                reg.attempts = 0;
                reg.state = State::Registered { due: update_due };
            }
            // 4.04 to an Update: the server lost the registration; register again now.
            State::Updating => {
                reg.state = State::Pending { due: now };
                self.forget_server(ssid);
            }
            State::Deregistering { until } => {
                reg.state = State::Disabled { until };
                self.forget_server(ssid);
            }
            _ => {
                reg.token = token;
                self.registration_failed(&token, now);
            }
        }
    }

    pub(crate) fn registration_failed(&mut self, token: &[u8], now: Millis) {
        let Some(i) = self.registration.regs.iter().position(|r| r.token == token) else {
            return;
        };
        let jitter = self.random();
        let (state, attempts) = {
            let r = &self.registration.regs[i];
            (r.state, r.attempts)
        };
        let backoff = self.registration.backoff(attempts, jitter);
        let limit = self.registration.policy.attempts_before_bootstrap;
        let has_bs = cfg!(feature = "bootstrap") && self.security.bootstrap().is_some();
        let reg = &mut self.registration.regs[i];
        reg.token = [0; 4];
        reg.attempts = reg.attempts.saturating_add(1);
        reg.state = match state {
            State::Deregistering { until } => State::Disabled { until },
            _ => State::Pending { due: now + backoff },
        };
        if has_bs && reg.attempts >= limit && matches!(state, State::Registering) {
            reg.attempts = 0;
            #[cfg(feature = "bootstrap")]
            self.bootstrap.schedule(now, 0);
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Register,
    Update,
    Deregister,
}

fn query(b: &mut MessageBuilder<'_>, buf: &mut [u8], name: &str, value: &[u8]) -> Option<()> {
    let n = name.len() + value.len();
    let q = buf.get_mut(..n)?;
    q[..name.len()].copy_from_slice(name.as_bytes());
    q[name.len()..].copy_from_slice(value);
    b.option(option::URI_QUERY, q).ok()
}

/// Decimal digits of `v`.
pub(crate) fn fmt_u32(mut v: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    &buf[i..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_jitters_within_25_percent() {
        let r = Registrations {
            policy: RetryPolicy {
                base_ms: 1000,
                max_ms: 8000,
                attempts_before_bootstrap: 3,
            },
            ..Default::default()
        };
        for (attempts, nominal) in [(0u8, 1000u64), (1, 2000), (2, 4000), (3, 8000), (200, 8000)] {
            let lo = r.backoff(attempts, 0);
            assert_eq!(lo, nominal * 3 / 4, "{attempts}");
            // The largest jitter is one below half the nominal delay.
            let top = (nominal / 2 - 1) as u32;
            assert_eq!(r.backoff(attempts, top), nominal * 5 / 4 - 1);
            for j in [1u32, 777, 123_456, u32::MAX] {
                let d = r.backoff(attempts, j);
                assert!((lo..nominal * 5 / 4).contains(&d));
            }
        }
    }

    #[test]
    fn numbers() {
        let mut b = [0; 10];
        assert_eq!(fmt_u32(0, &mut b), b"0");
        assert_eq!(fmt_u32(u32::MAX, &mut b), b"4294967295");
    }
}
