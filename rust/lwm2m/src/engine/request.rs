//! The parts of an incoming request the operations need, parsed once, and the critical
//! options the engine understands.

use crate::coap::{option, Message};
use crate::error::{Error, Result};
use crate::path::Path;

/// The parts of a request the operations need, parsed once.
pub(crate) struct Request<'m> {
    /// Target path.
    pub path: Path,
    /// Content-Format of the payload.
    pub content_format: Option<u16>,
    /// Accept.
    pub accept: Option<u16>,
    /// Observe option value.
    pub observe: Option<u32>,
    /// Block1 option.
    pub block1: Option<crate::coap::Block>,
    /// Block2 option.
    pub block2: Option<crate::coap::Block>,
    /// Request payload.
    pub payload: &'m [u8],
}

impl<'m> Request<'m> {
    /// Reads the options of `req` for the target `path` ([`Error::BadOption`] for a malformed
    /// one).
    pub(crate) fn new(req: &Message<'m>, path: Path) -> Result<Self> {
        let uint = |n| -> Result<Option<u32>> {
            match req.option_uint(n) {
                None => Ok(None),
                Some(Ok(v)) => Ok(Some(v)),
                Some(Err(())) => Err(Error::BadOption),
            }
        };
        let u16opt = |n| -> Result<Option<u16>> {
            uint(n)?
                .map(|v| u16::try_from(v).map_err(|_| Error::BadOption))
                .transpose()
        };
        let block = |n| -> Result<Option<crate::coap::Block>> {
            req.option(n)
                .map(|v| crate::coap::Block::decode(v).ok_or(Error::BadOption))
                .transpose()
        };
        Ok(Request {
            path,
            content_format: u16opt(option::CONTENT_FORMAT)?,
            accept: u16opt(option::ACCEPT)?,
            observe: uint(option::OBSERVE)?,
            block1: block(option::BLOCK1)?,
            block2: block(option::BLOCK2)?,
            payload: req.payload,
        })
    }

    /// PUT with only Uri-Query options and no payload is Write-Attributes.
    pub(crate) fn is_write_attributes(&self, req: &Message<'_>) -> bool {
        self.payload.is_empty() && self.content_format.is_none() && req.uri_query().next().is_some()
    }
}

/// Critical options the engine understands (RFC 7252 5.4.1: others get 4.02).
pub(crate) fn known_option(n: u16) -> bool {
    matches!(
        n,
        option::URI_HOST
            | option::URI_PORT
            | option::URI_PATH
            | option::URI_QUERY
            | option::ACCEPT
            | option::BLOCK1
            | option::BLOCK2
            | option::IF_MATCH
    )
}
