//! Errors of the engine, each rendering as one CoAP response code.

use crate::coap::code;

/// An error of an LwM2M operation. Every variant maps to one CoAP response code
/// ([`Error::code`]), so a failed operation always yields a well-formed error response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// 4.00: malformed request or payload.
    BadRequest,
    /// 4.01: the peer is not authorized (also used for unauthenticated C2C requests).
    Unauthorized,
    /// 4.02: an unrecognized critical option.
    BadOption,
    /// 4.03: forbidden.
    Forbidden,
    /// 4.04: no such object, instance or resource.
    NotFound,
    /// 4.05: the operation is not allowed on this target.
    MethodNotAllowed,
    /// 4.06: the requested content format is not supported.
    NotAcceptable,
    /// 4.08: a block-wise transfer is missing blocks.
    RequestEntityIncomplete,
    /// 4.13: the payload is larger than the engine can take.
    RequestEntityTooLarge,
    /// 4.15: the payload's content format is not supported.
    UnsupportedContentFormat,
    /// 5.00: an internal failure (e.g. an output buffer too small).
    InternalServerError,
    /// 5.01: not implemented.
    NotImplemented,
    /// 5.03: the engine is out of a bounded resource (e.g. observation slots).
    ServiceUnavailable,
}

impl Error {
    /// The CoAP response code of this error.
    pub fn code(self) -> u8 {
        match self {
            Error::BadRequest => code::BAD_REQUEST,
            Error::Unauthorized => code::UNAUTHORIZED,
            Error::BadOption => code::BAD_OPTION,
            Error::Forbidden => code::FORBIDDEN,
            Error::NotFound => code::NOT_FOUND,
            Error::MethodNotAllowed => code::METHOD_NOT_ALLOWED,
            Error::NotAcceptable => code::NOT_ACCEPTABLE,
            Error::RequestEntityIncomplete => code::REQUEST_ENTITY_INCOMPLETE,
            Error::RequestEntityTooLarge => code::REQUEST_ENTITY_TOO_LARGE,
            Error::UnsupportedContentFormat => code::UNSUPPORTED_CONTENT_FORMAT,
            Error::InternalServerError => code::INTERNAL_SERVER_ERROR,
            Error::NotImplemented => code::NOT_IMPLEMENTED,
            Error::ServiceUnavailable => code::SERVICE_UNAVAILABLE,
        }
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let c = self.code();
        write!(f, "{}.{:02} {:?}", c >> 5, c & 0x1f, self)
    }
}

/// Result type of the engine.
pub type Result<T, E = Error> = core::result::Result<T, E>;
