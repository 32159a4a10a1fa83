//! Block1 requests (RFC 7959 2.5) from the server, e.g. a firmware package written to
//! /5/0/0: one block in flight per exchange, the next sent on the client's 2.31 Continue,
//! at the size the client asked for if smaller; any other answer ends the exchange (an error
//! aborts the transfer). Each block's retransmission is the message layer's (CON); a block
//! the layer gave up on is sent again with a new message ID, up to `Config::block1_retries`
//! times (the client answers a block it already took again without writing it twice). Each
//! block gets the request timeout anew, so a long transfer is bounded per block.

use std::time::Instant;

use lwm2m::coap::{code, option, Block, Message};

use super::EventLoop;
use crate::error::ServerError;
use crate::event::Event;
use crate::server::exchange::Owner;

impl EventLoop {
    /// For a 2.31 to the block of a Block1 exchange: sends the next block and returns true.
    pub(super) fn block1_continue(&mut self, token: &[u8], m: &Message<'_>, now: Instant) -> bool {
        let timeout = self.config.request_timeout;
        let Some(ex) = self.exchanges.get_mut(token) else {
            return false;
        };
        let Some(sent) = ex.req.block1.filter(|_| m.code == code::CONTINUE) else {
            return false;
        };
        let echoed = m.option(option::BLOCK1).and_then(Block::decode);
        if echoed.is_some_and(|b| b.num != sent.num && b.offset() != sent.offset()) {
            // Not the answer to the block in flight: a late duplicate.
            return true;
        }
        let szx = echoed.map_or(sent.szx, |b| b.szx.min(sent.szx));
        let done = sent.offset() + sent.size();
        let next = Block {
            num: (done >> (szx + 4)) as u32,
            more: false,
            szx,
        };
        if ex.req.block1_part(next).is_none() {
            let e = ServerError::Payload("client asked for a block past the payload".into());
            self.complete(token, Err(e), now);
            return true;
        }
        ex.req.block1 = Some(next);
        ex.block1_retries = 0;
        ex.deadline = now + timeout;
        let total = ex.req.payload.len();
        if let Owner::Call { endpoint, .. } = &ex.owner {
            if done * 10 / total.max(1) != sent.offset() * 10 / total.max(1) {
                self.shared.emit(Event::Block1Progress {
                    endpoint: endpoint.clone(),
                    path: ex.target,
                    sent: done,
                    total,
                });
            }
        }
        self.send_block(token, now);
        true
    }

    /// After the message layer gave up on the block in flight of a Block1 exchange: sends it
    /// again and returns true, unless its retries are spent.
    pub(super) fn block1_retry(&mut self, token: &[u8], now: Instant) -> bool {
        let (retries, timeout) = (self.config.block1_retries, self.config.request_timeout);
        let Some(ex) = self.exchanges.get_mut(token) else {
            return false;
        };
        if ex.req.block1.is_none() || ex.block1_retries >= retries {
            return false;
        }
        ex.block1_retries += 1;
        ex.deadline = now + timeout;
        self.send_block(token, now);
        true
    }

    /// (Re)sends the current block of a Block1 exchange.
    fn send_block(&mut self, token: &[u8], now: Instant) {
        let Some(ex) = self.exchanges.get(token) else {
            return;
        };
        let peer = ex.peer;
        let sent = ex.req.encode(0, token).map(|b| self.transmit(peer, b, now));
        match sent {
            Some(Ok(())) => {}
            Some(Err(e)) => {
                let e = self.send_error(e);
                self.complete(token, Err(e), now);
            }
            None => self.complete(token, Err(ServerError::TooLarge), now),
        }
    }
}
