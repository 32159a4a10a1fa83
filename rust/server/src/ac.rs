//! The access-request interface `POST /ac` (client-to-client authorization, see
//! `docs/c2c-protocol.md`). The CoAP dispatcher hands every `POST /ac` to an
//! [`AccessRequestHandler`]; the real policy and credential provisioning come with the later
//! "access-request interface" issue. Until then [`NotImplementedAc`] answers 5.01.

use lwm2m::coap::code;

use crate::msg::{IncomingRequest, Reply};
use crate::registration::Registration;

/// An access request as the dispatcher sees it.
#[derive(Clone, Copy, Debug)]
pub struct AccessRequest<'a> {
    /// The CoAP request (payload: the requester's access-request body).
    pub request: &'a IncomingRequest,
    /// The requester's registration, found by source address (a secured transport will find
    /// it by the authenticated identity instead); `None` for unregistered peers.
    pub registration: Option<&'a Registration>,
}

/// Decides on access requests. Called on the server's event loop: must not block.
pub trait AccessRequestHandler: Send + 'static {
    /// Answers one `POST /ac`.
    fn handle(&mut self, req: AccessRequest<'_>) -> Reply;
}

/// The placeholder handler: 5.01 Not Implemented for every request.
#[derive(Clone, Copy, Debug, Default)]
pub struct NotImplementedAc;

impl AccessRequestHandler for NotImplementedAc {
    fn handle(&mut self, _req: AccessRequest<'_>) -> Reply {
        // TODO(access-request issue): authenticate the requester, check the policy, write
        // accounts to both clients, then answer 2.04.
        Reply::code(code::NOT_IMPLEMENTED)
    }
}
