//! Firmware Update (object 5, feature `fota`): the engine's side. A Write of /5/0/0 (PUT or
//! POST, opaque or no Content-Format) bypasses the Block1 reassembly of `block.rs`: each block
//! goes straight to [`Firmware::block`] and on to the integrator's sink (RFC 7959 2.5: 2.31
//! Continue with the block echoed, 4.08 for a block that is not the next one or comes from
//! another peer, the last block's 2.04 only when the image verified). A pull (feature
//! `fota-pull`: a Package URI write, `Firmware::with_pull`) is fetched by the driver: `Engine::firmware_pull` names
//! the URI, `Engine::firmware_pull_block` takes the bytes through the same path, and
//! `Engine::firmware_pull_failed` ends a fetch that failed.

use super::access::Action;
use super::{Engine, Millis, Peer, Request};
use crate::coap::{code, content_format, option, Block, MessageBuilder};
use crate::dm::{Caller, Object};
use crate::error::{Error, Result};
use crate::firmware::{res, Firmware, ID};
#[cfg(feature = "fota-pull")]
use crate::firmware::{FotaError, PullFailure};
use crate::path::Path;

/// State and Update Result, to notice changes.
pub(crate) type Snapshot = Option<(u8, u8)>;

impl<'a> Engine<'a> {
    /// Adds object 5 over `firmware` (see [`crate::firmware`]). [`Error::BadRequest`] when an
    /// application object has ID 5 or the engine holds `MAX_OBJECTS` objects already.
    pub fn set_firmware(&mut self, firmware: &'a mut Firmware<'a>) -> Result<()> {
        let taken = self.objects.iter().any(|o| o.def().id == ID);
        if taken || (self.firmware.is_none() && self.object_ids().is_full()) {
            return Err(Error::BadRequest);
        }
        self.firmware = Some(firmware);
        Ok(())
    }

    /// Object 5, if [`Engine::set_firmware`] added it (State, Update Result, progress).
    pub fn firmware(&self) -> Option<&Firmware<'a>> {
        self.firmware.as_deref()
    }

    /// Object 5 mutably, e.g. for [`Firmware::update_finished`]; call
    /// [`Engine::value_changed`] afterwards.
    pub fn firmware_mut(&mut self) -> Option<&mut Firmware<'a>> {
        self.firmware.as_deref_mut()
    }

    /// The Package URI to fetch while a pull is in progress (State Downloading after a
    /// Package URI write of one of [`Firmware::with_pull`]'s protocols): the driver fetches it
    /// (CoAP GET with Block2 for `coap://`) and feeds the bytes to
    /// [`Engine::firmware_pull_block`]. `None` otherwise: no pull, the download ended, or a
    /// server's push (block 0 of a Package write) replaced it; then the driver stops fetching.
    #[cfg(feature = "fota-pull")]
    pub fn firmware_pull(&self) -> Option<&str> {
        self.firmware.as_deref().and_then(Firmware::pull_uri)
    }

    /// Package bytes `data` at offset `offset` of the pull in progress, in order (the block fed
    /// last may come again and is ignored); `last` ends the package: its length and SHA-256 are
    /// checked and State becomes Downloaded. Each block restarts the download timeout
    /// (`FOTA_TIMEOUT_MS`). `Err`: the download ended with that error's Update Result (State
    /// Idle), or [`FotaError::Unexpected`] (nothing changed) when no pull is in progress or
    /// `offset` is not the next one. State and Update Result changes are notified.
    #[cfg(feature = "fota-pull")]
    pub fn firmware_pull_block(
        &mut self,
        offset: usize,
        data: &[u8],
        last: bool,
        now: Millis,
    ) -> core::result::Result<(), FotaError> {
        let before = self.fota_snapshot();
        let r = match self.firmware.as_deref_mut() {
            Some(f) => f.pull_block(offset, data, last, now),
            None => Err(FotaError::Unexpected),
        };
        self.fota_changed(before, now);
        r
    }

    /// The driver could not fetch the Package URI: the pull ends (State Idle) with Update
    /// Result 4, 7 or 9 as `reason` says. Nothing happens when no pull is in progress.
    #[cfg(feature = "fota-pull")]
    pub fn firmware_pull_failed(&mut self, reason: PullFailure, now: Millis) {
        let before = self.fota_snapshot();
        if let Some(f) = self.firmware.as_deref_mut() {
            f.pull_failed(reason);
        }
        self.fota_changed(before, now);
    }

    pub(crate) fn firmware_object(&self) -> Option<&dyn Object> {
        self.firmware.as_deref().map(|f| f as &dyn Object)
    }

    pub(crate) fn firmware_object_mut(&mut self) -> Option<&mut dyn Object> {
        match self.firmware.as_deref_mut() {
            Some(f) => Some(f),
            None => None,
        }
    }

    /// True for a Write of the Package resource, which [`Engine::fota_write`] handles.
    pub(crate) fn is_package_write(&self, op: &Request<'_>) -> bool {
        self.firmware.is_some() && op.path == Path::resource(ID, 0, res::PACKAGE)
    }

    /// One block (or the whole) of a Package write.
    pub(crate) fn fota_write(
        &mut self,
        peer: &Peer,
        caller: Caller,
        op: &Request<'_>,
        now: Millis,
        resp: &mut MessageBuilder<'_>,
    ) -> Result<()> {
        self.check_instance(caller, Action::Write, ID, 0)?;
        if op
            .content_format
            .is_some_and(|f| f != content_format::OPAQUE)
        {
            return Err(Error::UnsupportedContentFormat);
        }
        let b = op.block1.unwrap_or(Block {
            num: 0,
            more: false,
            szx: 6,
        });
        if b.more && op.payload.len() != b.size() {
            return Err(Error::BadRequest);
        }
        let fw = self.firmware.as_deref_mut().ok_or(Error::NotFound)?;
        let complete = fw.block(peer.endpoint, b.offset(), b.more, op.payload, now)?;
        resp.set_code(if complete {
            code::CHANGED
        } else {
            code::CONTINUE
        });
        if op.block1.is_some() {
            resp.option_uint(option::BLOCK1, b.to_uint())
                .map_err(|_| Error::InternalServerError)?;
        }
        Ok(())
    }

    /// State and Update Result before a request or tick.
    pub(crate) fn fota_snapshot(&self) -> Snapshot {
        self.firmware
            .as_deref()
            .map(|f| (f.state() as u8, f.result() as u8))
    }

    /// Schedules notifications of State and Update Result when they changed since `before`.
    /// Also starts the timeout of a pull the request began (`fota-pull`).
    pub(crate) fn fota_changed(&mut self, before: Snapshot, now: Millis) {
        #[cfg(feature = "fota-pull")]
        if let Some(f) = self.firmware.as_deref_mut() {
            f.arm(now);
        }
        let after = self.fota_snapshot();
        if let (Some(b), Some(a)) = (before, after) {
            if a.0 != b.0 {
                self.value_changed(&Path::resource(ID, 0, res::STATE), now);
            }
            if a.1 != b.1 {
                self.value_changed(&Path::resource(ID, 0, res::UPDATE_RESULT), now);
            }
            if a.0 != b.0 {
                self.value_changed(&Path::resource(ID, 0, res::PKG_NAME), now);
                self.value_changed(&Path::resource(ID, 0, res::PKG_VERSION), now);
                self.value_changed(&Path::resource(ID, 0, res::PACKAGE_URI), now);
            }
        }
    }

    /// Ends a download whose peer went quiet (Update Result 4).
    pub(crate) fn fota_tick(&mut self, now: Millis) {
        let before = self.fota_snapshot();
        if let Some(f) = self.firmware.as_deref_mut() {
            f.tick(now);
        }
        self.fota_changed(before, now);
    }

    /// When a download in progress times out.
    pub(crate) fn fota_wakeup(&self) -> Option<Millis> {
        self.firmware.as_deref().and_then(Firmware::deadline)
    }

    /// True while peer handle `endpoint` writes a package.
    pub(crate) fn fota_endpoint_in_use(&self, endpoint: u32) -> bool {
        self.firmware
            .as_deref()
            .is_some_and(|f| f.writer() == Some(endpoint))
    }
}
