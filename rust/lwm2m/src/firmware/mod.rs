//! Firmware Update, object 5 (LwM2M 1.1 core, appendix E.6), single instance 0, push delivery
//! (feature `fota`) and, where the driver can fetch, pull delivery (feature `fota-pull`, which
//! adds [`Firmware::with_pull`], the engine's `firmware_pull*` calls and the pull rows of the
//! table below; without it a Package URI write gets Update Result 9, as on a push-only object).
//!
//! The integrator owns a [`Firmware`] over its storage (a [`FirmwareSink`]) and hands it to the
//! engine with [`crate::engine::Engine::set_firmware`]. A server writes the package to /5/0/0
//! with Block1; the engine streams each block straight to the sink (never into the Block1
//! buffer), so an image far larger than RAM fits. The package is a [`manifest`] header
//! followed by the image: the header states the image length and SHA-256 and the Package Name
//! and Version; only the image reaches the sink, and its length and digest are checked on the
//! last block.
//!
//! Pull is the driver's to offer (feature `fota-pull`; `Firmware::with_pull` names the protocols it fetches with:
//! resource 8 lists them, resource 9 says 2, push and pull). A Package URI (/5/0/1, at most
//! `FOTA_URI_LEN` bytes, build knob `LWM2M_FOTA_URI_LEN`; longer is 4.13) starts the download;
//! the engine cannot reach an arbitrary URI, so the driver fetches it
//! (`Engine::firmware_pull`) and feeds the bytes, the same package as a push carries, to
//! `Engine::firmware_pull_block`, which runs them through the same manifest, digest and sink
//! path as a push block; a fetch that fails ends with `Engine::firmware_pull_failed`. Without
//! `Firmware::with_pull` (or without the feature) the object is push-only (resource 9 says 1,
//! resource 8 is absent) and a Package URI gets Update Result 9.
//!
//! State (res 3) and Update Result (res 5) follow the spec's state diagram:
//!
//! | from        | event                                   | to          | Update Result |
//! |-------------|-----------------------------------------|-------------|---------------|
//! | Idle        | first block of a Package write          | Downloading | 0             |
//! | Idle        | Package URI of a pull protocol (pull)   | Downloading | 0             |
//! | Downloading | last block, length and digest verified  | Downloaded  | 0             |
//! | Downloading | image longer than the sink's capacity   | Idle        | 2             |
//! | Downloading | no block for `FOTA_TIMEOUT_MS`          | Idle        | 4             |
//! | Downloading | (pull) the driver's fetch got no answer | Idle        | 4             |
//! | Downloading | (pull) the fetch was refused (e.g. 4.04) | Idle       | 7             |
//! | Downloading | digest or length mismatch, truncated    | Idle        | 5             |
//! | Downloading | not a package (magic, version, strings) | Idle        | 6             |
//! | Downloading | the sink failed to store                | Idle        | 8             |
//! | Downloading | block 0 again (also during a pull)      | Downloading | 0 (restart)   |
//! | any but Updating | empty Package or Package URI write | Idle        | 0             |
//! | Idle        | (pull) Package URI that is not a URI    | Idle        | 7             |
//! | Idle        | Package URI of another scheme, or no pull | Idle      | 9             |
//! | Downloaded  | Execute Update                          | Updating    | unchanged     |
//! | Updating    | the update succeeded                    | Idle        | 1             |
//! | Updating    | the update failed                       | Downloaded  | 8             |
//!
//! Illegal requests change nothing: Update outside Downloaded is 4.05, a non-empty Package in
//! Downloaded or Updating is 4.05 (reset it with an empty write first), any write in Updating
//! is 4.05, a block from another peer or not the next one is 4.08 (so is a Package block other
//! than block 0 during a pull), a non-empty Package URI outside Idle is 4.05 (a pull never
//! replaces a download in progress; a push's block 0 replaces a pull, as it replaces a push).

pub mod manifest;
#[cfg(feature = "fota-pull")]
mod pull;

use crate::config::FOTA_TIMEOUT_MS;
#[cfg(feature = "fota-pull")]
use crate::config::FOTA_URI_LEN;
use crate::dm::{Caller, Object, ObjectDef, Operations as Op, ResourceDef as R};
use crate::error::{Error, Result};
use crate::value::{DataType as T, Value};
use manifest::{ManifestError, Parser};
#[cfg(feature = "fota-pull")]
pub use pull::{Protocol, PullFailure};
use sha2::{Digest, Sha256};

/// Object ID.
pub const ID: u16 = 5;

/// Resource IDs.
pub mod res {
    /// Package (W, opaque).
    pub const PACKAGE: u16 = 0;
    /// Package URI (RW, string).
    pub const PACKAGE_URI: u16 = 1;
    /// Update (E).
    pub const UPDATE: u16 = 2;
    /// State (R, integer).
    pub const STATE: u16 = 3;
    /// Update Result (R, integer).
    pub const UPDATE_RESULT: u16 = 5;
    /// PkgName (R, string).
    pub const PKG_NAME: u16 = 6;
    /// PkgVersion (R, string).
    pub const PKG_VERSION: u16 = 7;
    /// Firmware Update Protocol Support (R, multiple integer).
    pub const PROTOCOL_SUPPORT: u16 = 8;
    /// Firmware Update Delivery Method (R, integer).
    pub const DELIVERY_METHOD: u16 = 9;
}

static RESOURCES: [R; 9] = [
    R::single(0, "Package", Op::W, true, T::Opaque),
    R::single(1, "Package URI", Op::RW, true, T::String),
    R::single(2, "Update", Op::E, true, T::None),
    R::single(3, "State", Op::R, true, T::Integer),
    R::single(5, "Update Result", Op::R, true, T::Integer),
    R::single(6, "PkgName", Op::R, false, T::String),
    R::single(7, "PkgVersion", Op::R, false, T::String),
    R::multiple(
        8,
        "Firmware Update Protocol Support",
        Op::R,
        false,
        T::Integer,
    ),
    R::single(
        9,
        "Firmware Update Delivery Method",
        Op::R,
        true,
        T::Integer,
    ),
];

/// Definition of object 5.
pub static DEF: ObjectDef = ObjectDef {
    id: ID,
    name: crate::dm::name("Firmware Update"),
    version: None,
    multiple: false,
    mandatory: false,
    resources: &RESOURCES,
};

/// State (res 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// 0: before downloading and after updating.
    Idle = 0,
    /// 1: the package is arriving.
    Downloading = 1,
    /// 2: the image is stored and verified.
    Downloaded = 2,
    /// 3: the update is under way.
    Updating = 3,
}

/// Update Result (res 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateResult {
    /// 0: initial value (and during a download).
    Initial = 0,
    /// 1: firmware updated successfully.
    Success = 1,
    /// 2: not enough flash memory for the new package.
    NotEnoughFlash = 2,
    /// 3: out of RAM during downloading.
    OutOfRam = 3,
    /// 4: connection lost during downloading.
    ConnectionLost = 4,
    /// 5: integrity check failure for the new package.
    IntegrityFailure = 5,
    /// 6: unsupported package type.
    UnsupportedPackage = 6,
    /// 7: invalid URI.
    InvalidUri = 7,
    /// 8: firmware update failed.
    UpdateFailed = 8,
    /// 9: unsupported protocol.
    UnsupportedProtocol = 9,
}

/// Why the sink refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SinkError {
    /// No room for the image (Update Result 2).
    NoSpace,
    /// Out of RAM (Update Result 3).
    OutOfRam,
    /// The storage failed (Update Result 8).
    Io,
}

/// What [`FirmwareSink::update`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// The new image runs or was installed (Update Result 1, State Idle).
    Succeeded,
    /// The update failed; the image is still stored (Update Result 8, State Downloaded).
    Failed,
    /// The update continues after the response (e.g. a reboot into the new slot): State stays
    /// Updating until [`Firmware::update_finished`] (typically at the next boot, where the
    /// integrator builds the object with [`Firmware::with_result`]).
    Pending,
}

/// The integrator's firmware storage. The engine calls it in this order: `begin`, `write`
/// with consecutive offsets (0, then each time the bytes written so far: a writer that can
/// only append is enough), then `finish` once every byte arrived and the digest matched, or
/// `abort` at any point after `begin`; `update` only after a successful `finish`.
pub trait FirmwareSink {
    /// The largest image in bytes the storage takes (a larger one gets Update Result 2).
    fn capacity(&self) -> usize;
    /// Prepares for an image of `len` bytes (erase a slot, open a file).
    fn begin(&mut self, len: usize) -> core::result::Result<(), SinkError>;
    /// Stores `data` at `offset` into the image.
    fn write(&mut self, offset: usize, data: &[u8]) -> core::result::Result<(), SinkError>;
    /// The whole image arrived and verified: make it durable.
    fn finish(&mut self) -> core::result::Result<(), SinkError>;
    /// Drops a partial, refused or no longer wanted (reset) image.
    fn abort(&mut self);
    /// Installs the stored image (Execute /5/0/2).
    fn update(&mut self) -> UpdateOutcome;
}

/// Why the last download failed, in more detail than the Update Result (for logs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FotaError {
    /// The package header was refused.
    Manifest(ManifestError),
    /// The image is longer than the sink's capacity.
    TooLarge,
    /// More image bytes than the header states.
    TooLong,
    /// The last block came before the whole image did.
    Truncated,
    /// The image's SHA-256 is not the header's.
    DigestMismatch,
    /// The sink refused.
    Sink(SinkError),
    /// No block arrived for `FOTA_TIMEOUT_MS` (build knob `LWM2M_FOTA_TIMEOUT_MS`).
    Timeout,
    /// A Package URI was written: this client takes push only.
    PullUnsupported,
    /// The Package URI is not a URI (`scheme://host...`).
    #[cfg(feature = "fota-pull")]
    InvalidUri,
    /// The Package URI's scheme is not one of the driver's pull protocols.
    #[cfg(feature = "fota-pull")]
    UnsupportedProtocol,
    /// The driver's fetch of the Package URI failed.
    #[cfg(feature = "fota-pull")]
    Pull(PullFailure),
    /// A pulled block while no pull is in progress, or not at the next offset: refused,
    /// nothing changed (a driver error, never an Update Result).
    #[cfg(feature = "fota-pull")]
    Unexpected,
}

impl FotaError {
    fn result(self) -> UpdateResult {
        match self {
            FotaError::Manifest(_) => UpdateResult::UnsupportedPackage,
            FotaError::TooLarge | FotaError::Sink(SinkError::NoSpace) => {
                UpdateResult::NotEnoughFlash
            }
            FotaError::Sink(SinkError::OutOfRam) => UpdateResult::OutOfRam,
            FotaError::Sink(SinkError::Io) => UpdateResult::UpdateFailed,
            FotaError::TooLong | FotaError::Truncated | FotaError::DigestMismatch => {
                UpdateResult::IntegrityFailure
            }
            FotaError::Timeout => UpdateResult::ConnectionLost,
            FotaError::PullUnsupported => UpdateResult::UnsupportedProtocol,
            #[cfg(feature = "fota-pull")]
            FotaError::Pull(PullFailure::ConnectionLost) | FotaError::Unexpected => {
                UpdateResult::ConnectionLost
            }
            #[cfg(feature = "fota-pull")]
            FotaError::InvalidUri | FotaError::Pull(PullFailure::InvalidUri) => {
                UpdateResult::InvalidUri
            }
            #[cfg(feature = "fota-pull")]
            FotaError::UnsupportedProtocol | FotaError::Pull(PullFailure::UnsupportedProtocol) => {
                UpdateResult::UnsupportedProtocol
            }
        }
    }

    /// The response code of the block that failed.
    fn error(self) -> Error {
        match self.result() {
            UpdateResult::NotEnoughFlash => Error::RequestEntityTooLarge,
            UpdateResult::OutOfRam | UpdateResult::UpdateFailed => Error::InternalServerError,
            _ => Error::BadRequest,
        }
    }
}

/// The block transfer in progress (or the last one, for retransmissions of its last block).
#[derive(Clone, Debug, Default)]
struct Transfer {
    /// Driver handle of the peer that writes.
    endpoint: u32,
    /// Package bytes accepted so far.
    pos: usize,
    /// Offset of the block accepted last.
    last: usize,
    /// Image bytes handed to the sink.
    written: usize,
    /// When the download is given up without a further block.
    deadline: u64,
    /// The sink was begun and neither aborted nor installed.
    begun: bool,
    /// The driver fetches this download (a pull), no peer writes it.
    #[cfg(feature = "fota-pull")]
    pull: bool,
    /// `deadline` is set (a pull starts in a Write, which has no time: the engine sets it
    /// right after the request, `Firmware::arm`).
    #[cfg(feature = "fota-pull")]
    armed: bool,
}

impl Transfer {
    /// The driver fetches this download (always false without `fota-pull`).
    fn is_pull(&self) -> bool {
        #[cfg(feature = "fota-pull")]
        return self.pull;
        #[cfg(not(feature = "fota-pull"))]
        false
    }
}

/// Object 5 over the integrator's [`FirmwareSink`].
pub struct Firmware<'s> {
    sink: &'s mut dyn FirmwareSink,
    state: State,
    result: UpdateResult,
    transfer: Transfer,
    header: Parser,
    hash: Sha256,
    error: Option<FotaError>,
    /// The driver's pull protocols (empty: push only).
    #[cfg(feature = "fota-pull")]
    protocols: &'static [Protocol],
    /// The Package URI of the pull in progress or done (empty otherwise).
    #[cfg(feature = "fota-pull")]
    uri: crate::objects::Text<FOTA_URI_LEN>,
}

impl<'s> Firmware<'s> {
    /// Object 5 in State Idle, Update Result 0, over `sink`.
    pub fn new(sink: &'s mut dyn FirmwareSink) -> Self {
        Firmware {
            sink,
            state: State::Idle,
            result: UpdateResult::Initial,
            transfer: Transfer::default(),
            header: Parser::default(),
            hash: Sha256::new(),
            error: None,
            #[cfg(feature = "fota-pull")]
            protocols: &[],
            #[cfg(feature = "fota-pull")]
            uri: heapless::String::new(),
        }
    }

    /// Sets the Update Result at start-up (e.g. 1 after booting into a new image).
    pub fn with_result(mut self, result: UpdateResult) -> Self {
        self.result = result;
        self
    }

    /// State (res 3).
    pub fn state(&self) -> State {
        self.state
    }

    /// Update Result (res 5).
    pub fn result(&self) -> UpdateResult {
        self.result
    }

    /// Why the last download failed, if it did.
    pub fn last_error(&self) -> Option<FotaError> {
        self.error
    }

    /// Progress: image bytes stored so far and the image length (0 before the header arrived).
    pub fn progress(&self) -> (usize, usize) {
        let total = self.header.manifest().map_or(0, |m| m.image_len as usize);
        (self.transfer.written, total)
    }

    /// Ends a [`UpdateOutcome::Pending`] update.
    pub fn update_finished(&mut self, succeeded: bool) {
        if self.state == State::Updating {
            self.finish_update(succeeded);
        }
    }

    /// The driver handle of the peer writing a package, while a push is in progress.
    pub(crate) fn writer(&self) -> Option<u32> {
        (self.state == State::Downloading && !self.transfer.is_pull())
            .then_some(self.transfer.endpoint)
    }

    /// When a download in progress is given up (0: at once, to set the deadline of a pull).
    pub(crate) fn deadline(&self) -> Option<u64> {
        let t = &self.transfer;
        #[cfg(feature = "fota-pull")]
        let d = if t.armed { t.deadline } else { 0 };
        #[cfg(not(feature = "fota-pull"))]
        let d = t.deadline;
        (self.state == State::Downloading).then_some(d)
    }

    /// Gives up a download whose deadline passed (Update Result 4).
    pub(crate) fn tick(&mut self, now: u64) {
        #[cfg(feature = "fota-pull")]
        if !self.transfer.armed {
            return self.arm(now);
        }
        if self.deadline().is_some_and(|d| now >= d) {
            self.fail(FotaError::Timeout);
        }
    }

    fn finish_update(&mut self, succeeded: bool) {
        self.transfer.begun &= !succeeded;
        (self.state, self.result) = if succeeded {
            (State::Idle, UpdateResult::Success)
        } else {
            (State::Downloaded, UpdateResult::UpdateFailed)
        };
    }

    /// Back to Idle, dropping a partial image. `result` is the new Update Result.
    fn reset(&mut self, result: UpdateResult) {
        if self.transfer.begun {
            self.sink.abort();
            self.transfer.begun = false;
        }
        self.state = State::Idle;
        self.result = result;
        self.header = Parser::default();
        self.transfer.written = 0;
        #[cfg(feature = "fota-pull")]
        self.uri.clear();
    }

    /// Ends the download with `e`'s Update Result.
    fn fail(&mut self, e: FotaError) -> FotaError {
        self.reset(e.result());
        self.error = Some(e);
        e
    }

    /// A new download (push from peer handle `endpoint`, or a pull), dropping any other.
    fn start(&mut self, endpoint: u32) {
        self.reset(UpdateResult::Initial);
        self.error = None;
        self.state = State::Downloading;
        self.hash = Sha256::new();
        self.transfer = Transfer {
            endpoint,
            #[cfg(feature = "fota-pull")]
            armed: true,
            ..Transfer::default()
        };
    }

    /// One block of a Package write from peer handle `endpoint`: `data` at package offset
    /// `offset`, `more` unless it is the last. `Ok(true)` when the package is complete and
    /// verified, `Ok(false)` when more blocks are expected.
    pub(crate) fn block(
        &mut self,
        endpoint: u32,
        offset: usize,
        more: bool,
        data: &[u8],
        now: u64,
    ) -> Result<bool> {
        let t = &self.transfer;
        let resumable =
            matches!(self.state, State::Downloading | State::Downloaded) && !t.is_pull();
        if resumable && endpoint == t.endpoint && offset == t.last && offset + data.len() == t.pos {
            // The block accepted last, again (its response was lost): answer it again.
            return Ok(self.state == State::Downloaded);
        }
        if offset == 0 {
            if data.is_empty() && !more {
                return self.empty_write().map(|()| true);
            }
            if !matches!(self.state, State::Idle | State::Downloading) {
                return Err(Error::MethodNotAllowed);
            }
            self.start(endpoint);
        } else if self.state != State::Downloading
            || t.is_pull()
            || endpoint != t.endpoint
            || offset != t.pos
        {
            return Err(Error::RequestEntityIncomplete);
        }
        self.accept(offset, data, more, now)
            .map_err(FotaError::error)
    }

    /// The next bytes of the download in progress, push or pull alike: `data` at package
    /// offset `offset` through the manifest parser and the digest to the sink, `more` unless it
    /// is the last (then length and digest are checked: Downloaded). `Ok(true)` when the
    /// package is complete and verified; on an error the download has ended (Idle).
    fn accept(
        &mut self,
        offset: usize,
        data: &[u8],
        more: bool,
        now: u64,
    ) -> core::result::Result<bool, FotaError> {
        if let Err(e) = self.feed(data) {
            return Err(self.fail(e));
        }
        self.transfer.last = offset;
        self.transfer.pos = offset + data.len();
        self.transfer.deadline = now.saturating_add(FOTA_TIMEOUT_MS as u64);
        #[cfg(feature = "fota-pull")]
        {
            self.transfer.armed = true;
        }
        if more {
            return Ok(false);
        }
        match self.verify() {
            Ok(()) => {
                self.state = State::Downloaded;
                Ok(true)
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// A non-empty Package URI in Idle without `fota-pull`: Update Result 9, as on a
    /// push-only object (the Write itself succeeds).
    #[cfg(not(feature = "fota-pull"))]
    fn pull_start(&mut self, _uri: &str) -> Result<()> {
        self.fail(FotaError::PullUnsupported);
        Ok(())
    }

    /// Package bytes in order: the header first, then the image to the sink.
    fn feed(&mut self, mut data: &[u8]) -> core::result::Result<(), FotaError> {
        if self.header.manifest().is_none() {
            let n = self.header.take(data).map_err(FotaError::Manifest)?;
            data = &data[n..];
            let Some(m) = self.header.manifest() else {
                return Ok(());
            };
            let len = m.image_len as usize;
            if len > self.sink.capacity() {
                return Err(FotaError::TooLarge);
            }
            self.sink.begin(len).map_err(FotaError::Sink)?;
            self.transfer.begun = true;
        }
        if data.is_empty() {
            return Ok(());
        }
        let len = self.header.manifest().map_or(0, |m| m.image_len as usize);
        if data.len() > len - self.transfer.written {
            return Err(FotaError::TooLong);
        }
        self.sink
            .write(self.transfer.written, data)
            .map_err(FotaError::Sink)?;
        self.hash.update(data);
        self.transfer.written += data.len();
        Ok(())
    }

    /// After the last block: the whole image arrived and its digest matches.
    fn verify(&mut self) -> core::result::Result<(), FotaError> {
        let Some(m) = self.header.manifest() else {
            return Err(FotaError::Truncated);
        };
        if self.transfer.written != m.image_len as usize {
            return Err(FotaError::Truncated);
        }
        let digest: [u8; 32] = core::mem::take(&mut self.hash).finalize().into();
        if digest != m.digest {
            return Err(FotaError::DigestMismatch);
        }
        self.sink.finish().map_err(FotaError::Sink)
    }

    /// An empty Package or Package URI: back to Idle (not while Updating).
    fn empty_write(&mut self) -> Result<()> {
        if self.state == State::Updating {
            return Err(Error::MethodNotAllowed);
        }
        self.reset(UpdateResult::Initial);
        Ok(())
    }
}

/// Push only (without `fota-pull`): no protocols, no Package URI kept.
#[cfg(not(feature = "fota-pull"))]
impl Firmware<'_> {
    fn pulls(&self) -> bool {
        false
    }

    fn protocol_count(&self) -> usize {
        0
    }

    fn protocol(&self, _ri: Option<u16>) -> Option<i64> {
        None
    }

    fn uri(&self) -> &str {
        ""
    }
}

impl Object for Firmware<'_> {
    fn def(&self) -> &'static ObjectDef {
        &DEF
    }

    fn next_instance(&self, after: Option<u16>) -> Option<u16> {
        after.is_none().then_some(0)
    }

    fn has_resource(&self, inst: u16, res: u16) -> bool {
        // Push only: res 8 would have no instances, so it is left out.
        inst == 0 && (self.pulls() || res != res::PROTOCOL_SUPPORT) && DEF.resource(res).is_some()
    }

    fn next_resource_instance(&self, inst: u16, res: u16, after: Option<u16>) -> Option<u16> {
        if inst != 0 || res != res::PROTOCOL_SUPPORT {
            return None;
        }
        let next = after.map_or(Some(0), |a| a.checked_add(1))?;
        (usize::from(next) < self.protocol_count()).then_some(next)
    }

    fn read(&self, inst: u16, res: u16, ri: Option<u16>) -> Result<Value<'_>> {
        if inst != 0 {
            return Err(Error::NotFound);
        }
        let shown = matches!(self.state, State::Downloaded | State::Updating);
        let m = self.header.manifest().filter(|_| shown);
        Ok(match res {
            res::PACKAGE_URI => Value::String(self.uri()),
            res::STATE => Value::Integer(self.state as i64),
            res::UPDATE_RESULT => Value::Integer(self.result as i64),
            res::PKG_NAME => Value::String(m.map_or("", |m| m.name)),
            res::PKG_VERSION => Value::String(m.map_or("", |m| m.version)),
            res::PROTOCOL_SUPPORT => Value::Integer(self.protocol(ri).ok_or(Error::NotFound)?),
            // 1: push only, 2: both.
            res::DELIVERY_METHOD => Value::Integer(if self.pulls() { 2 } else { 1 }),
            _ => return Err(Error::NotFound),
        })
    }

    fn check_write(
        &self,
        _: Caller,
        inst: u16,
        res: u16,
        _: Option<u16>,
        value: &Value<'_>,
    ) -> Result<()> {
        if inst != 0 {
            return Err(Error::NotFound);
        }
        let empty = match (res, value) {
            (res::PACKAGE, Value::Opaque(b)) => b.is_empty(),
            (res::PACKAGE_URI, Value::String(s)) => {
                // Kept only for a pull (without `fota-pull` it is not stored).
                #[cfg(feature = "fota-pull")]
                crate::objects::check_len(s.len(), FOTA_URI_LEN)?;
                s.is_empty()
            }
            _ => return Err(Error::BadRequest),
        };
        match self.state {
            State::Updating => Err(Error::MethodNotAllowed),
            // A whole package in one TLV / CBOR write goes through `Firmware::block`.
            State::Idle | State::Downloading if res == res::PACKAGE || empty => Ok(()),
            State::Idle => Ok(()),
            _ if empty => Ok(()),
            _ => Err(Error::MethodNotAllowed),
        }
    }

    fn write(
        &mut self,
        caller: Caller,
        inst: u16,
        res: u16,
        ri: Option<u16>,
        value: &Value<'_>,
    ) -> Result<()> {
        self.check_write(caller, inst, res, ri, value)?;
        match *value {
            Value::Opaque(b) => self.block(u32::MAX, 0, false, b, 0).map(|_| ()),
            Value::String("") => self.empty_write(),
            Value::String(uri) => self.pull_start(uri),
            _ => Err(Error::BadRequest),
        }
    }

    fn execute(&mut self, _: Caller, inst: u16, res: u16, _args: &[u8]) -> Result<()> {
        if inst != 0 || res != res::UPDATE {
            return Err(Error::NotFound);
        }
        if self.state != State::Downloaded {
            return Err(Error::MethodNotAllowed);
        }
        self.state = State::Updating;
        match self.sink.update() {
            UpdateOutcome::Succeeded => self.finish_update(true),
            UpdateOutcome::Failed => self.finish_update(false),
            UpdateOutcome::Pending => {}
        }
        Ok(())
    }
}
