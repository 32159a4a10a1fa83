//! The firmware's side of the C API: setting and announcing resource values, registering C
//! objects, and reading the client's state. (The glue's side, `lwm2m_riot_*`, is in lib.rs.)

use core::ffi::{c_char, c_int, CStr};

use lwm2m::codec::text::Decoder;
use lwm2m::engine::RegistrationState;
use lwm2m::path::{Path, ID_NONE};

use crate::app_object::{self, LWM2M_C2C_MAX_APP_RESOURCES};
use crate::{
    err, now, wake, with_state, AppRef, CObject, APP_OBJECTS, LWM2M_C2C_DISABLED,
    LWM2M_C2C_NOT_REGISTERED, LWM2M_C2C_REGISTERED, LWM2M_C2C_REGISTERING, LWM2M_C2C_UPDATING,
    STATE,
};

/// Sets a resource from its text representation, as the firmware does after a sensor reading:
/// `path` like `/3303/0/5700`, `value` in the LwM2M text format of the resource's type (`25.5`,
/// `1` / `0` for booleans, ...). The write reaches the object as a local write (built-in
/// objects accept read-only resources this way; application objects get their write callback)
/// and schedules notifications.
///
/// Returns 0, `-EINVAL`, `-ENOENT` before initialization, `-EDEADLK` from a callback, or the
/// negated CoAP code of the engine's error (e.g. `-132` for 4.04).
///
/// # Safety
/// `path` and `value` must be NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn lwm2m_c2c_set(path: *const c_char, value: *const c_char) -> c_int {
    if path.is_null() || value.is_null() {
        return err::INVAL;
    }
    // SAFETY: the caller promises NUL-terminated strings.
    let (p, v) = unsafe { (CStr::from_ptr(path), CStr::from_ptr(value)) };
    let (Ok(p), Ok(v)) = (p.to_str(), v.to_str()) else {
        return err::INVAL;
    };
    let Ok(path) = Path::parse_str(p) else {
        return err::INVAL;
    };
    let res = with_state(|s| {
        // Parsed as the text content format of the resource's declared type: the engine's text
        // codec avoids core's float parser (about 13 KiB of flash on thumbv7m).
        let dt = match (path.object_id(), path.resource_id()) {
            (Some(o), Some(r)) => s
                .engine
                .object(o)
                .and_then(|obj| obj.def().resource(r).map(|d| d.data_type)),
            _ => None,
        };
        let Some(dt) = dt else {
            return -c_int::from(lwm2m::coap::code::NOT_FOUND);
        };
        let type_of = |_: &Path| Some(dt);
        let value = match Decoder::new(&path, v.as_bytes(), &type_of).next() {
            Some(Ok(rec)) => rec.value,
            _ => return err::INVAL,
        };
        match s.engine.set_value(&path, value, now()) {
            Ok(()) => 0,
            Err(e) => -c_int::from(e.code()),
        }
    });
    wake();
    res.unwrap_or_else(|e| e)
}

/// Reports that the firmware changed a value an application object serves (its read callback
/// returns the new value from now on), so that observations of it are notified. `inst` or
/// `res` may be `LWM2M_C2C_ID_NONE` for a whole instance or object.
///
/// Call from thread context (not from an interrupt, not from an object callback).
///
/// Returns 0, `-EINVAL` for an invalid path, `-ENOENT` before initialization, `-EDEADLK` from a
/// callback.
#[no_mangle]
pub extern "C" fn lwm2m_c2c_changed(obj: u16, inst: u16, res: u16) -> c_int {
    let path = match (inst, res) {
        (ID_NONE, ID_NONE) => Path::object(obj),
        (i, ID_NONE) => Path::instance(obj, i),
        (ID_NONE, _) => return err::INVAL,
        (i, r) => Path::resource(obj, i, r),
    };
    if obj == ID_NONE {
        return err::INVAL;
    }
    let res = with_state(|s| s.engine.value_changed(&path, now()));
    wake();
    res.map_or_else(|e| e, |()| 0)
}

/// Adds an application object defined in C. Call before `lwm2m_c2c_init`, at most
/// `LWM2M_C2C_MAX_APP_OBJECTS` times with at most `LWM2M_C2C_MAX_APP_RESOURCES` resources in
/// all.
///
/// Returns 0; `-EINVAL` for an invalid table (object ID 0..3, resource IDs not ascending,
/// unknown type or operations, an executable resource with a data type or a valued one
/// without); `-EEXIST` for an object ID added before; `-ENOMEM` when the limits are reached;
/// `-EALREADY` after initialization.
///
/// # Safety
/// `obj` must point to an object (and resource table) that stays valid and unchanged for the
/// rest of the program, e.g. `static const`, whose callbacks may run on gcoap's and the
/// engine's threads.
#[no_mangle]
pub unsafe extern "C" fn lwm2m_c2c_add_object(obj: *const CObject) -> c_int {
    // SAFETY: the caller promises a valid object for the program's life.
    let Some(obj) = (unsafe { obj.as_ref() }) else {
        return err::INVAL;
    };
    // SAFETY: as above, for its table.
    let Some(table) = (unsafe { app_object::table(obj) }) else {
        return err::INVAL;
    };
    let mut last = None;
    for r in table {
        if app_object::convert(r, last).is_none() {
            return err::INVAL;
        }
        last = Some(r.id);
    }
    // Same lock order as initialization: state, then the list.
    let state = STATE.lock();
    if state.is_some() {
        return err::ALREADY;
    }
    let mut apps = APP_OBJECTS.lock();
    if apps.iter().any(|a| a.0.id == obj.id) {
        return err::EXIST;
    }
    let used: usize = apps.iter().map(|a| usize::from(a.0.resources_len)).sum();
    if used + table.len() > LWM2M_C2C_MAX_APP_RESOURCES || apps.push(AppRef(obj)).is_err() {
        return err::NOMEM;
    }
    0
}

/// Registration state toward the server `ssid`: one of `LWM2M_C2C_NOT_REGISTERED` ..
/// `LWM2M_C2C_DISABLED`; negative (`-ENOENT`) before initialization.
#[no_mangle]
pub extern "C" fn lwm2m_c2c_state(ssid: u16) -> c_int {
    with_state(|s| match s.engine.registration_state(ssid) {
        RegistrationState::NotRegistered => LWM2M_C2C_NOT_REGISTERED,
        RegistrationState::Registering => LWM2M_C2C_REGISTERING,
        RegistrationState::Registered => LWM2M_C2C_REGISTERED,
        RegistrationState::Updating => LWM2M_C2C_UPDATING,
        RegistrationState::Disabled => LWM2M_C2C_DISABLED,
    })
    .unwrap_or_else(|e| e)
}

/// Number of active observations (all servers); negative before initialization.
#[no_mangle]
pub extern "C" fn lwm2m_c2c_observations() -> c_int {
    with_state(|s| c_int::try_from(s.engine.observation_count()).unwrap_or(c_int::MAX))
        .unwrap_or_else(|e| e)
}

/// Copies the endpoint name (NUL-terminated) into `buf`; returns its length, `-EINVAL` when
/// `buf` is too small, `-ENOENT` before initialization.
///
/// # Safety
/// `buf` must be valid for writes of `cap` bytes.
#[no_mangle]
pub unsafe extern "C" fn lwm2m_c2c_endpoint(buf: *mut c_char, cap: usize) -> c_int {
    with_state(|s| {
        let ep = s.engine.endpoint().as_bytes();
        if buf.is_null() || ep.len() >= cap {
            return err::INVAL;
        }
        // SAFETY: the caller promises `cap` writable bytes; `ep.len() + 1 <= cap`.
        unsafe {
            core::ptr::copy_nonoverlapping(ep.as_ptr(), buf.cast::<u8>(), ep.len());
            *buf.add(ep.len()) = 0;
        }
        c_int::try_from(ep.len()).unwrap_or(err::INVAL)
    })
    .unwrap_or_else(|e| e)
}
