//! Block1 reassembly (RFC 7959 section 2.5) for large Write / Create / Write-Composite
//! payloads, into a buffer the integrator provides ([`super::Engine::set_block1_buffer`]).

use super::{Engine, Peer, Request};
use crate::coap::{code, option, Block, Message, MessageBuilder};
use crate::error::{Error, Result};
use crate::path::Path;

/// State of the one Block1 transfer in progress.
#[derive(Debug, Default)]
pub(crate) struct Block1 {
    active: bool,
    endpoint: u32,
    path: Path,
    code: u8,
    len: usize,
}

impl Block1 {
    /// True while a transfer from peer handle `endpoint` is in progress.
    pub fn has_endpoint(&self, endpoint: u32) -> bool {
        self.active && self.endpoint == endpoint
    }
}

/// Outcome of accepting one block.
pub(crate) enum Staged {
    /// More blocks to come: answer 2.31 Continue.
    More,
    /// The payload is complete and holds this many bytes.
    Complete(usize),
}

impl Block1 {
    /// Takes one block into `buf`.
    pub fn accept(
        &mut self,
        peer: &Peer,
        op: &Request<'_>,
        code: u8,
        b: Block,
        buf: &mut [u8],
    ) -> Result<Staged> {
        if b.num == 0 {
            *self = Block1 {
                active: true,
                endpoint: peer.endpoint,
                path: op.path,
                code,
                len: 0,
            };
        } else if !self.active
            || self.endpoint != peer.endpoint
            || self.path != op.path
            || self.code != code
            || b.offset() != self.len
        {
            self.active = false;
            return Err(Error::RequestEntityIncomplete);
        }
        if b.more && op.payload.len() != b.size() {
            self.active = false;
            return Err(Error::BadRequest);
        }
        let end = self.len + op.payload.len();
        let Some(dst) = buf.get_mut(self.len..end) else {
            self.active = false;
            return Err(Error::RequestEntityTooLarge);
        };
        dst.copy_from_slice(op.payload);
        self.len = end;
        if b.more {
            Ok(Staged::More)
        } else {
            self.active = false;
            Ok(Staged::Complete(end))
        }
    }
}

/// The operation run on a complete request payload.
pub(crate) type PayloadFn<'f, 'a> =
    dyn FnMut(&mut Engine<'a>, &[u8], &mut MessageBuilder<'_>) -> Result<()> + 'f;

impl<'a> Engine<'a> {
    /// Gives the engine a buffer for reassembling Block1 requests (its size bounds the largest
    /// accepted payload). Without one, block-wise requests get 4.13.
    pub fn set_block1_buffer(&mut self, buf: &'a mut [u8]) {
        self.block1_buf = Some(buf);
    }

    /// Runs `f` with the complete request payload: directly for a plain request, after the
    /// last block for a Block1 transfer (earlier blocks get 2.31 Continue).
    pub(crate) fn with_payload(
        &mut self,
        peer: &Peer,
        op: &Request<'_>,
        req: &Message<'_>,
        resp: &mut MessageBuilder<'_>,
        f: &mut PayloadFn<'_, 'a>,
    ) -> Result<()> {
        let Some(b) = op.block1 else {
            return f(self, op.payload, resp);
        };
        let Some(buf) = self.block1_buf.take() else {
            return Err(Error::RequestEntityTooLarge);
        };
        let staged = self.block1.accept(peer, op, req.code, b, buf);
        let result = match staged {
            Ok(Staged::More) => {
                resp.set_code(code::CONTINUE);
                resp.option_uint(option::BLOCK1, b.to_uint())
                    .map_err(|_| Error::InternalServerError)
            }
            Ok(Staged::Complete(n)) => f(self, &buf[..n], resp).and_then(|()| {
                resp.option_uint(option::BLOCK1, b.to_uint())
                    .map_err(|_| Error::InternalServerError)
            }),
            Err(Error::RequestEntityTooLarge) => {
                let size = buf.len() as u32;
                resp.set_code(Error::RequestEntityTooLarge.code());
                resp.option_uint(option::SIZE1, size)
                    .map_err(|_| Error::InternalServerError)
            }
            Err(e) => Err(e),
        };
        self.block1_buf = Some(buf);
        result
    }
}
