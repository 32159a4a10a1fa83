//! C API of the client-to-client extension. The functions exist in every build; without the
//! Cargo feature they need (`c2c-auth`, i.e. `LWM2M_C2C=auth`) they return `-ENOTSUP`.

use core::ffi::{c_char, c_int, c_void, CStr};

use lwm2m::Path;

use crate::err;
#[cfg(feature = "c2c-auth")]
use crate::{now, wake, with_state};

/// Access right Read (also Observe and Write-Attributes), for `lwm2m_c2c_request_access`.
pub const LWM2M_C2C_RIGHT_READ: u8 = 0x01;
/// Access right Write.
pub const LWM2M_C2C_RIGHT_WRITE: u8 = 0x02;
/// Access right Execute.
pub const LWM2M_C2C_RIGHT_EXECUTE: u8 = 0x04;
/// Access right Delete.
pub const LWM2M_C2C_RIGHT_DELETE: u8 = 0x08;
/// Access right Create (object level).
pub const LWM2M_C2C_RIGHT_CREATE: u8 = 0x10;
/// Access right Discover.
pub const LWM2M_C2C_RIGHT_DISCOVER: u8 = 0x20;

/// Result callback of `lwm2m_c2c_read` / `lwm2m_c2c_observe`.
///
/// - `handle`: the operation (the value the call returned);
/// - `status`: 0 when the host answered (`code` is its CoAP code, e.g. 0x45 for 2.05), or a
///   negative errno ending the operation: `-EACCES` (no trusted hint, access denied, no
///   credential for the DTLS handshake, the DTLS account closed), `-ETIMEDOUT`, `-ENOTSUP`
///   (after the grant no account this build can use: OSCORE, or PSK with `LWM2M_DTLS=1`),
///   `-ENOMEM`;
/// - `observe`: the Observe sequence number of a notification, `UINT32_MAX` for a response
///   without Observe (the operation then ends);
/// - `payload` / `len`: the plain (decrypted) payload, valid during the call only.
///
/// It runs on gcoap's or the engine's thread with the engine locked: it must not call
/// `lwm2m_c2c_*` functions (they return `-EDEADLK`) and should return quickly.
pub type CResultFn = Option<
    unsafe extern "C" fn(
        arg: *mut c_void,
        handle: c_int,
        status: c_int,
        code: u8,
        observe: u32,
        payload: *const u8,
        len: usize,
    ),
>;

/// Reads a NUL-terminated C string as UTF-8.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string.
unsafe fn text<'a>(p: *const c_char) -> Option<&'a str> {
    if p.is_null() {
        return None;
    }
    // SAFETY: the caller promises a NUL-terminated string.
    unsafe { CStr::from_ptr(p) }.to_str().ok()
}

#[cfg_attr(not(feature = "c2c-auth"), allow(unused_variables))]
unsafe fn start(
    host_ep: *const c_char,
    host_uri: *const c_char,
    path: *const c_char,
    observe: bool,
    cb: CResultFn,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: the caller promises NUL-terminated strings (or NULL).
    let (Some(host), Some(uri), Some(path)) =
        (unsafe { (text(host_ep), text(host_uri), text(path)) })
    else {
        return err::INVAL;
    };
    let Ok(path) = Path::parse_str(path) else {
        return err::INVAL;
    };
    #[cfg(feature = "c2c-auth")]
    {
        let res = with_state(|s| {
            crate::requester::start(s, host, uri, path, observe, cb, arg, now())
                .map_or_else(|e| e, |h| h as c_int)
        });
        wake();
        res.unwrap_or_else(|e| e)
    }
    #[cfg(not(feature = "c2c-auth"))]
    err::NOTSUP
}

/// Reads `path` (e.g. `/3303/0/5700`) on the hosting client with endpoint name `host_ep`,
/// reachable at `host_uri` (e.g. `coap://[fe80::2%6]:5683`), as a requesting client: a plain
/// request first; on 4.01 with a hint naming a server this node is registered with, an access
/// request (Read on the path's instance, with credentials) to that server; after the grant the
/// request again, protected with the new account's OSCORE context. With an account for the
/// host already, the protected request goes first. The outcome goes to `cb`.
///
/// Returns the operation's handle (>= 0), `-EINVAL`, `-ENOMEM` (all slots busy), `-ENOENT`
/// before initialization, `-ENOTSUP` without `LWM2M_C2C=auth`.
///
/// # Safety
/// The strings must be NUL-terminated (copied before returning); `cb` (may be NULL) and
/// `arg` must stay valid until the operation ends.
#[no_mangle]
pub unsafe extern "C" fn lwm2m_c2c_read(
    host_ep: *const c_char,
    host_uri: *const c_char,
    path: *const c_char,
    cb: CResultFn,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: forwarded promises.
    unsafe { start(host_ep, host_uri, path, false, cb, arg) }
}

/// Like `lwm2m_c2c_read`, with Observe: every notification goes to `cb` (with its Observe
/// number) until the host ends the observation or the account closes. The operation keeps
/// its slot for as long.
///
/// # Safety
/// As for `lwm2m_c2c_read`; `cb` and `arg` stay valid for the program's life.
#[no_mangle]
pub unsafe extern "C" fn lwm2m_c2c_observe(
    host_ep: *const c_char,
    host_uri: *const c_char,
    path: *const c_char,
    cb: CResultFn,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: forwarded promises.
    unsafe { start(host_ep, host_uri, path, true, cb, arg) }
}

/// Asks server `ssid` for `rights` (`LWM2M_C2C_RIGHT_*`) on `path` (an object, or an
/// instance; a resource path asks for its instance) of the hosting client `host_ep`:
/// `POST /ac?ep=<host_ep>[&c]`, `c` when `with_credentials`. The outcome is printed as an
/// `auth_end` event; `lwm2m_c2c_read` / `lwm2m_c2c_observe` use the account it installs.
///
/// Returns 0 once queued, `-EINVAL`, `-ENOENT` before initialization, `-ENOTSUP` without
/// `LWM2M_C2C=auth`, or the negated CoAP code of the engine's refusal (e.g. `-131`, 4.03:
/// not registered with that server).
///
/// # Safety
/// `host_ep` and `path` must be NUL-terminated strings.
#[no_mangle]
#[cfg_attr(not(feature = "c2c-auth"), allow(unused_variables))]
pub unsafe extern "C" fn lwm2m_c2c_request_access(
    ssid: u16,
    host_ep: *const c_char,
    path: *const c_char,
    rights: u8,
    with_credentials: bool,
) -> c_int {
    // SAFETY: the caller promises NUL-terminated strings.
    let (Some(host), Some(path)) = (unsafe { (text(host_ep), text(path)) }) else {
        return err::INVAL;
    };
    let Ok(path) = Path::parse_str(path) else {
        return err::INVAL;
    };
    if path.is_empty() {
        return err::INVAL;
    }
    #[cfg(feature = "c2c-auth")]
    {
        let res = with_state(|s| {
            crate::requester::request_access(s, ssid, host, path, rights, with_credentials, now())
        });
        wake();
        res.unwrap_or_else(|e| e)
    }
    #[cfg(not(feature = "c2c-auth"))]
    err::NOTSUP
}
