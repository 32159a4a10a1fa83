//! Firmware Update storage (feature `fota`, `LWM2M_FOTA=riotboot|file`): the engine's object 5
//! streams the image of a Block1 Write of /5/0/0 (or, with `fota-pull`, of the blocks
//! [`crate::fota_pull`] fetches) into the C glue's backend
//! (`c_glue/lwm2m_c2c/lwm2m_c2c_fota.c`): the inactive riotboot slot, or a file.
//!
//! The engine verifies the package's length and SHA-256 before it calls `finish`, so the
//! riotboot backend writes the slot's magic number (which makes it bootable) only for a good
//! image. Update with riotboot answers first and reboots after `CONFIG_LWM2M_FOTA_REBOOT_DELAY_MS`
//! (the outcome is `Pending`: the rebooted firmware registers anew, in State Idle with Update
//! Result 1 when the other slot holds an older valid image, and with the new slot's version as
//! its Firmware Version /3/0/3); with the file backend it reports success.

use core::ffi::{c_char, c_int, CStr};

use lwm2m::engine::Engine;
use lwm2m::firmware::{Firmware, FirmwareSink, SinkError, UpdateOutcome, UpdateResult};
use static_cell::StaticCell;

use crate::ev::ev;

static SINK: StaticCell<GlueSink> = StaticCell::new();
static FIRMWARE: StaticCell<Firmware<'static>> = StaticCell::new();

/// Adds object 5 over the glue's storage to the engine (once; false when it cannot).
pub(crate) fn attach(engine: &mut Engine<'static>) -> bool {
    let Some(sink) = SINK.try_init(GlueSink) else {
        return false;
    };
    let fw = Firmware::new(sink);
    // After a riotboot update the object starts with Update Result 1 (the glue tells it from
    // the slots' headers; there is no other record of the attempt).
    // SAFETY: plain C call.
    let booted = unsafe { lwm2m_c2c_glue_fw_boot_result() } == 1;
    ev!("fota_boot result={}", u8::from(booted));
    let fw = if booted {
        fw.with_result(UpdateResult::Success)
    } else {
        fw
    };
    // Pull (LWM2M_FOTA_PULL=1): resource 8 lists what `fota_pull` fetches.
    #[cfg(feature = "fota-pull")]
    let fw = fw.with_pull(crate::fota_pull::PROTOCOLS);
    let Some(fw) = FIRMWARE.try_init(fw) else {
        return false;
    };
    engine.set_firmware(fw).is_ok()
}

extern "C" {
    fn lwm2m_c2c_glue_fw_capacity() -> usize;
    fn lwm2m_c2c_glue_fw_begin(len: usize) -> c_int;
    fn lwm2m_c2c_glue_fw_write(offset: usize, data: *const u8, len: usize) -> c_int;
    fn lwm2m_c2c_glue_fw_finish() -> c_int;
    fn lwm2m_c2c_glue_fw_abort();
    fn lwm2m_c2c_glue_fw_update() -> c_int;
    fn lwm2m_c2c_glue_fw_running() -> *const c_char;
    fn lwm2m_c2c_glue_fw_boot_result() -> c_int;
}

/// The running image as the glue names it (riotboot: slot and version), for the Device
/// object's Firmware Version; `None` when the backend has no such notion.
pub(crate) fn running_version() -> Option<&'static str> {
    // SAFETY: plain C call; the glue returns NULL or a NUL-terminated string in static
    // storage that is written once, before this call returns, and never again.
    let p = unsafe { lwm2m_c2c_glue_fw_running() };
    // SAFETY: as above.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_str().ok())?
}

/// The C glue's firmware storage.
pub(crate) struct GlueSink;

fn sink_result(res: c_int) -> Result<(), SinkError> {
    match res {
        0.. => Ok(()),
        e if e == -(riot_sys::ENOSPC as c_int) => Err(SinkError::NoSpace),
        e if e == -(riot_sys::ENOMEM as c_int) => Err(SinkError::OutOfRam),
        _ => Err(SinkError::Io),
    }
}

impl FirmwareSink for GlueSink {
    fn capacity(&self) -> usize {
        // SAFETY: plain C call.
        unsafe { lwm2m_c2c_glue_fw_capacity() }
    }

    fn begin(&mut self, len: usize) -> Result<(), SinkError> {
        ev!("fota_begin len={}", len);
        // SAFETY: plain C call.
        sink_result(unsafe { lwm2m_c2c_glue_fw_begin(len) })
    }

    fn write(&mut self, offset: usize, data: &[u8]) -> Result<(), SinkError> {
        // SAFETY: `data` is valid for `data.len()` bytes during the call; the glue copies it.
        sink_result(unsafe { lwm2m_c2c_glue_fw_write(offset, data.as_ptr(), data.len()) })
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        // SAFETY: plain C call.
        let res = sink_result(unsafe { lwm2m_c2c_glue_fw_finish() });
        ev!("fota_stored ok={}", u8::from(res.is_ok()));
        res
    }

    fn abort(&mut self) {
        ev!("fota_aborted");
        // SAFETY: plain C call.
        unsafe { lwm2m_c2c_glue_fw_abort() }
    }

    fn update(&mut self) -> UpdateOutcome {
        // SAFETY: plain C call.
        let res = unsafe { lwm2m_c2c_glue_fw_update() };
        ev!("fota_update res={}", res);
        match res {
            0 => UpdateOutcome::Pending,
            1.. => UpdateOutcome::Succeeded,
            _ => UpdateOutcome::Failed,
        }
    }
}
