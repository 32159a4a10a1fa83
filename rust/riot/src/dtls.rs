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

use core::ffi::c_int;

use lwm2m::engine::{Engine, Identity};
use lwm2m::objects::security::{mode, SecurityInstance};

use crate::ev::ev;

extern "C" {
    /// Loads (or replaces) the credential of Security instance `inst` (C glue). Returns 0 or a
    /// negative errno. The glue copies the bytes.
    fn lwm2m_c2c_glue_psk_set(
        inst: u16,
        uri: *const u8,
        uri_len: usize,
        id: *const u8,
        id_len: usize,
        key: *const u8,
        key_len: usize,
    ) -> c_int;
    /// Removes the credential of Security instance `inst` and ends its DTLS sessions.
    fn lwm2m_c2c_glue_psk_remove(inst: u16);
}

/// Security instances at most (DM servers and the bootstrap server).
const SLOTS: usize = lwm2m::config::MAX_SERVERS + 1;

#[derive(Clone, Copy)]
struct Loaded {
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

/// FNV-1a over URI, identity and key.
fn fingerprint(s: &SecurityInstance) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: &[u8]| {
        for &x in b.iter().chain(&[0xff, b.len() as u8]) {
            h = (h ^ u64::from(x)).wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(s.uri.as_bytes());
    eat(&s.identity);
    eat(&s.secret_key);
    h
}

impl Dtls {
    pub(crate) const fn new() -> Self {
        Dtls {
            loaded: heapless::Vec::new(),
        }
    }

    /// Brings the glue's credentials in line with the Security instances.
    pub(crate) fn sync(&mut self, engine: &Engine<'_>) {
        let sec = &engine.security().instances;
        // Gone or changed: remove first (frees credman slots for the new ones).
        let mut i = 0;
        while let Some(l) = self.loaded.get(i).copied() {
            let keep = sec
                .get(l.inst)
                .is_some_and(|s| eligible(s) && fingerprint(s) == l.fp);
            if keep {
                i += 1;
                continue;
            }
            if l.ok {
                // SAFETY: plain C call.
                unsafe { lwm2m_c2c_glue_psk_remove(l.inst) };
                ev!("dtls_credential_removed inst={}", l.inst);
            }
            self.loaded.swap_remove(i);
        }
        for s in sec.iter().filter(|s| eligible(s)) {
            if self.loaded.iter().any(|l| l.inst == s.id) {
                continue;
            }
            // SAFETY: the pointers are valid for the given lengths during the call; the glue
            // copies the bytes.
            let r = unsafe {
                lwm2m_c2c_glue_psk_set(
                    s.id,
                    s.uri.as_ptr(),
                    s.uri.len(),
                    s.identity.as_ptr(),
                    s.identity.len(),
                    s.secret_key.as_ptr(),
                    s.secret_key.len(),
                )
            };
            if r == 0 {
                ev!("dtls_credential_loaded inst={}", s.id);
            } else {
                ev!("dtls_credential_failed inst={} err={}", s.id, r);
            }
            let l = Loaded {
                inst: s.id,
                fp: fingerprint(s),
                ok: r == 0,
            };
            if self.loaded.push(l).is_err() {
                break;
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

/// Decodes the hex PSK of the build configuration (`CONFIG_LWM2M_PSK_KEY`) into `out`;
/// returns its length, `None` for odd length, non-hex characters or a key too long.
pub(crate) fn hex(text: &str, out: &mut [u8]) -> Option<usize> {
    let b = text.as_bytes();
    if !b.len().is_multiple_of(2) || b.len() / 2 > out.len() {
        return None;
    }
    let nib = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
        let &[h, l] = pair else {
            return None;
        };
        *o = (nib(h)? << 4) | nib(l)?;
    }
    Some(b.len() / 2)
}
