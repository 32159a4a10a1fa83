//! OSCORE (RFC 8613) for the LwM2M engine: request and response protection on raw CoAP
//! datagrams, a replay window, sequence-number persistence and Echo-based replay-window
//! recovery after a reboot (RFC 8613 appendix B.1).
//!
//! # Why liboscore (and not uOSCORE)
//!
//! The design card named uOSCORE (eriptic/uoscore-uedhoc). RIOT 2026.07 packages neither
//! uOSCORE nor liboscore, so either would be vendored into the build; the choice is then about
//! the build and about one code base everywhere. liboscore 0.2.7 is published on crates.io as
//! a Rust crate that compiles its C core with `cc` and plugs in a RustCrypto backend
//! (AES-CCM-16-64-128, HKDF-SHA256). It builds unchanged for the Linux host and for
//! `thumbv7m-none-eabi` with no feature flags, so the host client, the server and the RIOT
//! firmware run the very same OSCORE code, and cargo pins it like every other dependency.
//! uOSCORE would need a hand-written C build in RIOT's package system plus a separate crypto
//! glue (TinyCrypt or Mbed TLS) and Rust bindings of our own, and the host side would still
//! need a second implementation. liboscore also interoperates with aiocoap's OSCORE, which the
//! tests use as an independent peer. Its appendix B.1 support lives in C behind a context type
//! the Rust wrapper does not expose; this crate therefore implements the two B.1 mechanisms
//! (sequence numbers persisted in steps, Echo-based replay-window recovery) in a few lines of
//! Rust over liboscore's primitive context.
//!
//! # Use
//!
//! ```text
//! client                                        server
//! protect_request(ctx, store, plain, out) ----> unprotect_request(ctx, prot, out) -> (len, id)
//!                                               ...handle plain request...
//! unprotect_response(ctx, &id, prot, out) <---- protect_response(ctx, store, &mut id, plain, out)
//! ```
//!
//! All functions work on whole CoAP datagrams (RFC 7252 header, token, options, payload). The
//! plaintext side is an ordinary CoAP message, the protected side is what goes on the wire.
//! On an error the output buffer is zeroed, so no plaintext is ever handed out for a message
//! that failed verification, and errors never carry key material.
//!
//! After a reboot, [`SecurityContext::resume`] restarts a context from the last limit the
//! [`SeqnoStore`] persisted; its replay window is then unknown, and the first request is answered
//! with a protected 4.01 carrying an Echo option ([`Error::EchoRequired`], [`echo_response`]).
//! The client repeats the request with that Echo value ([`protect_request_with_echo`],
//! [`echo_challenge`]) and the server accepts it, which re-establishes the window.
#![no_std]
#![warn(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

/// OSCORE between a CoAP message layer and a socket, for one peer (host client and server).
#[cfg(feature = "std")]
pub mod peer;

use coap_message::{MessageOption as _, MinimalWritableMessage as _, ReadableMessage as _};
use coap_message_implementations::inmemory_write;
use liboscore::raw;
use lwm2m::coap::{code, option, BuildError, Message, MessageBuilder, MessageType};

/// COSE algorithm number of AES-CCM-16-64-128, the LwM2M default AEAD (OSCORE object res 3).
pub const AES_CCM_16_64_128: i32 = 10;
/// COSE algorithm number of AES-CCM-16-128-128 (the other CCM variant an `aead-ccm-only` build
/// keeps).
pub const AES_CCM_16_128_128: i32 = 30;
/// COSE algorithm number of HMAC 256/256, which selects HKDF-SHA256 (OSCORE object res 4).
pub const HMAC_256_256: i32 = 5;
/// COSE algorithm number of HKDF-SHA256 (accepted as a synonym of [`HMAC_256_256`]).
pub const HKDF_SHA_256: i32 = -10;
/// Longest Sender or Recipient ID with a 13-byte nonce (RFC 8613 section 3.3).
pub const MAX_ID_LEN: usize = 7;
/// Longest ID Context this crate accepts.
pub const MAX_ID_CONTEXT_LEN: usize = raw::OSCORE_KEYIDCONTEXT_MAXLEN as usize;
/// Default number of sequence numbers reserved per [`SeqnoStore::store`] call.
pub const DEFAULT_SEQNO_STEP: u64 = 64;

/// The largest sequence number OSCORE allows (2^40 - 1), which liboscore also uses to mark an
/// uninitialized replay window.
const SEQNO_MAX: u64 = (1 << 40) - 1;
/// Longest OSCORE option value this crate parses: flags, Partial IV, s, kid context, kid.
const MAX_OPTION_LEN: usize = 1 + 5 + 1 + MAX_ID_CONTEXT_LEN + MAX_ID_LEN;

/// Resource IDs of the LwM2M OSCORE object (21).
pub mod resource {
    /// OSCORE Master Secret (opaque).
    pub const MASTER_SECRET: u16 = 0;
    /// OSCORE Sender ID (opaque).
    pub const SENDER_ID: u16 = 1;
    /// OSCORE Recipient ID (opaque).
    pub const RECIPIENT_ID: u16 = 2;
    /// OSCORE AEAD Algorithm (integer, COSE number; default 10).
    pub const AEAD_ALGORITHM: u16 = 3;
    /// OSCORE HMAC Algorithm (integer, COSE number; default 5).
    pub const HMAC_ALGORITHM: u16 = 4;
    /// OSCORE Master Salt (opaque).
    pub const MASTER_SALT: u16 = 5;
    /// OSCORE ID Context (opaque).
    pub const ID_CONTEXT: u16 = 6;
    /// Object ID of the OSCORE object.
    pub const OBJECT_ID: u16 = 21;
    /// Resource of Security (0) and Client Security (11000) instances that links an OSCORE
    /// object instance.
    pub const SECURITY_OSCORE_LINK: u16 = 17;
}

/// Why an OSCORE operation failed. Carries no key material and no plaintext.
#[derive(Debug, PartialEq, Eq)]
pub enum Error {
    /// The datagram is not a well-formed CoAP message, or its OSCORE option is malformed.
    Malformed,
    /// The message has no OSCORE option (it is plain CoAP).
    NotProtected,
    /// The message is protected under a key ID (or ID Context) this context does not have.
    UnknownKid,
    /// An algorithm number is not supported (only AES-CCM-16-64-128 family and HKDF-SHA256).
    UnsupportedAlgorithm,
    /// A Sender ID, Recipient ID or ID Context is too long.
    BadParameter,
    /// Decryption or authentication failed (tampered, or another key).
    Invalid,
    /// The request authenticated but its sequence number was seen before.
    Replay,
    /// After a reboot the replay window is unknown: the request authenticated but cannot be
    /// proven fresh. Answer with [`echo_response`]; the client repeats it with the Echo value.
    EchoRequired(RequestId),
    /// No sequence number is available: the [`SeqnoStore`] failed to persist a new limit.
    SequenceNumbersExhausted,
    /// The output buffer is too small.
    BufferTooSmall,
}

impl From<BuildError> for Error {
    fn from(e: BuildError) -> Self {
        match e {
            BuildError::NoSpace => Error::BufferTooSmall,
            _ => Error::Malformed,
        }
    }
}

/// Why a [`SeqnoStore`] could not persist a limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreError;

/// Persistent storage of a context's sequence-number limit, implemented by the application
/// (flash page, file, RIOT's MTD, ...).
///
/// Before a sender sequence number is used, the context asks the store to persist a limit above
/// it; it never uses a number at or above the last limit that was stored successfully. After a
/// reboot the application passes the last stored limit to [`SecurityContext::resume`], so no
/// sequence number (and thus no nonce) is ever used twice. The context reserves
/// [`SecurityContext::set_seqno_step`] numbers at a time to keep flash writes rare.
pub trait SeqnoStore {
    /// Durably records `limit`. Return `Ok` only once the value survives a power loss.
    fn store(&mut self, limit: u64) -> Result<(), StoreError>;
}

/// A [`SeqnoStore`] that keeps the limit in RAM: for tests and for simulating a reboot (keep the
/// store, drop the context). It does not survive a real power loss.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryStore {
    /// The last stored limit, if any.
    pub limit: Option<u64>,
    /// Number of successful `store` calls (flash writes on a device).
    pub writes: u32,
    /// When set, `store` fails (to test exhaustion).
    pub fail: bool,
}

impl SeqnoStore for MemoryStore {
    fn store(&mut self, limit: u64) -> Result<(), StoreError> {
        if self.fail {
            return Err(StoreError);
        }
        self.limit = Some(limit);
        self.writes += 1;
        Ok(())
    }
}

/// The values of one LwM2M OSCORE object (21) instance.
#[derive(Clone, Copy, Debug)]
pub struct OscoreObject<'a> {
    /// Res 0, Master Secret.
    pub master_secret: &'a [u8],
    /// Res 1, Sender ID.
    pub sender_id: &'a [u8],
    /// Res 2, Recipient ID.
    pub recipient_id: &'a [u8],
    /// Res 3, AEAD algorithm (absent: 10, AES-CCM-16-64-128).
    pub aead_algorithm: Option<i64>,
    /// Res 4, HMAC algorithm (absent: 5, HKDF-SHA256).
    pub hmac_algorithm: Option<i64>,
    /// Res 5, Master Salt (absent: empty).
    pub master_salt: &'a [u8],
    /// Res 6, ID Context (absent: none).
    pub id_context: Option<&'a [u8]>,
}

/// Correlates a request with its response(s): the request's Partial IV and key ID.
///
/// On the server, [`RequestId::kid`] is the verified identity of the requester (its Sender ID).
/// Not `Clone`: the first response may reuse the request's nonce, a copy could reuse it twice;
/// use [`RequestId::for_notification`] for further responses.
#[derive(Debug, PartialEq, Eq)]
pub struct RequestId {
    piv: [u8; 5],
    piv_len: u8,
    first_use: bool,
    kid: [u8; MAX_ID_LEN],
    kid_len: u8,
}

impl RequestId {
    fn from_raw(r: &raw::oscore_requestid_t, kid: &[u8]) -> Self {
        let mut k = [0; MAX_ID_LEN];
        let kid = kid.get(..MAX_ID_LEN).unwrap_or(kid);
        k[..kid.len()].copy_from_slice(kid);
        RequestId {
            piv: r.bytes,
            piv_len: r.used_bytes,
            first_use: r.is_first_use,
            kid: k,
            kid_len: kid.len() as u8,
        }
    }

    fn to_raw(&self) -> raw::oscore_requestid_t {
        raw::oscore_requestid_t {
            used_bytes: self.piv_len,
            bytes: self.piv,
            is_first_use: self.first_use,
        }
    }

    /// The key ID the request was protected with: on the server the client's Sender ID (the
    /// verified requester), on the client our own Sender ID.
    pub fn kid(&self) -> &[u8] {
        self.kid.get(..usize::from(self.kid_len)).unwrap_or(&[])
    }

    /// The request's sequence number.
    pub fn sequence_number(&self) -> u64 {
        self.piv.iter().fold(0, |a, &b| a << 8 | u64::from(b))
    }

    /// A copy for further responses to the same request (Observe notifications): those never
    /// reuse the request's nonce, each takes a sequence number of its own.
    pub fn for_notification(&self) -> RequestId {
        RequestId {
            first_use: false,
            ..*self
        }
    }
}

/// An OSCORE security context (sender and recipient part) over liboscore's primitive context,
/// with sequence-number persistence and Echo recovery (RFC 8613 appendix B.1).
pub struct SecurityContext {
    ctx: liboscore::PrimitiveContext,
    sender_id: [u8; MAX_ID_LEN],
    sender_id_len: u8,
    id_context: [u8; MAX_ID_CONTEXT_LEN],
    /// `u8::MAX` when there is no ID Context.
    id_context_len: u8,
    send_kid_context: bool,
    /// Sequence numbers below this were persisted by the store and may be used.
    high: u64,
    step: u64,
    /// Echo value sent while the replay window is unknown (a consumed sequence number, so it
    /// is never repeated across reboots).
    echo: [u8; 5],
    echo_len: u8,
}

impl core::fmt::Debug for SecurityContext {
    // Keys never appear here; IDs and counters are not secret.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SecurityContext")
            .field("sender_id", &self.sender_id())
            .field("recipient_id", &self.ctx.recipient_id())
            .field("high", &self.high)
            .finish_non_exhaustive()
    }
}

/// Mutable access to liboscore's primitive context state (sequence number, replay window).
fn primitive(ctx: &mut liboscore::PrimitiveContext) -> &mut raw::oscore_context_primitive {
    let c = ctx.as_mut();
    // SAFETY: `PrimitiveContext::as_mut` has just pointed `data` at the context's own
    // `oscore_context_primitive` field (its documented linking structure), which lives as long
    // as `ctx` and is not otherwise borrowed while the returned reference (tied to `ctx`) exists.
    unsafe { &mut *(c.data as *mut raw::oscore_context_primitive) }
}

fn piv_bytes(n: u64, out: &mut [u8; 5]) -> &[u8] {
    let b = n.to_be_bytes();
    out.copy_from_slice(&b[3..]);
    let skip = (out.iter().take_while(|&&x| x == 0).count()).min(4);
    &out[skip..]
}

impl SecurityContext {
    /// Derives a context with AES-CCM-16-64-128 and HKDF-SHA256 (RFC 8613 section 3.2) from
    /// fresh material: sequence numbers start at 0 and the replay window is empty. Use this
    /// only for material never used before; after a reboot use [`SecurityContext::resume`].
    pub fn derive(
        master_secret: &[u8],
        master_salt: &[u8],
        sender_id: &[u8],
        recipient_id: &[u8],
        id_context: Option<&[u8]>,
    ) -> Result<Self, Error> {
        Self::derive_with(
            AES_CCM_16_64_128,
            HMAC_256_256,
            master_secret,
            master_salt,
            sender_id,
            recipient_id,
            id_context,
        )
    }

    /// Like [`SecurityContext::derive`] with explicit COSE algorithm numbers.
    pub fn derive_with(
        aead: i32,
        hkdf: i32,
        master_secret: &[u8],
        master_salt: &[u8],
        sender_id: &[u8],
        recipient_id: &[u8],
        id_context: Option<&[u8]>,
    ) -> Result<Self, Error> {
        let hkdf = if hkdf == HKDF_SHA_256 {
            HMAC_256_256
        } else {
            hkdf
        };
        // A device build (feature `aead-ccm-only`) links the other AEADs liboscore names as
        // absent placeholders (rust/aead-absent): refuse them before a context exists.
        if cfg!(feature = "aead-ccm-only")
            && aead != AES_CCM_16_64_128
            && aead != AES_CCM_16_128_128
        {
            return Err(Error::UnsupportedAlgorithm);
        }
        let aead =
            liboscore::AeadAlg::from_number(aead).map_err(|_| Error::UnsupportedAlgorithm)?;
        let hkdf =
            liboscore::HkdfAlg::from_number(hkdf).map_err(|_| Error::UnsupportedAlgorithm)?;
        if sender_id.len() > MAX_ID_LEN
            || recipient_id.len() > MAX_ID_LEN
            || id_context.is_some_and(|c| c.len() > MAX_ID_CONTEXT_LEN)
        {
            return Err(Error::BadParameter);
        }
        let imm = liboscore::PrimitiveImmutables::derive(
            hkdf,
            master_secret,
            master_salt,
            id_context,
            aead,
            sender_id,
            recipient_id,
        )
        .map_err(|_| Error::BadParameter)?;
        let mut s = [0; MAX_ID_LEN];
        s[..sender_id.len()].copy_from_slice(sender_id);
        let mut c = [0; MAX_ID_CONTEXT_LEN];
        let cl = match id_context {
            Some(x) => {
                c[..x.len()].copy_from_slice(x);
                x.len() as u8
            }
            None => u8::MAX,
        };
        Ok(SecurityContext {
            ctx: liboscore::PrimitiveContext::new_from_fresh_material(imm),
            sender_id: s,
            sender_id_len: sender_id.len() as u8,
            id_context: c,
            id_context_len: cl,
            send_kid_context: false,
            high: 0,
            step: DEFAULT_SEQNO_STEP,
            echo: [0; 5],
            echo_len: 0,
        })
    }

    /// Derives a context from an LwM2M OSCORE object instance.
    pub fn from_object(o: &OscoreObject<'_>) -> Result<Self, Error> {
        let alg = |v: Option<i64>, d: i32| {
            v.map_or(Ok(d), |v| {
                i32::try_from(v).map_err(|_| Error::UnsupportedAlgorithm)
            })
        };
        Self::derive_with(
            alg(o.aead_algorithm, AES_CCM_16_64_128)?,
            alg(o.hmac_algorithm, HMAC_256_256)?,
            o.master_secret,
            o.master_salt,
            o.sender_id,
            o.recipient_id,
            o.id_context,
        )
    }

    /// Restarts a context after a reboot: sequence numbers continue at `stored_limit` (the last
    /// value the [`SeqnoStore`] persisted, 0 if none), and the replay window is unknown until a
    /// client proves freshness with an Echo value (RFC 8613 appendix B.1.2).
    pub fn resume(&mut self, stored_limit: u64) {
        let p = primitive(&mut self.ctx);
        p.sender_sequence_number = stored_limit;
        p.replay_window_left_edge = SEQNO_MAX as i64;
        p.replay_window = 0;
        self.high = stored_limit;
        self.echo_len = 0;
    }

    /// How many sequence numbers each [`SeqnoStore::store`] reserves (at least 2). A larger
    /// step means fewer flash writes and more numbers skipped after a reboot.
    pub fn set_seqno_step(&mut self, step: u64) {
        self.step = step.max(2);
    }

    /// Whether requests carry the ID Context in their OSCORE option (the `kid context` field,
    /// RFC 8613 section 6.1), so that a server holding several contexts can pick this one.
    pub fn set_send_kid_context(&mut self, on: bool) {
        self.send_kid_context = on;
    }

    /// Our Sender ID (the peer's Recipient ID).
    pub fn sender_id(&self) -> &[u8] {
        self.sender_id
            .get(..usize::from(self.sender_id_len))
            .unwrap_or(&[])
    }

    /// Our Recipient ID: the key ID incoming requests must carry.
    pub fn recipient_id(&self) -> &[u8] {
        self.ctx.recipient_id()
    }

    /// The ID Context, if any.
    pub fn id_context(&self) -> Option<&[u8]> {
        self.id_context.get(..usize::from(self.id_context_len))
    }

    /// The next sender sequence number.
    pub fn sender_sequence_number(&mut self) -> u64 {
        primitive(&mut self.ctx).sender_sequence_number
    }

    /// False after [`SecurityContext::resume`] until an Echo exchange re-established the
    /// replay window.
    pub fn replay_window_known(&mut self) -> bool {
        primitive(&mut self.ctx).replay_window_left_edge != SEQNO_MAX as i64
    }

    /// Makes sure `n` sequence numbers are available, persisting a new limit first if the
    /// reserve runs low.
    fn reserve(&mut self, store: &mut dyn SeqnoStore, n: u64) -> Result<(), Error> {
        let ssn = self.sender_sequence_number();
        let need = ssn.checked_add(n).ok_or(Error::SequenceNumbersExhausted)?;
        if need > SEQNO_MAX {
            return Err(Error::SequenceNumbersExhausted);
        }
        if need.saturating_add(self.step / 2) > self.high {
            let want = need.saturating_add(self.step).min(SEQNO_MAX + 1);
            if store.store(want).is_ok() {
                self.high = want;
            }
        }
        if need > self.high {
            return Err(Error::SequenceNumbersExhausted);
        }
        Ok(())
    }

    /// The Echo value for replay-window recovery, taking a sequence number the first time.
    fn echo_value(&mut self, store: &mut dyn SeqnoStore) -> Result<([u8; 5], usize), Error> {
        if self.echo_len == 0 {
            self.reserve(store, 1)?;
            let p = primitive(&mut self.ctx);
            let n = p.sender_sequence_number;
            p.sender_sequence_number += 1;
            let mut b = [0; 5];
            let v = piv_bytes(n, &mut b);
            let len = v.len();
            self.echo[..len].copy_from_slice(v);
            self.echo_len = len as u8;
        }
        Ok((self.echo, usize::from(self.echo_len)))
    }
}

/// The parsed OSCORE option (RFC 8613 section 6.1).
struct OscoreOpt<'a> {
    piv: &'a [u8],
    kid_context: Option<&'a [u8]>,
    kid: Option<&'a [u8]>,
}

fn parse_oscore_option(v: &[u8]) -> Result<OscoreOpt<'_>, Error> {
    let Some((&flags, rest)) = v.split_first() else {
        return Ok(OscoreOpt {
            piv: &[],
            kid_context: None,
            kid: None,
        });
    };
    let n = usize::from(flags & 7);
    if flags & 0xe0 != 0 || n > 5 {
        return Err(Error::Malformed);
    }
    let (piv, mut rest) = rest.split_at_checked(n).ok_or(Error::Malformed)?;
    let mut kid_context = None;
    if flags & 0x10 != 0 {
        let (&s, r) = rest.split_first().ok_or(Error::Malformed)?;
        let (c, r) = r.split_at_checked(usize::from(s)).ok_or(Error::Malformed)?;
        kid_context = Some(c);
        rest = r;
    }
    let kid = if flags & 0x08 != 0 {
        Some(rest)
    } else if rest.is_empty() {
        None
    } else {
        return Err(Error::Malformed);
    };
    Ok(OscoreOpt {
        piv,
        kid_context,
        kid,
    })
}

/// Whether an OSCORE option value is well formed (RFC 8613 section 6.1: reserved flag bits
/// clear, Partial IV, kid context and kid lengths within the value). A request whose option is
/// not gets 4.02 (Bad Option), one whose kid matches no context 4.01 (section 8.2).
pub fn is_valid_option(value: &[u8]) -> bool {
    parse_oscore_option(value).is_ok()
}

/// The key ID of a protected request (to pick the context among several), or `None` if the
/// datagram is not an OSCORE request with a kid.
pub fn request_kid(protected: &[u8]) -> Option<&[u8]> {
    let m = Message::parse(protected).ok()?;
    parse_oscore_option(m.option(option::OSCORE)?).ok()?.kid
}

/// The ID Context carried in a protected request's OSCORE option, if any.
pub fn request_kid_context(protected: &[u8]) -> Option<&[u8]> {
    let m = Message::parse(protected).ok()?;
    parse_oscore_option(m.option(option::OSCORE)?)
        .ok()?
        .kid_context
}

/// The Echo value of an unprotected 4.01 response (RFC 8613 B.1.2): the client repeats its
/// request with [`protect_request_with_echo`].
pub fn echo_challenge(plain_response: &[u8]) -> Option<&[u8]> {
    let m = Message::parse(plain_response).ok()?;
    (m.code == code::UNAUTHORIZED)
        .then(|| m.option(option::ECHO))
        .flatten()
}

mod protect;
pub use protect::{
    echo_response, protect_request, protect_request_with_echo, protect_response, unprotect_request,
    unprotect_response,
};

#[cfg(test)]
mod tests;
