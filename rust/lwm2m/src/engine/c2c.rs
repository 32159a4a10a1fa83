//! Client-to-client extension, hosting side (feature `c2c`; Lanzieri et al., IPSN'22,
//! sections 3-5): the C2C objects, access checks for requesting clients, owner server hints,
//! account lifetimes and the lookups a driver needs to authenticate a requesting client.
//!
//! Decisions (also in the README, section "Design decisions"):
//! - A request from `Identity::Client(c)` needs an active account (an 11001 instance with
//!   Short Client ID `c`, not disabled, lifetime not over) and the right in the 11002 instance
//!   of the target (`/O/I`, or `/O/65535` for Create): the client's own ACL entry, else the
//!   default entry 0. No 11002 instance means no access. Discover needs the Discover flag
//!   (0x20); Read, Observe and Write-Attributes need R. Objects 0, 1, 2, 11000, 11001, 11002
//!   and 21 are never reachable by clients. Access is checked before existence, so a missing
//!   target gets the same 4.01 as a forbidden one (T0).
//! - Every 4.01 to an unauthenticated peer or a client carries an owner server hint (CF 60):
//!   the owner of the 11002 instance of the target, else of the object-level 11002 instance,
//!   else of the matching object-2 instances, else the first server. Hints are rate limited
//!   per source (the peer's address) with a global cap, and a bounded table of sources whose
//!   slots rotating addresses cannot take from others (`engine::hint_limit`); beyond the
//!   limits the 4.01 goes without payload (T1) and [`Engine::hint_counters`] counts it.
//! - A server writing 11001 res 1 (or creating the account) restarts its lifetime. When it
//!   runs out, or a server deletes the account (11001 or 11000) or executes Disable, the
//!   account's observations end, its requests are refused and its Short Client ID is
//!   reported through [`Engine::take_closed_client`] so the driver closes the DTLS session or
//!   drops the OSCORE context (T2).
//! - Create by a client (Figure 2): the new instance gets an object-2 instance and an 11002
//!   instance, both owned by the owner of the object-level 11002 instance that authorized
//!   the Create. The object-2 ACL gives Read to every other server listed in the object-level
//!   object-2 instance of that object; the 11002 ACL gives the creating client Read and
//!   Write (the rights Figure 2 shows; the creator does not get Delete or Execute).
//! - DM servers may create, write and delete 11000, 11001 and 21 instances (not only the
//!   bootstrap server: the paper's choice; object 0, and 21 instances linked from object 0,
//!   stay bootstrap-only) and read 11001 and 11002. An 11002 instance is changed or deleted
//!   only by its owner. 11000 and 21 are never readable remotely.
//! - Write-Composite extension: an iPATCH from a DM server may name C2C object instances that
//!   do not exist yet; they are created first and removed again if the write fails, so an
//!   account plus its rights is installed with one message, all or nothing.

use super::access::Action;
use super::{Engine, Identity, Millis, Peer, Request};
use crate::c2c::{rights, CLIENT, CLIENT_ACCESS_CONTROL, CLIENT_SECURITY, OSCORE};
use crate::coap::{code, content_format as cf, option, Message, MessageBuilder};
use crate::codec::{Decoder, Writer};
use crate::config::MAX_CLIENTS;
use crate::dm::{Caller, Object};
use crate::error::{Error, Result};
use crate::objects::client::{self, Client, ClientInstance};
use crate::objects::client_access_control::ClientAccessControl;
use crate::objects::client_security::{ClientSecurity, ClientSecurityInstance};
use crate::objects::oscore::{Oscore, OscoreInstance};
use crate::path::{Path, ID_NONE};
use crate::value::Value;

/// Most C2C instances one Write-Composite may create.
const MAX_CREATED: usize = 8;

/// The C2C state of the engine.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub security: ClientSecurity,
    pub client: Client,
    pub acl: ClientAccessControl,
    pub oscore: Oscore,
    hints: super::hint_limit::HintLimiter,
    closed: heapless::Vec<u16, MAX_CLIENTS>,
    #[cfg(feature = "c2c-auth")]
    pub auth: super::c2c_auth::Requester,
}

/// A peer client account as a driver needs it to open or accept a secure session.
#[derive(Clone, Copy, Debug)]
pub struct ClientAccount<'e> {
    /// Short Client ID.
    pub short_id: u16,
    /// The Client (11001) instance.
    pub client: &'e ClientInstance,
    /// The Client Security (11000) instance with the same Short Client ID, if installed.
    pub security: Option<&'e ClientSecurityInstance>,
    /// The OSCORE (21) instance that instance links to, if any.
    pub oscore: Option<&'e OscoreInstance>,
}

impl Engine<'_> {
    /// The Client (11001) object: the peer client accounts.
    pub fn client_accounts(&self) -> &Client {
        &self.c2c.client
    }

    /// The Client Access Control (11002) object.
    pub fn client_access_control(&self) -> &ClientAccessControl {
        &self.c2c.acl
    }

    /// Counters of the owner server hint rate limiting (hints sent, and 4.01s that went
    /// without one because a limit was hit), for the driver to report.
    pub fn hint_counters(&self) -> super::hint_limit::HintCounters {
        self.c2c.hints.counters()
    }

    /// The Client Security (11000) object, for the driver's transports.
    pub fn client_security(&self) -> &ClientSecurity {
        &self.c2c.security
    }

    /// The OSCORE (21) object, for the driver's transports.
    pub fn oscore(&self) -> &Oscore {
        &self.c2c.oscore
    }

    /// Gives DM server account `ssid` an OSCORE context, as a bootstrap server would: creates
    /// OSCORE (21) instance `inst` with these values (AES-CCM-16-64-128, HKDF-SHA256, no ID
    /// Context) and links it from res 17 of the account's Security instance. For factory
    /// configurations (a driver's command line or build settings).
    pub fn provision_server_oscore(
        &mut self,
        ssid: u16,
        inst: u16,
        master_secret: &[u8],
        sender_id: &[u8],
        recipient_id: &[u8],
        master_salt: &[u8],
    ) -> Result<()> {
        // Resource IDs of object 21 (Master Secret, Sender ID, Recipient ID, Master Salt) and
        // of the Security object's OSCORE Security Mode link.
        const MASTER_SECRET: u16 = 0;
        const SENDER_ID: u16 = 1;
        const RECIPIENT_ID: u16 = 2;
        const MASTER_SALT: u16 = 5;
        const SECURITY_OSCORE_LINK: u16 = 17;
        let sec = self
            .security
            .by_ssid(ssid)
            .map(|s| s.id)
            .ok_or(Error::NotFound)?;
        let o = &mut self.c2c.oscore;
        o.create(Caller::Local, inst)?;
        for (r, v) in [
            (MASTER_SECRET, master_secret),
            (SENDER_ID, sender_id),
            (RECIPIENT_ID, recipient_id),
            (MASTER_SALT, master_salt),
        ] {
            if let Err(e) = o.write(Caller::Local, inst, r, None, &Value::Opaque(v)) {
                let _ = o.delete(Caller::Local, inst);
                return Err(e);
            }
        }
        let link = Value::ObjLnk(OSCORE, inst);
        let linked = self
            .security
            .write(Caller::Local, sec, SECURITY_OSCORE_LINK, None, &link);
        if linked.is_err() {
            let _ = self.c2c.oscore.delete(Caller::Local, inst);
        }
        linked
    }

    /// The next Short Client ID whose account was closed (expired, disabled or deleted): the
    /// driver closes its DTLS session or drops its OSCORE context.
    pub fn take_closed_client(&mut self) -> Option<u16> {
        if self.c2c.closed.is_empty() {
            None
        } else {
            Some(self.c2c.closed.remove(0))
        }
    }

    /// True if the account of Short Client ID `cid` may be used at `now`.
    pub fn client_active(&self, cid: u16, now: Millis) -> bool {
        self.c2c
            .client
            .by_short_id(cid)
            .is_some_and(|c| c.active(now))
    }

    /// The Short Client ID of the 11000 instance with this DTLS PSK identity (res 3).
    pub fn client_by_psk_identity(&self, identity: &[u8]) -> Option<u16> {
        self.c2c
            .security
            .instances
            .iter()
            .find(|s| !identity.is_empty() && s.identity == identity)
            .map(|s| s.short_id)
    }

    /// The Short Client ID of the 11000 instance linking (res 17) the OSCORE instance whose
    /// Recipient ID is `kid`.
    pub fn client_by_oscore_recipient(&self, kid: &[u8]) -> Option<u16> {
        let o = self
            .c2c
            .oscore
            .instances
            .iter()
            .find(|o| o.recipient_id == kid)?;
        self.c2c
            .security
            .instances
            .iter()
            .find(|s| s.oscore == Some((OSCORE, o.id)))
            .map(|s| s.short_id)
    }

    /// The account for a peer client, by its endpoint name (11001 res 9) or URI (11000 res 0).
    pub fn client_account(&self, peer: &str) -> Option<ClientAccount<'_>> {
        let c = &self.c2c;
        let client = c.client.by_endpoint(peer).or_else(|| {
            let s = c.security.instances.iter().find(|s| s.uri == peer)?;
            c.client.by_short_id(s.short_id)
        })?;
        let security = c.security.by_short_id(client.short_id);
        let oscore = security
            .and_then(|s| s.oscore)
            .and_then(|(_, i)| c.oscore.instances.get(i));
        Some(ClientAccount {
            short_id: client.short_id,
            client,
            security,
            oscore,
        })
    }

    pub(crate) fn c2c_client(&self, cid: u16) -> Option<&ClientInstance> {
        self.c2c.client.by_short_id(cid)
    }

    #[inline(never)] // one copy instead of one per use: smaller (`make size`)
    pub(crate) fn c2c_object(&self, id: u16) -> Option<&dyn Object> {
        Some(match id {
            CLIENT_SECURITY => &self.c2c.security,
            CLIENT => &self.c2c.client,
            CLIENT_ACCESS_CONTROL => &self.c2c.acl,
            OSCORE => &self.c2c.oscore,
            _ => return None,
        })
    }

    #[inline(never)] // one copy instead of one per use: smaller (`make size`)
    pub(crate) fn c2c_object_mut(&mut self, id: u16) -> Option<&mut dyn Object> {
        Some(match id {
            CLIENT_SECURITY => &mut self.c2c.security,
            CLIENT => &mut self.c2c.client,
            CLIENT_ACCESS_CONTROL => &mut self.c2c.acl,
            OSCORE => &mut self.c2c.oscore,
            _ => return None,
        })
    }

    /// Time-driven account work: expiry (reports and ends the account's observations).
    pub(crate) fn c2c_tick(&mut self, now: Millis) {
        let mut expired: heapless::Vec<u16, MAX_CLIENTS> = heapless::Vec::new();
        let mut reenabled = false;
        for c in self.c2c.client.instances.iter_mut() {
            if c.off_until != Some(u64::MAX) && c.expires_at().is_some_and(|t| now >= t) {
                c.off_until = Some(u64::MAX);
                let _ = expired.push(c.short_id);
            } else if c.off_until.is_some_and(|t| t != u64::MAX && now >= t) {
                // Back from a Disable with timeout: drivers may open its channels again.
                c.off_until = None;
                reenabled = true;
            }
        }
        if reenabled {
            self.touch_config();
        }
        for cid in expired {
            self.close_client(cid);
        }
    }

    /// When the next account expires.
    pub(crate) fn c2c_wakeup(&self) -> Option<Millis> {
        self.c2c
            .client
            .instances
            .iter()
            .filter(|c| c.off_until != Some(u64::MAX))
            .filter_map(|c| match (c.expires_at(), c.off_until) {
                (Some(e), Some(t)) => Some(e.min(t)),
                (e, t) => e.or(t),
            })
            .min()
    }

    /// Ends what a client account had going and reports it to the driver.
    pub(crate) fn close_client(&mut self, cid: u16) {
        if cid == 0 {
            return;
        }
        self.touch_config();
        self.observations.remove_identity(Identity::Client(cid));
        self.attributes
            .remove_server(super::attributes::owner_of(Caller::Client(cid)));
        if !self.c2c.closed.contains(&cid) && self.c2c.closed.is_full() {
            self.c2c.closed.remove(0);
        }
        if !self.c2c.closed.contains(&cid) {
            let _ = self.c2c.closed.push(cid);
        }
    }

    /// The Short Client ID of an account instance (11000 / 11001), for closing on delete.
    pub(crate) fn account_of(&self, oid: u16, inst: u16) -> Option<u16> {
        match oid {
            CLIENT => self.c2c.client.instances.get(inst).map(|c| c.short_id),
            CLIENT_SECURITY => self.c2c.security.instances.get(inst).map(|s| s.short_id),
            _ => None,
        }
    }

    /// Bookkeeping after a write or create by a server: a write of the lifetime (or of the
    /// whole instance) refreshes the account; changed client rights recheck observations.
    pub(crate) fn c2c_after_write(&mut self, path: &Path, now: Millis) {
        match (path.object_id(), path.instance_id()) {
            (Some(CLIENT), Some(i))
                if path
                    .resource_id()
                    .is_none_or(|r| r == client::res::LIFETIME) =>
            {
                if let Some(c) = self.c2c.client.instances.get_mut(i) {
                    c.refreshed_at = now;
                    c.off_until = None;
                }
            }
            (Some(CLIENT_ACCESS_CONTROL), _) => self.observations.recheck(None),
            _ => {}
        }
    }

    /// Execute of 11001 res 4 (Disable): the account is off for its Disable Timeout.
    pub(crate) fn c2c_executed(&mut self, oid: u16, inst: u16, rid: u16, now: Millis) {
        if oid != CLIENT || rid != client::res::DISABLE {
            return;
        }
        let Some(c) = self.c2c.client.instances.get_mut(inst) else {
            return;
        };
        let until = now.saturating_add(u64::from(c.disable_timeout) * 1000);
        c.off_until = Some(until.min(u64::MAX - 1));
        let cid = c.short_id;
        self.close_client(cid);
    }

    /// Access of a DM server to the C2C objects (`None`: not a C2C object).
    pub(crate) fn c2c_server_access(
        &self,
        ssid: u16,
        action: Action,
        obj: u16,
        inst: Option<u16>,
    ) -> Option<Result<()>> {
        let reading = matches!(action, Action::Read);
        Some(match obj {
            CLIENT => Ok(()),
            CLIENT_SECURITY if reading => Err(Error::Unauthorized),
            CLIENT_SECURITY => Ok(()),
            OSCORE => {
                let linked = inst.is_some_and(|i| {
                    self.security
                        .instances
                        .iter()
                        .any(|s| s.oscore == Some((OSCORE, i)))
                });
                if reading || linked {
                    Err(Error::Unauthorized)
                } else {
                    Ok(())
                }
            }
            CLIENT_ACCESS_CONTROL => match (action, inst) {
                (Action::Read | Action::Discover | Action::Create, _) => Ok(()),
                (Action::Write | Action::Delete, Some(i)) => match self.c2c.acl.instances.get(i) {
                    Some(a) if a.owner == ssid => Ok(()),
                    Some(_) => Err(Error::Unauthorized),
                    None => Err(Error::NotFound),
                },
                _ => Err(Error::MethodNotAllowed),
            },
            _ => return None,
        })
    }

    /// Access of requesting client `cid` to `/obj[/inst]`.
    pub(crate) fn client_allowed(
        &self,
        cid: u16,
        action: Action,
        obj: u16,
        inst: Option<u16>,
    ) -> Result<()> {
        if matches!(obj, 0..=2) || crate::c2c::is_c2c_object(obj) {
            return Err(Error::Unauthorized);
        }
        let bit = match action {
            Action::Discover => rights::DISCOVER,
            a => a.bit() as u8,
        };
        let grants = |a: &crate::objects::access_control::AclInstance| {
            a.entry(cid)
                .or(a.entry(0))
                .is_some_and(|r| r & u16::from(bit) != 0)
        };
        let ok = match (action, inst) {
            (Action::Create, _) => self.c2c.acl.find(obj, ID_NONE).is_some_and(grants),
            // Object level: allowed if some instance allows it; instances are filtered later.
            (_, None) => self
                .c2c
                .acl
                .instances
                .iter()
                .any(|a| a.object_id == obj && grants(a)),
            (_, Some(i)) => self.c2c.acl.find(obj, i).is_some_and(grants),
        };
        if ok {
            Ok(())
        } else {
            Err(Error::Unauthorized)
        }
    }

    /// A request from requesting client `cid`: account, then rights on the target (before
    /// anything reveals whether it exists), then the operation as for a server.
    pub(crate) fn handle_client(
        &mut self,
        peer: &Peer,
        cid: u16,
        op: &Request<'_>,
        req: &Message<'_>,
        now: Millis,
        resp: &mut MessageBuilder<'_>,
    ) -> Result<()> {
        if !self.client_active(cid, now) {
            return Err(Error::Unauthorized);
        }
        let caller = Caller::Client(cid);
        let action = match (req.code, op.path.len()) {
            (code::GET, _) if op.accept == Some(cf::LINK_FORMAT) => Action::Discover,
            (code::GET | code::FETCH, _) => Action::Read,
            (code::PUT, _) if op.is_write_attributes(req) => Action::Read,
            (code::POST, 1) => Action::Create,
            (code::POST, 3) => Action::Execute,
            (code::DELETE, _) => Action::Delete,
            _ => Action::Write,
        };
        if let Some(oid) = op.path.object_id() {
            self.client_allowed(cid, action, oid, op.path.instance_id())?;
        }
        let r = self.handle_dm(peer, caller, op, req, now, resp);
        match r {
            // Composite operations check each path; a missing one must not show.
            Err(Error::NotFound) if op.path.is_root() => Err(Error::Unauthorized),
            r => r,
        }
    }

    /// Turns the 4.01 in `resp` into one with an owner server hint, if the rate limit allows.
    pub(crate) fn write_hint(
        &mut self,
        peer: &Peer,
        req: &Message<'_>,
        now: Millis,
        resp: &mut MessageBuilder<'_>,
    ) {
        let Some(grant) = self.c2c.hints.allow(peer.source, now) else {
            return;
        };
        let mut path = Path::ROOT;
        for seg in req.uri_path() {
            match Path::parse_segment(seg)
                .ok()
                .and_then(|id| path.child(id).ok())
            {
                Some(p) => path = p,
                None => break,
            }
        }
        let Some(uri) = self.owner_uri(&path) else {
            return;
        };
        if resp
            .option_uint(option::CONTENT_FORMAT, cf::CBOR.into())
            .is_err()
        {
            resp.reset_options();
            return;
        }
        let payload = resp.payload_mut();
        let mut w = Writer::new(payload);
        if crate::c2c::hint::encode(&[uri], &mut w).is_err() {
            resp.reset_options();
            return;
        }
        let n = w.total();
        if resp.set_payload_len(n).is_err() {
            resp.reset_options();
            return;
        }
        self.c2c.hints.sent(grant);
    }

    /// URI of the owner server of `path` (see the module documentation).
    fn owner_uri(&self, path: &Path) -> Option<&str> {
        let owner = path.object_id().and_then(|o| {
            let i = path.instance_id().unwrap_or(ID_NONE);
            let c = &self.c2c.acl;
            [
                c.find(o, i),
                c.find(o, ID_NONE),
                self.acl.find(o, i),
                self.acl.find(o, ID_NONE),
            ]
            .into_iter()
            .flatten()
            .map(|a| a.owner)
            .find(|&s| self.security.by_ssid(s).is_some())
        });
        let sec = match owner {
            Some(s) => self.security.by_ssid(s),
            None => self.security.instances.iter().find(|s| !s.bootstrap),
        };
        sec.map(|s| s.uri.as_str())
    }

    /// Figure 2: after client `cid` created `/oid/inst`, the object-2 and 11002 instances for
    /// it, owned by the server that authorized the Create. Both or neither are added.
    pub(crate) fn client_created(&mut self, cid: u16, oid: u16, inst: u16) -> Result<()> {
        let owner = self
            .c2c
            .acl
            .find(oid, ID_NONE)
            .map(|a| a.owner)
            .ok_or(Error::Unauthorized)?;
        let readers: heapless::Vec<u16, { crate::config::MAX_ACL_ENTRIES }> = self
            .acl
            .find(oid, ID_NONE)
            .map(|a| {
                a.acl
                    .iter()
                    .map(|e| e.0)
                    .filter(|&s| s != 0 && s != owner)
                    .collect()
            })
            .unwrap_or_default();
        let id = self.acl.add(oid, inst, owner, 0)?;
        let mut fill = || -> Result<()> {
            if let Some(a) = self.acl.instances.get_mut(id) {
                for s in &readers {
                    a.set_entry(*s, crate::objects::access_control::rights::READ)?;
                }
            }
            let cid_inst = self
                .c2c
                .acl
                .instances
                .free_id()
                .ok_or(Error::ServiceUnavailable)?;
            let mut a = crate::objects::access_control::AclInstance {
                id: cid_inst,
                object_id: oid,
                instance_id: inst,
                acl: heapless::Vec::new(),
                owner,
            };
            a.set_entry(cid, u16::from(rights::READ | rights::WRITE))?;
            self.c2c.acl.instances.insert(a)
        };
        let r = fill();
        if r.is_err() {
            let _ = self.acl.instances.remove(id);
        }
        r
    }

    /// The Write-Composite extension: creates the C2C instances a server's iPATCH names that
    /// do not exist yet (after checking the server may create them). Returns them, so that
    /// the caller can remove them again if the write fails.
    pub(crate) fn create_c2c_instances(
        &mut self,
        caller: Caller,
        format: Option<u16>,
        payload: &[u8],
    ) -> Result<heapless::Vec<(u16, u16), MAX_CREATED>> {
        let mut new: heapless::Vec<(u16, u16), MAX_CREATED> = heapless::Vec::new();
        let Caller::Server(_) = caller else {
            return Ok(new);
        };
        let format = format.ok_or(Error::UnsupportedContentFormat)?;
        let defs = self.defs();
        let type_of = |p: &Path| defs.type_of(p);
        for rec in Decoder::new(format, &Path::ROOT, payload, &type_of)? {
            let p = rec?.path;
            let (Some(o), Some(i)) = (p.object_id(), p.instance_id()) else {
                continue;
            };
            if !crate::c2c::is_c2c_object(o)
                || new.contains(&(o, i))
                || self.c2c_object(o).is_some_and(|x| x.has_instance(i))
            {
                continue;
            }
            if i == ID_NONE {
                return Err(Error::BadRequest);
            }
            self.allowed(caller, Action::Create, o, None)?;
            new.push((o, i)).map_err(|_| Error::RequestEntityTooLarge)?;
        }
        for (n, &(o, i)) in new.iter().enumerate() {
            let r = self
                .c2c_object_mut(o)
                .ok_or(Error::NotFound)
                .and_then(|x| x.create(caller, i));
            if let Err(e) = r {
                self.remove_created(&new[..n]);
                return Err(e);
            }
        }
        Ok(new)
    }

    /// Rolls back [`Engine::create_c2c_instances`].
    pub(crate) fn remove_created(&mut self, created: &[(u16, u16)]) {
        for &(o, i) in created {
            if let Some(x) = self.c2c_object_mut(o) {
                let _ = x.delete(Caller::Local, i);
            }
        }
    }
}
