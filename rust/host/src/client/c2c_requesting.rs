//! The requesting side of client-to-client operations ([`HostClient::c2c_start`]): request in
//! clear, owner server hint, access request, secure request, responses and notifications as
//! [`C2cStep`]s (see `c2c.rs`).

use std::net::SocketAddr;
use std::time::Instant;

use lwm2m::coap::{code, option, Message};
use lwm2m::engine::{AccessOutcome, Destination, RegistrationState};
use lwm2m::objects::security::mode;
use lwm2m::Error as EngineError;
use zeroize::Zeroizing;

use super::c2c::{
    build_request, C2cChannel, C2cRequest, C2cStep, Op, Phase, C2C_RETRIES, C2C_RETRY_BASE_MS,
    MAX_OPS, TOKEN_LEN,
};
use super::driver::{HostClient, BUF_LEN};
use super::event::Event;
use crate::clock::Clock;
use crate::message::Sent;
use crate::transport::Transport;
use lwm2m_endpoint::msg::code_string;

impl<T: Transport, C: Clock> HostClient<'_, T, C> {
    /// The first address of `uri` the socket's family reaches.
    pub(super) fn c2c_addr(&mut self, uri: &str) -> Option<SocketAddr> {
        let v6_socket = self.transport.local_addr().is_ok_and(|a| a.is_ipv6());
        self.resolve_uri(uri)
            .ok()?
            .into_iter()
            .find(|a| v6_socket || a.is_ipv4())
    }

    fn c2c_emit(&mut self, op: u32, step: C2cStep) {
        self.emit(Event::C2c { op, step });
    }

    /// Starts C2C operation `op` (an ID chosen by the caller, reported in every step).
    pub fn c2c_start(&mut self, op: u32, req: C2cRequest) {
        if self.c2c.ops.len() >= MAX_OPS {
            let done = self
                .c2c
                .order
                .iter()
                .position(|i| self.c2c.ops.get(i).is_none_or(|o| o.phase == Phase::Done));
            match done {
                Some(pos) => {
                    let old = self.c2c.order.remove(pos);
                    self.c2c.ops.remove(&old);
                }
                None => {
                    self.c2c_emit(
                        op,
                        C2cStep::Failed {
                            reason: "too many C2C operations in progress".into(),
                        },
                    );
                    return;
                }
            }
        }
        if let Some(old) = self.c2c.ops.remove(&op) {
            self.c2c.tokens.remove(&old.token);
        }
        self.c2c.order.retain(|i| *i != op);
        self.c2c.order.push(op);
        self.c2c.ops.insert(
            op,
            Op {
                req,
                phase: Phase::Plain,
                access_retried: false,
                channel: C2cChannel::Plain,
                short_id: None,
                to: None,
                token: Vec::new(),
                retries: 0,
                retry_at: None,
                asked_without_hint: false,
            },
        );
        self.c2c_send(op);
        self.flush();
    }

    /// Ends C2C operation `op`: an observation is forgotten, so the host's next notification
    /// is reset and its observation ends.
    pub fn c2c_cancel(&mut self, op: u32) {
        if let Some(o) = self.c2c.ops.get_mut(&op) {
            if let Some(to) = o.to {
                self.ml.forget_token(to, &o.token);
            }
            self.c2c.tokens.remove(&o.token);
            o.phase = Phase::Done;
        }
    }

    pub(super) fn c2c_fail(&mut self, op: u32, reason: String) {
        if let Some(o) = self.c2c.ops.get_mut(&op) {
            o.phase = Phase::Done;
            if let Some(to) = o.to {
                self.ml.forget_token(to, &o.token);
            }
            let t = std::mem::take(&mut o.token);
            self.c2c.tokens.remove(&t);
        }
        self.c2c_emit(op, C2cStep::Failed { reason });
    }

    /// Sends the request of `op`: over the account's channel when there is an active
    /// account for the host, else in clear to the host URI.
    pub(super) fn c2c_send(&mut self, op: u32) {
        let Some(o) = self.c2c.ops.get(&op) else {
            return;
        };
        let host = o.req.host_ep.clone();
        let host_uri = o.req.host_uri.clone();
        let now = self.now();
        let account = self.engine.client_account(&host).and_then(|a| {
            let s = a.security?;
            let active = self.engine.client_active(a.short_id, now);
            let psk = (s.mode == mode::PSK && !s.identity.is_empty() && !s.secret_key.is_empty())
                .then(|| (s.identity.to_vec(), Zeroizing::new(s.secret_key.to_vec())));
            Some((
                a.short_id,
                active,
                s.uri.as_str().to_owned(),
                psk,
                a.oscore.is_some(),
            ))
        });
        let plain_addr = self.c2c_addr(&host_uri);
        let (to, channel, short_id) = match account {
            Some((cid, true, uri, psk, has_oscore)) => {
                // The address this client reached the host on comes first: the account's URI
                // is the address the server saw the host register from, which behind a NAT or
                // a proxy is not where the host can be reached.
                let addr = plain_addr.or_else(|| self.c2c_addr(&uri));
                let Some(addr) = addr else {
                    return self.c2c_fail(op, format!("cannot resolve {uri}"));
                };
                if let Some((id, key)) = psk {
                    if let Err(e) = self.transport.add_dtls_peer(addr, &id, &key) {
                        return self.c2c_fail(op, format!("DTLS to {addr}: {e}"));
                    }
                    (addr, C2cChannel::Dtls, Some(cid))
                } else if has_oscore && self.c2c.channels.get(&cid).is_some_and(|c| c.oscore_live) {
                    (addr, C2cChannel::Oscore, Some(cid))
                } else {
                    return self.c2c_fail(
                        op,
                        format!("account {cid} has neither a PSK nor a usable OSCORE context"),
                    );
                }
            }
            _ => match plain_addr {
                Some(a) => (a, C2cChannel::Plain, None),
                None => return self.c2c_fail(op, format!("cannot resolve {host_uri}")),
            },
        };
        let token = self.c2c.rng.next_u64().to_be_bytes()[..TOKEN_LEN].to_vec();
        let Some(o) = self.c2c.ops.get_mut(&op) else {
            return;
        };
        let mut buf = vec![0u8; BUF_LEN];
        let Some(n) = build_request(&o.req, &token, &mut buf) else {
            return self.c2c_fail(op, "request does not fit a datagram".into());
        };
        let old = std::mem::replace(&mut o.token, token.clone());
        o.to = Some(to);
        o.channel = channel;
        o.short_id = short_id;
        o.phase = if channel == C2cChannel::Plain {
            Phase::Plain
        } else {
            Phase::Secure
        };
        self.c2c.tokens.remove(&old);
        self.c2c.tokens.insert(token, op);
        let handle = self.peer_handle(to, now);
        let msg = buf.get_mut(..n).unwrap_or_default();
        match self.ml.send(to, Destination::Endpoint(handle), msg, now) {
            Ok(Sent::Now(_)) => {}
            // Sent when NSTART lets it go (the loop's flush).
            Ok(Sent::Queued(_)) => return self.c2c_sent(op, to, channel, short_id),
            Err(e) => return self.c2c_fail(op, format!("message layer refused the request: {e}")),
        }
        self.engine.message_sent(now);
        if let Err(e) = self.transport.send(msg, to) {
            // CON: retransmitted by the message layer.
            self.emit(Event::SendFailed {
                dest: to.to_string(),
                reason: e.to_string(),
            });
        }
        self.c2c_sent(op, to, channel, short_id);
    }

    fn c2c_sent(&mut self, op: u32, to: SocketAddr, channel: C2cChannel, short_id: Option<u16>) {
        self.c2c_emit(
            op,
            C2cStep::Sent {
                to,
                channel,
                short_id,
            },
        );
    }

    /// A response or notification to a driver request.
    pub(crate) fn c2c_response(&mut self, msg: &Message<'_>) {
        let Some(&op) = self.c2c.tokens.get(msg.token) else {
            return;
        };
        let Some(o) = self.c2c.ops.get_mut(&op) else {
            return;
        };
        let channel = o.channel;
        let content_format = msg
            .option_uint(option::CONTENT_FORMAT)
            .and_then(Result::ok)
            .map(|c| c as u16);
        match o.phase {
            Phase::Observing => {
                let step = C2cStep::Notification {
                    code: msg.code,
                    observe: msg.option_uint(option::OBSERVE).and_then(Result::ok),
                    payload: msg.payload.to_vec(),
                    received: Instant::now(),
                };
                let failed = msg.code >> 5 != 2;
                self.c2c_emit(op, step);
                if failed {
                    self.c2c_fail(
                        op,
                        format!("observation ended with {}", code_string(msg.code)),
                    );
                }
            }
            Phase::Plain | Phase::Secure if msg.code == code::UNAUTHORIZED => {
                if o.phase == Phase::Secure && o.access_retried {
                    let c = msg.code;
                    return self.c2c_fail(
                        op,
                        format!("{} again after the access request", code_string(c)),
                    );
                }
                o.access_retried |= o.phase == Phase::Secure;
                let t = std::mem::take(&mut o.token);
                self.c2c.tokens.remove(&t);
                let hint = lwm2m::c2c::hint::decode(msg.payload)
                    .map(|v| v.iter().map(|s| (*s).to_owned()).collect())
                    .unwrap_or_default();
                self.c2c_emit(op, C2cStep::Unauthorized { hint });
                self.c2c_access(op, msg.payload);
            }
            Phase::Plain | Phase::Secure => {
                let observing =
                    o.req.observe && msg.code >> 5 == 2 && msg.option(option::OBSERVE).is_some();
                if observing {
                    o.phase = Phase::Observing;
                    if let Some(to) = o.to {
                        let handle = self.peer_handle(to, self.now());
                        self.ml
                            .keep_token(to, msg.token, Destination::Endpoint(handle), code::GET);
                    }
                } else {
                    o.phase = Phase::Done;
                    self.c2c.tokens.remove(msg.token);
                }
                self.c2c_emit(
                    op,
                    C2cStep::Response {
                        code: msg.code,
                        channel,
                        content_format,
                        payload: msg.payload.to_vec(),
                    },
                );
            }
            Phase::Access(_) | Phase::Done => {}
        }
    }

    /// A driver request got no answer (timeout or reset).
    pub(crate) fn c2c_no_answer(&mut self, token: &[u8], reason: &str) {
        let Some(&op) = self.c2c.tokens.get(token) else {
            return;
        };
        // No answer to the request in clear: the host may sleep in Queue Mode, and then
        // never sends the hint; nor to any request to a host the server said is in Queue
        // Mode. With exactly one registered server, ask it (a server this client trusts, so
        // no hint check is skipped): it installs the accounts (or the grant) on the host when
        // the host next wakes and answers only then, while the host is awake. Once per
        // operation.
        let queue_hosts = &self.c2c.queue_hosts;
        let plain = self.c2c.ops.get(&op).is_some_and(|o| {
            !o.asked_without_hint
                && (o.phase == Phase::Plain || queue_hosts.contains(&o.req.host_ep))
        });
        let registered: Vec<u16> = self
            .engine
            .servers()
            .instances
            .iter()
            .map(|s| s.ssid)
            .filter(|&s| self.engine.registration_state(s) == RegistrationState::Registered)
            .collect();
        match registered[..] {
            [ssid] if plain => {
                if let Some(o) = self.c2c.ops.get_mut(&op) {
                    o.asked_without_hint = true;
                }
                self.c2c_emit(
                    op,
                    C2cStep::HintIgnored {
                        reason: format!("no answer from the host ({reason}); asking server {ssid}"),
                    },
                );
                self.c2c_access_to(op, ssid);
            }
            _ => self.c2c_fail(op, format!("no answer from the host ({reason})")),
        }
    }

    /// Schedules `op` to start over after a transient refusal, or fails it once
    /// [`C2C_RETRIES`] retries were used.
    fn c2c_retry(&mut self, op: u32, reason: &str) {
        let now = self.now();
        let jitter = self.c2c.rng.next_u64();
        let Some(o) = self.c2c.ops.get_mut(&op) else {
            return;
        };
        if o.retries >= C2C_RETRIES {
            return self.c2c_fail(op, format!("{reason}, {C2C_RETRIES} retries used"));
        }
        o.retries += 1;
        let base = C2C_RETRY_BASE_MS << (o.retries - 1);
        let after_ms = base + jitter % (base / 2 + 1);
        o.retry_at = Some(now + after_ms);
        o.phase = Phase::Plain;
        let t = std::mem::take(&mut o.token);
        self.c2c.tokens.remove(&t);
        let attempt = o.retries;
        self.c2c_emit(
            op,
            C2cStep::RetryScheduled {
                after_ms,
                attempt,
                reason: reason.to_owned(),
            },
        );
    }

    /// Starts the operations whose retry is due.
    fn c2c_due_retries(&mut self) {
        let now = self.now();
        let due: Vec<u32> = self
            .c2c
            .order
            .iter()
            .copied()
            .filter(|i| {
                self.c2c
                    .ops
                    .get(i)
                    .is_some_and(|o| o.retry_at.is_some_and(|t| t <= now))
            })
            .collect();
        for op in due {
            if let Some(o) = self.c2c.ops.get_mut(&op) {
                o.retry_at = None;
            }
            self.c2c_send(op);
        }
    }

    /// The earliest scheduled retry (driver clock, ms).
    pub(super) fn c2c_next_retry(&self) -> Option<u64> {
        self.c2c.ops.values().filter_map(|o| o.retry_at).min()
    }

    /// Where the peer of account `cid` is: the address this client reached that host on (the
    /// host URI of an operation toward it), else the URI in the account.
    pub(super) fn c2c_account_addr(&mut self, cid: u16, account_uri: &str) -> Option<SocketAddr> {
        let reached = self
            .c2c
            .order
            .iter()
            .rev()
            .filter_map(|i| self.c2c.ops.get(i))
            .find(|o| {
                self.engine
                    .client_account(&o.req.host_ep)
                    .is_some_and(|a| a.short_id == cid)
            })
            .map(|o| o.req.host_uri.clone());
        reached
            .and_then(|u| self.c2c_addr(&u))
            .or_else(|| self.c2c_addr(account_uri))
    }

    /// Follows an owner server hint with an access request.
    fn c2c_access(&mut self, op: u32, hint: &[u8]) {
        let ssid = match self.engine.hint_server(hint) {
            Ok(s) => s,
            Err(e) => {
                let reason = match e {
                    EngineError::Forbidden => {
                        "it names no server this client is registered with".to_string()
                    }
                    _ => "no valid hint in the 4.01".to_string(),
                };
                self.c2c_emit(op, C2cStep::HintIgnored { reason });
                if !hint.is_empty() {
                    // A hint this client does not trust will not become trustworthy.
                    return self.c2c_fail(op, "no access request sent".into());
                }
                // No hint at all: the host may be rate limiting its hints (T1); ask again.
                return self.c2c_retry(op, "4.01 without an owner server hint");
            }
        };
        self.c2c_access_to(op, ssid);
    }

    /// Sends the access request of `op` to server `ssid`.
    fn c2c_access_to(&mut self, op: u32, ssid: u16) {
        let Some(o) = self.c2c.ops.get(&op) else {
            return;
        };
        let host = o.req.host_ep.clone();
        let grants = o.req.grants.clone();
        let now = self.now();
        let credentials = match self.engine.client_account(&host) {
            Some(a) => a.security.is_none() || !self.engine.client_active(a.short_id, now),
            None => true,
        };
        if let Err(e) = self
            .engine
            .request_access(ssid, &host, &grants, credentials, now)
        {
            return self.c2c_fail(op, format!("access request not queued: {e}"));
        }
        if let Some(o) = self.c2c.ops.get_mut(&op) {
            o.phase = Phase::Access(ssid);
        }
        self.c2c_emit(op, C2cStep::AccessRequested { ssid, credentials });
    }

    /// The C2C work after every handled message and tick: closed accounts, transport sync,
    /// access results.
    pub(crate) fn c2c_service(&mut self) {
        self.c2c_due_retries();
        while let Some(cid) = self.engine.take_closed_client() {
            self.c2c_teardown(cid, "account closed (expired, disabled or deleted)");
        }
        self.c2c_sync();
        while let Some(r) = self.engine.take_access_result() {
            let op = self.c2c.order.iter().copied().find(|i| {
                self.c2c.ops.get(i).is_some_and(|o| {
                    o.phase == Phase::Access(r.ssid) && o.req.host_ep == r.host.as_str()
                })
            });
            let result = match r.outcome {
                AccessOutcome::Granted => None,
                AccessOutcome::Rejected(c) => Some(code_string(c)),
                AccessOutcome::Timeout => Some("timeout".into()),
            };
            let Some(op) = op else {
                self.emit(Event::C2cAccessRefresh {
                    host: r.host.as_str().to_owned(),
                    ssid: r.ssid,
                    result: result.unwrap_or_else(|| "2.01".into()),
                });
                continue;
            };
            match result {
                None => {
                    let host = r.host.as_str();
                    if r.host_queue_mode {
                        if self.c2c.queue_hosts.len() >= MAX_OPS {
                            self.c2c.queue_hosts.clear();
                        }
                        self.c2c.queue_hosts.insert(host.to_owned());
                    } else {
                        self.c2c.queue_hosts.remove(host);
                    }
                    let step = C2cStep::AccessGranted {
                        ssid: r.ssid,
                        queue_mode: r.host_queue_mode,
                    };
                    self.c2c_emit(op, step);
                    // The accounts arrived before the 2.01: give them their channels.
                    self.c2c_sync();
                    self.c2c_send(op);
                }
                Some(result) => {
                    let transient = matches!(
                        r.outcome,
                        AccessOutcome::Rejected(code::BAD_REQUEST | code::SERVICE_UNAVAILABLE)
                    );
                    self.c2c_emit(
                        op,
                        C2cStep::AccessRefused {
                            ssid: r.ssid,
                            result: result.clone(),
                        },
                    );
                    if transient {
                        // E.g. 4.00 "unknown host endpoint": the host has not registered yet.
                        self.c2c_retry(op, &format!("access request answered {result}"));
                    } else {
                        self.c2c_fail(op, "access refused".into());
                    }
                }
            }
        }
    }
}
