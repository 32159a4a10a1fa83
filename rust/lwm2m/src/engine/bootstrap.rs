//! Bootstrap (LwM2M 1.1 TS Core section 6.1): client-initiated Bootstrap-Request, and the
//! bootstrap server's Write, Delete, Discover, Read and Finish.

use super::{Destination, Engine, Millis, Outgoing, Peer, Request};
use crate::coap::{code, content_format as cf, option, Message, MessageBuilder, MessageType};
use crate::dm::Caller;
use crate::error::{Error, Result};
use crate::path::Path;

/// How long the client waits for Bootstrap-Finish after its request was accepted.
const FINISH_TIMEOUT_MS: Millis = 60_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum State {
    #[default]
    Idle,
    /// Send a Bootstrap-Request at `due`.
    Due { due: Millis },
    /// Request sent.
    Requesting,
    /// Accepted; waiting for writes and Finish until `deadline`.
    Waiting { deadline: Millis },
}

/// Client-side bootstrap state.
#[derive(Debug, Default)]
pub(crate) struct Bootstrap {
    state: State,
    token: [u8; 4],
    attempts: u8,
}

impl Bootstrap {
    pub fn schedule(&mut self, now: Millis, hold_off_ms: Millis) {
        if matches!(self.state, State::Idle | State::Due { .. }) {
            self.state = State::Due {
                due: now + hold_off_ms,
            };
        }
    }

    pub fn owns_token(&self, token: &[u8]) -> bool {
        self.state == State::Requesting && self.token == token
    }

    pub fn next_wakeup(&self) -> Option<Millis> {
        match self.state {
            State::Due { due } => Some(due),
            State::Waiting { deadline } => Some(deadline),
            _ => None,
        }
    }

    /// True while a bootstrap is in progress.
    pub fn active(&self) -> bool {
        self.state != State::Idle
    }
}

impl Engine<'_> {
    /// Client Hold Off Time of the bootstrap account, in ms.
    pub(crate) fn bootstrap_hold_off(&self) -> Millis {
        self.security
            .bootstrap()
            .map_or(0, |b| u64::from(b.hold_off) * 1000)
    }

    /// True while bootstrapping.
    pub fn bootstrapping(&self) -> bool {
        self.bootstrap.active()
    }

    pub(crate) fn poll_bootstrap(&mut self, now: Millis, buf: &mut [u8]) -> Option<Outgoing> {
        match self.bootstrap.state {
            State::Due { due } if due <= now => {}
            State::Waiting { deadline } if deadline <= now => {
                self.bootstrap_failed(now);
                return None;
            }
            _ => return None,
        }
        self.security.bootstrap()?;
        let token = self.new_token();
        let mut b = MessageBuilder::new(buf, MessageType::Con, code::POST, 0, &token).ok()?;
        b.option(option::URI_PATH, b"bs").ok()?;
        let mut q = [0u8; 3 + crate::config::ENDPOINT_LEN];
        let ep = self.endpoint.as_bytes();
        q[..3].copy_from_slice(b"ep=");
        q[3..3 + ep.len()].copy_from_slice(ep);
        b.option(option::URI_QUERY, &q[..3 + ep.len()]).ok()?;
        // Preferred content type for the bootstrap writes (LwM2M 1.1).
        b.option(option::URI_QUERY, b"pct=112").ok()?;
        let len = b.finish();
        self.bootstrap.token = token;
        self.bootstrap.state = State::Requesting;
        Some(Outgoing {
            dest: Destination::Bootstrap,
            len,
            confirmable: true,
        })
    }

    pub(crate) fn bootstrap_response(&mut self, resp: &Message<'_>, now: Millis) {
        if resp.code == code::CHANGED {
            self.bootstrap.state = State::Waiting {
                deadline: now + FINISH_TIMEOUT_MS,
            };
        } else {
            self.bootstrap_failed(now);
        }
    }

    #[inline(never)] // one copy instead of one per use: smaller (`make size`)
    pub(crate) fn bootstrap_failed(&mut self, now: Millis) {
        let jitter = self.random();
        let delay = self
            .registration
            .backoff_for(self.bootstrap.attempts, jitter);
        self.bootstrap.attempts = self.bootstrap.attempts.saturating_add(1);
        self.bootstrap.state = State::Due { due: now + delay };
    }

    /// Requests from the bootstrap server.
    pub(crate) fn handle_bootstrap(
        &mut self,
        _peer: &Peer,
        op: &Request<'_>,
        req: &Message<'_>,
        now: Millis,
        resp: &mut MessageBuilder<'_>,
    ) -> Result<()> {
        let path = op.path;
        match req.code {
            code::GET if op.accept == Some(cf::LINK_FORMAT) => self.bootstrap_discover(&path, resp),
            code::GET => self.read(Caller::Bootstrap, op, resp),
            code::PUT => {
                self.bootstrap_write(op, now)?;
                resp.set_code(code::CHANGED);
                Ok(())
            }
            code::DELETE => {
                self.bootstrap_delete(&path, now)?;
                resp.set_code(code::DELETED);
                Ok(())
            }
            _ => Err(Error::MethodNotAllowed),
        }
    }

    /// Bootstrap-Write: creates the instance if needed, then writes (any resource, even
    /// read-only ones).
    fn bootstrap_write(&mut self, op: &Request<'_>, now: Millis) -> Result<()> {
        let path = op.path;
        let oid = path.object_id().ok_or(Error::MethodNotAllowed)?;
        let obj = self.object(oid).ok_or(Error::NotFound)?;
        let defs = self.defs();
        let format = op.content_format.ok_or(Error::UnsupportedContentFormat)?;
        // Instances named in the payload that do not exist yet are created first.
        let mut to_create: heapless::Vec<u16, 8> = heapless::Vec::new();
        {
            let type_of = |p: &Path| defs.type_of(p);
            for rec in crate::codec::Decoder::new(format, &path, op.payload, &type_of)? {
                let rec = rec?;
                let i = rec.path.instance_id().ok_or(Error::BadRequest)?;
                if rec.path.object_id() != Some(oid) {
                    return Err(Error::BadRequest);
                }
                if !obj.has_instance(i) && !to_create.contains(&i) {
                    to_create
                        .push(i)
                        .map_err(|_| Error::RequestEntityTooLarge)?;
                }
            }
        }
        for &i in &to_create {
            self.object_mut(oid)
                .ok_or(Error::NotFound)?
                .create(Caller::Bootstrap, i)?;
        }
        let r = self.write_payload(
            Caller::Bootstrap,
            Some(format),
            &path,
            op.payload,
            false,
            None,
        );
        if r.is_err() {
            for &i in &to_create {
                if let Some(o) = self.object_mut(oid) {
                    let _ = o.delete(Caller::Local, i);
                }
            }
        }
        r?;
        self.observations.mark_changed(&path, now);
        // Accounts and ACLs may have changed under existing observations.
        self.observations.recheck(None);
        Ok(())
    }

    /// Bootstrap-Delete on `/`, `/O` or `/O/I`. The bootstrap server's own Security instance
    /// and instances an object refuses to delete (the Device object) stay.
    fn bootstrap_delete(&mut self, path: &Path, _now: Millis) -> Result<()> {
        if path.len() > 2 {
            return Err(Error::BadRequest);
        }
        let bs_instance = self.security.bootstrap().map(|s| s.id);
        for oid in self.object_ids() {
            if path.object_id().is_some_and(|o| o != oid) {
                continue;
            }
            let mut ids: heapless::Vec<u16, 16> = heapless::Vec::new();
            if let Some(obj) = self.object(oid) {
                let mut cur = None;
                while let Some(i) = obj.next_instance(cur) {
                    cur = Some(i);
                    if path.instance_id().is_none_or(|x| x == i)
                        && !(oid == 0 && Some(i) == bs_instance)
                    {
                        let _ = ids.push(i);
                    }
                }
            }
            for i in ids {
                let account = (oid == crate::objects::server::ID)
                    .then(|| self.server.instances.get(i).map(|s| s.ssid))
                    .flatten();
                let deleted = self
                    .object_mut(oid)
                    .map(|o| o.delete(Caller::Bootstrap, i).is_ok())
                    .unwrap_or(false);
                if deleted {
                    self.forget_instance(oid, i);
                    // The account is gone: its observations and attributes with it.
                    if let Some(ssid) = account {
                        self.forget_server(ssid);
                    }
                }
            }
        }
        self.observations.recheck(None);
        if path.len() == 2 && self.object(path.ids()[0]).is_none() {
            return Err(Error::NotFound);
        }
        Ok(())
    }

    /// Bootstrap-Discover: `lwm2m="1.1",</0/1>;ssid=101;uri="...",</1/0>;ssid=101,...`.
    fn bootstrap_discover(&self, path: &Path, resp: &mut MessageBuilder<'_>) -> Result<()> {
        if path.len() > 1 {
            return Err(Error::BadRequest);
        }
        resp.set_code(code::CONTENT);
        resp.option_uint(option::CONTENT_FORMAT, cf::LINK_FORMAT.into())
            .map_err(|_| Error::InternalServerError)?;
        let payload = resp.payload_mut();
        let mut w = crate::codec::Writer::new(payload);
        self.bootstrap_links(&mut w, path)
            .map_err(super::own_overflow)?;
        let n = w.total();
        resp.set_payload_len(n)
            .map_err(|_| Error::InternalServerError)
    }

    fn bootstrap_links(&self, w: &mut crate::codec::Writer<'_>, path: &Path) -> Result<()> {
        use crate::codec::link::{write_link, LinkAttr};
        w.write(b"lwm2m=\"1.1\"")?;
        for oid in self.object_ids() {
            if path.object_id().is_some_and(|o| o != oid) {
                continue;
            }
            let obj = self.object(oid).ok_or(Error::NotFound)?;
            let mut cur = None;
            let ver = obj.def().version.map(|v| LinkAttr::Token("ver", v));
            if obj.next_instance(None).is_none() || ver.is_some() {
                write_link(w, false, &Path::object(oid), ver.as_slice())?;
            }
            while let Some(i) = obj.next_instance(cur) {
                cur = Some(i);
                let p = Path::instance(oid, i);
                match oid {
                    0 => {
                        let s = self.security.instances.get(i).ok_or(Error::NotFound)?;
                        if s.bootstrap {
                            write_link(w, false, &p, &[])?;
                        } else {
                            let attrs = [
                                LinkAttr::Uint("ssid", s.ssid.into()),
                                LinkAttr::Quoted("uri", &s.uri),
                            ];
                            write_link(w, false, &p, &attrs)?;
                        }
                    }
                    1 => {
                        let s = self.server.instances.get(i).ok_or(Error::NotFound)?;
                        write_link(w, false, &p, &[LinkAttr::Uint("ssid", s.ssid.into())])?;
                    }
                    _ => write_link(w, false, &p, &[])?,
                }
            }
        }
        Ok(())
    }

    /// Bootstrap-Finish: checks that at least one complete DM server account exists, then
    /// registers.
    pub(crate) fn bootstrap_finish(
        &mut self,
        peer: &Peer,
        now: Millis,
        resp: &mut MessageBuilder<'_>,
    ) -> Result<()> {
        if peer.identity != super::Identity::Bootstrap {
            return Err(Error::Unauthorized);
        }
        let consistent = self
            .server
            .instances
            .iter()
            .any(|s| self.security.by_ssid(s.ssid).is_some())
            && self
                .server
                .instances
                .iter()
                .all(|s| self.security.by_ssid(s.ssid).is_some());
        if !consistent {
            return Err(Error::NotAcceptable);
        }
        self.bootstrap.state = State::Idle;
        self.bootstrap.attempts = 0;
        self.registration = super::register::Registrations {
            policy: self.registration.policy,
            ..Default::default()
        };
        self.observations
            .remove_identity(super::Identity::Bootstrap);
        self.schedule_registrations(now);
        resp.set_code(code::CHANGED);
        Ok(())
    }
}
