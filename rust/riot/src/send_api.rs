//! Send (LwM2M 1.1 information reporting, feature `send`): the firmware's `lwm2m_c2c_send`,
//! and the `send_result` events of the engine's outcomes.
//!
//! The engine keeps at most one Send per server from the call until its outcome was taken
//! (`lwm2m::engine::Engine::send`); the driver takes every outcome at each poll and prints it
//! as `EV <ms> send_result ssid=<ssid> outcome=<outcome>`, so the firmware may send again once
//! that line is out (a call before gets `-EBUSY`).

use core::ffi::{c_char, c_int, CStr};
use core::fmt;

use lwm2m::engine::{SendError, SendOutcome};
use lwm2m::path::Path;

use crate::ev::{ev, Code};
use crate::{err, now, wake, with_state, State};

/// Content format of `lwm2m_c2c_send`: SenML CBOR (112).
pub const LWM2M_C2C_FORMAT_SENML_CBOR: u16 = 112;
/// Content format of `lwm2m_c2c_send`: LwM2M CBOR (11544).
pub const LWM2M_C2C_FORMAT_LWM2M_CBOR: u16 = 11544;
/// Most paths of one `lwm2m_c2c_send` (the engine's `MAX_SEND_PATHS`).
pub const LWM2M_C2C_MAX_SEND_PATHS: usize = lwm2m::config::MAX_SEND_PATHS;

/// Queues a Send (`POST /dp`) of the current values at `paths` (`n` strings like `/3303/0/5700`
/// or `/3303/0`) to the LwM2M server `ssid`, in `format` (`LWM2M_C2C_FORMAT_SENML_CBOR` or
/// `LWM2M_C2C_FORMAT_LWM2M_CBOR`). The values are read when the request goes out, right after
/// the call; the outcome is printed as `EV <ms> send_result ssid=<ssid> outcome=<outcome>`
/// (`delivered`, `rejected:<code>`, `timeout`, or `not_sent:` with `not_registered`, `muted`,
/// `busy` or the CoAP code of the data error).
///
/// Returns 0 when queued; `-EINVAL` for a bad path, `n` of 0 or above
/// `LWM2M_C2C_MAX_SEND_PATHS`, or a format not built in; `-ENOENT` before initialization or for
/// a path that does not exist; `-ENOTCONN` when not registered to that server; `-EACCES` when
/// the server's Mute Send (`/1/x/23`) is set or it may not read a path; `-EBUSY` while the
/// previous Send to that server has no outcome yet; `-ENOMEM` when the values do not fit one
/// request; `-EDEADLK` from a callback.
///
/// # Safety
/// `paths` must point to `n` NUL-terminated strings (they are not kept after the call).
#[no_mangle]
pub unsafe extern "C" fn lwm2m_c2c_send(
    ssid: u16,
    paths: *const *const c_char,
    n: usize,
    format: u16,
) -> c_int {
    if paths.is_null() || n == 0 || n > LWM2M_C2C_MAX_SEND_PATHS {
        return err::INVAL;
    }
    let mut parsed: heapless::Vec<Path, LWM2M_C2C_MAX_SEND_PATHS> = heapless::Vec::new();
    for i in 0..n {
        // SAFETY: the caller promises `n` valid pointers at `paths`.
        let p = unsafe { *paths.add(i) };
        if p.is_null() {
            return err::INVAL;
        }
        // SAFETY: the caller promises NUL-terminated strings.
        let s = unsafe { CStr::from_ptr(p) };
        let Some(path) = s.to_str().ok().and_then(|s| Path::parse_str(s).ok()) else {
            return err::INVAL;
        };
        if parsed.push(path).is_err() {
            return err::INVAL;
        }
    }
    let res = with_state(|s| match s.engine.send(ssid, &parsed, format, now()) {
        Ok(()) => 0,
        Err(e) => errno(e),
    });
    wake();
    res.unwrap_or_else(|e| e)
}

/// The C error of a refused Send.
fn errno(e: SendError) -> c_int {
    use lwm2m::error::Error as E;
    match e {
        SendError::NotRegistered => err::NOTCONN,
        SendError::Muted => err::ACCES,
        SendError::Busy => err::BUSY,
        SendError::Data(E::NotFound) => err::NOENT,
        SendError::Data(E::Unauthorized) | SendError::Data(E::Forbidden) => err::ACCES,
        SendError::Data(E::RequestEntityTooLarge) => err::NOMEM,
        SendError::Data(_) => err::INVAL,
    }
}

/// Prints every Send outcome the engine has (called at each poll).
pub(crate) fn results(s: &mut State) {
    while let Some(r) = s.engine.take_send_result() {
        ev!("send_result ssid={} outcome={}", r.ssid, Outcome(r.outcome));
    }
}

/// A Send outcome as the `outcome=` field of `send_result`.
struct Outcome(SendOutcome);

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            SendOutcome::Delivered => f.write_str("delivered"),
            SendOutcome::Rejected(c) => write!(f, "rejected:{}", Code(c)),
            SendOutcome::Timeout => f.write_str("timeout"),
            SendOutcome::NotSent(SendError::NotRegistered) => {
                f.write_str("not_sent:not_registered")
            }
            SendOutcome::NotSent(SendError::Muted) => f.write_str("not_sent:muted"),
            SendOutcome::NotSent(SendError::Busy) => f.write_str("not_sent:busy"),
            SendOutcome::NotSent(SendError::Data(e)) => write!(f, "not_sent:{}", Code(e.code())),
        }
    }
}
