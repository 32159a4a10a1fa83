//! The paper's scenario (Lanzieri et al., IPSN'22, sections 5-6) on loopback: a hosting client
//! produces a 5-byte value, a requesting client gets it (1) client-to-client, after the
//! unauthorized request, the owner hint, the access request and the credential install, over
//! DTLS-PSK or OSCORE, and (2) server-centric, the server observing the host and writing each
//! value to the requester (its relay). Every delay is value produced -> value received, both
//! taken with one monotonic clock in this process. Nothing here is asserted; it is reported.

use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use lwm2m::coap::{code, content_format as cf};
use lwm2m::Path;
use lwm2m_host::client::{
    self as hc, C2cRequest, C2cStep, ClientConfig, ClientHandle, Event as CEvent, OwnedValue,
};
use lwm2m_host::oscore::OscoreParams;
use lwm2m_server::c2c::SecurityMode;
use lwm2m_server::config::C2cConfig;
use lwm2m_server::policy::Policy;
use lwm2m_server::secure::{Credentials, ListenerTransport, PskEntry};
use lwm2m_server::{Config, Event, ServerHandle};

use crate::{percentile, DemoKeys, Mode};

/// The value the host produces: the Colour string of its light (/3311/0/5706), five ASCII
/// digits counting up ("00001", ...), so every received copy names the value it carries.
pub const VALUE: Path = Path::resource(3311, 0, 5706);
const HOST: &str = "c2c-host";
const REQ: &str = "c2c-req";
const WAIT: Duration = Duration::from_secs(10);

/// A client event with the instant its client thread reported it.
type Stamped = (Instant, CEvent);

/// How one way of delivery did.
#[derive(Debug, Default, Clone)]
pub struct Delivery {
    /// Values produced.
    pub produced: usize,
    /// Values received by the requester.
    pub delivered: usize,
    /// Delays of the received values (ms).
    pub delays: Vec<f64>,
    /// Datagrams and bytes all three parties sent during the phase.
    pub wire: (u64, u64),
    /// Length of the phase.
    pub elapsed: Duration,
}

impl Delivery {
    fn sorted(&self) -> Vec<f64> {
        let mut d = self.delays.clone();
        d.sort_by(f64::total_cmp);
        d
    }

    /// Median delay (ms).
    pub fn median(&self) -> f64 {
        percentile(&self.sorted(), 0.5)
    }

    /// Largest delay (ms).
    pub fn max(&self) -> f64 {
        percentile(&self.sorted(), 1.0)
    }

    /// 95th percentile delay (ms).
    pub fn p95(&self) -> f64 {
        percentile(&self.sorted(), 0.95)
    }

    /// Value bytes received per second of the phase.
    pub fn goodput(&self) -> f64 {
        (self.delivered * 5) as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The result of one mode.
#[derive(Debug, Clone)]
pub struct ModeResult {
    /// DTLS or OSCORE.
    pub mode: Mode,
    /// Datagrams and bytes of the authorization (all parties, first plain request to first
    /// secure response, including the DTLS handshake).
    pub auth: (u64, u64),
    /// Messages and bytes the server sent to install the accounts.
    pub installs: (usize, u64),
    /// Time from the first plain request to the first secure response (ms).
    pub auth_ms: f64,
    /// Client to client.
    pub c2c: Delivery,
    /// Through the server.
    pub relay: Delivery,
}

/// Parameters of a run.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Values per phase.
    pub values: usize,
    /// Time between two values.
    pub interval: Duration,
    /// Print every step and value.
    pub verbose: bool,
}

fn say(verbose: bool, line: impl AsRef<str>) {
    if verbose {
        println!("   {}", line.as_ref());
    }
}

struct Parties {
    server: ServerHandle,
    transport: ListenerTransport,
    sev: Receiver<Event>,
    host: ClientHandle,
    host_rx: Receiver<Stamped>,
    req: ClientHandle,
    req_rx: Receiver<Stamped>,
}

impl Parties {
    /// Datagrams and bytes sent so far by the server and both clients.
    fn wire(&self) -> Result<(u64, u64), String> {
        let mut n = 0;
        let mut b = 0;
        for r in self.transport.wire_log().iter().filter(|r| r.outgoing) {
            n += 1;
            b += r.wire_len as u64;
        }
        let h = self.transport.handshake_stats();
        n += h.sent.0;
        b += h.sent.1;
        for c in [&self.host, &self.req] {
            let w = c.secure_state().map_err(|e| e.to_string())?.wire;
            n += w.sent.0;
            b += w.sent.1;
        }
        Ok((n, b))
    }

    fn stop(self) {
        self.req.stop();
        self.host.stop();
        self.server.shutdown();
    }
}

fn spawn_client(cfg: ClientConfig) -> Result<(ClientHandle, Receiver<Stamped>), String> {
    let (tx, rx) = mpsc::channel();
    let h = hc::spawn(cfg, move |e| {
        let _ = tx.send((Instant::now(), e.clone()));
    })
    .map_err(|e| e.to_string())?;
    Ok((h, rx))
}

fn wait_client(
    rx: &Receiver<Stamped>,
    what: &str,
    mut f: impl FnMut(&Instant, &CEvent) -> bool,
) -> Result<Stamped, String> {
    let end = Instant::now() + WAIT;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((t, e)) if f(&t, &e) => return Ok((t, e)),
            Ok(_) => {}
            Err(_) => return Err(format!("{what}: nothing within {WAIT:?}")),
        }
    }
}

fn start(mode: Mode, keys: &DemoKeys, policy: &str) -> Result<Parties, String> {
    let security = match mode {
        Mode::Oscore => SecurityMode::Oscore,
        _ => SecurityMode::Psk,
    };
    // Client-server channels of the same kind as the C2C ones, so the relay baseline is
    // protected like the direct path. The server's C2C IDs (1-2 bytes) avoid these, so a kid
    // never names two contexts of one client.
    let ids = [("01", "02"), ("03", "04")];
    let mut credentials = Credentials::default();
    for (i, ep) in [HOST, REQ].into_iter().enumerate() {
        match mode {
            Mode::Oscore => {
                let (sid, rid) = ids[i];
                credentials
                    .oscore
                    .push(Credentials::parse_oscore_client(&format!(
                        "{ep},{},,{sid},{rid}",
                        keys.oscore_secret
                    ))?);
            }
            _ => credentials.psk.push(PskEntry {
                endpoint: ep.into(),
                identity: ep.as_bytes().to_vec(),
                key: zeroize::Zeroizing::new(keys.psk.clone()),
            }),
        }
    }
    let base = Config {
        c2c: C2cConfig {
            policy: Policy::parse(policy).map_err(|e| e.to_string())?,
            security,
            ..Default::default()
        },
        ..Config::default()
    };
    let (server, transport) = crate::start_loopback_server(credentials, base)?;
    let sev = server.subscribe();
    let coap = transport.coap_addr().ok_or("no coap socket")?;
    let coaps = transport.coaps_addr().ok_or("no coaps socket")?;
    let mut clients = Vec::new();
    for (i, ep) in [HOST, REQ].into_iter().enumerate() {
        let mut cfg = match mode {
            Mode::Oscore => {
                let (sid, rid) = ids[i];
                let p = OscoreParams::parse(&format!("{},,{sid},{rid}", keys.oscore_secret))?;
                ClientConfig::new(ep).oscore_server(&format!("coap://{coap}"), p)
            }
            _ => ClientConfig::new(ep).dtls_server(
                &format!("coaps://{coaps}"),
                ep.as_bytes(),
                &keys.psk,
            ),
        };
        cfg.bind = Some("127.0.0.1:0".parse().map_err(|e| format!("{e}"))?);
        cfg.lights = 1;
        cfg.lifetime = 300;
        clients.push(spawn_client(cfg)?);
    }
    let (req, req_rx) = clients.pop().ok_or("no requester")?;
    let (host, host_rx) = clients.pop().ok_or("no host")?;
    for (rx, ep) in [(&host_rx, HOST), (&req_rx, REQ)] {
        wait_client(rx, &format!("{ep} registration"), |_, e| {
            matches!(e, CEvent::Registered { .. })
        })?;
    }
    Ok(Parties {
        server,
        transport,
        sev,
        host,
        host_rx,
        req,
        req_rx,
    })
}

fn produce(host: &ClientHandle, i: usize) -> Result<Instant, String> {
    let t = Instant::now();
    host.set_value(VALUE, OwnedValue::String(format!("{:05}", i % 100_000)))
        .map_err(|e| e.to_string())?;
    Ok(t)
}

/// Runs one mode: the C2C authorization and observation, then the relay baseline.
pub fn run(mode: Mode, keys: &DemoKeys, plan: Plan) -> Result<ModeResult, String> {
    let v = plan.verbose;
    let p = start(
        mode,
        keys,
        &format!("allow requester={REQ} host={HOST} path=/3311 rights=read"),
    )?;
    let r = (|| -> Result<ModeResult, String> {
        say(
            v,
            format!(
                "server on coap://{} and coaps://{}; {HOST} on {} and {REQ} on {} registered over {}",
                p.transport.coap_addr().map(|a| a.to_string()).unwrap_or_default(),
                p.transport.coaps_addr().map(|a| a.to_string()).unwrap_or_default(),
                p.host.local_addr(),
                p.req.local_addr(),
                mode.name()
            ),
        );
        say(
            v,
            format!(
                "{HOST} produces {VALUE} (5 ASCII digits) every {:?}",
                plan.interval
            ),
        );
        // Start value, so the first read has something to show.
        produce(&p.host, 0)?;
        let (auth, installs, auth_ms, op) = authorize(&p, mode, v)?;
        let c2c = c2c_phase(&p, op, plan)?;
        p.req.c2c_cancel(op).map_err(|e| e.to_string())?;
        // One more value: its notification is reset, which ends the observation at the host.
        produce(&p.host, 99_999)?;
        std::thread::sleep(Duration::from_millis(200));
        let relay = relay_phase(&p, plan)?;
        Ok(ModeResult {
            mode,
            auth,
            installs,
            auth_ms,
            c2c,
            relay,
        })
    })();
    p.stop();
    r.map_err(|e| format!("{} C2C: {e}", mode.name()))
}

type Auth = ((u64, u64), (usize, u64), f64, u32);

/// Unauthorized request -> hint -> access request -> installs -> secure observation.
fn authorize(p: &Parties, mode: Mode, v: bool) -> Result<Auth, String> {
    let before = p.wire()?;
    let t0 = Instant::now();
    let mut req = C2cRequest::observe(HOST, &format!("coap://{}", p.host.local_addr()), VALUE);
    req.accept = Some(cf::TEXT);
    let op = p.req.c2c(req).map_err(|e| e.to_string())?;
    let mut t_first = None;
    wait_client(&p.req_rx, "the secure response", |t, e| match e {
        CEvent::C2c { op: o, step } if *o == op => {
            say(v, format!("[{REQ}] {step}"));
            match step {
                C2cStep::Response { .. } => {
                    t_first = Some(*t);
                    true
                }
                C2cStep::Failed { .. } => true,
                _ => false,
            }
        }
        _ => false,
    })?;
    let t_first = t_first.ok_or("the C2C request failed")?;
    let auth_ms = (t_first - t0).as_secs_f64() * 1e3;
    // What the host saw: up to the request it served to the account.
    let req_addr = p.req.local_addr();
    wait_client(
        &p.host_rx,
        "the host serving the secure request",
        |_, e| match e {
            CEvent::RequestServed { peer, identity, .. } if *peer == req_addr => {
                say(v, format!("[{HOST}] {e}"));
                matches!(identity, lwm2m::engine::Identity::Client(_))
            }
            _ => false,
        },
    )?;
    let mut installs = (0, 0);
    for e in p.sev.try_iter() {
        match &e {
            Event::AccessRequest {
                decision, reason, ..
            } => say(
                v,
                format!("[server] access request from {REQ} for {HOST}: {decision} {reason}"),
            ),
            Event::C2cInstalled {
                messages,
                security,
                lifetime,
                ..
            } => {
                let bytes: u64 = messages
                    .iter()
                    .filter_map(|m| m["message_bytes"].as_u64())
                    .sum();
                installs = (messages.len(), bytes);
                say(
                    v,
                    format!(
                        "[server] credentials installed ({security}, lifetime {lifetime} s): {} message(s), {bytes} B",
                        messages.len()
                    ),
                );
            }
            _ => {}
        }
    }
    let after = p.wire()?;
    let auth = (after.0 - before.0, after.1 - before.1);
    say(
        v,
        format!(
            "authorization over {}: {} datagrams, {} B on the wire (all parties, first plain request -> first secure response), {:.1} ms",
            mode.name(),
            auth.0,
            auth.1,
            auth_ms
        ),
    );
    Ok((auth, installs, auth_ms, op))
}

fn value_of(payload: &[u8]) -> Option<usize> {
    std::str::from_utf8(payload).ok()?.trim().parse().ok()
}

/// Values produced every `interval`; each notification matched to its value by content.
fn c2c_phase(p: &Parties, op: u32, plan: Plan) -> Result<Delivery, String> {
    say(plan.verbose, "secure C2C observation:");
    let before = p.wire()?;
    let start = Instant::now();
    let mut produced = Vec::new();
    let mut received: Vec<Option<Instant>> = vec![None; plan.values + 1];
    let drain = |received: &mut Vec<Option<Instant>>, wait: Duration| {
        let end = Instant::now() + wait;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let Ok((_, e)) = p.req_rx.recv_timeout(left) else {
                break;
            };
            if let CEvent::C2c {
                op: o,
                step:
                    C2cStep::Notification {
                        payload,
                        received: at,
                        ..
                    },
            } = e
            {
                if o == op {
                    if let Some(slot) = value_of(&payload).and_then(|i| received.get_mut(i)) {
                        slot.get_or_insert(at);
                    }
                }
            }
        }
    };
    for i in 1..=plan.values {
        let next = start + plan.interval * i as u32;
        drain(
            &mut received,
            next.saturating_duration_since(Instant::now()),
        );
        produced.push(produce(&p.host, i)?);
    }
    drain(&mut received, Duration::from_millis(500).max(plan.interval));
    let elapsed = start.elapsed();
    let after = p.wire()?;
    let mut d = Delivery {
        produced: plan.values,
        wire: (after.0 - before.0, after.1 - before.1),
        elapsed,
        ..Default::default()
    };
    for (i, t) in produced.iter().enumerate() {
        if let Some(Some(r)) = received.get(i + 1) {
            let ms = (r.saturating_duration_since(*t)).as_secs_f64() * 1e3;
            d.delays.push(ms);
            d.delivered += 1;
            say(
                plan.verbose,
                format!(
                    "value {:05} produced -> C2C notification after {ms:.2} ms",
                    i + 1
                ),
            );
        } else {
            say(
                plan.verbose,
                format!("value {:05} produced -> not received", i + 1),
            );
        }
    }
    Ok(d)
}

/// The server observes the host and writes every value to the requester; each write the
/// requester serves is matched to the latest value produced before it.
fn relay_phase(p: &Parties, plan: Plan) -> Result<Delivery, String> {
    let relay = p
        .server
        .relay(HOST, &VALUE, REQ, &VALUE)
        .map_err(|e| format!("relay: {e}"))?;
    say(
        plan.verbose,
        format!("server-centric baseline: the server observes {HOST} {VALUE} and writes each value to {REQ} {VALUE}"),
    );
    // The relay's first write (the current value) is not measured.
    wait_client(&p.req_rx, "the relay's first write", |_, e| {
        matches!(
            e,
            CEvent::RequestServed {
                method: code::PUT,
                ..
            }
        )
    })?;
    std::thread::sleep(Duration::from_millis(100));
    while p.req_rx.try_recv().is_ok() {}
    let before = p.wire()?;
    let start = Instant::now();
    let mut produced = Vec::new();
    let mut writes = Vec::new();
    let target = VALUE.to_string();
    let drain = |writes: &mut Vec<Instant>, wait: Duration| {
        let end = Instant::now() + wait;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let Ok((t, e)) = p.req_rx.recv_timeout(left) else {
                break;
            };
            if let CEvent::RequestServed {
                method,
                path,
                code: c,
                ..
            } = &e
            {
                if *method == code::PUT && *path == target && *c == code::CHANGED {
                    writes.push(t);
                }
            }
        }
    };
    for i in 1..=plan.values {
        let next = start + plan.interval * i as u32;
        drain(&mut writes, next.saturating_duration_since(Instant::now()));
        produced.push(produce(&p.host, i)?);
    }
    drain(&mut writes, Duration::from_millis(500).max(plan.interval));
    let elapsed = start.elapsed();
    let after = p.wire()?;
    let _ = p.server.stop_relay(relay);
    // Each write carries the newest value produced before it; one value counts once.
    let mut seen = vec![false; produced.len()];
    let mut d = Delivery {
        produced: plan.values,
        wire: (after.0 - before.0, after.1 - before.1),
        elapsed,
        ..Default::default()
    };
    for w in &writes {
        let Some(i) = produced.iter().rposition(|t| t <= w) else {
            continue;
        };
        if seen.get(i).copied().unwrap_or(true) {
            continue;
        }
        seen[i] = true;
        let ms = (w.saturating_duration_since(produced[i])).as_secs_f64() * 1e3;
        d.delays.push(ms);
        d.delivered += 1;
        say(
            plan.verbose,
            format!(
                "value {:05} produced -> relayed write served after {ms:.2} ms",
                i + 1
            ),
        );
    }
    // The requester holds the last value.
    let last = p
        .req
        .with_engine(|e, _| {
            let mut out = String::new();
            if let Some(o) = e.object_mut(3311) {
                if let Ok(lwm2m::Value::String(s)) = o.read(0, 5706, None) {
                    out = s.to_string();
                }
            }
            out
        })
        .map_err(|e| e.to_string())?;
    say(plan.verbose, format!("{REQ} holds {VALUE} = {last:?}"));
    Ok(d)
}

/// One summary line per mode.
pub fn summary(results: &[ModeResult]) {
    println!(
        "   {:<9} {:>24} {:>22} {:>24} {:>33} {:>18}",
        "mode",
        "authorization",
        "C2C delay med/max",
        "relay delay med/max",
        "wire per value C2C/relay",
        "goodput C2C/relay"
    );
    for r in results {
        let per = |d: &Delivery| {
            let n = d.delivered.max(1) as f64;
            (d.wire.0 as f64 / n, d.wire.1 as f64 / n)
        };
        let (cm, cb) = per(&r.c2c);
        let (rm, rb) = per(&r.relay);
        println!(
            "   {:<9} {:>3} msgs {:>5} B {:>5.1} ms {:>9.2} / {:>6.2} ms {:>11.2} / {:>6.2} ms   {:>3.1} msg {:>3.0} B / {:>3.1} msg {:>3.0} B {:>5.1} / {:>5.1} B/s",
            r.mode.name(),
            r.auth.0,
            r.auth.1,
            r.auth_ms,
            r.c2c.median(),
            r.c2c.max(),
            r.relay.median(),
            r.relay.max(),
            cm,
            cb,
            rm,
            rb,
            r.c2c.goodput(),
            r.relay.goodput(),
        );
        println!(
            "   {:<9} delivered C2C {}/{}, relay {}/{}; server installs {} message(s), {} B; C2C median delay {:.0} % lower than relay; goodput bounded by the production rate",
            "",
            r.c2c.delivered,
            r.c2c.produced,
            r.relay.delivered,
            r.relay.produced,
            r.installs.0,
            r.installs.1,
            100.0 * (1.0 - r.c2c.median() / r.relay.median())
        );
    }
}
