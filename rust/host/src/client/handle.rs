//! A complete simulated client on its own thread: [`spawn`] builds the objects (Device,
//! IPSO temperature sensors, lights), the engine and the transport on the thread's stack and
//! runs the [`HostClient`] loop; [`ClientHandle`] sends it commands.

use std::cell::Cell;
use std::fmt;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use lwm2m::dm::{Caller, Object};
use lwm2m::engine::{Engine, Millis, RegistrationState, ServerConfig};
use lwm2m::objects::light_control::LightControl;
use lwm2m::objects::security::mode;
use lwm2m::{Path, Value};

use super::c2c::C2cRequest;
use super::config::{ClientConfig, ClientError};
use super::driver::{DriverOptions, HostClient, TICK};
use super::event::Event;
use super::send::SendSchedule;
use crate::clock::{MonotonicClock, Rng};
use crate::firmware::{FileSink, DEFAULT_CAPACITY};
use crate::objects::{HostDevice, Sensors, Simulation, MAX_LIGHTS};
use crate::oscore::FileSeqnoStore;
use crate::secure::SecureTransport;
use crate::transport::Transport;
use lwm2m::firmware::{Firmware, FirmwareSink};
use lwm2m_endpoint::OwnedValue;

/// A function run on the loop thread with the engine and the current time.
pub type EngineFn = Box<dyn FnOnce(&mut Engine<'_>, Millis) + Send>;

/// Commands into the loop thread.
pub enum Command {
    /// Run a function with the engine.
    Run(EngineFn),
    /// Start client-to-client operation `op`.
    C2c(u32, Box<C2cRequest>),
    /// End client-to-client operation `op` (an observation is forgotten).
    C2cCancel(u32),
    /// Report the secure channels in use.
    SecureState(Sender<SecureState>),
    /// De-register and stop.
    Stop,
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Command::Run(_) => "Run",
            Command::C2c(..) => "C2c",
            Command::C2cCancel(_) => "C2cCancel",
            Command::SecureState(_) => "SecureState",
            Command::Stop => "Stop",
        })
    }
}

/// The secure channels of a running client ([`ClientHandle::secure_state`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SecureState {
    /// Established DTLS sessions where this client is the DTLS client (servers, hosts).
    pub dtls_client_sessions: usize,
    /// Established DTLS sessions where this client is the DTLS server (requesting clients).
    pub dtls_server_sessions: usize,
    /// OSCORE contexts of peer client accounts.
    pub peer_oscore_contexts: usize,
    /// Socket-level counters (datagrams and bytes as on the wire).
    pub wire: crate::secure::WireStats,
}

/// Stops a running client from anywhere (e.g. a signal handler). Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Stopper(Arc<AtomicBool>);

impl Stopper {
    /// Asks the loop to de-register and stop (it notices within 50 ms).
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// True once stop was asked.
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// A client running on its own thread.
#[derive(Debug)]
pub struct ClientHandle {
    tx: Sender<Command>,
    stopper: Stopper,
    thread: Option<JoinHandle<()>>,
    local_addr: SocketAddr,
    /// Sends an empty datagram to the loop's socket after each command, so the loop runs it
    /// now instead of at its next tick (an empty datagram is no CoAP message and is dropped).
    waker: Option<std::net::UdpSocket>,
    /// The last client-to-client operation ID handed out.
    last_op: std::sync::atomic::AtomicU32,
}

/// How long a command waits for the loop thread.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

impl ClientHandle {
    /// The bound local address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A handle that stops the client from another thread.
    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// True once the loop thread ended.
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Runs `f` on the loop thread with the engine and waits for its result.
    pub fn with_engine<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Engine<'_>, Millis) -> R + Send + 'static,
    ) -> Result<R, ClientError> {
        let (tx, rx) = mpsc::channel();
        let run: EngineFn = Box::new(move |e, now| {
            let _ = tx.send(f(e, now));
        });
        self.tx
            .send(Command::Run(run))
            .map_err(|_| ClientError::Stopped)?;
        self.wake();
        rx.recv_timeout(COMMAND_TIMEOUT)
            .map_err(|_| ClientError::Stopped)
    }

    /// Queues a Send (`POST /dp`) of `paths` to server `ssid` in `format` (SenML CBOR or LwM2M
    /// CBOR); the outcome comes as the event `send sent` / `send failed`.
    pub fn send(&self, ssid: u16, paths: &[Path], format: u16) -> Result<(), ClientError> {
        let paths = paths.to_vec();
        self.with_engine(move |e, now| e.send(ssid, &paths, format, now))?
            .map_err(ClientError::Send)
    }

    /// Registration state toward server `ssid`.
    pub fn registration_state(&self, ssid: u16) -> Result<RegistrationState, ClientError> {
        self.with_engine(move |e, _| e.registration_state(ssid))
    }

    /// Number of active observations.
    pub fn observation_count(&self) -> Result<usize, ClientError> {
        self.with_engine(|e, _| e.observation_count())
    }

    /// Sets a resource value as the firmware would ([`Engine::set_value`]): observers get
    /// notified under their attributes.
    pub fn set_value(&self, path: Path, value: OwnedValue) -> Result<(), ClientError> {
        self.with_engine(move |e, now| e.set_value(&path, value.as_value(), now))?
            .map_err(ClientError::Engine)
    }

    /// Starts a client-to-client operation (requesting side): see [`C2cRequest`] and the
    /// [`Event::C2c`] steps, which carry the returned operation ID.
    pub fn c2c(&self, req: C2cRequest) -> Result<u32, ClientError> {
        let op = self.last_op.fetch_add(1, Ordering::SeqCst) + 1;
        self.tx
            .send(Command::C2c(op, Box::new(req)))
            .map_err(|_| ClientError::Stopped)?;
        self.wake();
        Ok(op)
    }

    /// The secure channels in use now.
    pub fn secure_state(&self) -> Result<SecureState, ClientError> {
        let (tx, rx) = mpsc::channel();
        self.tx
            .send(Command::SecureState(tx))
            .map_err(|_| ClientError::Stopped)?;
        self.wake();
        rx.recv_timeout(COMMAND_TIMEOUT)
            .map_err(|_| ClientError::Stopped)
    }

    /// Ends client-to-client operation `op`; for an observation the host's next
    /// notification is reset, which ends it there too.
    pub fn c2c_cancel(&self, op: u32) -> Result<(), ClientError> {
        self.tx
            .send(Command::C2cCancel(op))
            .map_err(|_| ClientError::Stopped)?;
        self.wake();
        Ok(())
    }

    fn wake(&self) {
        if let Some(w) = &self.waker {
            let _ = w.send_to(&[], wake_target(self.local_addr));
        }
    }

    /// De-registers, stops the loop and waits for the thread.
    pub fn stop(mut self) {
        let _ = self.tx.send(Command::Stop);
        self.stopper.stop();
        self.wake();
        self.join_thread();
    }

    /// Waits until the client stops by itself ([`ClientConfig::duration`] or a [`Stopper`]).
    pub fn join(mut self) {
        self.join_thread();
    }

    fn join_thread(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ClientHandle {
    fn drop(&mut self) {
        self.stopper.stop();
        self.join_thread();
    }
}

/// Starts a simulated client on a new thread: Device (3), `temperatures` IPSO Temperature
/// sensors (3303) whose readings change every `period`, and Light Control (3311) with
/// `lights` instances. Every [`Event`] goes to `sink` (on the client thread). Returns once the
/// socket is bound.
pub fn spawn(
    config: ClientConfig,
    sink: impl FnMut(&Event) + Send + 'static,
) -> Result<ClientHandle, ClientError> {
    config.validate()?;
    let (tx, rx) = mpsc::channel();
    let (ready_tx, ready_rx) = mpsc::channel();
    let stopper = Stopper::default();
    let stop = stopper.clone();
    let thread = thread::Builder::new()
        .name(format!("lwm2m-client {}", config.endpoint))
        .spawn(move || run(config, Box::new(sink), rx, stop, ready_tx))
        .map_err(ClientError::Io)?;
    let local_addr = match ready_rx.recv() {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => {
            let _ = thread.join();
            return Err(e);
        }
        Err(_) => {
            let _ = thread.join();
            return Err(ClientError::Stopped);
        }
    };
    let target = wake_target(local_addr);
    let waker_bind: SocketAddr = if target.is_ipv4() {
        (std::net::Ipv4Addr::LOCALHOST, 0).into()
    } else {
        (std::net::Ipv6Addr::LOCALHOST, 0).into()
    };
    Ok(ClientHandle {
        tx,
        stopper,
        thread: Some(thread),
        local_addr,
        waker: std::net::UdpSocket::bind(waker_bind).ok(),
        last_op: std::sync::atomic::AtomicU32::new(0),
    })
}

/// Where a waker datagram for a socket bound to `a` goes (loopback for a wildcard bind).
fn wake_target(a: SocketAddr) -> SocketAddr {
    match a {
        SocketAddr::V4(v4) if v4.ip().is_unspecified() => {
            (std::net::Ipv4Addr::LOCALHOST, v4.port()).into()
        }
        SocketAddr::V6(v6) if v6.ip().is_unspecified() => {
            (std::net::Ipv6Addr::LOCALHOST, v6.port()).into()
        }
        other => other,
    }
}

/// Like [`spawn`], with the events delivered on a channel.
pub fn spawn_with_events(
    config: ClientConfig,
) -> Result<(ClientHandle, Receiver<Event>), ClientError> {
    let (tx, rx) = mpsc::channel();
    let h = spawn(config, move |e| {
        let _ = tx.send(e.clone());
    })?;
    Ok((h, rx))
}

/// The OSCORE (21) instance ID for the `index`-th server of a [`ClientConfig`]: from the top
/// of the ID space down, far from the low IDs a server allocates for C2C contexts (which it
/// cannot see: object 21 is not listed in the registration).
pub fn server_oscore_instance(index: usize) -> u16 {
    lwm2m::path::ID_NONE - 1 - index.min(usize::from(lwm2m::path::ID_NONE - 1)) as u16
}

/// An engine with the configured server accounts.
fn build_engine<'a>(
    config: &ClientConfig,
    objects: &'a mut [&'a mut dyn Object],
    block1: &'a mut [u8],
    firmware: Option<&'a mut Firmware<'a>>,
    seed: u64,
) -> Result<Engine<'a>, ClientError> {
    let mut engine = Engine::new(&config.endpoint, objects, seed).map_err(ClientError::Engine)?;
    engine.set_block1_buffer(block1);
    if let Some(f) = firmware {
        engine.set_firmware(f).map_err(ClientError::Engine)?;
    }
    for s in &config.servers {
        let (mode, identity, key): (u8, &[u8], &[u8]) = match &s.psk {
            Some(p) => (mode::PSK, &p.identity, &p.key),
            None => (mode::NOSEC, &[], &[]),
        };
        engine
            .add_server(&ServerConfig {
                ssid: s.ssid,
                uri: &s.uri,
                lifetime: config.lifetime,
                mode,
                identity,
                secret_key: key,
            })
            .map_err(ClientError::Engine)?;
        if let Some(p) = &s.oscore {
            let index = config.servers.iter().position(|x| x.ssid == s.ssid);
            let inst = server_oscore_instance(index.unwrap_or(0));
            engine
                .provision_server_oscore(
                    s.ssid,
                    inst,
                    &p.master_secret,
                    &p.sender_id,
                    &p.recipient_id,
                    &p.master_salt,
                )
                .map_err(ClientError::Engine)?;
        }
    }
    if let Some(b) = &config.bootstrap {
        engine
            .add_bootstrap_server(b, mode::NOSEC, &[], &[])
            .map_err(ClientError::Engine)?;
    }
    Ok(engine)
}

/// The socket with the configured DTLS listener keys. (OSCORE contexts come from the
/// engine's objects once the driver runs; a corrupt sequence-number file is refused here.)
fn secure_transport(config: &ClientConfig) -> Result<SecureTransport, ClientError> {
    let mut t = SecureTransport::bind(config.bind_addr()?).map_err(ClientError::Io)?;
    t.set_dtls_server_config(config.dtls_server);
    for p in &config.listen_psks {
        t.add_listener_psk(&p.identity, &p.key)
            .map_err(|e| ClientError::Config(format!("listener PSK: {e}")))?;
    }
    if let Some(path) = &config.oscore_seqno_file {
        FileSeqnoStore::open(path)
            .map_err(|e| ClientError::Config(format!("{}: {e}", path.display())))?;
    }
    Ok(t)
}

/// The client thread: builds the objects and the engine on its stack, then loops.
fn run(
    config: ClientConfig,
    sink: Box<dyn FnMut(&Event) + Send>,
    commands: Receiver<Command>,
    stop: Stopper,
    ready: Sender<Result<SocketAddr, ClientError>>,
) {
    let mut rng = config.seed.map_or_else(Rng::new, Rng::from_seed);
    // The Device object wants a 'static serial; one small string per client.
    let serial: &'static str = Box::leak(config.endpoint.clone().into_boxed_str());
    let actions = Rc::new(Cell::new(None));
    let mut device = HostDevice::new(serial, actions.clone());
    let mut sensors = Sensors::new(config.temperatures, 21.0);
    let mut lights = LightControl::<MAX_LIGHTS>::new();
    for i in 0..config.lights {
        let _ = lights.create(Caller::Local, i as u16);
    }
    let mut block1 = vec![0u8; lwm2m::config::BLOCK1_BUFFER];
    let fota_sink = config
        .fota_dir
        .as_deref()
        .map(|d| FileSink::new(d, config.fota_hook.clone(), DEFAULT_CAPACITY))
        .transpose();
    let mut fota_sink = match fota_sink {
        Ok(s) => s,
        Err(e) => {
            let _ = ready.send(Err(ClientError::Io(e)));
            return;
        }
    };
    let mut firmware = fota_sink
        .as_mut()
        .map(|s| Firmware::new(s as &mut dyn FirmwareSink).with_pull(super::PULL_PROTOCOLS));
    let mut objects: Vec<&mut dyn Object> = vec![&mut device];
    if config.temperatures > 0 {
        objects.push(&mut sensors);
    }
    objects.push(&mut lights);
    let fw = firmware.as_mut();
    let setup =
        build_engine(&config, &mut objects, &mut block1, fw, rng.next_u64()).and_then(|e| {
            let transport = secure_transport(&config)?;
            let local = transport.local_addr().map_err(ClientError::Io)?;
            Ok((e, transport, local))
        });
    let (engine, transport) = match setup {
        Ok((e, t, local)) => {
            let _ = ready.send(Ok(local));
            (e, t)
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let options = DriverOptions {
        tx: config.tx,
        accept_any_peer_as: config.accept_any_peer_as,
        pull: config.fota_pull,
    };
    let clock = MonotonicClock::new();
    let client_rng = Rng::from_seed(rng.next_u64());
    let mut client = HostClient::new(engine, transport, clock, options, client_rng, sink);
    client.set_oscore_seqno_file(config.oscore_seqno_file.clone());
    let mut sim = Simulation::new(Rng::from_seed(rng.next_u64()));
    let period = config.period.map(|p| p.as_millis().max(1) as Millis);
    let mut next_tick = period;
    let end = config.duration.map(|d| d.as_millis() as Millis);
    let mut sends = config
        .send_period
        .filter(|_| !config.send_paths.is_empty())
        .map(|p| {
            let period = p.as_millis().max(1) as Millis;
            SendSchedule {
                paths: config.send_paths.clone(),
                format: config.send_format,
                period,
                next: client.now() + period,
            }
        });
    if let Some(awake) = config.queue_awake_ms {
        let now = client.now();
        super::queue::enable(client.engine(), awake, now);
    }
    client.start();
    'outer: loop {
        loop {
            match commands.try_recv() {
                Ok(Command::Run(f)) => {
                    let now = client.now();
                    f(client.engine(), now);
                }
                Ok(Command::C2c(op, req)) => client.c2c_start(op, *req),
                Ok(Command::C2cCancel(op)) => client.c2c_cancel(op),
                Ok(Command::SecureState(tx)) => {
                    let t = client.transport();
                    let _ = tx.send(SecureState {
                        dtls_client_sessions: t.dtls_client().session_count(),
                        dtls_server_sessions: t.dtls_server().map_or(0, |s| s.session_count()),
                        peer_oscore_contexts: t.peer_oscore_count(),
                        wire: t.wire_stats(),
                    });
                }
                Ok(Command::Stop) | Err(TryRecvError::Disconnected) => break 'outer,
                Err(TryRecvError::Empty) => break,
            }
        }
        let now = client.now();
        if stop.is_stopped() || end.is_some_and(|e| now >= e) {
            break;
        }
        if let (Some(p), Some(t)) = (period, next_tick) {
            if now >= t {
                for i in 0..config.temperatures {
                    let v = sim.reading(i, now);
                    let path = Path::resource(3303, i as u16, 5700);
                    let _ = client.engine().set_value(&path, Value::Float(v), now);
                }
                // Skip missed ticks instead of bursting after a stall.
                next_tick = Some((t + p).max(now + 1));
            }
        }
        if let Some(a) = actions.take() {
            client.emit(Event::DeviceAction(a));
        }
        if let Some(s) = sends.as_mut() {
            client.send_due(s);
        }
        client.flush();
        let now = client.now();
        let mut wait = TICK;
        let next_send = sends.as_ref().map(|s| s.next);
        for t in [next_tick, end, next_send].into_iter().flatten() {
            wait = wait.min(Duration::from_millis(t.saturating_sub(now)));
        }
        if let Err(e) = client.receive_once(wait) {
            client.emit(Event::SendFailed {
                dest: "socket".into(),
                reason: format!("receive: {e}"),
            });
            thread::sleep(TICK);
        }
    }
    client.shutdown(config.deregister_timeout);
    client.emit(Event::Stopped);
}

/// Waits up to `timeout` for an event matching `f` on `rx` (a helper for tests and demos;
/// any event type, e.g. the server's too).
pub fn wait_for_event<E>(
    rx: &Receiver<E>,
    timeout: Duration,
    mut f: impl FnMut(&E) -> bool,
) -> Option<E> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(e) if f(&e) => return Some(e),
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
        }
    }
}
