//! The C glue's remote handles (`endpoint` of [`crate::lwm2m_riot_handle_request`]): the glue
//! keeps one slot per address, port and transport, and reuses the least recently used slot of
//! a remote that is not a server once the table is full. It asks first whether the engine
//! still refers to the handle, and drops what the driver kept under it when it gives the
//! handle to another remote.

use crate::{with_state, DEDUP};

/// True while the engine refers to the remote `handle` (an observation notifies it, or a
/// Block1 transfer from it is under way): its slot must not go to another remote. Also true
/// when it cannot be told (before `lwm2m_c2c_init`, or when called from inside the engine,
/// e.g. from `lwm2m_c2c_glue_send`).
#[no_mangle]
pub extern "C" fn lwm2m_riot_endpoint_in_use(handle: u32) -> bool {
    with_state(|s| s.engine.endpoint_in_use(handle)).unwrap_or(true)
}

/// Forgets what the driver kept for the remote `handle`, whose slot now names another remote:
/// its duplicate-detection entries (the key's low 32 bits are the handle) and, with OSCORE,
/// the protection of its notifications. Returns the number of entries dropped.
///
/// Call it without the glue's peer lock held: it takes the engine lock.
#[no_mangle]
pub extern "C" fn lwm2m_riot_endpoint_forget(handle: u32) -> u32 {
    let n = DEDUP.lock().forget(|peer| peer as u32 == handle);
    #[cfg(feature = "oscore")]
    let n = n + with_state(|s| s.sec.forget(handle)).unwrap_or(0);
    u32::try_from(n).unwrap_or(u32::MAX)
}
