//! State shared by the event loop, the handles, the access-request worker and the HTTP
//! threads, and the channel into the event loop ([`Caller`]).

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lwm2m::Path;

use crate::access::c2c::C2cState;
use crate::access::policy::Policy;
use crate::dm::ops::Response;
use crate::error::ServerError;
use crate::event::Event;
use crate::registration::Registry;
use crate::reporting::SendStore;
use crate::sync::lock;
use crate::transport::msg::{IncomingRequest, OutRequest, Reply};
use crate::transport::PeerSecurity;

/// State shared by the loop, the handles, the C2C worker and the HTTP threads.
pub(crate) struct Shared {
    pub(crate) registry: Mutex<Registry>,
    pub(crate) subscribers: Mutex<Vec<Sender<Event>>>,
    pub(crate) stop: AtomicBool,
    /// The access policy in force.
    pub(crate) policy: Mutex<Policy>,
    /// C2C accounts and grants.
    pub(crate) c2c: Mutex<C2cState>,
    /// The latest values clients sent (`POST /dp`).
    pub(crate) sends: Mutex<SendStore>,
    /// Firmware packages served for pulls (`/fw/<id>`).
    pub(crate) packages: Mutex<crate::fota::PackageStore>,
}

impl Shared {
    pub(crate) fn emit(&self, ev: Event) {
        lock(&self.subscribers).retain(|s| s.send(ev.clone()).is_ok());
    }

    /// A Send (`/dp`): recorded and reported ([`crate::reporting::handle`]); the reply.
    pub(crate) fn on_send(&self, req: &IncomingRequest) -> Reply {
        let (reply, event) = {
            let registry = lock(&self.registry);
            crate::reporting::handle(req, &registry, &mut lock(&self.sends))
        };
        if let Some(ev) = event {
            self.emit(ev);
        }
        reply
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CallKind {
    Plain,
    Observe,
    CancelObserve,
}

pub(crate) struct Call {
    pub(crate) endpoint: String,
    pub(crate) target: Path,
    pub(crate) req: OutRequest,
    pub(crate) kind: CallKind,
    pub(crate) deadline: Instant,
    pub(crate) reply: Sender<Result<Response, ServerError>>,
}

pub(crate) enum Input {
    Datagram(SocketAddr, Vec<u8>, PeerSecurity),
    Call(Call),
    /// The C2C worker finished an access request: send the separate response.
    AcDone {
        peer: SocketAddr,
        token: Vec<u8>,
        con: bool,
        reply: Reply,
    },
    Shutdown,
}

/// Sends requests to clients through the event loop and waits for the answers.
#[derive(Clone)]
pub(crate) struct Caller {
    pub(crate) tx: Sender<Input>,
    pub(crate) timeout: Duration,
}

impl Caller {
    /// Queues a plain request; the answer arrives on the returned channel.
    pub(crate) fn start(
        &self,
        endpoint: &str,
        target: Path,
        req: OutRequest,
    ) -> Receiver<Result<Response, ServerError>> {
        self.start_kind(endpoint, target, req, CallKind::Plain)
    }

    pub(crate) fn start_kind(
        &self,
        endpoint: &str,
        target: Path,
        req: OutRequest,
        kind: CallKind,
    ) -> Receiver<Result<Response, ServerError>> {
        let (tx, rx) = mpsc::channel();
        let call = Call {
            endpoint: endpoint.to_owned(),
            target,
            req,
            kind,
            deadline: Instant::now() + self.timeout,
            reply: tx,
        };
        // If the loop is gone, the call (and its reply sender) is dropped: the wait ends.
        let _ = self.tx.send(Input::Call(call));
        rx
    }

    /// Waits for an answer queued with [`Caller::start`].
    pub(crate) fn wait(
        &self,
        rx: Receiver<Result<Response, ServerError>>,
    ) -> Result<Response, ServerError> {
        // The loop answers Timeout itself at the deadline; the margin covers its tick.
        match rx.recv_timeout(self.timeout + Duration::from_secs(2)) {
            Ok(r) => r,
            Err(RecvTimeoutError::Timeout) => Err(ServerError::Timeout),
            Err(RecvTimeoutError::Disconnected) => Err(ServerError::Shutdown),
        }
    }

    /// Sends a plain request and waits for the answer.
    pub(crate) fn call(
        &self,
        endpoint: &str,
        target: Path,
        req: OutRequest,
    ) -> Result<Response, ServerError> {
        self.wait(self.start(endpoint, target, req))
    }
}
