//! DTLS 1.2 with PSK toward LwM2M servers (feature `dtls`; RIOT's tinydtls through gcoap_dtls).
//!
//! Credentials follow the Security (0) object: every instance in Security Mode 0 (PSK) with a
//! `coaps://` URI, an identity (res 3) and a key (res 5) is loaded into RIOT's credman by the C
//! glue, under a credman tag of its own (`CONFIG_LWM2M_DTLS_TAG_BASE` + instance ID), and added
//! to gcoap's DTLS sock. [`Dtls::sync`] runs after every request the engine handled (a
//! bootstrap server may have written object 0) and on every poll: it loads new instances,
//! reloads changed ones and removes the credentials of deleted ones; the glue also ends the
//! DTLS sessions that were established with a credential it replaces or removes.
//!
//! The glue records, per DTLS session, which credential (tag) its handshake used (tinydtls asks
//! for the key of the PSK identity of the handshake; the record is kept once the handshake
//! completed). A request arriving over a session is handed to the engine with
//! `LWM2M_C2C_ID_DTLS` and that instance ID, and [`identity`] turns it into the account's
//! identity. Plain (UDP) requests never get the identity of a PSK account.
//!
//! Hosting side of client-to-client over DTLS (features `dtls` and `c2c`): Client Security
//! (11000) instances in PSK mode get credentials the same way (second tag range); the node is
//! then the DTLS server, tinydtls asks for the key of the identity the requester sent, and a
//! request over such a session becomes `Identity::Client(short client id)` ([`client_identity`])
//! while the account is open. The credential of a closed account is removed and its sessions
//! end ([`Dtls::close_client`]); it comes back only when the server rewrites the instance.

use core::ffi::c_int;

use lwm2m::engine::{Engine, Identity};
use lwm2m::objects::security::{mode, SecurityInstance};

use crate::ev::ev;

extern "C" {
    /// Loads (or replaces) the credential of (Client) Security instance `inst` of `kind`
    /// (`LWM2M_C2C_CRED_*`; `uri` only matters for servers) (C glue). Returns 0 or a negative
    /// errno. The glue copies the bytes.
    fn lwm2m_c2c_glue_psk_set(
        kind: u8,
        inst: u16,
        uri: *const u8,
        uri_len: usize,
        id: *const u8,
        id_len: usize,
        key: *const u8,
        key_len: usize,
    ) -> c_int;
    /// Removes the credential of (Client) Security instance `inst` of `kind` and ends its DTLS
    /// sessions.
    fn lwm2m_c2c_glue_psk_remove(kind: u8, inst: u16);
}

/// Security instances at most (DM servers and the bootstrap server), and Client Security ones.
#[cfg(not(feature = "c2c"))]
const SLOTS: usize = lwm2m::config::MAX_SERVERS + 1;
#[cfg(feature = "c2c")]
const SLOTS: usize = lwm2m::config::MAX_SERVERS + 1 + lwm2m::config::MAX_CLIENTS;

/// What the driver needs of a (Client) Security instance.
struct Cred<'a> {
    kind: u8,
    inst: u16,
    uri: &'a str,
    identity: &'a [u8],
    key: &'a [u8],
}

impl Cred<'_> {
    /// FNV-1a over kind, URI, identity and key.
    fn fingerprint(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |b: &[u8]| {
            for &x in b.iter().chain(&[0xff, b.len() as u8]) {
                h = (h ^ u64::from(x)).wrapping_mul(0x0100_0000_01b3);
            }
        };
        eat(&[self.kind]);
        eat(self.uri.as_bytes());
        eat(self.identity);
        eat(self.key);
        h
    }
}

/// The PSK credentials the engine's objects define now.
fn creds<'e>(engine: &'e Engine<'_>) -> impl Iterator<Item = Cred<'e>> {
    let servers = engine
        .security()
        .instances
        .iter()
        .filter(|s| eligible(s))
        .map(|s| Cred {
            kind: crate::LWM2M_C2C_CRED_SERVER,
            inst: s.id,
            uri: s.uri.as_str(),
            identity: &s.identity,
            key: &s.secret_key,
        });
    #[cfg(feature = "c2c")]
    let clients = engine
        .client_security()
        .instances
        .iter()
        .filter(|s| s.mode == mode::PSK && !s.identity.is_empty() && !s.secret_key.is_empty())
        .map(|s| Cred {
            kind: crate::LWM2M_C2C_CRED_CLIENT,
            inst: s.id,
            uri: "",
            identity: &s.identity,
            key: &s.secret_key,
        });
    #[cfg(not(feature = "c2c"))]
    let clients = core::iter::empty();
    servers.chain(clients)
}

#[derive(Clone, Copy)]
struct Loaded {
    kind: u8,
    inst: u16,
    /// Fingerprint of URI, identity and key (only compared for equality, never printed).
    fp: u64,
    /// The glue accepted it (a refused one is not retried until the instance changes).
    ok: bool,
}

/// Credentials handed to the glue.
pub(crate) struct Dtls {
    loaded: heapless::Vec<Loaded, SLOTS>,
}

/// Whether an instance is a DTLS-PSK account whose credential goes to credman.
fn eligible(s: &SecurityInstance) -> bool {
    s.mode == mode::PSK
        && s.uri.starts_with("coaps://")
        && !s.identity.is_empty()
        && !s.secret_key.is_empty()
}

impl Dtls {
    pub(crate) const fn new() -> Self {
        Dtls {
            loaded: heapless::Vec::new(),
        }
    }

    /// Brings the glue's credentials in line with the (Client) Security instances.
    pub(crate) fn sync(&mut self, engine: &Engine<'_>) {
        // Gone or changed: remove first (frees credman slots for the new ones).
        let mut i = 0;
        while let Some(l) = self.loaded.get(i).copied() {
            let keep = creds(engine)
                .any(|c| c.kind == l.kind && c.inst == l.inst && c.fingerprint() == l.fp);
            if keep {
                i += 1;
                continue;
            }
            if l.ok {
                // SAFETY: plain C call.
                unsafe { lwm2m_c2c_glue_psk_remove(l.kind, l.inst) };
                ev!("dtls_credential_removed kind={} inst={}", l.kind, l.inst);
            }
            self.loaded.swap_remove(i);
        }
        for c in creds(engine) {
            if self
                .loaded
                .iter()
                .any(|l| l.kind == c.kind && l.inst == c.inst)
            {
                continue;
            }
            // SAFETY: the pointers are valid for the given lengths during the call; the glue
            // copies the bytes.
            let r = unsafe {
                lwm2m_c2c_glue_psk_set(
                    c.kind,
                    c.inst,
                    c.uri.as_ptr(),
                    c.uri.len(),
                    c.identity.as_ptr(),
                    c.identity.len(),
                    c.key.as_ptr(),
                    c.key.len(),
                )
            };
            if r == 0 {
                ev!("dtls_credential_loaded kind={} inst={}", c.kind, c.inst);
            } else {
                ev!(
                    "dtls_credential_failed kind={} inst={} err={}",
                    c.kind,
                    c.inst,
                    r
                );
            }
            let l = Loaded {
                kind: c.kind,
                inst: c.inst,
                fp: c.fingerprint(),
                ok: r == 0,
            };
            if self.loaded.push(l).is_err() {
                break;
            }
        }
    }

    /// The engine closed the account `cid` (lifetime over, disabled, deleted): its credential
    /// goes and its sessions end, until the server writes the instance again.
    #[cfg(feature = "c2c")]
    pub(crate) fn close_client(&mut self, engine: &Engine<'_>, cid: u16) {
        let sec = &engine.client_security().instances;
        for l in self.loaded.iter_mut() {
            let of_cid = sec.get(l.inst).is_some_and(|s| s.short_id == cid);
            if l.kind == crate::LWM2M_C2C_CRED_CLIENT && l.ok && of_cid {
                // SAFETY: plain C call.
                unsafe { lwm2m_c2c_glue_psk_remove(l.kind, l.inst) };
                ev!("dtls_credential_removed kind={} inst={}", l.kind, l.inst);
                l.ok = false;
            }
        }
    }
}

/// The identity of a request that arrived over a DTLS session whose handshake used the
/// credential of Security instance `inst`: that account's server (or the bootstrap server),
/// as long as the instance is still the PSK account the credential came from.
pub(crate) fn identity(engine: &Engine<'_>, inst: u16) -> Identity {
    match engine.security().instances.get(inst) {
        Some(s) if eligible(s) && s.bootstrap => Identity::Bootstrap,
        Some(s) if eligible(s) => Identity::Server(s.ssid),
        _ => Identity::Unauthenticated,
    }
}

/// The identity of a request over a DTLS session whose handshake used the credential of
/// Client Security instance `inst`: the requesting client of that account, while the instance
/// is still in PSK mode, its identity names this account and the account is open.
#[cfg(feature = "c2c")]
pub(crate) fn client_identity(engine: &Engine<'_>, inst: u16, now: u64) -> Identity {
    let Some(s) = engine.client_security().instances.get(inst) else {
        return Identity::Unauthenticated;
    };
    let cid = s.short_id;
    let same = engine.client_by_psk_identity(&s.identity) == Some(cid);
    if s.mode == mode::PSK && same && engine.client_active(cid, now) {
        Identity::Client(cid)
    } else {
        Identity::Unauthenticated
    }
}
