//! `make demo`: starts the LwM2M server and a host client on loopback and walks through
//! registration, a read, a write and observed notifications, then stops by itself.
//! `make bench` (`--bench`): measures round trips and notification delays on loopback and
//! reports them (numbers are printed, never asserted).

use std::process::ExitCode;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use lwm2m::coap::content_format as cf;
use lwm2m::Path;
use lwm2m_host::client::OwnedValue as ClientValue;
use lwm2m_host::{ClientConfig, ClientHandle};
use lwm2m_server::values::{OwnedRecord, OwnedValue};
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

fn main() -> ExitCode {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let r = if bench_mode { bench() } else { demo() };
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
