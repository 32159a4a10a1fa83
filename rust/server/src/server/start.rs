//! [`Server::start`]: binds the transport and starts the threads (access-request worker,
//! receiver, event loop, HTTP API).

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{self};
use std::time::Duration;

use super::event_loop::EventLoop;
use super::handle::{HandleInner, ServerHandle};
use crate::access::worker::Worker;
use crate::shared::{Caller, Input, Shared};
use crate::sync::lock;

use crate::access::c2c::C2cState;
use crate::config::Config;
use crate::registration::Registry;
use crate::transport::secure::{ListenerConfig, ListenerTransport};
use crate::transport::{Transport, UdpTransport};

/// Largest datagram the server accepts.
const MAX_DATAGRAM: usize = 65_535;

/// Longest wait of the receiver thread, so it sees a shutdown.
const RECEIVE_POLL: Duration = Duration::from_millis(100);

/// Entry point: `Server::start(config)` returns a [`ServerHandle`].
#[derive(Debug)]
pub struct Server;

impl Server {
    /// Binds the UDP socket (and the HTTP API if configured) and starts the server threads.
    /// With [`Config::coaps_addr`] or OSCORE clients the transport is a
    /// [`ListenerTransport`] (plain CoAP and OSCORE on `coap_addr`, DTLS-PSK on `coaps_addr`).
    pub fn start(config: Config) -> io::Result<ServerHandle> {
        if config.coaps_addr.is_some() || !config.credentials.oscore.is_empty() {
            let t = ListenerTransport::bind(&ListenerConfig {
                seqno_file: config.oscore_seqno_file.clone(),
                dtls: config.dtls,
                ..config
                    .credentials
                    .listener(Some(&config.coap_addr), config.coaps_addr.as_deref())
            })?;
            let coaps = t.coaps_addr();
            let h = Self::start_with(config, Box::new(t))?;
            *lock(&h.inner.coaps_addr) = coaps;
            return Ok(h);
        }
        let transport = UdpTransport::bind_any(config.coap_addr.as_str())?;
        Self::start_with(config, Box::new(transport))
    }

    /// Starts the server over any [`Transport`] that can be shared between the receiver
    /// thread and the event loop ([`Transport::try_clone`]).
    pub fn start_with(
        config: Config,
        transport: Box<dyn Transport + Send>,
    ) -> io::Result<ServerHandle> {
        let coap_addr = transport.local_addr()?;
        let receiver = transport.try_clone()?;
        let c2c_state = match &config.c2c.state_file {
            Some(f) => {
                let err = |e: io::Error| {
                    io::Error::new(e.kind(), format!("state file {}: {e}", f.display()))
                };
                let st = crate::access::state::load(f)
                    .map_err(err)?
                    .unwrap_or_default();
                // Written at once: an unwritable place is an error now, not after a grant.
                crate::access::state::save(f, &st).map_err(err)?;
                st
            }
            None => C2cState::default(),
        };
        let shared = Arc::new(Shared {
            registry: Mutex::new(Registry::with_limits(config.registrations)),
            subscribers: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            policy: Mutex::new(config.c2c.policy.clone()),
            c2c: Mutex::new(c2c_state),
            sends: Mutex::new(Default::default()),
            packages: Mutex::new(Default::default()),
        });
        let (tx, rx) = mpsc::channel();
        let (jobs_tx, jobs_rx) = mpsc::channel();
        let mut threads = Vec::new();
        let worker = Worker {
            shared: shared.clone(),
            caller: Caller {
                tx: tx.clone(),
                timeout: config.request_timeout,
            },
            jobs: jobs_rx,
            loop_tx: tx.clone(),
            cfg: config.c2c.clone(),
            bootstrap: config.bootstrap.clone(),
            oscore_ids: config.oscore_ids(),
        };
        threads.push(
            thread::Builder::new()
                .name("lwm2m-c2c".into())
                .spawn(move || worker.run())?,
        );

        let (rsh, rtx) = (shared.clone(), tx.clone());
        threads.push(
            thread::Builder::new()
                .name("lwm2m-recv".into())
                .spawn(move || receive_loop(receiver, &rsh, &rtx))?,
        );

        let lp = EventLoop::new(shared.clone(), transport, rx, jobs_tx.clone(), &config);
        threads.push(
            thread::Builder::new()
                .name("lwm2m-loop".into())
                .spawn(move || lp.run())?,
        );

        let handle = ServerHandle {
            inner: Arc::new(HandleInner {
                shared,
                tx: Mutex::new(tx),
                jobs: Mutex::new(jobs_tx),
                config: config.clone(),
                relays: Mutex::new(crate::relay::Relays::default()),
                coap_addr,
                coaps_addr: Mutex::new(None),
                http_addr: Mutex::new(None),
                timeout: config.request_timeout,
                threads: Mutex::new(threads),
            }),
        };
        if let Some(addr) = &config.http_addr {
            handle.start_http(addr)?;
        }
        Ok(handle)
    }
}

fn receive_loop(mut t: Box<dyn Transport + Send>, shared: &Shared, tx: &Sender<Input>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    while !shared.stop.load(Ordering::Relaxed) {
        match t.recv(&mut buf, RECEIVE_POLL) {
            Ok(Some((n, peer))) => {
                let sec = t.received_security();
                let data = buf.get(..n).unwrap_or(&[]).to_vec();
                if tx.send(Input::Datagram(peer, data, sec)).is_err() {
                    return;
                }
            }
            Ok(None) => {}
            // e.g. ICMP errors surfacing on some systems: keep serving, but don't spin.
            Err(_) => thread::sleep(Duration::from_millis(10)),
        }
    }
}
