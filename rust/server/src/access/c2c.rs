//! Client-to-client accounts and grants as the server keeps them: Short Client ID and instance
//! ID allocation per client, fresh credentials, and the records the server writes to install
//! an authorization (objects 11000, 11001, 11002 and 21, see `docs/c2c-protocol.md`).
//!
//! # What one authorization installs
//!
//! A *pair* is (requesting client R, hosting client H). With `c` (credentials wanted):
//! - on H: 11001 (res 0 = Short Client ID of R at H, 1 lifetime, 6 false, 7 `U`, 9 R's
//!   endpoint name), 11000 (res 0 = R's URI, 2 security mode, 3/5 PSK identity and key or 17
//!   link to a 21 instance, 10 = Short Client ID), with OSCORE a 21 instance, and one 11002
//!   instance per granted target (res 0 object, 1 instance or 65535 for object level, 2 ACL
//!   `{short id of R: rights}`, 3 owner = this server's Short Server ID at H);
//! - on R: 11001 and 11000 (and 21) describing H, under the Short Client ID of H at R (each
//!   client has its own namespace of Short Client IDs, 1..=65534, separate from Short Server
//!   IDs).
//!
//! Without `c` the pair's accounts must exist already (installed by this server); H gets the
//! 11002 changes plus a rewrite of the lifetime (11001 res 1) of R's account, and R gets the
//! rewrite of its 11001 res 1 for H: a request without `c` is also how a requester renews its
//! account before the lifetime ends.
//!
//! One 11002 instance exists per (host, target) that this server manages; a second requester
//! granted the same target gets an entry in that instance's ACL. Asking again for a target
//! already granted to the pair adds the new rights to the old ones.
//!
//! Secrets (PSK keys, OSCORE master secrets and salts) come from the OS RNG, exist only while
//! an install is under way, are never stored by the server, and never appear in events, the
//! HTTP API or error texts ([`Secrets`] prints as `<redacted>`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use lwm2m::c2c::{CLIENT, CLIENT_ACCESS_CONTROL, CLIENT_SECURITY, OSCORE};
use lwm2m::Path;
use serde_json::{json, Value as Json};

use crate::access::policy::rights_text;
use crate::dm::values::{OwnedRecord, OwnedValue};

/// Security mode of the accounts the server installs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SecurityMode {
    /// DTLS with a pre-shared key (16 bytes) and a random identity (default).
    #[default]
    Psk,
    /// OSCORE: master secret (16), salt (8), distinct 1-2 byte sender / recipient IDs.
    Oscore,
    /// No security: only for tests.
    NoSec,
}

impl SecurityMode {
    /// Parses `psk`, `oscore` or `nosec`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "psk" => Some(SecurityMode::Psk),
            "oscore" => Some(SecurityMode::Oscore),
            "nosec" => Some(SecurityMode::NoSec),
            _ => None,
        }
    }

    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            SecurityMode::Psk => "psk",
            SecurityMode::Oscore => "oscore",
            SecurityMode::NoSec => "nosec",
        }
    }

    /// Resource 2 (Security Mode) of 11000: 0 PSK; 3 NoSec (also with OSCORE, as in the
    /// artifact: the protection comes from the linked 21 instance).
    pub fn resource_value(self) -> i64 {
        match self {
            SecurityMode::Psk => 0,
            SecurityMode::Oscore | SecurityMode::NoSec => 3,
        }
    }

    /// URI scheme of the peer address written to 11000 res 0.
    pub fn scheme(self) -> &'static str {
        match self {
            SecurityMode::Psk => "coaps",
            SecurityMode::Oscore | SecurityMode::NoSec => "coap",
        }
    }
}

/// How accounts reach the clients.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InstallMode {
    /// One Write-Composite (iPATCH on `/`) per client that creates the C2C instances (this
    /// project's extension; default).
    #[default]
    Composite,
    /// The artifact's sequence of single-instance Creates (TLV), for clients without the
    /// extension.
    Separate,
}

impl InstallMode {
    /// Parses `composite` or `separate`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "composite" => Some(InstallMode::Composite),
            "separate" => Some(InstallMode::Separate),
            _ => None,
        }
    }

    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            InstallMode::Composite => "composite",
            InstallMode::Separate => "separate",
        }
    }
}

/// Fills `buf` from the operating system's RNG.
pub fn random(buf: &mut [u8]) -> Result<(), String> {
    getrandom::fill(buf).map_err(|e| format!("OS random generator failed: {e}"))
}

/// Fresh key material for one pair. Debug output is redacted; the bytes are zeroed on drop.
pub struct Secrets {
    /// PSK identity (hex text of 8 random bytes) and key; or OSCORE secret, salt and IDs.
    pub material: Material,
}

/// The secret material by security mode.
pub enum Material {
    /// DTLS-PSK.
    Psk {
        /// PSK identity (not secret: it travels in clear in the handshake).
        identity: Vec<u8>,
        /// The key.
        key: [u8; 16],
    },
    /// OSCORE.
    Oscore {
        /// Master secret.
        secret: [u8; 16],
        /// Master salt.
        salt: [u8; 8],
        /// The host's Sender ID (the requester's Recipient ID).
        host_sender: Vec<u8>,
        /// The host's Recipient ID (the requester's Sender ID).
        host_recipient: Vec<u8>,
    },
    /// Nothing (NoSec).
    None,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secrets(<redacted>)")
    }
}

impl Drop for Secrets {
    fn drop(&mut self) {
        match &mut self.material {
            Material::Psk { key, .. } => key.fill(0),
            Material::Oscore { secret, salt, .. } => {
                secret.fill(0);
                salt.fill(0);
            }
            Material::None => {}
        }
    }
}

/// A random OSCORE ID (1 byte, else 2) not in `used` nor equal to `other`.
fn fresh_id(used: &BTreeSet<Vec<u8>>, other: Option<&[u8]>) -> Result<Vec<u8>, String> {
    for len in [1usize, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2] {
        let mut id = vec![0u8; len];
        random(&mut id)?;
        if !used.contains(&id) && other != Some(id.as_slice()) {
            return Ok(id);
        }
    }
    Err("no free OSCORE ID".into())
}

/// The OSCORE IDs a new pair must avoid: at the host (`.0`) and at the requester (`.1`), the
/// Recipient IDs of their C2C contexts (`host_book`, `requester_book`), and at both every ID
/// (Sender or Recipient) of an OSCORE context the server itself has with either client
/// (`server_ids`). A client then never holds a C2C context whose ID equals one of its server
/// context, so its transport never has to guess which context a kid names.
pub fn avoided_ids(
    host_book: &BTreeSet<Vec<u8>>,
    requester_book: &BTreeSet<Vec<u8>>,
    server_ids: &[&[u8]],
) -> (BTreeSet<Vec<u8>>, BTreeSet<Vec<u8>>) {
    let with_server = |b: &BTreeSet<Vec<u8>>| {
        let mut s = b.clone();
        s.extend(server_ids.iter().map(|i| i.to_vec()));
        s
    };
    (with_server(host_book), with_server(requester_book))
}

impl Secrets {
    /// Generates material for `mode`. OSCORE IDs avoid the recipient IDs already used at the
    /// host (`host_used`) and at the requester (`requester_used`).
    pub fn generate(
        mode: SecurityMode,
        host_used: &BTreeSet<Vec<u8>>,
        requester_used: &BTreeSet<Vec<u8>>,
    ) -> Result<Secrets, String> {
        let material = match mode {
            SecurityMode::Psk => {
                let mut id = [0u8; 8];
                random(&mut id)?;
                let mut key = [0u8; 16];
                random(&mut key)?;
                Material::Psk {
                    identity: crate::dm::values::hex(&id).into_bytes(),
                    key,
                }
            }
            SecurityMode::Oscore => {
                let mut secret = [0u8; 16];
                random(&mut secret)?;
                let mut salt = [0u8; 8];
                random(&mut salt)?;
                let host_recipient = fresh_id(host_used, None)?;
                let host_sender = fresh_id(requester_used, Some(&host_recipient))?;
                Material::Oscore {
                    secret,
                    salt,
                    host_sender,
                    host_recipient,
                }
            }
            SecurityMode::NoSec => Material::None,
        };
        Ok(Secrets { material })
    }
}

/// One side of a pair: the account a client holds for its peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The peer's Short Client ID in this client's namespace.
    pub short_id: u16,
    /// 11001 instance.
    pub client_instance: u16,
    /// 11000 instance.
    pub security_instance: u16,
    /// 21 instance (OSCORE).
    pub oscore_instance: Option<u16>,
    /// OSCORE Recipient ID this client uses for the peer (to keep them unique per client).
    pub recipient_id: Option<Vec<u8>>,
}

/// A (requester, host) pair with accounts on both.
#[derive(Clone, Debug, PartialEq)]
pub struct Pair {
    /// Requesting client endpoint.
    pub requester: String,
    /// Hosting client endpoint.
    pub host: String,
    /// The requester's account at the host.
    pub at_host: Account,
    /// The host's account at the requester.
    pub at_requester: Account,
    /// Security mode of the accounts.
    pub security: SecurityMode,
    /// Account lifetime (s, 0 = forever).
    pub lifetime: u32,
    /// Last time the server wrote the lifetime (install or renewal), wall-clock time so that
    /// it survives a server restart ([`crate::access::state`]).
    pub renewed: SystemTime,
    /// When the pair got its accounts (the first grant); the policy's `renew=` counts from
    /// here.
    pub granted: SystemTime,
}

impl Pair {
    /// When the accounts expire on the clients, if they do.
    pub fn expires_at(&self) -> Option<SystemTime> {
        (self.lifetime > 0).then(|| self.renewed + Duration::from_secs(u64::from(self.lifetime)))
    }
}

/// A 11002 instance the server manages on a host.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AclInstance {
    /// Instance ID of 11002 on the host.
    pub instance: u16,
    /// ACL: Short Client ID -> rights.
    pub entries: BTreeMap<u16, u8>,
}

/// One grant: a requester's rights on one target of a host.
#[derive(Clone, Debug, PartialEq)]
pub struct GrantInfo {
    /// Operator-facing ID (for `revoke`).
    pub id: u64,
    /// Requesting client.
    pub requester: String,
    /// Hosting client.
    pub host: String,
    /// `/O` (object level: Create) or `/O/I`.
    pub path: Path,
    /// Rights bits.
    pub rights: u8,
    /// The 11002 instance on the host.
    pub acl_instance: u16,
    /// When it was first granted.
    pub created: SystemTime,
}

/// What the server knows about the C2C objects of one client.
#[derive(Clone, Debug, Default)]
pub struct Book {
    /// Short Client IDs in use in this client's namespace -> peer endpoint. IDs of accounts
    /// whose deletion was not confirmed stay here.
    pub short_ids: BTreeMap<u16, String>,
    pub(crate) last_short: u16,
    /// Instance IDs the server created or reserved, by object.
    pub instances: BTreeMap<u16, BTreeSet<u16>>,
    /// OSCORE Recipient IDs in use at this client.
    pub recipient_ids: BTreeSet<Vec<u8>>,
}

impl Book {
    /// The next free Short Client ID after the last one handed out (1..=65534, wrapping), so
    /// a revoked ID comes back only after all others were used.
    pub fn alloc_short(&mut self, peer: &str) -> Option<u16> {
        let mut id = self.last_short;
        for _ in 0..65534u32 {
            id = if id >= 65534 { 1 } else { id + 1 };
            if let std::collections::btree_map::Entry::Vacant(e) = self.short_ids.entry(id) {
                e.insert(peer.to_owned());
                self.last_short = id;
                return Some(id);
            }
        }
        None
    }

    /// The lowest instance ID of `object` that neither the client registered nor the server
    /// reserved (65535 is not an instance ID).
    pub fn alloc_instance(&mut self, object: u16, registered: &[u16]) -> Option<u16> {
        let ours = self.instances.entry(object).or_default();
        let id = (0..65535u16).find(|i| !ours.contains(i) && !registered.contains(i))?;
        ours.insert(id);
        Some(id)
    }

    /// Forgets an instance ID.
    pub fn free_instance(&mut self, object: u16, instance: u16) {
        if let Some(s) = self.instances.get_mut(&object) {
            s.remove(&instance);
        }
    }

    /// Frees an account's IDs (after its deletion was confirmed).
    pub fn free_account(&mut self, a: &Account) {
        self.short_ids.remove(&a.short_id);
        self.free_instance(CLIENT, a.client_instance);
        self.free_instance(CLIENT_SECURITY, a.security_instance);
        if let Some(o) = a.oscore_instance {
            self.free_instance(OSCORE, o);
        }
        if let Some(r) = &a.recipient_id {
            self.recipient_ids.remove(r);
        }
    }
}

/// All C2C state of the server.
#[derive(Debug, Default)]
pub struct C2cState {
    /// Per client endpoint.
    pub books: BTreeMap<String, Book>,
    /// By (requester, host).
    pub pairs: BTreeMap<(String, String), Pair>,
    /// By (host, target path).
    pub acls: BTreeMap<(String, Path), AclInstance>,
    /// By grant ID.
    pub grants: BTreeMap<u64, GrantInfo>,
    pub(crate) next_grant: u64,
}

impl C2cState {
    /// A new grant ID.
    pub fn next_grant_id(&mut self) -> u64 {
        self.next_grant += 1;
        self.next_grant
    }

    /// The grant of a pair on a target.
    pub fn grant_for(&self, requester: &str, host: &str, path: &Path) -> Option<&GrantInfo> {
        self.grants
            .values()
            .find(|g| g.requester == requester && g.host == host && g.path == *path)
    }

    /// The pairs whose lifetime ended at `now`, as (requester, host).
    pub fn expired_pairs(&self, now: SystemTime) -> Vec<(String, String)> {
        self.pairs
            .iter()
            .filter(|(_, p)| p.expires_at().is_some_and(|e| e <= now))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Forgets a pair whose lifetime ended (the clients closed the accounts themselves): its
    /// grants, its entries in the host's 11002 ACLs and the IDs of both accounts. The 11002
    /// instances stay reserved (and known, possibly with an empty ACL): they still exist on
    /// the host, and a later grant on the same target writes into them again. Returns the
    /// grant IDs dropped, `None` if the pair is unknown.
    pub fn drop_expired(&mut self, requester: &str, host: &str) -> Option<Vec<u64>> {
        let pair = self
            .pairs
            .remove(&(requester.to_owned(), host.to_owned()))?;
        let ids: Vec<u64> = self
            .grants
            .values()
            .filter(|g| g.requester == requester && g.host == host)
            .map(|g| g.id)
            .collect();
        for id in &ids {
            if let Some(g) = self.grants.remove(id) {
                if let Some(acl) = self.acls.get_mut(&(g.host.clone(), g.path)) {
                    acl.entries.remove(&pair.at_host.short_id);
                }
            }
        }
        for (ep, acc) in [(host, &pair.at_host), (requester, &pair.at_requester)] {
            if let Some(b) = self.books.get_mut(ep) {
                b.free_account(acc);
            }
        }
        Some(ids)
    }

    /// The JSON list of grants (`GET /api/grants`): no secrets.
    pub fn grants_json(&self, now: SystemTime) -> Json {
        Json::Array(
            self.grants
                .values()
                .map(|g| {
                    let mut j = json!({
                        "id": g.id,
                        "requester": g.requester,
                        "host": g.host,
                        "path": g.path.to_string(),
                        "rights": g.rights,
                        "rights_text": rights_text(g.rights),
                        "acl_instance": g.acl_instance,
                        "created": unix_secs(g.created),
                    });
                    if let Some(p) = self.pairs.get(&(g.requester.clone(), g.host.clone())) {
                        j["requester_short_id"] = json!(p.at_host.short_id);
                        j["host_short_id"] = json!(p.at_requester.short_id);
                        j["security"] = json!(p.security.name());
                        j["lifetime"] = json!(p.lifetime);
                        if let Some(e) = p.expires_at() {
                            let left = e.duration_since(now).unwrap_or_default();
                            j["expires_in"] = json!(left.as_secs());
                            j["expires_at"] = json!(unix_secs(e));
                            j["expired"] = json!(e <= now);
                        }
                    }
                    j
                })
                .collect(),
        )
    }
}

/// Seconds since the Unix epoch (0 before it).
pub fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The URI of a client as its peers see it: its registration address (IPv4-mapped IPv6
/// addresses shown as IPv4) with the scheme of the security mode.
pub fn peer_uri(addr: SocketAddr, mode: SecurityMode) -> String {
    let addr = lwm2m_endpoint::transport::canonical(addr);
    format!("{}://{addr}", mode.scheme())
}

fn rec(path: Path, value: OwnedValue) -> OwnedRecord {
    OwnedRecord { path, value }
}

/// 11001 instance describing a peer (res 0, 1, 6, 7, 9).
pub fn client_records(a: &Account, lifetime: u32, peer_ep: &str) -> Vec<OwnedRecord> {
    let p = |r| Path::resource(CLIENT, a.client_instance, r);
    vec![
        rec(p(0), OwnedValue::Integer(a.short_id.into())),
        rec(p(1), OwnedValue::Integer(lifetime.into())),
        rec(p(6), OwnedValue::Boolean(false)),
        rec(p(7), OwnedValue::String("U".into())),
        rec(p(9), OwnedValue::String(peer_ep.to_owned())),
    ]
}

/// The lifetime resource alone (renewal).
pub fn lifetime_record(a: &Account, lifetime: u32) -> OwnedRecord {
    rec(
        Path::resource(CLIENT, a.client_instance, 1),
        OwnedValue::Integer(lifetime.into()),
    )
}

/// 11000 (and 21) instances of one side. `host_side` picks the sender/recipient direction.
pub fn security_records(
    a: &Account,
    peer_uri: &str,
    mode: SecurityMode,
    secrets: &Secrets,
    host_side: bool,
) -> Vec<OwnedRecord> {
    let p = |r| Path::resource(CLIENT_SECURITY, a.security_instance, r);
    let mut out = vec![
        rec(p(0), OwnedValue::String(peer_uri.to_owned())),
        rec(p(2), OwnedValue::Integer(mode.resource_value())),
        rec(p(10), OwnedValue::Integer(a.short_id.into())),
    ];
    match &secrets.material {
        Material::Psk { identity, key } => {
            out.push(rec(p(3), OwnedValue::Opaque(identity.clone())));
            out.push(rec(p(5), OwnedValue::Opaque(key.to_vec())));
        }
        Material::Oscore {
            secret,
            salt,
            host_sender,
            host_recipient,
        } => {
            if let Some(o) = a.oscore_instance {
                out.push(rec(p(17), OwnedValue::ObjLnk(OSCORE, o)));
                let q = |r| Path::resource(OSCORE, o, r);
                let (sender, recipient) = if host_side {
                    (host_sender, host_recipient)
                } else {
                    (host_recipient, host_sender)
                };
                out.push(rec(q(0), OwnedValue::Opaque(secret.to_vec())));
                out.push(rec(q(1), OwnedValue::Opaque(sender.clone())));
                out.push(rec(q(2), OwnedValue::Opaque(recipient.clone())));
                // AES-CCM-16-64-128; res 4 (HKDF) is left at its default, HKDF-SHA-256.
                out.push(rec(q(3), OwnedValue::Integer(10)));
                out.push(rec(q(5), OwnedValue::Opaque(salt.to_vec())));
            }
        }
        Material::None => {}
    }
    out
}

/// A 11002 instance: with `full`, res 0, 1 and 3 too (a new instance); else only the ACL
/// entries given.
pub fn acl_records(
    instance: u16,
    target: &Path,
    entries: &BTreeMap<u16, u8>,
    owner: u16,
    full: bool,
) -> Vec<OwnedRecord> {
    let p = |r| Path::resource(CLIENT_ACCESS_CONTROL, instance, r);
    let mut out = Vec::new();
    if full {
        out.push(rec(
            p(0),
            OwnedValue::Integer(target.object_id().unwrap_or(0).into()),
        ));
        out.push(rec(
            p(1),
            OwnedValue::Integer(target.instance_id().unwrap_or(65535).into()),
        ));
        out.push(rec(p(3), OwnedValue::Integer(owner.into())));
    }
    for (sid, r) in entries {
        out.push(rec(
            Path::resource_instance(CLIENT_ACCESS_CONTROL, instance, 2, *sid),
            OwnedValue::Integer((*r).into()),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids_are_unique_and_reused_only_after_wrapping() {
        let mut b = Book::default();
        assert_eq!(b.alloc_short("a"), Some(1));
        assert_eq!(b.alloc_short("b"), Some(2));
        b.short_ids.remove(&1);
        // 1 is free again but comes back only after the namespace wrapped.
        assert_eq!(b.alloc_short("c"), Some(3));
        b.last_short = 65533;
        assert_eq!(b.alloc_short("d"), Some(65534));
        assert_eq!(b.alloc_short("e"), Some(1));
        assert_eq!(b.alloc_short("f"), Some(4));
        let mut full = Book::default();
        for i in 1..=65534u16 {
            full.short_ids.insert(i, String::new());
        }
        assert_eq!(full.alloc_short("x"), None);
    }

    #[test]
    fn instances_avoid_registered_and_reserved() {
        let mut b = Book::default();
        assert_eq!(b.alloc_instance(11001, &[0, 1, 3]), Some(2));
        assert_eq!(b.alloc_instance(11001, &[0, 1, 3]), Some(4));
        assert_eq!(b.alloc_instance(11000, &[]), Some(0));
        b.free_instance(11001, 2);
        assert_eq!(b.alloc_instance(11001, &[0, 1, 3]), Some(2));
    }

    #[test]
    fn secrets_are_fresh_and_redacted() {
        let none = BTreeSet::new();
        let a = Secrets::generate(SecurityMode::Psk, &none, &none).unwrap();
        let b = Secrets::generate(SecurityMode::Psk, &none, &none).unwrap();
        let (
            Material::Psk {
                identity: ia,
                key: ka,
            },
            Material::Psk {
                identity: ib,
                key: kb,
            },
        ) = (&a.material, &b.material)
        else {
            panic!("psk material");
        };
        assert_ne!(ka, kb);
        assert_ne!(ia, ib);
        assert_eq!(ia.len(), 16);
        assert_eq!(format!("{a:?}"), "Secrets(<redacted>)");
        // OSCORE IDs avoid the used ones and differ from each other.
        let used: BTreeSet<Vec<u8>> = (0..=255u8).map(|i| vec![i]).collect();
        for _ in 0..20 {
            let o = Secrets::generate(SecurityMode::Oscore, &used, &none).unwrap();
            let Material::Oscore {
                host_sender,
                host_recipient,
                ..
            } = &o.material
            else {
                panic!("oscore material");
            };
            assert_eq!(host_recipient.len(), 2);
            assert_ne!(host_sender, host_recipient);
        }
    }

    #[test]
    fn c2c_ids_avoid_the_server_contexts_of_both_clients() {
        // Every 1-byte ID but 0x01 is taken at the host: without the server's own context
        // (ID 0x01, with the host) the pair's host Recipient ID could only be 0x01.
        let host: BTreeSet<Vec<u8>> = (0..=255u8).filter(|i| *i != 1).map(|i| vec![i]).collect();
        let requester: BTreeSet<Vec<u8>> =
            (0..=255u8).filter(|i| *i != 2).map(|i| vec![i]).collect();
        let (h, r) = avoided_ids(&host, &requester, &[&[1], &[2]]);
        assert!(h.contains(&vec![1]) && h.contains(&vec![2]));
        assert!(r.contains(&vec![1]) && r.contains(&vec![2]));
        for _ in 0..50 {
            let s = Secrets::generate(SecurityMode::Oscore, &h, &r).unwrap();
            let Material::Oscore {
                host_sender,
                host_recipient,
                ..
            } = &s.material
            else {
                panic!("oscore material");
            };
            for id in [host_sender, host_recipient] {
                assert!(id != &[1] && id != &[2], "{id:02x?}");
                assert_eq!(id.len(), 2, "all 1-byte IDs are taken");
            }
        }
        // The books themselves are not changed.
        assert!(!host.contains(&vec![1]));
    }

    #[test]
    fn records_of_an_account() {
        let a = Account {
            short_id: 7,
            client_instance: 1,
            security_instance: 2,
            oscore_instance: Some(3),
            recipient_id: None,
        };
        let c = client_records(&a, 600, "req");
        assert_eq!(c[0].path, Path::resource(11001, 1, 0));
        assert_eq!(c[0].value, OwnedValue::Integer(7));
        assert_eq!(c[4].value, OwnedValue::String("req".into()));
        let s = Secrets {
            material: Material::Oscore {
                secret: [1; 16],
                salt: [2; 8],
                host_sender: vec![0xa],
                host_recipient: vec![0xb],
            },
        };
        let host = security_records(&a, "coap://x", SecurityMode::Oscore, &s, true);
        let req = security_records(&a, "coap://x", SecurityMode::Oscore, &s, false);
        let find = |v: &[OwnedRecord], p: Path| v.iter().find(|r| r.path == p).unwrap().clone();
        assert_eq!(
            find(&host, Path::resource(21, 3, 1)).value,
            OwnedValue::Opaque(vec![0xa])
        );
        assert_eq!(
            find(&req, Path::resource(21, 3, 1)).value,
            OwnedValue::Opaque(vec![0xb])
        );
        assert_eq!(
            find(&host, Path::resource(11000, 2, 17)).value,
            OwnedValue::ObjLnk(21, 3)
        );
        let acl = acl_records(
            4,
            &Path::object(3311),
            &BTreeMap::from([(7, 0x10)]),
            1,
            true,
        );
        assert_eq!(acl[1].value, OwnedValue::Integer(65535));
        assert_eq!(acl[3].path, Path::resource_instance(11002, 4, 2, 7));
        assert_eq!(
            peer_uri("[::ffff:10.0.0.1]:5683".parse().unwrap(), SecurityMode::Psk),
            "coaps://10.0.0.1:5683"
        );
    }
}
