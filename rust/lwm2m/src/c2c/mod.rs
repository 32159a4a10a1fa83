//! Client-to-client (C2C) extension of Lanzieri et al., IPSN'22: wire formats shared by the
//! hosting client, the requesting client and the server. See `shared/docs/c2c-protocol.md`
//! of the project for the protocol reference.
//!
//! - [`hint`]: owner server hints, the CBOR payload of a 4.01 answer to an unauthorized request.
//! - [`access_request`]: the CBOR rights map of `POST /ac?ep=<host>[&c]`.
//!
//! The engine's side of the extension is in `engine::c2c` (hosting client, feature `c2c`)
//! and `engine::c2c_auth` (requesting client, feature `c2c-auth`); the objects are in
//! [`crate::objects`].

pub mod access_request;
pub mod hint;

/// Object ID of Client Security (built like Security, 0).
pub const CLIENT_SECURITY: u16 = 11000;
/// Object ID of Client (built like Server, 1).
pub const CLIENT: u16 = 11001;
/// Object ID of Client Access Control (built like Access Control, 2).
pub const CLIENT_ACCESS_CONTROL: u16 = 11002;
/// Object ID of OSCORE.
pub const OSCORE: u16 = 21;

/// True for the objects of the extension (11000, 11001, 11002) and OSCORE (21).
pub const fn is_c2c_object(oid: u16) -> bool {
    matches!(
        oid,
        CLIENT_SECURITY | CLIENT | CLIENT_ACCESS_CONTROL | OSCORE
    )
}

/// Access rights a requesting client may hold (ACL bits of object 2, plus Discover).
pub mod rights {
    /// Read, Observe, Write-Attributes.
    pub const READ: u8 = 0x01;
    /// Write.
    pub const WRITE: u8 = 0x02;
    /// Execute.
    pub const EXECUTE: u8 = 0x04;
    /// Delete.
    pub const DELETE: u8 = 0x08;
    /// Create (object level).
    pub const CREATE: u8 = 0x10;
    /// Discover: servers may always discover, clients only with this flag (the artifact's
    /// server uses 0x20).
    pub const DISCOVER: u8 = 0x20;
    /// Every defined bit.
    pub const ALL: u8 = 0x3f;
}
