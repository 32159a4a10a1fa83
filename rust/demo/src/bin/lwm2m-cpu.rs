//! `lwm2m-cpu`: CPU cost of one protected LwM2M request/response exchange (issue 3), measured
//! in process with the project's own crates and no sockets:
//!
//! * `nosec`: the requester builds `GET /3/0/0`, the engine answers it, the requester parses
//!   the response;
//! * `dtls`: the same inside a DTLS 1.2 PSK session (`lwm2m-dtls`, a client and a server
//!   endpoint after the handshake): send -> record -> server decrypts -> engine -> send ->
//!   record -> client decrypts;
//! * `oscore`: the same under OSCORE (`lwm2m-oscore`): client protect -> server unprotect ->
//!   engine -> server protect -> client unprotect.
//!
//! `lwm2m-cpu run MODE N SETUPS` establishes the security association SETUPS times (DTLS:
//! endpoints and handshake; OSCORE: key derivation of both contexts; NoSec: nothing), then does
//! N exchanges on the last one, checking every answer (2.05 with the resource's value).
//!
//! `lwm2m-cpu --callgrind` runs itself under `valgrind --tool=callgrind` for each mode with
//! (N, SETUPS) = (1, 1), (101, 1) and (1, 11) and prints instructions per request (difference
//! of the first two / 100) and per setup (difference of the first and last / 10). Without
//! valgrind it says why and prints wall-clock times of the same exchanges instead (reported,
//! never asserted).

use std::net::SocketAddr;
use std::process::{Command, ExitCode};
use std::time::Instant;

use lwm2m::coap::{code, option, Message, MessageBuilder, MessageType};
use lwm2m::dm::Object;
use lwm2m::engine::{Engine, Identity, Peer, ServerConfig};
use lwm2m::objects::device::Device;
use lwm2m_dtls::{Config as DtlsConfig, DtlsEndpoint, Event as DtlsEvent, Key, PskStore, Role};
use lwm2m_oscore::peer::{Inbound, OscoreParams, OscorePeer, VolatileStore};

const MANUFACTURER: &str = "lwm2m-cpu";
const PSK_IDENTITY: &[u8] = b"cpu-client";
/// Fixed benchmark material (not a secret of any deployment).
const PSK: [u8; 16] = [0x5a; 16];
const OSCORE_SECRET: &str = "0102030405060708090a0b0c0d0e0f10";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    NoSec,
    Dtls,
    Oscore,
}

impl Mode {
    const ALL: [Mode; 3] = [Mode::NoSec, Mode::Dtls, Mode::Oscore];

    fn name(self) -> &'static str {
        match self {
            Mode::NoSec => "nosec",
            Mode::Dtls => "dtls",
            Mode::Oscore => "oscore",
        }
    }

    fn parse(s: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.name() == s)
    }
}

/// The requester's `GET /3/0/0` with message ID and token from `i`.
fn request(i: u32) -> Vec<u8> {
    let mut buf = [0u8; 64];
    let token = i.to_be_bytes();
    let Ok(mut b) = MessageBuilder::new(&mut buf, MessageType::Con, code::GET, i as u16, &token)
    else {
        return Vec::new();
    };
    for seg in [&b"3"[..], b"0", b"0"] {
        if b.option(option::URI_PATH, seg).is_err() {
            return Vec::new();
        }
    }
    let n = b.finish();
    buf[..n].to_vec()
}

/// The engine's answer to a plain request (piggy-backed ACK).
fn serve(e: &mut Engine<'_>, plain: &[u8]) -> Result<Vec<u8>, String> {
    let m = Message::parse(plain).map_err(|_| "request does not parse")?;
    let mut buf = [0u8; 256];
    let mut b = MessageBuilder::new(&mut buf, MessageType::Ack, 0, m.message_id, m.token)
        .map_err(|_| "response header")?;
    let peer = Peer {
        identity: Identity::Server(1),
        endpoint: 0,
        source: 0,
    };
    e.handle_request(&peer, &m, 0, &mut b);
    let n = b.finish();
    Ok(buf[..n].to_vec())
}

/// Checks the requester's view of the answer.
fn check(plain: &[u8], i: u32) -> Result<(), String> {
    let m = Message::parse(plain).map_err(|_| "response does not parse")?;
    if m.code != code::CONTENT || m.token != i.to_be_bytes() || m.payload != MANUFACTURER.as_bytes()
    {
        return Err(format!("unexpected answer {:#x} {:?}", m.code, m.payload));
    }
    Ok(())
}

struct Psk;

impl PskStore for Psk {
    fn psk_for_identity(&self, identity: &[u8]) -> Option<Key> {
        (identity == PSK_IDENTITY).then(|| Key::new(&PSK).ok())?
    }

    fn client_credentials(&self, _peer: SocketAddr) -> Option<(Vec<u8>, Key)> {
        Some((PSK_IDENTITY.to_vec(), Key::new(&PSK).ok()?))
    }
}

const CLIENT_ADDR: &str = "127.0.0.1:40001";
const SERVER_ADDR: &str = "127.0.0.1:40002";

fn addrs() -> (SocketAddr, SocketAddr) {
    // Both are constants that parse.
    let c = CLIENT_ADDR
        .parse()
        .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 1)));
    let s = SERVER_ADDR
        .parse()
        .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 2)));
    (c, s)
}

/// Moves every pending datagram between the two endpoints until both are quiet; returns the
/// application data each side received (client's, server's).
fn pump(client: &mut DtlsEndpoint, server: &mut DtlsEndpoint) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let (ca, sa) = addrs();
    let (mut to_client, mut to_server) = (Vec::new(), Vec::new());
    loop {
        let mut moved = false;
        while let Some(t) = client.poll_transmit() {
            moved = true;
            for ev in server.handle_datagram(ca, &t.bytes) {
                if let DtlsEvent::Data { plaintext, .. } = ev {
                    to_server.push(plaintext);
                }
            }
        }
        while let Some(t) = server.poll_transmit() {
            moved = true;
            for ev in client.handle_datagram(sa, &t.bytes) {
                if let DtlsEvent::Data { plaintext, .. } = ev {
                    to_client.push(plaintext);
                }
            }
        }
        if !moved {
            return (to_client, to_server);
        }
    }
}

fn dtls_pair() -> Result<(DtlsEndpoint, DtlsEndpoint), String> {
    let (_, sa) = addrs();
    let cfg = DtlsConfig::default();
    let mut client = DtlsEndpoint::new(Role::Client, Psk, cfg).map_err(|e| e.to_string())?;
    let mut server = DtlsEndpoint::new(Role::Server, Psk, cfg).map_err(|e| e.to_string())?;
    client.connect(sa).map_err(|e| e.to_string())?;
    pump(&mut client, &mut server);
    if client.session_count() != 1 || server.session_identity(addrs().0) != Some(PSK_IDENTITY) {
        return Err("DTLS handshake did not complete".into());
    }
    Ok((client, server))
}

fn oscore_pair() -> Result<(OscorePeer, OscorePeer), String> {
    let peer = |sid: &str, rid: &str| -> Result<OscorePeer, String> {
        let p = OscoreParams::parse(&format!("{OSCORE_SECRET},aa,{sid},{rid}"))?;
        let ctx = p.context().map_err(|e| format!("OSCORE context: {e:?}"))?;
        Ok(OscorePeer::new(ctx, Box::new(VolatileStore)))
    };
    Ok((peer("01", "02")?, peer("02", "01")?))
}

/// One `run`: SETUPS associations, then N checked exchanges.
fn run(mode: Mode, n: u32, setups: u32) -> Result<(), String> {
    let mut device = Device::new(MANUFACTURER, "model", "serial");
    let mut objs: [&mut dyn Object; 1] = [&mut device];
    let mut e = Engine::new("cpu", &mut objs, 1).map_err(|e| format!("engine: {e:?}"))?;
    e.add_server(&ServerConfig {
        ssid: 1,
        uri: "coap://127.0.0.1:5683",
        lifetime: 60,
        mode: 3,
        identity: b"",
        secret_key: b"",
    })
    .map_err(|e| format!("server: {e:?}"))?;
    let (ca, sa) = addrs();
    match mode {
        Mode::NoSec => {
            for i in 0..n {
                let resp = serve(&mut e, &request(i))?;
                check(&resp, i)?;
            }
        }
        Mode::Dtls => {
            let mut pair = dtls_pair()?;
            for _ in 1..setups {
                pair = dtls_pair()?;
            }
            let (client, server) = &mut pair;
            for i in 0..n {
                client.send(sa, &request(i)).map_err(|e| e.to_string())?;
                let (_, at_server) = pump(client, server);
                let [plain] = at_server.as_slice() else {
                    return Err("the server got no request".into());
                };
                let resp = serve(&mut e, plain)?;
                server.send(ca, &resp).map_err(|e| e.to_string())?;
                let (at_client, _) = pump(client, server);
                let [answer] = at_client.as_slice() else {
                    return Err("the client got no response".into());
                };
                check(answer, i)?;
            }
        }
        Mode::Oscore => {
            let mut pair = oscore_pair()?;
            for _ in 1..setups {
                pair = oscore_pair()?;
            }
            let (client, server) = &mut pair;
            for i in 0..n {
                let wire = client.protect(&request(i)).map_err(|e| format!("{e:?}"))?;
                let Inbound::Verified { plain, .. } = server.unprotect(&wire) else {
                    return Err("the server did not verify the request".into());
                };
                let resp = serve(&mut e, &plain)?;
                let wire = server.protect(&resp).map_err(|e| format!("{e:?}"))?;
                let Inbound::Verified { plain, .. } = client.unprotect(&wire) else {
                    return Err("the client did not verify the response".into());
                };
                check(&plain, i)?;
            }
        }
    }
    Ok(())
}

/// Instructions of one `run` under callgrind, from its `Collected :` summary line.
fn callgrind(mode: Mode, n: u32, setups: u32) -> Result<u64, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(exe)
        .args(["run", mode.name(), &n.to_string(), &setups.to_string()])
        .output()
        .map_err(|e| format!("cannot run valgrind: {e}"))?;
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("valgrind run failed: {}", err.trim()));
    }
    err.lines()
        .find_map(|l| {
            l.split_once("Collected :")
                .map(|(_, v)| v.trim().to_owned())
        })
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| "no `Collected` line in callgrind's output".into())
}

fn report_callgrind() -> Result<(), String> {
    println!("CPU cost per exchange, instructions (valgrind --tool=callgrind, release build):");
    println!(
        "  {:<7} {:>14} {:>14} {:>14} {:>14} {:>16}",
        "mode", "N=1", "N=101", "per request", "1+10 setups", "per setup"
    );
    for mode in Mode::ALL {
        let one = callgrind(mode, 1, 1)?;
        let many = callgrind(mode, 101, 1)?;
        let setups = callgrind(mode, 1, 11)?;
        let per_req = many.saturating_sub(one) / 100;
        let per_setup = setups.saturating_sub(one) / 10;
        let setup_text = match mode {
            Mode::NoSec => "-".to_string(),
            Mode::Dtls => format!("{per_setup} (handshake)"),
            Mode::Oscore => format!("{per_setup} (contexts)"),
        };
        println!(
            "  {:<7} {:>14} {:>14} {:>14} {:>14} {:>16}",
            mode.name(),
            one,
            many,
            per_req,
            setups,
            setup_text
        );
    }
    println!("  (per request = (N=101 - N=1) / 100: requester + engine, both directions;");
    println!("   per setup = (11 setups - 1 setup) / 10: DTLS endpoints and full PSK handshake");
    println!("   with cookie exchange, or the key derivation of both OSCORE contexts)");
    Ok(())
}

fn report_wall_clock() -> Result<(), String> {
    println!("wall-clock time per exchange (reported, not asserted; 1001 exchanges):");
    for mode in Mode::ALL {
        let t = Instant::now();
        run(mode, 1, 1)?;
        let one = t.elapsed();
        let t = Instant::now();
        run(mode, 1001, 1)?;
        let many = t.elapsed();
        let per = many.saturating_sub(one) / 1000;
        println!(
            "  {:<7} {:>8.1} us/request",
            mode.name(),
            per.as_secs_f64() * 1e6
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["run", mode, n, setups] => match (Mode::parse(mode), n.parse(), setups.parse()) {
            (Some(m), Ok(n), Ok(s)) if s >= 1 => run(m, n, s),
            _ => Err("usage: lwm2m-cpu run nosec|dtls|oscore N SETUPS(>=1)".into()),
        },
        ["--callgrind"] => {
            let have = Command::new("valgrind").arg("--version").output();
            match have {
                Ok(o) if o.status.success() => report_callgrind(),
                Ok(_) | Err(_) => {
                    println!("lwm2m-cpu: valgrind is not available, instruction counts skipped");
                    report_wall_clock()
                }
            }
        }
        [] => report_wall_clock(),
        _ => Err("usage: lwm2m-cpu [--callgrind | run nosec|dtls|oscore N SETUPS]".into()),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lwm2m-cpu: {e}");
            ExitCode::FAILURE
        }
    }
}
