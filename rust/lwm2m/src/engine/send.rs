//! Send (LwM2M 1.1 TS Core 6.4.2 "Send", transport 6.4.x): the client reports values to a DM
//! server unasked, as a CON `POST /dp` whose payload is the Read-Composite shape of the
//! chosen paths in SenML CBOR (112) or LwM2M CBOR (11544). Feature `send`.
//!
//! The firmware queues a Send with [`Engine::send`]; the next [`Engine::poll`] renders the
//! values (as they are at that poll) and emits the request; the answer (or the driver's
//! [`Engine::request_failed`]) ends it, and [`Engine::take_send_result`] reports how. At most
//! one Send per server exists at a time, from [`Engine::send`] until its result was taken: a
//! second one is refused with [`SendError::Busy`], never dropped. The Server object's Mute
//! Send resource (`/1/x/23`) refuses Send to that server ([`SendError::Muted`]).

use super::tree::{Composite, Tree};
use super::{Destination, Engine, Millis, Outgoing, RegistrationState};
use crate::coap::{code, content_format as cf, option, Message, MessageBuilder, MessageType};
use crate::codec::{self, Writer};
use crate::config::{MAX_SEND_PATHS, MAX_SERVERS};
use crate::dm::Caller;
use crate::error::Error;
use crate::path::Path;

/// Why [`Engine::send`] refused a Send (or why a queued one was not sent:
/// [`SendOutcome::NotSent`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    /// The client is not registered to that server (or has no such server).
    NotRegistered,
    /// The server's Mute Send resource (`/1/x/23`) is true.
    Muted,
    /// A Send to that server is in flight, or its result was not taken yet.
    Busy,
    /// The Send itself is wrong: no paths or more than
    /// [`MAX_SEND_PATHS`](crate::config::MAX_SEND_PATHS) ([`Error::BadRequest`] /
    /// [`Error::RequestEntityTooLarge`]), a format other than SenML CBOR / LwM2M CBOR or one
    /// not built in ([`Error::NotAcceptable`]), a path that does not exist or the server may
    /// not read ([`Error::NotFound`], [`Error::Unauthorized`], ...), or a payload larger than
    /// the poll buffer ([`Error::RequestEntityTooLarge`]).
    Data(Error),
}

impl core::fmt::Display for SendError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SendError::NotRegistered => f.write_str("not registered"),
            SendError::Muted => f.write_str("Mute Send is set"),
            SendError::Busy => f.write_str("a Send to this server is in progress"),
            SendError::Data(e) => write!(f, "{e}"),
        }
    }
}

/// How a Send ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    /// 2.04 (Changed): the server took the values.
    Delivered,
    /// Any other response code, e.g. 4.00 (the server could not decode the payload) or 4.04.
    Rejected(u8),
    /// No answer (the driver reported a timeout or reset).
    Timeout,
    /// Dropped at the poll that would have sent it: the registration ended, Mute Send was
    /// set meanwhile, or the payload no longer fits.
    NotSent(SendError),
}

/// The outcome of one Send, from [`Engine::take_send_result`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendResult {
    /// The server it went to.
    pub ssid: u16,
    /// What happened.
    pub outcome: SendOutcome,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Queued,
    Sent([u8; 4]),
    Done(SendOutcome),
}

#[derive(Clone, Debug)]
struct Entry {
    ssid: u16,
    format: u16,
    paths: heapless::Vec<Path, MAX_SEND_PATHS>,
    phase: Phase,
}

/// The Sends in progress, one per server at most.
#[derive(Debug, Default)]
pub(crate) struct Sends {
    entries: heapless::Vec<Entry, MAX_SERVERS>,
}

impl Sends {
    pub fn owns_token(&self, token: &[u8]) -> bool {
        self.entries
            .iter()
            .any(|e| matches!(e.phase, Phase::Sent(t) if t == token))
    }

    fn finish(&mut self, token: &[u8], outcome: SendOutcome) {
        if let Some(e) = self
            .entries
            .iter_mut()
            .find(|e| matches!(e.phase, Phase::Sent(t) if t == token))
        {
            e.phase = Phase::Done(outcome);
        }
    }

    pub fn wakeup(&self) -> Option<Millis> {
        self.entries
            .iter()
            .any(|e| e.phase == Phase::Queued)
            .then_some(0)
    }
}

impl Engine<'_> {
    /// Queues a Send of the values at `paths` (objects, instances, resources or resource
    /// instances) to DM server `ssid`, in `format` ([`cf::SENML_CBOR`] or
    /// [`cf::LWM2M_CBOR`]). The next [`Engine::poll`] emits it; its outcome comes from
    /// [`Engine::take_send_result`]. The server must be allowed to read every path (its
    /// Access Control rights apply as to a Read-Composite).
    pub fn send(
        &mut self,
        ssid: u16,
        paths: &[Path],
        format: u16,
        _now: Millis,
    ) -> Result<(), SendError> {
        let srv = self.server.by_ssid(ssid).ok_or(SendError::NotRegistered)?;
        if !self.send_registered(ssid) {
            return Err(SendError::NotRegistered);
        }
        if srv.mute_send {
            return Err(SendError::Muted);
        }
        if self.sends.entries.iter().any(|e| e.ssid == ssid) {
            return Err(SendError::Busy);
        }
        if !matches!(format, cf::SENML_CBOR | cf::LWM2M_CBOR)
            || !codec::can_encode(format, &Path::ROOT)
        {
            return Err(SendError::Data(Error::NotAcceptable));
        }
        if paths.is_empty() {
            return Err(SendError::Data(Error::BadRequest));
        }
        let paths = heapless::Vec::from_slice(paths)
            .map_err(|_| SendError::Data(Error::RequestEntityTooLarge))?;
        for p in &paths {
            if p.is_root() {
                return Err(SendError::Data(Error::BadRequest));
            }
            self.check_read_target(Caller::Server(ssid), p)
                .map_err(SendError::Data)?;
        }
        self.sends
            .entries
            .push(Entry {
                ssid,
                format,
                paths,
                phase: Phase::Queued,
            })
            // Cannot happen (one entry per server), but never a silent drop.
            .map_err(|_| SendError::Busy)
    }

    /// The next finished Send (each server's Send stays [`SendError::Busy`] until taken).
    pub fn take_send_result(&mut self) -> Option<SendResult> {
        let list = &mut self.sends.entries;
        let i = list
            .iter()
            .position(|e| matches!(e.phase, Phase::Done(_)))?;
        let e = list.remove(i);
        match e.phase {
            Phase::Done(outcome) => Some(SendResult {
                ssid: e.ssid,
                outcome,
            }),
            _ => None,
        }
    }

    /// Registered (an Update in flight included) to `ssid`.
    fn send_registered(&self, ssid: u16) -> bool {
        matches!(
            self.registration_state(ssid),
            RegistrationState::Registered | RegistrationState::Updating
        )
    }

    /// Builds the next queued Send; one that can no longer go out ends as
    /// [`SendOutcome::NotSent`].
    pub(crate) fn poll_send(&mut self, buf: &mut [u8]) -> Option<Outgoing> {
        for i in 0..self.sends.entries.len() {
            // Borrowed, not copied (its paths are most of the entry).
            let e = &self.sends.entries[i];
            if e.phase != Phase::Queued {
                continue;
            }
            let ssid = e.ssid;
            let muted = self.server.by_ssid(ssid).is_none_or(|s| s.mute_send);
            let built = if !self.send_registered(ssid) {
                Err(SendError::NotRegistered)
            } else if muted {
                Err(SendError::Muted)
            } else {
                let token = self.new_token();
                self.build_send(&self.sends.entries[i], &token, buf)
                    .map(|len| (token, len))
                    .map_err(SendError::Data)
            };
            let entry = &mut self.sends.entries[i];
            match built {
                Ok((token, len)) => {
                    entry.phase = Phase::Sent(token);
                    return Some(Outgoing {
                        dest: Destination::Server(ssid),
                        len,
                        confirmable: true,
                    });
                }
                Err(why) => entry.phase = Phase::Done(SendOutcome::NotSent(why)),
            }
        }
        None
    }

    fn build_send(&self, e: &Entry, token: &[u8], buf: &mut [u8]) -> crate::Result<usize> {
        let too_small = |_| Error::RequestEntityTooLarge;
        let mut b =
            MessageBuilder::new(buf, MessageType::Con, code::POST, 0, token).map_err(too_small)?;
        b.option(option::URI_PATH, b"dp").map_err(too_small)?;
        b.option_uint(option::CONTENT_FORMAT, e.format.into())
            .map_err(too_small)?;
        let tree = Tree {
            engine: self,
            caller: Caller::Server(e.ssid),
        };
        let src = Composite {
            tree: &tree,
            paths: &e.paths,
        };
        let mut w = Writer::new(b.payload_mut());
        codec::encode(e.format, &Path::ROOT, &src, &mut w)?;
        let n = w.total();
        b.set_payload_len(n).map_err(too_small)?;
        Ok(b.finish())
    }

    /// The answer to a Send.
    pub(crate) fn send_response(&mut self, resp: &Message<'_>) {
        let outcome = if resp.code == code::CHANGED {
            SendOutcome::Delivered
        } else {
            SendOutcome::Rejected(resp.code)
        };
        self.sends.finish(resp.token, outcome);
    }

    /// A Send got no answer.
    pub(crate) fn send_failed(&mut self, token: &[u8]) {
        self.sends.finish(token, SendOutcome::Timeout);
    }
}
