//! The only module with `unsafe`: a tinydtls context, its callbacks and address conversion.
//!
//! Invariants kept here:
//! * every call into tinydtls holds [`TINYDTLS`], because tinydtls keeps process-global state
//!   (PRNG, log level, cipher context) and was written for single-threaded use;
//! * `ctx.app` points at the caller's [`CallbackState`] only for the duration of one call (the
//!   pointer is derived from a `&mut` that outlives the call), and is null otherwise, so callbacks
//!   never observe a dangling or aliased state;
//! * callbacks never unwind into C (they do not panic: no indexing, no unwrap).

use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::raw::{c_int, c_uchar, c_uint, c_ushort, c_void};
use std::ptr::{self, NonNull};
use std::sync::{Mutex, MutexGuard, Once};

use tinydtls_sys as sys;

use crate::state::{CallbackState, Credential, CredentialKind};

/// Zeroed bytes after each datagram handed to tinydtls (see `Context::handle_message`): more
/// than the two bytes its extension parsers read before a length check.
const TAIL_PADDING: usize = 8;

static TINYDTLS: Mutex<()> = Mutex::new(());
static INIT: Once = Once::new();

extern "C" {
    // Declared in dtls_debug.h, which the bindings do not include. `log_t` is a C enum
    // (an `int`); 0 is DTLS_LOG_EMERG.
    fn dtls_set_log_level(level: c_int);
}

fn lock() -> MutexGuard<'static, ()> {
    let guard = TINYDTLS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    INIT.call_once(|| {
        // SAFETY: dtls_init only sets up tinydtls' allocators and clock and runs once, under
        // the global lock. Log level EMERG keeps tinydtls from printing anything, in particular
        // its DEBUG-level dumps of PSKs and key blocks.
        unsafe {
            sys::dtls_init();
            dtls_set_log_level(0);
        }
    });
    guard
}

/// Where a peer is in tinydtls' state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PeerState {
    Handshaking,
    Connected,
    Closing,
}

/// An owned tinydtls context.
pub(crate) struct Context {
    ctx: NonNull<sys::dtls_context_t>,
    // tinydtls keeps a pointer to the handler table: it must not move while `ctx` lives.
    _handler: Box<sys::dtls_handler_t>,
}

// SAFETY: the context is reached only through `&mut Context` (or `&Context` for read-only
// lookups), and every tinydtls call is serialized by the global lock, so moving the owner to
// another thread cannot create concurrent access.
unsafe impl Send for Context {}

impl Context {
    pub(crate) fn new() -> Option<Self> {
        let _guard = lock();
        let mut handler = Box::new(sys::dtls_handler_t {
            write: Some(write_cb),
            read: Some(read_cb),
            // SAFETY: `event_cb` takes the alert level as `c_uint` because tinydtls passes 0
            // (not a `dtls_alert_level_t` variant) for internal events; a `repr(u32)` enum and
            // `c_uint` have the same size and C ABI. Rust never calls through this pointer.
            event: Some(unsafe {
                std::mem::transmute::<
                    unsafe extern "C" fn(
                        *mut sys::dtls_context_t,
                        *mut sys::session_t,
                        c_uint,
                        c_ushort,
                    ) -> c_int,
                    unsafe extern "C" fn(
                        *mut sys::dtls_context_t,
                        *mut sys::session_t,
                        sys::dtls_alert_level_t,
                        c_ushort,
                    ) -> c_int,
                >(event_cb)
            }),
            get_user_parameters: Some(user_parameters_cb),
            get_psk_info: Some(psk_info_cb),
        });
        // SAFETY: a null app pointer is allowed; the context is freed in Drop.
        let ctx = NonNull::new(unsafe { sys::dtls_new_context(ptr::null_mut()) })?;
        // SAFETY: `ctx` is valid and exclusively ours; the handler box outlives it (Drop frees
        // the context before the box is dropped). This is what the inline `dtls_set_handler`
        // does.
        unsafe { sys::dtls_set_handler(ctx.as_ptr(), &mut *handler) };
        Some(Self {
            ctx,
            _handler: handler,
        })
    }

    /// Runs `f` on the raw context with `state` reachable from callbacks.
    fn with_state<R>(
        &mut self,
        state: &mut CallbackState,
        f: impl FnOnce(*mut sys::dtls_context_t) -> R,
    ) -> R {
        let _guard = lock();
        let ctx = self.ctx.as_ptr();
        // SAFETY: `ctx` is valid; `state` is borrowed mutably for this whole function, so the
        // pointer stays valid and unaliased while tinydtls may call back; it is cleared before
        // the borrow ends.
        unsafe { (*ctx).app = (state as *mut CallbackState).cast::<c_void>() };
        let result = f(ctx);
        // SAFETY: as above.
        unsafe { (*ctx).app = ptr::null_mut() };
        result
    }

    pub(crate) fn handle_message(
        &mut self,
        state: &mut CallbackState,
        peer: SocketAddr,
        datagram: &[u8],
    ) {
        let Ok(len) = c_int::try_from(datagram.len()) else {
            return;
        };
        // tinydtls decrypts in place, so it gets a private copy, with zeroed bytes after the
        // datagram: its ClientHello / ServerHello extension parsers read the first one or two
        // bytes of an extension before checking its length, so an empty extension at the end
        // of a record was read past the datagram (found by `make fuzz`, target dtls_record).
        // Inside the padding they read zeros, which every length check there then refuses.
        let mut buf = Vec::with_capacity(datagram.len() + TAIL_PADDING);
        buf.extend_from_slice(datagram);
        buf.resize(datagram.len() + TAIL_PADDING, 0);
        let mut session = to_session(peer);
        self.with_state(state, |ctx| {
            // SAFETY: `ctx` is valid, `session` and `buf` live across the call and `len` is
            // the length of `buf`.
            unsafe { sys::dtls_handle_message(ctx, &mut session, buf.as_mut_ptr(), len) };
        });
    }

    /// Starts a handshake as client; false if tinydtls refused.
    pub(crate) fn connect(&mut self, state: &mut CallbackState, peer: SocketAddr) -> bool {
        let session = to_session(peer);
        // SAFETY: `ctx` is valid, `session` lives across the call.
        self.with_state(state, |ctx| unsafe { sys::dtls_connect(ctx, &session) }) > 0
    }

    /// Encrypts `plaintext` into one record; returns tinydtls' result (bytes written, 0 if the
    /// peer is not connected, negative on error).
    pub(crate) fn write(
        &mut self,
        state: &mut CallbackState,
        peer: SocketAddr,
        plaintext: &[u8],
    ) -> i32 {
        let mut session = to_session(peer);
        let mut buf = plaintext.to_vec();
        self.with_state(state, |ctx| {
            // SAFETY: `ctx` is valid; `session` and `buf` live across the call and the length
            // passed is `buf`'s.
            unsafe { sys::dtls_write(ctx, &mut session, buf.as_mut_ptr(), buf.len()) }
        })
    }

    /// Sends close_notify (if `notify`) and frees the peer's state at once.
    pub(crate) fn close(&mut self, state: &mut CallbackState, peer: SocketAddr, notify: bool) {
        let session = to_session(peer);
        self.with_state(state, |ctx| {
            // SAFETY: `ctx` is valid and `session` lives across the calls. dtls_close leaves
            // the peer in state CLOSING; dtls_reset_peer then frees it (without a second
            // alert). The peer pointer is fetched again after dtls_close and used only while
            // the lock is held.
            unsafe {
                if notify {
                    sys::dtls_close(ctx, &session);
                }
                let p = sys::dtls_get_peer(ctx, &session);
                if !p.is_null() {
                    if !notify {
                        // Mark it closed so that dtls_destroy_peer sends nothing.
                        ptr::addr_of_mut!((*p).state)
                            .cast::<c_uint>()
                            .write(sys::dtls_state_t::DTLS_STATE_CLOSED as c_uint);
                    }
                    sys::dtls_reset_peer(ctx, p);
                }
            }
        });
    }

    pub(crate) fn peer_state(&self, peer: SocketAddr) -> Option<PeerState> {
        let _guard = lock();
        let session = to_session(peer);
        // SAFETY: `ctx` is valid; the returned peer is read only under the lock. The state is
        // read as an integer so that an unexpected value cannot form an invalid Rust enum.
        let raw = unsafe {
            let p = sys::dtls_get_peer(self.ctx.as_ptr(), &session);
            if p.is_null() {
                return None;
            }
            ptr::addr_of!((*p).state).cast::<c_uint>().read()
        };
        Some(match raw {
            x if x == sys::dtls_state_t::DTLS_STATE_CONNECTED as c_uint => PeerState::Connected,
            x if x == sys::dtls_state_t::DTLS_STATE_CLOSING as c_uint
                || x == sys::dtls_state_t::DTLS_STATE_CLOSED as c_uint =>
            {
                PeerState::Closing
            }
            _ => PeerState::Handshaking,
        })
    }

    /// Retransmits due handshake flights; returns milliseconds until the next one, if any.
    pub(crate) fn check_retransmit(&mut self, state: &mut CallbackState) -> Option<u32> {
        self.with_state(state, |ctx| {
            let mut next: sys::clock_time_t = 0;
            let mut now: sys::dtls_tick_t = 0;
            // SAFETY: `ctx` is valid, `next` and `now` are writable locals.
            unsafe {
                sys::dtls_check_retransmit(ctx, &mut next);
                sys::dtls_ticks(&mut now);
            }
            (next != 0).then(|| next.saturating_sub(now))
        })
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        let _guard = lock();
        // SAFETY: `ctx` came from dtls_new_context and is freed once. `app` is null, so the
        // close_notify alerts tinydtls sends while freeing peers go nowhere (write_cb drops
        // them).
        unsafe {
            (*self.ctx.as_ptr()).app = ptr::null_mut();
            sys::dtls_free_context(self.ctx.as_ptr());
        }
    }
}

/// The callback state behind `ctx.app`, if a call is in progress.
///
/// # Safety
/// `ctx` must be the pointer tinydtls passed to a callback.
unsafe fn state<'a>(ctx: *mut sys::dtls_context_t) -> Option<&'a mut CallbackState> {
    if ctx.is_null() {
        return None;
    }
    // SAFETY: per `with_state`, `app` is null or points at a `CallbackState` that is mutably
    // borrowed for the duration of the tinydtls call running this callback, and tinydtls does
    // not nest callbacks.
    unsafe { (*ctx).app.cast::<CallbackState>().as_mut() }
}

/// # Safety
/// `buf` must be null or valid for `len` bytes.
unsafe fn bytes<'a>(buf: *const u8, len: usize) -> &'a [u8] {
    if buf.is_null() || len == 0 {
        return &[];
    }
    // SAFETY: guaranteed by the caller.
    unsafe { std::slice::from_raw_parts(buf, len) }
}

unsafe extern "C" fn write_cb(
    ctx: *mut sys::dtls_context_t,
    session: *mut sys::session_t,
    buf: *mut u8,
    len: usize,
) -> c_int {
    // SAFETY: tinydtls passes its context, a valid session and `len` readable bytes.
    let (state, peer, data) = unsafe { (state(ctx), from_session(session), bytes(buf, len)) };
    if let (Some(state), Some(peer)) = (state, peer) {
        state.on_write(peer, data);
    }
    c_int::try_from(len).unwrap_or(c_int::MAX)
}

unsafe extern "C" fn read_cb(
    ctx: *mut sys::dtls_context_t,
    session: *mut sys::session_t,
    buf: *mut u8,
    len: usize,
) -> c_int {
    // SAFETY: as in write_cb.
    let (state, peer, data) = unsafe { (state(ctx), from_session(session), bytes(buf, len)) };
    if let (Some(state), Some(peer)) = (state, peer) {
        state.on_read(peer, data);
    }
    0
}

unsafe extern "C" fn event_cb(
    ctx: *mut sys::dtls_context_t,
    session: *mut sys::session_t,
    level: c_uint,
    code: c_ushort,
) -> c_int {
    // SAFETY: tinydtls passes its context and a valid session.
    let (state, peer) = unsafe { (state(ctx), from_session(session)) };
    if let (Some(state), Some(peer)) = (state, peer) {
        state.on_event(peer, u8::try_from(level).unwrap_or(u8::MAX), code);
    }
    0
}

unsafe extern "C" fn user_parameters_cb(
    _ctx: *mut sys::dtls_context_t,
    _session: *mut sys::session_t,
    parameters: *mut sys::dtls_user_parameters_t,
) {
    // SAFETY: tinydtls passes a valid, writable parameter block. Only CCM_8 is offered or
    // accepted (RFC 7925 4.2); the list ends with the NULL suite as tinydtls requires.
    unsafe {
        if let Some(p) = parameters.as_mut() {
            p.cipher_suites = [
                sys::dtls_cipher_t::TLS_PSK_WITH_AES_128_CCM_8,
                sys::dtls_cipher_t::TLS_NULL_WITH_NULL_NULL,
                sys::dtls_cipher_t::TLS_NULL_WITH_NULL_NULL,
                sys::dtls_cipher_t::TLS_NULL_WITH_NULL_NULL,
                sys::dtls_cipher_t::TLS_NULL_WITH_NULL_NULL,
            ];
        }
    }
}

/// tinydtls' `dtls_alert_fatal_create`.
fn fatal(description: u8) -> c_int {
    -((2 << 8) | c_int::from(description))
}

unsafe extern "C" fn psk_info_cb(
    ctx: *mut sys::dtls_context_t,
    session: *const sys::session_t,
    kind: sys::dtls_credentials_type_t,
    desc: *const c_uchar,
    desc_len: usize,
    result: *mut c_uchar,
    result_length: usize,
) -> c_int {
    const INTERNAL_ERROR: u8 = 80;
    // SAFETY: tinydtls passes its context, a valid session and `desc_len` readable bytes.
    let (state, peer, desc) = unsafe { (state(ctx), from_session(session), bytes(desc, desc_len)) };
    let (Some(state), Some(peer)) = (state, peer) else {
        return fatal(INTERNAL_ERROR);
    };
    let kind = match kind {
        sys::dtls_credentials_type_t::DTLS_PSK_HINT => CredentialKind::Hint,
        sys::dtls_credentials_type_t::DTLS_PSK_IDENTITY => CredentialKind::Identity,
        sys::dtls_credentials_type_t::DTLS_PSK_KEY => CredentialKind::Key,
        _ => return fatal(INTERNAL_ERROR),
    };
    let credential = match state.credential(peer, kind, desc) {
        Ok(credential) => credential,
        Err(e) => return fatal(e.0),
    };
    let copy = |src: &[u8]| -> c_int {
        if src.len() > result_length || result.is_null() {
            return fatal(INTERNAL_ERROR);
        }
        // SAFETY: tinydtls provides `result_length` writable bytes at `result`; `src` fits.
        unsafe { ptr::copy_nonoverlapping(src.as_ptr(), result, src.len()) };
        c_int::try_from(src.len()).unwrap_or_else(|_| fatal(INTERNAL_ERROR))
    };
    match credential {
        Credential::Identity(identity) => copy(&identity),
        // `Key` zeroizes itself when dropped at the end of this arm.
        Credential::Key(key) => copy(key.expose()),
    }
}

fn to_session(addr: SocketAddr) -> sys::session_t {
    // SAFETY: session_t is plain C data (integers and sockaddr unions) for which all-zero is
    // a valid value, and tinydtls compares sessions field by field.
    let mut s: sys::session_t = unsafe { zeroed() };
    match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from(*a.ip()).to_be(),
                },
                sin_zero: [0; 8],
            };
            s.size = size_of::<libc::sockaddr_in>() as libc::socklen_t;
            // SAFETY: the union is large enough for a sockaddr_in (bindgen layout tests).
            unsafe { *s.addr.sin.as_mut() = sin };
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            s.size = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
            // SAFETY: the union is large enough for a sockaddr_in6 (bindgen layout tests).
            unsafe { *s.addr.sin6.as_mut() = sin6 };
        }
    }
    s
}

/// # Safety
/// `s` must be null or point at a session_t written by `to_session` or by tinydtls.
unsafe fn from_session(s: *const sys::session_t) -> Option<SocketAddr> {
    // SAFETY: per the caller; the family field is read before the matching variant.
    unsafe {
        let s = s.as_ref()?;
        match c_int::from(s.addr.sa.as_ref().sa_family) {
            libc::AF_INET => {
                let sin = s.addr.sin.as_ref();
                Some(SocketAddr::V4(SocketAddrV4::new(
                    Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)),
                    u16::from_be(sin.sin_port),
                )))
            }
            libc::AF_INET6 => {
                let sin6 = s.addr.sin6.as_ref();
                Some(SocketAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                    u16::from_be(sin6.sin6_port),
                    0,
                    sin6.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_round_trip() {
        for addr in [
            "127.0.0.1:5684".parse::<SocketAddr>(),
            "[::1]:5684".parse(),
            "[fe80::1%3]:61616".parse(),
        ] {
            let addr = addr.expect("literal");
            let s = to_session(addr);
            // SAFETY: `s` was just written by to_session.
            assert_eq!(unsafe { from_session(&s) }, Some(addr));
        }
    }
}
