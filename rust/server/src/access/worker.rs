//! The access-request worker: installs credentials and grants on both clients, one job at
//! a time, rolls back on failure, revokes, persists and expires grants.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use lwm2m::c2c::{CLIENT, CLIENT_ACCESS_CONTROL, CLIENT_SECURITY, OSCORE};
use lwm2m::coap::{code, content_format as cf};
use lwm2m::Path;
use serde_json::{json, Value as Json};

use super::ac::{created_for, diag, instances_of, AcJob, Job};
use crate::access::c2c::{
    self, Account, AclInstance, C2cState, GrantInfo, InstallMode, Pair, Secrets, SecurityMode,
};
use crate::bootstrap::{self, BootstrapConfig};
use crate::config::C2cConfig;
use crate::dm::codec;
use crate::dm::ops::{self, Response};
use crate::dm::values::OwnedRecord;
use crate::error::ServerError;
use crate::event::Event;
use crate::registration::Registration;
use crate::shared::{Caller, Input, Shared};
use crate::sync::lock;
use crate::transport::msg::{code_string, OutRequest, Reply};

/// One instance to create or update.
struct InstOp {
    instance: Path,
    records: Vec<OwnedRecord>,
    create: bool,
}

/// IDs reserved while an install runs (freed again if it fails).
enum Reserved {
    Short(String, u16),
    Instance(String, u16, u16),
    Recipient(String, Vec<u8>),
}

struct Plan {
    pair: Pair,
    host_ops: Vec<InstOp>,
    requester_ops: Vec<InstOp>,
    acl_ops: Vec<InstOp>,
    acls: Vec<(Path, AclInstance)>,
    rights: Vec<(Path, u8)>,
    reserved: Vec<Reserved>,
    /// Recipient IDs replaced by the new credentials (freed on success).
    replaced: Vec<Reserved>,
    _secrets: Option<Secrets>,
}

/// What one sent message did, for the event and the report.
struct Sent {
    to: String,
    op: &'static str,
    path: Path,
    req: OutRequest,
    alternatives: Option<(usize, usize)>,
    result: Result<Response, ServerError>,
}

impl Sent {
    fn ok(&self) -> bool {
        self.result.as_ref().is_ok_and(Response::is_success)
    }

    fn outcome(&self) -> String {
        match &self.result {
            Ok(r) => code_string(r.code),
            Err(e) => e.to_string(),
        }
    }

    fn to_json(&self, reg: Option<&Registration>) -> Json {
        let mut req = self.req.clone();
        req.path = reg.map(|r| r.uri_path(&self.path)).unwrap_or_default();
        // The server's tokens are 8 bytes.
        let size = req.encode(0, &[0; 8]).map_or(0, |b| b.len());
        let mut j = json!({
            "to": self.to,
            "op": self.op,
            "path": self.path.to_string(),
            "content_format": self.req.content_format,
            "payload_bytes": self.req.payload.len(),
            "message_bytes": size,
            "result": self.outcome(),
        });
        if let Some((s, l)) = self.alternatives {
            j["senml_cbor_bytes"] = json!(s);
            j["lwm2m_cbor_bytes"] = json!(l);
        }
        j
    }
}

/// The worker thread: installs and revocations, one at a time.
pub(crate) struct Worker {
    pub shared: Arc<Shared>,
    pub caller: Caller,
    pub jobs: Receiver<Job>,
    pub loop_tx: Sender<Input>,
    pub cfg: C2cConfig,
    pub bootstrap: BTreeMap<String, BootstrapConfig>,
    /// IDs (Sender and Recipient) of the server's own OSCORE contexts, by client endpoint:
    /// C2C IDs never equal them.
    pub oscore_ids: BTreeMap<String, Vec<Vec<u8>>>,
}

impl Worker {
    pub(crate) fn run(mut self) {
        while !self.shared.stop.load(std::sync::atomic::Ordering::Relaxed) {
            self.expire();
            match self.jobs.recv_timeout(Duration::from_millis(200)) {
                Ok(Job::Install(job)) => {
                    let reply = self.install(&job);
                    let _ = self.loop_tx.send(Input::AcDone {
                        peer: job.peer,
                        token: job.token,
                        con: job.con,
                        reply,
                    });
                }
                Ok(Job::Revoke(id, tx)) => {
                    let r = self.revoke(id);
                    self.persist();
                    let _ = tx.send(r);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
    }

    /// Writes the state file, if one is configured; a failure is reported as an event.
    fn persist(&self) {
        let Some(file) = &self.cfg.state_file else {
            return;
        };
        let r = crate::access::state::save(file, &lock(&self.shared.c2c));
        if let Err(e) = r {
            self.shared.emit(Event::StateSaveFailed {
                error: format!("{}: {e}", file.display()),
            });
        }
    }

    /// Forgets the pairs whose lifetime ended (one event per pair) and frees their IDs. Runs
    /// on this thread, between installs and revocations, so it never races with them.
    fn expire(&self) {
        let dropped: Vec<(String, String, Vec<u64>)> = {
            let mut st = lock(&self.shared.c2c);
            st.expired_pairs(SystemTime::now())
                .into_iter()
                .filter_map(|(r, h)| {
                    let ids = st.drop_expired(&r, &h)?;
                    Some((r, h, ids))
                })
                .collect()
        };
        if dropped.is_empty() {
            return;
        }
        self.persist();
        for (requester, host, grants) in dropped {
            self.shared.emit(Event::GrantsExpired {
                requester,
                host,
                grants,
            });
        }
    }

    /// The IDs (Sender and Recipient) of the OSCORE contexts the server has with `ep`: its
    /// `--oscore-client` contexts and the one a bootstrap configuration provisions.
    fn server_oscore_ids<'s>(&'s self, ep: &str) -> impl Iterator<Item = &'s [u8]> + 's {
        let bs = bootstrap::lookup(&self.bootstrap, ep).and_then(|b| b.oscore.as_ref());
        self.oscore_ids
            .get(ep)
            .into_iter()
            .flatten()
            .map(Vec::as_slice)
            .chain(
                bs.into_iter()
                    .flat_map(|p| [p.sender_id.as_slice(), p.recipient_id.as_slice()]),
            )
    }

    /// The owner written to 11002 res 3: the Short Server ID a bootstrap configuration of
    /// this server gave the host, else the configured one.
    fn ssid_for(&self, host: &str) -> u16 {
        bootstrap::lookup(&self.bootstrap, host)
            .map_or(self.cfg.short_server_id, |b| b.short_server_id)
    }

    fn reg(&self, ep: &str) -> Option<Registration> {
        lock(&self.shared.registry).get(ep).cloned()
    }

    fn install(&mut self, job: &AcJob) -> Reply {
        let r = self.try_install(job);
        self.persist();
        match r {
            Ok(()) => created_for(self.reg(&job.host).as_ref()),
            Err(reason) => {
                self.shared.emit(Event::C2cInstallFailed {
                    requester: job.requester.clone(),
                    host: job.host.clone(),
                    reason: reason.clone(),
                });
                diag(code::SERVICE_UNAVAILABLE, &reason)
            }
        }
    }

    fn plan(
        &self,
        st: &mut C2cState,
        job: &AcJob,
        req_reg: &Registration,
        host_reg: &Registration,
    ) -> Result<Plan, String> {
        let key = (job.requester.clone(), job.host.clone());
        let existing = st.pairs.get(&key).cloned();
        let mut reserved = Vec::new();
        let mut replaced = Vec::new();
        let (mut pair, new_pair) = match existing {
            Some(p) => (p, false),
            None if job.credentials => {
                let security = self.cfg.security;
                let oscore = security == SecurityMode::Oscore;
                let mut account = |st: &mut C2cState,
                                   ep: &str,
                                   reg: &Registration,
                                   peer: &str|
                 -> Result<Account, String> {
                    let book = st.books.entry(ep.to_owned()).or_default();
                    let short_id = book.alloc_short(peer).ok_or("no free Short Client ID")?;
                    reserved.push(Reserved::Short(ep.to_owned(), short_id));
                    let mut inst = |o: u16| -> Result<u16, String> {
                        let mut taken = instances_of(reg, o);
                        // The registration never lists 21: keep clear of the instance a
                        // bootstrap configuration of ours writes for the server account.
                        if o == OSCORE {
                            taken.extend(
                                bootstrap::lookup(&self.bootstrap, ep)
                                    .filter(|b| b.oscore.is_some())
                                    .map(|b| b.oscore_instance),
                            );
                        }
                        let i = book
                            .alloc_instance(o, &taken)
                            .ok_or("no free instance ID")?;
                        reserved.push(Reserved::Instance(ep.to_owned(), o, i));
                        Ok(i)
                    };
                    Ok(Account {
                        short_id,
                        client_instance: inst(CLIENT)?,
                        security_instance: inst(CLIENT_SECURITY)?,
                        oscore_instance: if oscore { Some(inst(OSCORE)?) } else { None },
                        recipient_id: None,
                    })
                };
                let at_host = account(st, &job.host, host_reg, &job.requester)?;
                let at_requester = account(st, &job.requester, req_reg, &job.host)?;
                let pair = Pair {
                    requester: job.requester.clone(),
                    host: job.host.clone(),
                    at_host,
                    at_requester,
                    security,
                    lifetime: job.lifetime,
                    renewed: SystemTime::now(),
                    granted: SystemTime::now(),
                };
                (pair, true)
            }
            None => return Err("no account for this host".into()),
        };
        pair.lifetime = job.lifetime;
        let mut host_ops = Vec::new();
        let mut requester_ops = Vec::new();
        let mut secrets = None;
        if job.credentials {
            let empty = Default::default();
            let used = |ep: &str| st.books.get(ep).map_or(&empty, |b| &b.recipient_ids);
            let server_ids: Vec<&[u8]> = [&job.host, &job.requester]
                .into_iter()
                .flat_map(|ep| self.server_oscore_ids(ep))
                .collect();
            let (host_used, requester_used) =
                c2c::avoided_ids(used(&job.host), used(&job.requester), &server_ids);
            let s = Secrets::generate(pair.security, &host_used, &requester_used)?;
            if let c2c::Material::Oscore {
                host_sender,
                host_recipient,
                ..
            } = &s.material
            {
                for (ep, acc, id) in [
                    (&job.host, &mut pair.at_host, host_recipient),
                    (&job.requester, &mut pair.at_requester, host_sender),
                ] {
                    if let Some(old) = acc.recipient_id.replace(id.clone()) {
                        replaced.push(Reserved::Recipient(ep.clone(), old));
                    }
                    st.books
                        .entry(ep.clone())
                        .or_default()
                        .recipient_ids
                        .insert(id.clone());
                    reserved.push(Reserved::Recipient(ep.clone(), id.clone()));
                }
            }
            let host_uri = c2c::peer_uri(host_reg.addr, pair.security);
            let req_uri = c2c::peer_uri(req_reg.addr, pair.security);
            for (ops, acc, peer_ep, peer_uri, host_side) in [
                (&mut host_ops, &pair.at_host, &job.requester, &req_uri, true),
                (
                    &mut requester_ops,
                    &pair.at_requester,
                    &job.host,
                    &host_uri,
                    false,
                ),
            ] {
                let mut recs = c2c::client_records(acc, pair.lifetime, peer_ep);
                recs.extend(c2c::security_records(
                    acc,
                    peer_uri,
                    pair.security,
                    &s,
                    host_side,
                ));
                // The artifact's order: Client, OSCORE, Client Security.
                for o in [CLIENT, OSCORE, CLIENT_SECURITY] {
                    let mine: Vec<OwnedRecord> = recs
                        .iter()
                        .filter(|r| r.path.object_id() == Some(o))
                        .cloned()
                        .collect();
                    if let Some(first) = mine.first() {
                        ops.push(InstOp {
                            instance: Path::instance(o, first.path.instance_id().unwrap_or(0)),
                            records: mine,
                            create: new_pair,
                        });
                    }
                }
            }
            secrets = Some(s);
        } else if pair.lifetime > 0 {
            // Renewal: the lifetime counts again from this write on both clients.
            for (ops, acc) in [
                (&mut host_ops, &pair.at_host),
                (&mut requester_ops, &pair.at_requester),
            ] {
                ops.push(InstOp {
                    instance: Path::instance(CLIENT, acc.client_instance),
                    records: vec![c2c::lifetime_record(acc, pair.lifetime)],
                    create: false,
                });
            }
        }
        let owner = self.ssid_for(&job.host);
        let sid = pair.at_host.short_id;
        let mut acl_ops = Vec::new();
        let mut acls = Vec::new();
        let mut rights = Vec::new();
        for g in &job.grants {
            let old = st
                .grant_for(&job.requester, &job.host, &g.path)
                .map_or(0, |x| x.rights);
            let r = old | g.rights;
            rights.push((g.path, r));
            let one = BTreeMap::from([(sid, r)]);
            match st.acls.get(&(job.host.clone(), g.path)) {
                Some(acl) => {
                    let mut acl = acl.clone();
                    acl.entries.insert(sid, r);
                    acl_ops.push(InstOp {
                        instance: Path::instance(CLIENT_ACCESS_CONTROL, acl.instance),
                        records: c2c::acl_records(acl.instance, &g.path, &one, owner, false),
                        create: false,
                    });
                    acls.push((g.path, acl));
                }
                None => {
                    let book = st.books.entry(job.host.clone()).or_default();
                    let i = book
                        .alloc_instance(
                            CLIENT_ACCESS_CONTROL,
                            &instances_of(host_reg, CLIENT_ACCESS_CONTROL),
                        )
                        .ok_or("no free 11002 instance ID")?;
                    reserved.push(Reserved::Instance(
                        job.host.clone(),
                        CLIENT_ACCESS_CONTROL,
                        i,
                    ));
                    acl_ops.push(InstOp {
                        instance: Path::instance(CLIENT_ACCESS_CONTROL, i),
                        records: c2c::acl_records(i, &g.path, &one, owner, true),
                        create: true,
                    });
                    acls.push((
                        g.path,
                        AclInstance {
                            instance: i,
                            entries: one,
                        },
                    ));
                }
            }
        }
        Ok(Plan {
            pair,
            host_ops,
            requester_ops,
            acl_ops,
            acls,
            rights,
            reserved,
            replaced,
            _secrets: secrets,
        })
    }

    fn free(&self, st: &mut C2cState, list: &[Reserved]) {
        for r in list {
            match r {
                Reserved::Short(ep, id) => {
                    if let Some(b) = st.books.get_mut(ep) {
                        b.short_ids.remove(id);
                    }
                }
                Reserved::Instance(ep, o, i) => {
                    if let Some(b) = st.books.get_mut(ep) {
                        b.free_instance(*o, *i);
                    }
                }
                Reserved::Recipient(ep, id) => {
                    if let Some(b) = st.books.get_mut(ep) {
                        b.recipient_ids.remove(id);
                    }
                }
            }
        }
    }

    /// A Write-Composite of `records` in the configured format, or the smaller one.
    fn composite(&self, records: &[OwnedRecord]) -> Result<(OutRequest, (usize, usize)), String> {
        let enc = |f| codec::encode(f, &Path::ROOT, records).map_err(|e| e.to_string());
        let senml = enc(cf::SENML_CBOR)?;
        let cbor = enc(cf::LWM2M_CBOR)?;
        let sizes = (senml.len(), cbor.len());
        let (format, payload) = match self.cfg.format {
            Some(cf::LWM2M_CBOR) => (cf::LWM2M_CBOR, cbor),
            Some(_) => (cf::SENML_CBOR, senml),
            None if cbor.len() < senml.len() => (cf::LWM2M_CBOR, cbor),
            None => (cf::SENML_CBOR, senml),
        };
        let mut r = OutRequest::new(code::IPATCH, Vec::new());
        r.content_format = Some(format);
        r.payload = payload;
        Ok((r, sizes))
    }

    /// One message per instance: Create for new instances, else a partial-update Write.
    fn separate(op: &InstOp) -> Result<(Path, &'static str, OutRequest), String> {
        let o = op.instance.object_id().unwrap_or(0);
        if op.create {
            let (target, req) =
                ops::create(o, op.instance.instance_id(), &op.records, cf::LWM2M_TLV)
                    .map_err(|e| e.to_string())?;
            Ok((target, "create", req))
        } else {
            let req = ops::write(&op.instance, &op.records, cf::LWM2M_TLV, false)
                .map_err(|e| e.to_string())?;
            Ok((op.instance, "write", req))
        }
    }

    fn try_install(&mut self, job: &AcJob) -> Result<(), String> {
        let (Some(req_reg), Some(host_reg)) = (self.reg(&job.requester), self.reg(&job.host))
        else {
            return Err("a client is no longer registered".into());
        };
        let plan = {
            let mut st = lock(&self.shared.c2c);
            self.plan(&mut st, job, &req_reg, &host_reg)?
        };
        // The reserved IDs reach the state file before any client sees them: after a crash
        // mid-install they stay reserved rather than collide.
        self.persist();
        let mut sent: Vec<Sent> = Vec::new();
        let mut failed = false;
        // Instances that exist now because of this install (deleted again on failure).
        let mut created: Vec<(String, Path)> = Vec::new();
        match self.cfg.install {
            InstallMode::Composite => {
                let mut host_recs: Vec<OwnedRecord> = Vec::new();
                for op in plan.host_ops.iter().chain(&plan.acl_ops) {
                    host_recs.extend(op.records.iter().cloned());
                }
                let req_recs: Vec<OwnedRecord> = plan
                    .requester_ops
                    .iter()
                    .flat_map(|op| op.records.iter().cloned())
                    .collect();
                let mut pending = Vec::new();
                for (ep, recs) in [(&job.host, host_recs), (&job.requester, req_recs)] {
                    if recs.is_empty() {
                        continue;
                    }
                    let (req, sizes) = self.composite(&recs)?;
                    // Both messages go out at once; the answer waits for both.
                    let rx = self.caller.start(ep, Path::ROOT, req.clone());
                    pending.push((ep.clone(), req, sizes, rx));
                }
                for (to, req, sizes, rx) in pending {
                    let result = self.caller.wait(rx);
                    let ops: Vec<&InstOp> = if to == job.host {
                        plan.host_ops.iter().chain(&plan.acl_ops).collect()
                    } else {
                        plan.requester_ops.iter().collect()
                    };
                    if result.as_ref().is_ok_and(Response::is_success) {
                        let new = ops.iter().filter(|o| o.create);
                        created.extend(new.map(|o| (to.clone(), o.instance)));
                    }
                    sent.push(Sent {
                        to,
                        op: "write-composite",
                        path: Path::ROOT,
                        req,
                        alternatives: Some(sizes),
                        result,
                    });
                }
                failed = !sent.iter().all(Sent::ok);
            }
            InstallMode::Separate => {
                let order = plan
                    .host_ops
                    .iter()
                    .map(|o| (&job.host, o))
                    .chain(plan.requester_ops.iter().map(|o| (&job.requester, o)))
                    .chain(plan.acl_ops.iter().map(|o| (&job.host, o)));
                for (ep, op) in order {
                    let (target, name, req) = Self::separate(op)?;
                    let result = self.caller.call(ep, target, req.clone());
                    sent.push(Sent {
                        to: ep.clone(),
                        op: name,
                        path: target,
                        req,
                        alternatives: None,
                        result,
                    });
                    if !sent.last().is_some_and(Sent::ok) {
                        failed = true;
                        break;
                    }
                    if op.create {
                        created.push((ep.clone(), op.instance));
                    }
                }
            }
        }
        let regs = |ep: &str| {
            if ep == job.host {
                Some(&host_reg)
            } else {
                Some(&req_reg)
            }
        };
        let messages: Vec<Json> = sent.iter().map(|s| s.to_json(regs(&s.to))).collect();
        if failed {
            let what: Vec<String> = sent
                .iter()
                .filter(|s| !s.ok())
                .map(|s| format!("{} {} {}: {}", s.to, s.op, s.path, s.outcome()))
                .collect();
            self.rollback(&created);
            let mut st = lock(&self.shared.c2c);
            self.free(&mut st, &plan.reserved);
            return Err(format!("install failed: {}", what.join("; ")));
        }
        let mut ids = Vec::new();
        {
            let mut st = lock(&self.shared.c2c);
            self.free(&mut st, &plan.replaced);
            let mut pair = plan.pair.clone();
            pair.renewed = SystemTime::now();
            st.pairs
                .insert((job.requester.clone(), job.host.clone()), pair);
            for (path, acl) in &plan.acls {
                st.acls.insert((job.host.clone(), *path), acl.clone());
            }
            for (path, r) in &plan.rights {
                let existing = st.grant_for(&job.requester, &job.host, path).map(|g| g.id);
                let id = match existing {
                    Some(id) => id,
                    None => st.next_grant_id(),
                };
                let acl_instance = plan
                    .acls
                    .iter()
                    .find(|(p, _)| p == path)
                    .map_or(0, |(_, a)| a.instance);
                let created = st
                    .grants
                    .get(&id)
                    .map_or_else(SystemTime::now, |g| g.created);
                st.grants.insert(
                    id,
                    GrantInfo {
                        id,
                        requester: job.requester.clone(),
                        host: job.host.clone(),
                        path: *path,
                        rights: *r,
                        acl_instance,
                        created,
                    },
                );
                ids.push(id);
            }
        }
        self.shared.emit(Event::C2cInstalled {
            requester: job.requester.clone(),
            host: job.host.clone(),
            grants: ids,
            credentials: job.credentials,
            security: plan.pair.security.name().into(),
            lifetime: plan.pair.lifetime,
            mode: self.cfg.install.name().into(),
            messages,
        });
        Ok(())
    }

    /// Deletes the instances a failed install created on clients that accepted them.
    fn rollback(&self, created: &[(String, Path)]) {
        for (ep, path) in created {
            let _ = self.caller.call(ep, *path, ops::delete());
        }
    }

    fn revoke(&mut self, id: u64) -> Result<Json, ServerError> {
        let (grant, pair, acl, others) = {
            let st = lock(&self.shared.c2c);
            let g = st
                .grants
                .get(&id)
                .cloned()
                .ok_or(ServerError::UnknownId(id))?;
            let pair = st
                .pairs
                .get(&(g.requester.clone(), g.host.clone()))
                .cloned();
            let acl = st.acls.get(&(g.host.clone(), g.path)).cloned();
            let others = st
                .grants
                .values()
                .any(|x| x.id != id && x.requester == g.requester && x.host == g.host);
            (g, pair, acl, others)
        };
        let mut failures = Vec::new();
        let mut steps = Vec::new();
        let mut step = |ep: &str, op: &str, path: Path, r: Result<Response, ServerError>| {
            // 4.04: already gone, which is what we want.
            let ok = r
                .as_ref()
                .is_ok_and(|x| x.is_success() || x.code == code::NOT_FOUND);
            let outcome = match &r {
                Ok(x) => code_string(x.code),
                Err(e) => e.to_string(),
            };
            steps.push(json!({"to": ep, "op": op, "path": path.to_string(), "result": outcome}));
            if !ok {
                failures.push(format!("{ep} {op} {path}: {outcome}"));
            }
            ok
        };
        let sid = pair.as_ref().map(|p| p.at_host.short_id);
        let mut acl_after = None;
        let mut acl_deleted = false;
        if let Some(acl) = &acl {
            let mut rest = acl.clone();
            if let Some(s) = sid {
                rest.entries.remove(&s);
            }
            let path = Path::instance(CLIENT_ACCESS_CONTROL, acl.instance);
            if rest.entries.is_empty() {
                acl_deleted = step(
                    &grant.host,
                    "delete",
                    path,
                    self.caller.call(&grant.host, path, ops::delete()),
                );
            } else {
                let res = Path::resource(CLIENT_ACCESS_CONTROL, acl.instance, 2);
                let recs = c2c::acl_records(acl.instance, &grant.path, &rest.entries, 0, false);
                let format = match self.cfg.install {
                    InstallMode::Separate => cf::LWM2M_TLV,
                    InstallMode::Composite => cf::SENML_CBOR,
                };
                let r = ops::write(&res, &recs, format, true)
                    .and_then(|req| self.caller.call(&grant.host, res, req));
                step(&grant.host, "write", res, r);
                acl_after = Some(rest);
            }
        }
        let mut freed = Vec::new();
        if let (Some(p), false) = (&pair, others) {
            for (ep, acc) in [(&p.host, &p.at_host), (&p.requester, &p.at_requester)] {
                let mut all = true;
                let mut paths = vec![
                    Path::instance(CLIENT, acc.client_instance),
                    Path::instance(CLIENT_SECURITY, acc.security_instance),
                ];
                if let Some(o) = acc.oscore_instance {
                    paths.push(Path::instance(OSCORE, o));
                }
                for path in paths {
                    all &= step(
                        ep,
                        "delete",
                        path,
                        self.caller.call(ep, path, ops::delete()),
                    );
                }
                if all {
                    freed.push((ep.clone(), acc.clone()));
                }
            }
        }
        {
            let mut st = lock(&self.shared.c2c);
            st.grants.remove(&id);
            let key = (grant.host.clone(), grant.path);
            match acl_after {
                Some(a) => {
                    st.acls.insert(key, a);
                }
                None => {
                    st.acls.remove(&key);
                    if acl_deleted {
                        if let Some(b) = st.books.get_mut(&grant.host) {
                            b.free_instance(CLIENT_ACCESS_CONTROL, grant.acl_instance);
                        }
                    }
                }
            }
            if !others {
                st.pairs
                    .remove(&(grant.requester.clone(), grant.host.clone()));
                // Accounts whose deletion was not confirmed keep their IDs reserved, so a
                // lingering account never shares a Short Client ID with a new one.
                for (ep, acc) in &freed {
                    if let Some(b) = st.books.get_mut(ep) {
                        b.free_account(acc);
                    }
                }
            }
        }
        self.shared.emit(Event::GrantRevoked {
            grant: id,
            requester: grant.requester.clone(),
            host: grant.host.clone(),
            path: grant.path,
            accounts_removed: !others,
            failures: failures.clone(),
        });
        Ok(json!({
            "grant": id,
            "requester": grant.requester,
            "host": grant.host,
            "path": grant.path.to_string(),
            "accounts_removed": !others,
            "steps": steps,
            "failures": failures,
        }))
    }
}
