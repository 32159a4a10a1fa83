//! Pull delivery (feature `fota-pull`): the Package URI a driver fetches, the blocks it feeds
//! and the failures it reports (see the module documentation of [`super`]).

use super::{Firmware, FotaError, State};
use crate::config::FOTA_TIMEOUT_MS;
use crate::error::Result;

/// A package download protocol a driver fetches a Package URI with (resource 8, Firmware Update
/// Protocol Support, numbered as the spec does).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// 0: CoAP (RFC 7252), `coap://`.
    Coap = 0,
    /// 1: CoAPS (RFC 7252 over DTLS), `coaps://`.
    Coaps = 1,
}

/// How the driver's fetch of a Package URI failed
/// ([`crate::engine::Engine::firmware_pull_failed`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PullFailure {
    /// No answer after the retries, or the transfer broke off (Update Result 4).
    ConnectionLost,
    /// The URI names nothing to fetch: the host does not resolve, or the answer is an error
    /// such as 4.04 (Update Result 7).
    InvalidUri,
    /// The driver cannot use the URI's protocol after all (Update Result 9).
    UnsupportedProtocol,
}

impl Firmware<'_> {
    /// Offers pull delivery with `protocols`, those the driver fetches a Package URI with
    /// (resource 8; resource 9 becomes 2, push and pull). A Package URI of another scheme gets
    /// Update Result 9.
    pub fn with_pull(mut self, protocols: &'static [Protocol]) -> Self {
        self.protocols = protocols;
        self
    }

    /// True when the driver offers pull delivery.
    pub(super) fn pulls(&self) -> bool {
        !self.protocols.is_empty()
    }

    /// Number of instances of resource 8.
    pub(super) fn protocol_count(&self) -> usize {
        self.protocols.len()
    }

    /// Instance `ri` of resource 8.
    pub(super) fn protocol(&self, ri: Option<u16>) -> Option<i64> {
        let p = ri.and_then(|i| self.protocols.get(usize::from(i)))?;
        Some(*p as i64)
    }

    /// The Package URI of the pull in progress or done (resource 1).
    pub(super) fn uri(&self) -> &str {
        self.uri.as_str()
    }

    /// The Package URI to fetch while a pull is in progress.
    pub(crate) fn pull_uri(&self) -> Option<&str> {
        (self.state == State::Downloading && self.transfer.pull).then_some(self.uri.as_str())
    }

    /// Starts the timeout of a pull that a Write just began.
    pub(crate) fn arm(&mut self, now: u64) {
        if self.state == State::Downloading && !self.transfer.armed {
            self.transfer.armed = true;
            self.transfer.deadline = now.saturating_add(FOTA_TIMEOUT_MS as u64);
        }
    }

    /// The package bytes `data` at offset `offset` of the pull in progress; `last` ends it.
    pub(crate) fn pull_block(
        &mut self,
        offset: usize,
        data: &[u8],
        last: bool,
        now: u64,
    ) -> core::result::Result<(), FotaError> {
        if self.pull_uri().is_none() {
            return Err(FotaError::Unexpected);
        }
        let t = &self.transfer;
        if t.pos > 0 && offset == t.last && offset + data.len() == t.pos {
            // The block fed last, again (the driver retried it): already taken.
            return Ok(());
        }
        if offset != t.pos {
            return Err(FotaError::Unexpected);
        }
        self.accept(offset, data, !last, now).map(|_| ())
    }

    /// The driver's fetch failed: the pull ends with `reason`'s Update Result.
    pub(crate) fn pull_failed(&mut self, reason: PullFailure) {
        if self.pull_uri().is_some() {
            self.fail(FotaError::Pull(reason));
        }
    }

    /// A non-empty Package URI in Idle: a pull when the driver fetches its protocol, else the
    /// Update Result that says why not (the Write itself succeeds either way).
    pub(super) fn pull_start(&mut self, uri: &str) -> Result<()> {
        let refused = match uri_protocol(uri) {
            _ if self.protocols.is_empty() => Some(FotaError::PullUnsupported),
            Ok(p) if self.protocols.contains(&p) => None,
            Ok(_) => Some(FotaError::UnsupportedProtocol),
            Err(e) => Some(e),
        };
        if let Some(e) = refused {
            self.fail(e);
            return Ok(());
        }
        self.start(u32::MAX);
        self.transfer.pull = true;
        self.transfer.armed = false;
        // `check_write` checked the length.
        crate::objects::set_str(&mut self.uri, uri)
    }
}

/// The protocol a Package URI names, or why it is refused: not `scheme://host...`
/// ([`FotaError::InvalidUri`]) or a scheme other than `coap` / `coaps`
/// ([`FotaError::UnsupportedProtocol`]).
fn uri_protocol(uri: &str) -> core::result::Result<Protocol, FotaError> {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return Err(FotaError::InvalidUri);
    };
    let scheme_ok = scheme
        .bytes()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(&c));
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if !scheme_ok || host.is_empty() || uri.bytes().any(|c| c <= b' ' || c == 0x7f) {
        return Err(FotaError::InvalidUri);
    }
    if scheme.eq_ignore_ascii_case("coap") {
        Ok(Protocol::Coap)
    } else if scheme.eq_ignore_ascii_case("coaps") {
        Ok(Protocol::Coaps)
    } else {
        Err(FotaError::UnsupportedProtocol)
    }
}
