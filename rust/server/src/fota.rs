//! Firmware Update (object 5) from the server, push delivery: the image, wrapped in the
//! engine's package manifest ([`lwm2m::firmware::manifest`]: length, SHA-256, Package Name
//! and Version), is written to /5/0/0 with Block1 ([`ServerHandle::fota_push`]), one block in
//! flight, with a [`crate::Event::Block1Progress`] per tenth; the Update is a separate step
//! ([`ServerHandle::fota_update`], Execute /5/0/2), and [`ServerHandle::fota_status`] reads
//! State, Update Result, PkgName and PkgVersion. Observing /5/0/3 and /5/0/5 reports each
//! change as a notification event.
//!
//! Pull (a Package URI the client fetches with Block2) is not offered: the engine takes push
//! only (its resource 9, Delivery Method, says 1), and a Package URI write gets Update
//! Result 9.

use lwm2m::coap::{code, content_format as cf, Block};
use lwm2m::firmware::{manifest, res, ID};
use lwm2m::Path;
use serde_json::{json, Value as Json};

use crate::dm::ops::Response;
use crate::dm::values::ValueJson;
use crate::error::ServerError;
use crate::server::ServerHandle;
use crate::shared::{CallKind, Caller};
use crate::transport::msg::OutRequest;

/// The block size of a push unless the caller picks one (fits any client's 1152-byte
/// datagram with room for options, OSCORE and DTLS).
pub const DEFAULT_BLOCK_SIZE: usize = 512;

/// `image` behind its manifest, as the client's engine takes it.
pub fn package(image: &[u8], name: &str, version: &str) -> Result<Vec<u8>, ServerError> {
    let mut header = [0u8; manifest::MAX_LEN];
    let n = manifest::encode(image, name, version, &mut header).ok_or_else(|| {
        ServerError::InvalidArgument(format!(
            "package name or version too long (at most {} / {} bytes) or image over 4 GiB",
            lwm2m::config::FOTA_NAME_LEN,
            lwm2m::config::FOTA_VERSION_LEN
        ))
    })?;
    let mut p = header[..n].to_vec();
    p.extend_from_slice(image);
    Ok(p)
}

/// The Block1 size exponent for `block_size` bytes (16..=1024, a power of two).
pub fn block_szx(block_size: usize) -> Result<u8, ServerError> {
    let szx = Block::szx_for(block_size);
    if 16usize << szx != block_size {
        return Err(ServerError::InvalidArgument(format!(
            "block size {block_size}: one of 16, 32, 64, 128, 256, 512, 1024"
        )));
    }
    Ok(szx)
}

impl ServerHandle {
    /// Writes `package` (see [`package`]) to /5/0/0 of `endpoint` with Block1 blocks of
    /// `block_size` bytes (or smaller if the client asks). Each block is bounded by the request
    /// timeout; the answer is the client's response to the last block (2.04 once the image
    /// verified) or to the block it refused.
    pub fn fota_push(
        &self,
        endpoint: &str,
        package: Vec<u8>,
        block_size: usize,
    ) -> Result<Response, ServerError> {
        let szx = block_szx(block_size)?;
        let blocks = package.len().div_ceil(block_size).max(1) as u32;
        let mut req = OutRequest::new(code::PUT, Vec::new());
        req.content_format = Some(cf::OPAQUE);
        req.payload = package;
        req.block1 = Some(Block {
            num: 0,
            more: false,
            szx,
        });
        let c = self.caller();
        // Every block may take the whole request timeout.
        let c = Caller {
            timeout: c.timeout * (blocks + 1),
            ..c
        };
        let target = Path::resource(ID, 0, res::PACKAGE);
        c.wait(c.start_kind(endpoint, target, req, CallKind::Plain))
    }

    /// Execute Update (/5/0/2).
    pub fn fota_update(&self, endpoint: &str) -> Result<Response, ServerError> {
        self.execute(endpoint, &Path::resource(ID, 0, res::UPDATE), None)
    }

    /// State, Update Result, PkgName and PkgVersion of `endpoint` (a Read of /5/0).
    pub fn fota_status(&self, endpoint: &str) -> Result<Json, ServerError> {
        let r = self.read(endpoint, &Path::instance(ID, 0), None)?;
        if !r.is_success() {
            return Ok(r.to_json());
        }
        let mut out = json!({});
        for rec in r.values()? {
            let name = match rec.path.resource_id() {
                Some(res::STATE) => "state",
                Some(res::UPDATE_RESULT) => "result",
                Some(res::PKG_NAME) => "name",
                Some(res::PKG_VERSION) => "version",
                _ => continue,
            };
            out[name] = rec.value.to_json();
        }
        Ok(out)
    }
}
