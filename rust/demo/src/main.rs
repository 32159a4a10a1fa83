//! `make demo`: starts the LwM2M server and a host client on loopback and walks through
//! registration, a read, a write and observed notifications; the same over DTLS-PSK and
//! OSCORE; then the paper's client-to-client scenario (see [`c2c`]) over DTLS-PSK and OSCORE
//! against the server-centric relay; then stops by itself.
//! `make bench` (`--bench`): measures round trips and notification delays on loopback, and
//! the C2C-versus-relay comparison with more samples and shorter intervals, and reports them
//! (numbers are printed, never asserted).

mod c2c;

use std::process::ExitCode;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use lwm2m::coap::content_format as cf;
use lwm2m::Path;
use lwm2m_host::client::OwnedValue as ClientValue;
use lwm2m_host::oscore::OscoreParams;
use lwm2m_host::{ClientConfig, ClientHandle};
use lwm2m_server::secure::{Credentials, ListenerTransport, PskEntry, WireRecord};
use lwm2m_server::values::{OwnedRecord, OwnedValue, ValueJson};
use lwm2m_server::{Config, Event, Server, ServerHandle};

const ENDPOINT: &str = "demo-client-1";

/// `2.05`-style code of a response.
fn status(r: &lwm2m_server::Response) -> String {
    format!("{}.{:02}", r.code >> 5, r.code & 0x1f)
}

/// The registered objects as `/1 /3/0 ...`.
fn objects_text(reg: &lwm2m_server::Registration) -> String {
    let mut out = Vec::new();
    for o in &reg.links.objects {
        if o.instances.is_empty() {
            out.push(format!("/{}", o.object));
        }
        for i in &o.instances {
            out.push(format!("/{}/{}", o.object, i));
        }
    }
    out.join(" ")
}

fn step(title: &str) {
    println!("\n== {title}");
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("demo failed: {msg}");
    ExitCode::FAILURE
}

/// Waits for the first event matching `want`, up to `timeout`.
fn wait_event(
    events: &Receiver<Event>,
    timeout: Duration,
    want: impl Fn(&Event) -> bool,
) -> Option<Event> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match events.recv_timeout(left) {
            Ok(e) if want(&e) => return Some(e),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
}

fn start() -> Result<(ServerHandle, Receiver<Event>, ClientHandle), String> {
    let server = Server::start(Config {
        coap_addr: "127.0.0.1:0".into(),
        request_timeout: Duration::from_secs(10),
        ..Config::default()
    })
    .map_err(|e| format!("server: {e}"))?;
    let events = server.subscribe();
    let uri = format!("coap://{}", server.coap_addr());
    println!("server listening on {uri}");
    let mut cfg = ClientConfig::new(ENDPOINT).server(&uri);
    cfg.bind = Some("127.0.0.1:0".parse().map_err(|e| format!("{e}"))?);
    cfg.temperatures = 1;
    cfg.lights = 1;
    cfg.period = Some(Duration::from_millis(500));
    cfg.lifetime = 60;
    let client = lwm2m_host::spawn(cfg, |_| {}).map_err(|e| format!("client: {e}"))?;
    println!("client {ENDPOINT} on coap://{}", client.local_addr());
    Ok((server, events, client))
}

fn show_values(r: &lwm2m_server::Response) {
    match r.values() {
        Ok(values) => {
            for v in values {
                println!("   {} = {}", v.path, v.value.to_json());
            }
        }
        Err(e) => println!("   (undecodable: {e})"),
    }
}

fn demo() -> Result<(), String> {
    step("1. start server and client (loopback, NoSec)");
    let (server, events, client) = start()?;
    let result = (|| -> Result<(), String> {
        step("2. registration");
        let reg = wait_event(&events, Duration::from_secs(10), |e| {
            matches!(e, Event::Registered { .. })
        })
        .ok_or("no registration within 10 s")?;
        if let Event::Registered { registration, .. } = reg {
            println!(
                "   registered: ep={} location=/rd/{} lifetime={} s objects={}",
                registration.endpoint,
                registration.id,
                registration.lifetime,
                objects_text(&registration)
            );
        }

        step("3. read /3/0 (Device) as SenML CBOR");
        let r = server
            .read(ENDPOINT, &Path::instance(3, 0), Some(cf::SENML_CBOR))
            .map_err(|e| e.to_string())?;
        println!("   {} ({} bytes of payload)", status(&r), r.payload.len());
        show_values(&r);

        step("4. write /3311/0/5850 (light on) = true, then read it back as text");
        let rec = OwnedRecord {
            path: Path::resource(3311, 0, 5850),
            value: OwnedValue::Boolean(true),
        };
        let w = server
            .write(
                ENDPOINT,
                &rec.path,
                std::slice::from_ref(&rec),
                Some(cf::TEXT),
                true,
            )
            .map_err(|e| e.to_string())?;
        println!("   write: {}", status(&w));
        let r = server
            .read(ENDPOINT, &rec.path, Some(cf::TEXT))
            .map_err(|e| e.to_string())?;
        println!(
            "   read back: {} {:?}",
            status(&r),
            String::from_utf8_lossy(&r.payload)
        );

        step("5. observe /3303/0/5700 (temperature) with pmin=1, pmax=3");
        let path = Path::resource(3303, 0, 5700);
        let attrs = lwm2m_server::ops::Attributes {
            pmin: Some(1),
            pmax: Some(3),
            ..Default::default()
        };
        let a = server
            .write_attributes(ENDPOINT, &path, &attrs)
            .map_err(|e| e.to_string())?;
        println!("   write-attributes: {}", status(&a));
        let first = server
            .observe(ENDPOINT, &path, Some(cf::SENML_CBOR))
            .map_err(|e| e.to_string())?;
        println!("   observe: {} observe={:?}", status(&first), first.observe);
        show_values(&first);
        let start = Instant::now();
        for i in 1..=3 {
            let n = wait_event(&events, Duration::from_secs(10), |e| {
                matches!(e, Event::Notification { .. })
            })
            .ok_or("no notification within 10 s")?;
            if let Event::Notification { response, .. } = n {
                print!(
                    "   notification {i} after {:>5} ms, observe={:?}:",
                    start.elapsed().as_millis(),
                    response.observe
                );
                match response.values() {
                    Ok(v) => println!(
                        " {}",
                        v.first()
                            .map(|r| r.value.to_json().to_string())
                            .unwrap_or_default()
                    ),
                    Err(e) => println!(" {e}"),
                }
            }
        }
        let c = server
            .cancel_observe(ENDPOINT, &path)
            .map_err(|e| e.to_string())?;
        println!("   cancel: {}", status(&c));
        Ok(())
    })();

    step("6. stop: the client de-registers, the server shuts down");
    client.stop();
    if wait_event(&events, Duration::from_secs(5), |e| {
        matches!(e, Event::Deregistered { .. })
    })
    .is_some()
    {
        println!("   de-registered");
    } else {
        println!("   (no de-registration seen)");
    }
    server.shutdown();
    result
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn bench() -> Result<(), String> {
    let (server, events, client) = start()?;
    let result = (|| -> Result<(), String> {
        wait_event(&events, Duration::from_secs(10), |e| {
            matches!(e, Event::Registered { .. })
        })
        .ok_or("no registration")?;
        let n = 300;
        let path = Path::resource(3303, 0, 5700);
        let mut rtt = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            server
                .read(ENDPOINT, &path, Some(cf::TEXT))
                .map_err(|e| e.to_string())?;
            rtt.push(t.elapsed().as_secs_f64() * 1e3);
        }
        rtt.sort_by(f64::total_cmp);
        println!(
            "bench read_rtt_ms n={n} median={:.3} p95={:.3} max={:.3}",
            percentile(&rtt, 0.5),
            percentile(&rtt, 0.95),
            percentile(&rtt, 1.0)
        );
        let r = server
            .read(ENDPOINT, &Path::instance(3, 0), Some(cf::SENML_CBOR))
            .map_err(|e| e.to_string())?;
        let t = server
            .read(ENDPOINT, &Path::instance(3, 0), Some(cf::LWM2M_TLV))
            .map_err(|e| e.to_string())?;
        let c = server
            .read(ENDPOINT, &Path::instance(3, 0), Some(cf::LWM2M_CBOR))
            .map_err(|e| e.to_string())?;
        println!(
            "bench device_payload_bytes senml_cbor={} tlv={} lwm2m_cbor={}",
            r.payload.len(),
            t.payload.len(),
            c.payload.len()
        );

        // Notification delay: value set on the client -> notification event at the server.
        let light = Path::resource(3311, 0, 5851);
        let attrs = lwm2m_server::ops::Attributes {
            pmin: Some(0),
            ..Default::default()
        };
        server
            .write_attributes(ENDPOINT, &light, &attrs)
            .map_err(|e| e.to_string())?;
        server
            .observe(ENDPOINT, &light, Some(cf::TEXT))
            .map_err(|e| e.to_string())?;
        let mut delays = Vec::new();
        for i in 0..100 {
            while events.try_recv().is_ok() {}
            let t = Instant::now();
            client
                .set_value(light, ClientValue::Integer(i % 100))
                .map_err(|e| e.to_string())?;
            if wait_event(&events, Duration::from_secs(5), |e| {
                matches!(e, Event::Notification { .. })
            })
            .is_some()
            {
                delays.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
        delays.sort_by(f64::total_cmp);
        println!(
            "bench notification_delay_ms n={} median={:.3} p95={:.3}",
            delays.len(),
            percentile(&delays, 0.5),
            percentile(&delays, 0.95)
        );
        Ok(())
    })();
    client.stop();
    server.shutdown();
    result
}

/// Transport security of one secure run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    NoSec,
    Dtls,
    Oscore,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::NoSec => "nosec",
            Mode::Dtls => "dtls-psk",
            Mode::Oscore => "oscore",
        }
    }
}

/// Demo credentials, generated for this run only (never printed).
struct DemoKeys {
    psk: Vec<u8>,
    oscore_secret: String,
}

fn demo_keys() -> DemoKeys {
    // Not secret beyond this loopback run; the mix of time and process ID keeps runs apart.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        ^ u64::from(std::process::id()) << 32;
    let mut x = seed | 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let psk: Vec<u8> = (0..16).map(|_| next() as u8).collect();
    let oscore_secret = (0..16).map(|_| format!("{:02x}", next() as u8)).collect();
    DemoKeys { psk, oscore_secret }
}

/// Wire and plain length of the first record matching `f`.
fn find_record(
    log: &[WireRecord],
    f: impl Fn(&WireRecord, &lwm2m::coap::Message<'_>) -> bool,
) -> Option<(usize, usize, Vec<u8>)> {
    log.iter().find_map(|r| {
        let m = lwm2m::coap::Message::parse(&r.plain).ok()?;
        f(r, &m).then(|| (r.wire_len, r.plain.len(), m.token.to_vec()))
    })
}

/// One run of register, read, write, observe over `mode`; prints the sizes on the wire of the
/// Read request, its response and one notification (as the server's socket saw them), and
/// for DTLS the handshake. With `bench`, also times reads.
fn secure_run(mode: Mode, keys: &DemoKeys, bench: bool) -> Result<(), String> {
    let ep = format!("demo-{}", mode.name());
    let oscore_client = format!("{ep},{},,01,02", keys.oscore_secret);
    let mut credentials = Credentials::default();
    match mode {
        Mode::NoSec => {}
        Mode::Dtls => credentials.psk.push(PskEntry {
            endpoint: ep.clone(),
            identity: ep.as_bytes().to_vec(),
            key: zeroize::Zeroizing::new(keys.psk.clone()),
        }),
        Mode::Oscore => credentials
            .oscore
            .push(Credentials::parse_oscore_client(&oscore_client)?),
    }
    let (server, transport) = start_loopback_server(credentials, Config::default())?;
    let events = server.subscribe();
    let coap = transport.coap_addr().ok_or("no coap socket")?;
    let coaps = transport.coaps_addr().ok_or("no coaps socket")?;
    let mut cfg = match mode {
        Mode::NoSec => ClientConfig::new(&ep).server(&format!("coap://{coap}")),
        Mode::Dtls => ClientConfig::new(&ep).dtls_server(
            &format!("coaps://{coaps}"),
            ep.as_bytes(),
            &keys.psk,
        ),
        Mode::Oscore => {
            let p = OscoreParams::parse(&format!("{},,01,02", keys.oscore_secret))?;
            ClientConfig::new(&ep).oscore_server(&format!("coap://{coap}"), p)
        }
    };
    cfg.bind = Some("127.0.0.1:0".parse().map_err(|e| format!("{e}"))?);
    cfg.temperatures = 1;
    cfg.lights = 1;
    cfg.lifetime = 60;
    let client = lwm2m_host::spawn(cfg, |_| {}).map_err(|e| format!("client: {e}"))?;
    let result = (|| -> Result<(), String> {
        wait_event(&events, Duration::from_secs(10), |e| {
            matches!(e, Event::Registered { .. })
        })
        .ok_or("no registration within 10 s")?;
        let temp = Path::resource(3303, 0, 5700);
        let r = server
            .read(&ep, &temp, Some(cf::TEXT))
            .map_err(|e| e.to_string())?;
        if r.code != lwm2m::coap::code::CONTENT {
            return Err(format!("read: {}", status(&r)));
        }
        let rec = OwnedRecord {
            path: Path::resource(3311, 0, 5850),
            value: OwnedValue::Boolean(true),
        };
        server
            .write(
                &ep,
                &rec.path,
                std::slice::from_ref(&rec),
                Some(cf::TEXT),
                true,
            )
            .map_err(|e| e.to_string())?;
        let light = Path::resource(3311, 0, 5851);
        server
            .observe(&ep, &light, Some(cf::TEXT))
            .map_err(|e| e.to_string())?;
        client
            .set_value(light, ClientValue::Integer(42))
            .map_err(|e| e.to_string())?;
        wait_event(&events, Duration::from_secs(10), |e| {
            matches!(e, Event::Notification { .. })
        })
        .ok_or("no notification within 10 s")?;
        let log = transport.wire_log();
        use lwm2m::coap::{code, option};
        let (req_wire, req_plain, token) = find_record(&log, |r, m| {
            r.outgoing && m.code == code::GET && m.option(option::OBSERVE).is_none()
        })
        .ok_or("read request not on the wire")?;
        let (resp_wire, resp_plain, _) = find_record(&log, |r, m| {
            !r.outgoing && m.token == token && code::is_response(m.code)
        })
        .ok_or("read response not on the wire")?;
        let (_, _, obs_token) = find_record(&log, |r, m| {
            r.outgoing && m.code == code::GET && m.option(option::OBSERVE).is_some()
        })
        .ok_or("observe request not on the wire")?;
        let notifications: Vec<(usize, usize)> = log
            .iter()
            .filter(|r| !r.outgoing)
            .filter_map(|r| {
                let m = lwm2m::coap::Message::parse(&r.plain).ok()?;
                (m.token == obs_token && code::is_response(m.code))
                    .then_some((r.wire_len, r.plain.len()))
            })
            .collect();
        let (n_wire, n_plain) = *notifications.get(1).ok_or("no notification on the wire")?;
        println!(
            "   {:<9} read request {:>3} B on the wire ({:>2} B CoAP, +{:>2}) | content {:>3} B ({:>2} B, +{:>2}) | notification {:>3} B ({:>2} B, +{:>2})",
            mode.name(),
            req_wire,
            req_plain,
            req_wire - req_plain,
            resp_wire,
            resp_plain,
            resp_wire - resp_plain,
            n_wire,
            n_plain,
            n_wire - n_plain
        );
        if mode == Mode::Dtls {
            let h = transport.handshake_stats();
            println!(
                "   {:<9} handshake: {} B from the client in {} datagrams, {} B from the server in {} datagrams, {} flights = {} round trips (incl. cookie exchange)",
                "",
                h.received.1,
                h.received.0,
                h.sent.1,
                h.sent.0,
                h.flights,
                h.flights.div_ceil(2)
            );
        }
        if bench {
            let n = 200;
            let mut rtt = Vec::with_capacity(n);
            for _ in 0..n {
                let t = Instant::now();
                server
                    .read(&ep, &temp, Some(cf::TEXT))
                    .map_err(|e| e.to_string())?;
                rtt.push(t.elapsed().as_secs_f64() * 1e3);
            }
            rtt.sort_by(f64::total_cmp);
            println!(
                "bench secure_read_rtt_ms mode={} n={n} median={:.3} p95={:.3}",
                mode.name(),
                percentile(&rtt, 0.5),
                percentile(&rtt, 0.95)
            );
        }
        Ok(())
    })();
    client.stop();
    server.shutdown();
    result.map_err(|e| format!("{}: {e}", mode.name()))
}

fn secure_runs(bench: bool) -> Result<(), String> {
    step("secure runs: the same scenario over NoSec, DTLS-PSK and OSCORE (sizes seen by the server's socket)");
    let keys = demo_keys();
    for mode in [Mode::NoSec, Mode::Dtls, Mode::Oscore] {
        secure_run(mode, &keys, bench)?;
    }
    Ok(())
}

/// The client-to-client scenario over DTLS-PSK, then OSCORE, each against the relay.
fn c2c_runs(bench: bool) -> Result<(), String> {
    let keys = demo_keys();
    if !bench {
        let plan = c2c::Plan {
            values: 6,
            interval: Duration::from_secs(1),
            verbose: true,
        };
        let mut results = Vec::new();
        for mode in [Mode::Dtls, Mode::Oscore] {
            step(&format!(
                "client-to-client over {} (paper sections 5-6), then the server-centric relay",
                mode.name()
            ));
            results.push(c2c::run(mode, &keys, plan)?);
        }
        step("summary: client-to-client vs. server-centric relay (loopback, one clock)");
        c2c::summary(&results);
        return Ok(());
    }
    for interval_ms in [1000, 100, 10] {
        let values = match interval_ms {
            1000 => 5,
            100 => 100,
            _ => 300,
        };
        let plan = c2c::Plan {
            values,
            interval: Duration::from_millis(interval_ms),
            verbose: false,
        };
        let mut results = Vec::new();
        for mode in [Mode::Dtls, Mode::Oscore] {
            results.push(c2c::run(mode, &keys, plan)?);
        }
        for r in &results {
            println!(
                "bench c2c mode={} interval_ms={interval_ms} values={values} auth_msgs={} auth_bytes={} auth_ms={:.1} \
                 c2c_delivered={} c2c_median_ms={:.3} c2c_p95_ms={:.3} c2c_max_ms={:.3} c2c_goodput_Bps={:.1} c2c_wire_bytes={} \
                 relay_delivered={} relay_median_ms={:.3} relay_p95_ms={:.3} relay_max_ms={:.3} relay_goodput_Bps={:.1} relay_wire_bytes={}",
                r.mode.name(),
                r.auth.0,
                r.auth.1,
                r.auth_ms,
                r.c2c.delivered,
                r.c2c.median(),
                r.c2c.p95(),
                r.c2c.max(),
                r.c2c.goodput(),
                r.c2c.wire.1,
                r.relay.delivered,
                r.relay.median(),
                r.relay.p95(),
                r.relay.max(),
                r.relay.goodput(),
                r.relay.wire.1,
            );
        }
    }
    Ok(())
}

/// A server on loopback with a CoAP and a DTLS socket on ephemeral ports, the demo's
/// credentials, and the rest of its configuration from `base`.
pub(crate) fn start_loopback_server(
    credentials: Credentials,
    base: Config,
) -> Result<(ServerHandle, ListenerTransport), String> {
    let transport =
        ListenerTransport::bind(&credentials.listener(Some("127.0.0.1:0"), Some("127.0.0.1:0")))
            .map_err(|e| format!("server transport: {e}"))?;
    let config = Config {
        coap_addr: "127.0.0.1:0".into(),
        request_timeout: Duration::from_secs(10),
        credentials,
        ..base
    };
    let server =
        Server::start_with(config, Box::new(transport.clone())).map_err(|e| e.to_string())?;
    Ok((server, transport))
}

fn main() -> ExitCode {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let r = if bench_mode {
        bench()
            .and_then(|()| secure_runs(true))
            .and_then(|()| c2c_runs(true))
    } else {
        demo()
            .and_then(|()| secure_runs(false))
            .and_then(|()| c2c_runs(false))
    };
    match r {
        Ok(()) => {
            if !bench_mode {
                println!("\ndemo finished");
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}
