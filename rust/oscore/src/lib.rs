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

/// Outer header fields copied from a datagram before it is decrypted in place.
struct Header {
    mtype: MessageType,
    mid: u16,
    token: [u8; 8],
    tkl: usize,
}

impl Header {
    fn of(m: &Message<'_>) -> Self {
        let mut token = [0; 8];
        token[..m.token.len()].copy_from_slice(m.token);
        Header {
            mtype: m.mtype,
            mid: m.message_id,
            token,
            tkl: m.token.len(),
        }
    }
    fn token(&self) -> &[u8] {
        self.token.get(..self.tkl).unwrap_or(&[])
    }
    /// Writes header and token, returning the code byte and the rest of the buffer.
    fn write<'b>(&self, out: &'b mut [u8]) -> Result<(&'b mut u8, &'b mut [u8]), Error> {
        let n = MessageBuilder::new(out, self.mtype, 0, self.mid, self.token())?.finish();
        let (head, tail) = out.split_at_mut(n);
        let code = head.get_mut(1).ok_or(Error::BufferTooSmall)?;
        Ok((code, tail))
    }
}

/// Copies the decrypted message into `out` as plain CoAP.
///
/// `outer_observe` is the value of the outer Observe option of a response: RFC 8613 section
/// 4.1.3.5 puts the notification number there and leaves the inner Observe value empty, so
/// when the (authenticated) inner message has an Observe option, the plain message carries
/// the outer value instead. Without an inner Observe option the outer one is ignored.
fn write_plain(
    out: &mut [u8],
    h: &Header,
    pm: &liboscore::ProtectedMessage,
    outer_observe: Option<&[u8]>,
) -> Result<usize, Error> {
    let mut b = MessageBuilder::new(out, h.mtype, pm.code(), h.mid, h.token())?;
    for o in pm.options() {
        match (o.number(), outer_observe) {
            (option::OSCORE, _) => {}
            (option::OBSERVE, Some(v)) => b.option(option::OBSERVE, v)?,
            (n, _) => b.option(n, o.value())?,
        }
    }
    let p = pm.payload();
    if !p.is_empty() {
        b.payload(p)?;
    }
    Ok(b.finish())
}

/// Feeds the plain message's code, options (plus an Echo option, in order) and payload into
/// the message being protected.
fn write_inner(
    pm: &mut liboscore::ProtectedMessage,
    m: &Message<'_>,
    echo: Option<&[u8]>,
) -> Result<(), Error> {
    pm.set_code(m.code);
    // liboscore 0.2.7 writes the inner Observe option only when an option numbered 9 or above
    // follows; after a Location-Path (8) it is then out of order and liboscore panics
    // ("Truncation failed") when it finishes the message. Refuse that combination up front.
    if m.option(option::OBSERVE).is_some() && m.option(option::LOCATION_PATH).is_some() {
        return Err(Error::Malformed);
    }
    let mut echo = echo;
    for o in m.options() {
        if o.number == option::OSCORE {
            return Err(Error::Malformed);
        }
        if o.number > option::ECHO {
            if let Some(e) = echo.take() {
                pm.add_option(option::ECHO, e)
                    .map_err(|_| Error::BufferTooSmall)?;
            }
        }
        pm.add_option(o.number, o.value)
            .map_err(|_| Error::BufferTooSmall)?;
    }
    if let Some(e) = echo {
        pm.add_option(option::ECHO, e)
            .map_err(|_| Error::BufferTooSmall)?;
    }
    if !m.payload.is_empty() {
        pm.set_payload(m.payload)
            .map_err(|_| Error::BufferTooSmall)?;
    }
    Ok(())
}

/// Zeroes `out` when `r` is an error, so a failed operation never leaves plaintext behind.
fn scrub<T>(out: &mut [u8], r: Result<T, Error>) -> Result<T, Error> {
    if r.is_err() {
        out.fill(0);
    }
    r
}

/// Protects a plain CoAP request. Returns the protected length and the id for
/// [`unprotect_response`].
pub fn protect_request(
    ctx: &mut SecurityContext,
    store: &mut dyn SeqnoStore,
    plain: &[u8],
    out: &mut [u8],
) -> Result<(usize, RequestId), Error> {
    protect_request_with_echo(ctx, store, plain, None, out)
}

/// [`protect_request`] adding an Echo option (the value from [`echo_challenge`]) to the
/// encrypted options.
pub fn protect_request_with_echo(
    ctx: &mut SecurityContext,
    store: &mut dyn SeqnoStore,
    plain: &[u8],
    echo: Option<&[u8]>,
    out: &mut [u8],
) -> Result<(usize, RequestId), Error> {
    let r = protect_request_inner(ctx, store, plain, echo, out);
    scrub(out, r)
}

fn protect_request_inner(
    ctx: &mut SecurityContext,
    store: &mut dyn SeqnoStore,
    plain: &[u8],
    echo: Option<&[u8]>,
    out: &mut [u8],
) -> Result<(usize, RequestId), Error> {
    let m = Message::parse(plain).map_err(|_| Error::Malformed)?;
    if !code::is_request(m.code) {
        return Err(Error::Malformed);
    }
    let h = Header::of(&m);
    ctx.reserve(store, 1)?;
    let (code_byte, tail) = h.write(out)?;
    let mut msg = inmemory_write::Message::new(code_byte, tail);
    let (rid, inner) =
        liboscore::protect_request(&mut msg, &mut ctx.ctx, |pm| write_inner(pm, &m, echo))
            .map_err(|_| Error::BufferTooSmall)?;
    inner?;
    let mut len = 4 + h.tkl + msg.finish();
    // RFC 8613 section 4.2: an Observe registration goes as FETCH (liboscore always writes
    // POST); the outer code is not authenticated, so it may be changed after encryption.
    if m.option(option::OBSERVE).is_some() {
        out[1] = code::FETCH;
    }
    if ctx.send_kid_context {
        if let Some(c) = ctx.id_context() {
            let mut cb = [0; MAX_ID_CONTEXT_LEN];
            cb[..c.len()].copy_from_slice(c);
            len = insert_kid_context(out, len, &cb[..c.len()])?;
        }
    }
    Ok((len, RequestId::from_raw(&rid, ctx.sender_id())))
}

/// Size of an option header for this delta and value length (RFC 7252 section 3.1).
fn option_header_len(delta: usize, len: usize) -> usize {
    let ext = |v: usize| match v {
        0..13 => 0,
        13..269 => 1,
        _ => 2,
    };
    1 + ext(delta) + ext(len)
}

/// Rewrites the OSCORE option of a protected request in `buf[..len]` to carry `kid_context`.
/// The ID Context is not part of the AAD (RFC 8613 section 5.4), so the ciphertext stays valid.
fn insert_kid_context(buf: &mut [u8], len: usize, kid_context: &[u8]) -> Result<usize, Error> {
    let msg = buf.get(..len).ok_or(Error::Malformed)?;
    let m = Message::parse(msg).map_err(|_| Error::Malformed)?;
    let prev = m
        .options()
        .map(|o| o.number)
        .take_while(|&n| n < option::OSCORE)
        .last()
        .unwrap_or(0);
    let old = m.option(option::OSCORE).ok_or(Error::Malformed)?;
    let value_at = old.as_ptr() as usize - msg.as_ptr() as usize;
    let old_len = old.len();
    let mut value = [0u8; MAX_OPTION_LEN];
    let (&flags, rest) = old.split_first().ok_or(Error::Malformed)?;
    let n = usize::from(flags & 7);
    let (piv, kid) = rest.split_at_checked(n).ok_or(Error::Malformed)?;
    if flags & 0x10 != 0 || kid_context.len() > MAX_ID_CONTEXT_LEN || kid.len() > MAX_ID_LEN {
        return Err(Error::Malformed);
    }
    value[0] = flags | 0x10;
    value[1..1 + n].copy_from_slice(piv);
    value[1 + n] = kid_context.len() as u8;
    let c_end = 2 + n + kid_context.len();
    value[2 + n..c_end].copy_from_slice(kid_context);
    value[c_end..c_end + kid.len()].copy_from_slice(kid);
    let new_len = c_end + kid.len();

    let delta = usize::from(option::OSCORE - prev);
    let opt_at = value_at - option_header_len(delta, old_len);
    let new_value_at = opt_at + option_header_len(delta, new_len);
    let tail_at = value_at + old_len;
    let new_tail_at = new_value_at + new_len;
    let total = new_tail_at + (len - tail_at);
    if total > buf.len() {
        return Err(Error::BufferTooSmall);
    }
    buf.copy_within(tail_at..len, new_tail_at);
    // Both lengths are below 269 and the delta is at most 9: a one- or two-byte header.
    let (l, ext) = if new_len < 13 {
        (new_len as u8, None)
    } else {
        (13, Some((new_len - 13) as u8))
    };
    buf[opt_at] = (delta as u8) << 4 | l;
    if let Some(e) = ext {
        buf[opt_at + 1] = e;
    }
    buf[new_value_at..new_tail_at].copy_from_slice(&value[..new_len]);
    Ok(total)
}

/// Verifies and decrypts a protected request (decrypted in place in `protected`, whose content
/// is unspecified afterwards) and writes the plain CoAP request to `out`. Returns its length
/// and the request id, whose [`RequestId::kid`] is the verified requester.
///
/// Rejects a kid other than the context's Recipient ID ([`Error::UnknownKid`]), tampering
/// ([`Error::Invalid`]) and replays ([`Error::Replay`]); after [`SecurityContext::resume`] a
/// request without the right Echo value gets [`Error::EchoRequired`].
pub fn unprotect_request(
    ctx: &mut SecurityContext,
    protected: &mut [u8],
    out: &mut [u8],
) -> Result<(usize, RequestId), Error> {
    let r = unprotect_request_inner(ctx, protected, out);
    scrub(out, r)
}

fn unprotect_request_inner(
    ctx: &mut SecurityContext,
    protected: &mut [u8],
    out: &mut [u8],
) -> Result<(usize, RequestId), Error> {
    let m = Message::parse(protected).map_err(|_| Error::Malformed)?;
    if !code::is_request(m.code) {
        return Err(Error::Malformed);
    }
    let h = Header::of(&m);
    let value = m.option(option::OSCORE).ok_or(Error::NotProtected)?;
    let mut opt = [0u8; MAX_OPTION_LEN];
    let opt = opt.get_mut(..value.len()).ok_or(Error::Malformed)?;
    opt.copy_from_slice(value);
    let parsed = parse_oscore_option(opt)?;
    let kid = parsed.kid.ok_or(Error::Malformed)?;
    if parsed.piv.is_empty() {
        return Err(Error::Malformed);
    }
    if kid != ctx.recipient_id()
        || parsed
            .kid_context
            .is_some_and(|c| Some(c) != ctx.id_context())
    {
        return Err(Error::UnknownKid);
    }
    let seqno = parsed.piv.iter().fold(0u64, |a, &b| a << 8 | u64::from(b));

    // After a reboot the window is unknown: open it just for this sequence number so liboscore
    // verifies the request, then keep it only if the request echoes our challenge.
    let recovering = !ctx.replay_window_known();
    let echo = ctx.echo;
    let echo = echo.get(..usize::from(ctx.echo_len)).unwrap_or(&[]);
    if recovering {
        let p = primitive(&mut ctx.ctx);
        p.replay_window_left_edge = seqno as i64;
        p.replay_window = 0;
    }

    let (head, tail) = protected.split_at_mut(4 + h.tkl);
    let code_byte = head.get_mut(1).ok_or(Error::Malformed)?;
    let mut msg = inmemory_write::Message::new_from_existing(code_byte, tail);
    let oscore_opt = liboscore::OscoreOption::parse(opt).map_err(|_| Error::Malformed)?;
    let result = liboscore::unprotect_request(&mut msg, oscore_opt, &mut ctx.ctx, |pm| {
        let fresh = !recovering
            || (!echo.is_empty()
                && pm
                    .options()
                    .any(|o| o.number() == option::ECHO && o.value() == echo));
        if fresh {
            write_plain(out, &h, pm, None).map(Some)
        } else {
            Ok(None)
        }
    });
    let restore = |ctx: &mut SecurityContext| {
        if recovering {
            let p = primitive(&mut ctx.ctx);
            p.replay_window_left_edge = SEQNO_MAX as i64;
            p.replay_window = 0;
        }
    };
    match result {
        Ok((rid, Ok(Some(len)))) => {
            if recovering {
                ctx.echo_len = 0;
            }
            Ok((len, RequestId::from_raw(&rid, kid)))
        }
        Ok((mut rid, Ok(None))) => {
            restore(ctx);
            // The request may be a replay: its nonce must not protect our answer.
            rid.is_first_use = false;
            Err(Error::EchoRequired(RequestId::from_raw(&rid, kid)))
        }
        Ok((_, Err(e))) => {
            restore(ctx);
            Err(e)
        }
        Err(liboscore::UnprotectRequestError::Duplicate) => Err(Error::Replay),
        Err(_) => {
            restore(ctx);
            Err(Error::Invalid)
        }
    }
}

/// Protects a plain CoAP response to the request `id` (from [`unprotect_request`]).
pub fn protect_response(
    ctx: &mut SecurityContext,
    store: &mut dyn SeqnoStore,
    id: &mut RequestId,
    plain: &[u8],
    out: &mut [u8],
) -> Result<usize, Error> {
    let r = (|| {
        let m = Message::parse(plain).map_err(|_| Error::Malformed)?;
        if !code::is_response(m.code) {
            return Err(Error::Malformed);
        }
        let observe = m.option(option::OBSERVE).is_some();
        protect_response_msg(
            ctx,
            store,
            id,
            &Header::of(&m),
            observe,
            |pm| write_inner(pm, &m, None),
            out,
        )
    })();
    scrub(out, r)
}

fn protect_response_msg(
    ctx: &mut SecurityContext,
    store: &mut dyn SeqnoStore,
    id: &mut RequestId,
    h: &Header,
    observe: bool,
    writer: impl FnOnce(&mut liboscore::ProtectedMessage) -> Result<(), Error>,
    out: &mut [u8],
) -> Result<usize, Error> {
    ctx.reserve(store, u64::from(!id.first_use))?;
    let (code_byte, tail) = h.write(out)?;
    let mut msg = inmemory_write::Message::new(code_byte, tail);
    let mut raw_id = id.to_raw();
    let inner = liboscore::protect_response(&mut msg, &mut ctx.ctx, &mut raw_id, writer);
    id.first_use = raw_id.is_first_use;
    inner.map_err(|_| Error::BufferTooSmall)??;
    let len = 4 + h.tkl + msg.finish();
    // RFC 8613 section 4.2: 2.04 Changed, or 2.05 Content for notifications (liboscore always
    // writes 2.05). The outer code is not authenticated.
    if !observe {
        out[1] = code::CHANGED;
    }
    Ok(len)
}

/// Builds the protected 4.01 Unauthorized with an Echo option (RFC 8613 B.1.2) that answers a
/// request rejected with [`Error::EchoRequired`]. `protected_request` supplies the message
/// type, ID and token to answer (the outer header, which in-place decryption leaves intact);
/// a CON request gets a piggybacked ACK.
pub fn echo_response(
    ctx: &mut SecurityContext,
    store: &mut dyn SeqnoStore,
    id: &mut RequestId,
    protected_request: &[u8],
    out: &mut [u8],
) -> Result<usize, Error> {
    let r = (|| {
        let head = protected_request.get(..4).ok_or(Error::Malformed)?;
        let tkl = usize::from(head[0] & 0xf);
        let token = protected_request
            .get(4..4 + tkl)
            .filter(|_| tkl <= 8)
            .ok_or(Error::Malformed)?;
        let mut h = Header {
            mtype: if head[0] >> 4 & 3 == 0 {
                MessageType::Ack
            } else {
                MessageType::Non
            },
            mid: u16::from_be_bytes([head[2], head[3]]),
            token: [0; 8],
            tkl,
        };
        h.token[..tkl].copy_from_slice(token);
        let (echo, n) = ctx.echo_value(store)?;
        id.first_use = false;
        protect_response_msg(
            ctx,
            store,
            id,
            &h,
            false,
            |pm| {
                pm.set_code(code::UNAUTHORIZED);
                pm.add_option(option::ECHO, &echo[..n])
                    .map_err(|_| Error::BufferTooSmall)
            },
            out,
        )
    })();
    scrub(out, r)
}

/// Verifies and decrypts a protected response to the request `id` (from [`protect_request`]),
/// decrypting in place in `protected`, and writes the plain CoAP response to `out`.
///
/// A notification's plain form carries the outer Observe value (the notification number,
/// RFC 8613 section 4.1.3.5.2) in place of the empty inner one.
pub fn unprotect_response(
    ctx: &mut SecurityContext,
    id: &RequestId,
    protected: &mut [u8],
    out: &mut [u8],
) -> Result<usize, Error> {
    let r = (|| {
        let m = Message::parse(protected).map_err(|_| Error::Malformed)?;
        let h = Header::of(&m);
        let value = m.option(option::OSCORE).ok_or(Error::NotProtected)?;
        let mut opt = [0u8; MAX_OPTION_LEN];
        let opt = opt.get_mut(..value.len()).ok_or(Error::Malformed)?;
        opt.copy_from_slice(value);
        parse_oscore_option(opt)?;
        // The outer Observe value (at most 3 bytes), copied before in-place decryption.
        let mut observe = [0u8; 3];
        let outer_observe = match m.option(option::OBSERVE) {
            Some(v) => {
                let o = observe.get_mut(..v.len()).ok_or(Error::Malformed)?;
                o.copy_from_slice(v);
                Some(v.len())
            }
            None => None,
        };
        let outer_observe = outer_observe.and_then(|n| observe.get(..n));
        let (head, tail) = protected.split_at_mut(4 + h.tkl);
        let code_byte = head.get_mut(1).ok_or(Error::Malformed)?;
        let mut msg = inmemory_write::Message::new_from_existing(code_byte, tail);
        let oscore_opt = liboscore::OscoreOption::parse(opt).map_err(|_| Error::Malformed)?;
        let mut raw_id = id.to_raw();
        liboscore::unprotect_response(&mut msg, &mut ctx.ctx, oscore_opt, &mut raw_id, |pm| {
            write_plain(out, &h, pm, outer_observe)
        })
        .map_err(|_| Error::Invalid)?
    })();
    scrub(out, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads the derived keys (test-only: the API never exposes them).
    fn keys(ctx: &mut SecurityContext) -> ([u8; 16], [u8; 16], [u8; 13]) {
        let p = primitive(&mut ctx.ctx);
        // SAFETY: `immutables` points into the context, which outlives this read.
        let imm = unsafe { &*p.immutables };
        let mut s = [0; 16];
        let mut r = [0; 16];
        s.copy_from_slice(&imm.sender_key[..16]);
        r.copy_from_slice(&imm.recipient_key[..16]);
        (s, r, imm.common_iv)
    }

    /// A message with Observe and Location-Path (which liboscore 0.2.7 would put out of order
    /// and panic on) is refused, the request and the response alike; found by the
    /// `oscore_option` fuzz target.
    #[test]
    fn observe_with_location_path_is_refused() {
        let mut c = SecurityContext::derive(&[1; 16], &[], &[], &[1], None).unwrap();
        let mut s = SecurityContext::derive(&[1; 16], &[], &[1], &[], None).unwrap();
        let mut store = MemoryStore::default();
        let mut out = [0u8; 96];
        // GET, token 20 00, Observe (empty), Location-Path (empty).
        let bad = [0x42, 0x01, 0x60, 0x60, 0x20, 0x00, 0x60, 0x20];
        let r = protect_request(&mut c, &mut store, &bad, &mut out);
        assert!(matches!(r, Err(Error::Malformed)), "{r:?}");
        // The same without Location-Path protects, and the server can answer it.
        let good = [0x42, 0x01, 0x60, 0x60, 0x20, 0x00, 0x60];
        let (n, _) = protect_request(&mut c, &mut store, &good, &mut out).unwrap();
        let mut wire = out[..n].to_vec();
        let mut plain = [0u8; 96];
        let (_, mut id) = unprotect_request(&mut s, &mut wire, &mut plain).unwrap();
        // 2.05 notification, Observe 1, Location-Path "x".
        let bad_response = [0x62, 0x45, 0x60, 0x60, 0x20, 0x00, 0x61, 0x01, 0x21, b'x'];
        let r = protect_response(&mut s, &mut store, &mut id, &bad_response, &mut out);
        assert!(matches!(r, Err(Error::Malformed)), "{r:?}");
    }

    /// RFC 8613 section 6.1 option values: well formed and not.
    #[test]
    fn option_value_validity() {
        // Empty (a response's), Partial IV 0x05 + kid 0x07, with kid context.
        for ok in [
            &[][..],
            &[0x09, 0x05, 0x07],
            &[0x19, 0x05, 0x02, 0xaa, 0xbb, 0x07],
        ] {
            assert!(is_valid_option(ok), "{ok:02x?}");
        }
        for bad in [
            &[0x80][..],               // reserved bit
            &[0x06, 1, 2, 3, 4, 5, 6], // Partial IV length 6 (reserved)
            &[0x03, 0x01],             // Partial IV shorter than announced
            &[0x11, 0x05, 0x04, 0xaa], // kid context shorter than announced
            &[0x01, 0x05, 0x07],       // bytes after the Partial IV without the kid flag
            b"x",                      // 0x78: reserved bits
        ] {
            assert!(!is_valid_option(bad), "{bad:02x?}");
        }
    }

    fn hex(s: &str) -> std::vec::Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    extern crate std;

    const SECRET: &str = "0102030405060708090a0b0c0d0e0f10";
    const SALT: &str = "9e7ca92223786340";

    fn check(ctx: &mut SecurityContext, sk: &str, rk: &str, iv: &str) {
        let (s, r, i) = keys(ctx);
        assert_eq!(s[..], hex(sk)[..]);
        assert_eq!(r[..], hex(rk)[..]);
        assert_eq!(i[..], hex(iv)[..]);
    }

    #[test]
    fn c1_key_derivation_with_salt() {
        let (s, salt) = (hex(SECRET), hex(SALT));
        let mut c = SecurityContext::derive(&s, &salt, &[], &[1], None).unwrap();
        check(
            &mut c,
            "f0910ed7295e6ad4b54fc793154302ff",
            "ffb14e093c94c9cac9471648b4f98710",
            "4622d4dd6d944168eefb54987c",
        );
        let mut c = SecurityContext::derive(&s, &salt, &[1], &[], None).unwrap();
        check(
            &mut c,
            "ffb14e093c94c9cac9471648b4f98710",
            "f0910ed7295e6ad4b54fc793154302ff",
            "4622d4dd6d944168eefb54987c",
        );
    }

    #[test]
    fn c2_key_derivation_without_salt() {
        let s = hex(SECRET);
        let mut c = SecurityContext::derive(&s, &[], &[0], &[1], None).unwrap();
        check(
            &mut c,
            "321b26943253c7ffb6003b0b64d74041",
            "e57b5635815177cd679ab4bcec9d7dda",
            "be35ae297d2dace910c52e99f9",
        );
        let mut c = SecurityContext::derive(&s, &[], &[1], &[0], None).unwrap();
        check(
            &mut c,
            "e57b5635815177cd679ab4bcec9d7dda",
            "321b26943253c7ffb6003b0b64d74041",
            "be35ae297d2dace910c52e99f9",
        );
    }

    #[test]
    fn c3_key_derivation_with_id_context() {
        let (s, salt, ctx) = (hex(SECRET), hex(SALT), hex("37cbf3210017a2d3"));
        let mut c = SecurityContext::derive(&s, &salt, &[], &[1], Some(&ctx)).unwrap();
        check(
            &mut c,
            "af2a1300a5e95788b356336eeecd2b92",
            "e39a0c7c77b43f03b4b39ab9a268699f",
            "2ca58fb85ff1b81c0b7181b85e",
        );
        let mut c = SecurityContext::derive(&s, &salt, &[1], &[], Some(&ctx)).unwrap();
        check(
            &mut c,
            "e39a0c7c77b43f03b4b39ab9a268699f",
            "af2a1300a5e95788b356336eeecd2b92",
            "2ca58fb85ff1b81c0b7181b85e",
        );
    }

    #[test]
    fn bad_parameters() {
        let s = hex(SECRET);
        assert_eq!(
            SecurityContext::derive(&s, &[], &[0; 8], &[1], None).unwrap_err(),
            Error::BadParameter
        );
        assert_eq!(
            SecurityContext::derive(&s, &[], &[0], &[1; 8], None).unwrap_err(),
            Error::BadParameter
        );
        assert_eq!(
            SecurityContext::derive_with(99, 5, &s, &[], &[0], &[1], None).unwrap_err(),
            Error::UnsupportedAlgorithm
        );
        assert_eq!(
            SecurityContext::derive_with(10, 7, &s, &[], &[0], &[1], None).unwrap_err(),
            Error::UnsupportedAlgorithm
        );
        // -10 (HKDF SHA-256) and 5 (HMAC 256/256) name the same derivation.
        let mut a = SecurityContext::derive_with(10, -10, &s, &[], &[0], &[1], None).unwrap();
        let mut b = SecurityContext::derive_with(10, 5, &s, &[], &[0], &[1], None).unwrap();
        assert_eq!(keys(&mut a), keys(&mut b));
    }

    #[test]
    fn oscore_option_parsing() {
        // RFC 8613 section 6.3 examples.
        let o = parse_oscore_option(&[0x09, 0x05, 0x25]).unwrap();
        assert_eq!(
            (o.piv, o.kid, o.kid_context),
            (&[5][..], Some(&[0x25][..]), None)
        );
        let o = parse_oscore_option(&[0x09, 0x00]).unwrap();
        assert_eq!((o.piv, o.kid), (&[0][..], Some(&[][..])));
        let o = parse_oscore_option(&[0x19, 0x05, 0x05, 0x44, 0x61, 0x6c, 0x65, 0x6b]).unwrap();
        assert_eq!(
            (o.piv, o.kid, o.kid_context),
            (&[5][..], Some(&[][..]), Some(&b"Dalek"[..]))
        );
        let o = parse_oscore_option(&[0x01, 0x07]).unwrap();
        assert_eq!((o.piv, o.kid), (&[7][..], None));
        let o = parse_oscore_option(&[]).unwrap();
        assert_eq!((o.piv, o.kid), (&[][..], None));
        for bad in [
            &[0x06][..],         // n = 6
            &[0x20],             // reserved bit
            &[0x02, 0x01],       // PIV truncated
            &[0x10],             // h without s
            &[0x10, 0x03, 0x01], // kid context truncated
            &[0x01, 0x01, 0x02], // trailing bytes without k
        ] {
            assert!(parse_oscore_option(bad).is_err(), "{bad:02x?}");
        }
    }

    #[test]
    fn piv_encoding() {
        let mut b = [0; 5];
        assert_eq!(piv_bytes(0, &mut b), [0]);
        assert_eq!(piv_bytes(20, &mut b), [0x14]);
        assert_eq!(piv_bytes(256, &mut b), [1, 0]);
        assert_eq!(piv_bytes(SEQNO_MAX, &mut b), [0xff; 5]);
    }
}
