//! `lwm2m-client`: a simulated LwM2M client on the host (see `--help`).

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use lwm2m::coap::content_format as cf;
use lwm2m_host::client::{spawn, C2cRequest, ClientConfig, Event, Psk, ServerSpec};
use lwm2m_host::oscore::OscoreParams;

const HELP: &str = "\
lwm2m-client: a simulated LwM2M 1.1 client (CoAP over UDP: NoSec, DTLS-PSK or OSCORE).

USAGE:
    lwm2m-client --endpoint NAME --server URI [OPTIONS]

It registers to every --server, serves Read / Write / Execute / Create / Delete / Discover /
Write-Attributes / Observe, and prints one line per event (registered, updated, request
served with its response code, notification sent). Ctrl-C (SIGINT) or SIGTERM de-registers,
then exits.

OPTIONS:
    --endpoint NAME          Endpoint client name (also the Device serial number). Required.
    --server [SSID=]URI      DM server, coap://host[:port] (default port 5683) or
                             coaps://host[:port] (DTLS-PSK, default port 5684; needs --psk).
                             IPv6 literals in brackets: coap://[::1]:5683. Repeatable; Short
                             Server IDs are 1, 2, ... in order unless given as 101=coap://...
    --psk IDENTITY,KEY_HEX   PSK of the preceding coaps:// --server (Security mode 0): the
                             identity as text, the key (1..16 bytes) in hex.
    --oscore SECRET,SALT,SID,RID
                             OSCORE context of the preceding coap:// --server: master
                             secret, master salt, sender ID, recipient ID, all hex (salt and
                             IDs may be empty). Written at start as OSCORE object instance
                             /21/65534 linked from res 17 of the server's Security instance,
                             as a bootstrap server would provision it. Every request,
                             response and notification to and from that server is
                             protected; plain ones are refused.
    --oscore-seqno-file PATH Persist OSCORE sequence numbers here (RFC 8613 B.1.1); on a
                             restart they continue above the stored limit and the replay
                             window is recovered with Echo (B.1.2). Without it the context
                             must be fresh material each run. With several OSCORE server
                             accounts (bootstrap), the lowest Short Server ID uses PATH, the
                             others PATH.ssid-<SSID>.
    --dtls-listen-psk IDENTITY,KEY_HEX
                             Also act as DTLS server on the client's socket for peers with
                             this PSK (repeatable). A peer whose identity is a server's --psk
                             identity is that server; others are unauthenticated.
    --bootstrap URI          Bootstrap server (used when no --server is given, or when
                             registration keeps failing).
    --lifetime S             Registration lifetime in seconds [default: 300].
    --bind ADDR              Local address, IP or IP:PORT, e.g. [::]:56830 or 127.0.0.1
                             [default: wildcard of the first server's family, any port].
    --temperature N          Simulated IPSO temperature sensors, object 3303 (0..=16)
                             [default: 0].
    --period S               Seconds between simulated readings (fractions allowed)
                             [default: 5]. Observers are notified under their attributes.
    --lights N               Pre-created IPSO Light Control instances, object 3311 (0..=16)
                             [default: 0]; servers may create more.
    --accept-any-peer-as SSID
                             INSECURE, for tests only: serve requests no account matches
                             (plain from any address, or DTLS with a --dtls-listen-psk of no
                             server) as server SSID, so generic CoAP tools can act as server.
    --c2c-read HOST_EP,HOST_URI,PATH
                             Client-to-client Read (repeatable), started once registered:
                             the request goes in clear to HOST_URI (coap://host:port); on
                             4.01 the owner server hint is checked (a server this client is
                             not registered with is ignored), Read rights on the instance of
                             PATH are requested from that server (POST /ac), and the request
                             is repeated over the installed DTLS-PSK or OSCORE account. With
                             an account already installed it goes secure at once. A resource
                             PATH asks for text/plain. One line per step.
    --c2c-observe HOST_EP,HOST_URI,PATH
                             The same with Observe: one line per notification (with its
                             Observe number) until the client stops or the account closes.
    --duration S             De-register and exit after S seconds.
    --quiet                  Print only errors.
    -h, --help               This text.

Key material never appears in the output or in error messages. Security modes 1 (RPK),
2 and 4 (certificates) are not supported and reported as such.";

/// The parsed command line.
struct Args {
    config: ClientConfig,
    quiet: bool,
    c2c: Vec<C2cRequest>,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Args { config, quiet, c2c } = match parse_args(&args) {
        Ok(Some(c)) => c,
        Ok(None) => {
            println!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("lwm2m-client: {e}\nTry `lwm2m-client --help`.");
            return ExitCode::from(2);
        }
    };
    let endpoint = config.endpoint.clone();
    let servers: Vec<String> = config
        .servers
        .iter()
        .map(|s| format!("{}={}", s.ssid, s.uri))
        .collect();
    let (reg_tx, reg_rx) = mpsc::channel();
    let handle = match spawn(config, move |e| {
        print_event(e, quiet);
        if matches!(e, Event::Registered { .. }) {
            let _ = reg_tx.send(());
        }
    }) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("lwm2m-client: {e}");
            return ExitCode::from(1);
        }
    };
    if !quiet {
        println!(
            "lwm2m-client: endpoint {endpoint} on {} servers [{}]",
            handle.local_addr(),
            servers.join(", ")
        );
    }
    let stopper = handle.stopper();
    if let Err(e) = ctrlc::set_handler(move || stopper.stop()) {
        eprintln!("lwm2m-client: cannot install the signal handler: {e}");
    }
    if !c2c.is_empty() {
        // Hints are only followed toward servers this client is registered with.
        let registered = loop {
            match reg_rx.recv_timeout(Duration::from_millis(200)) {
                Ok(()) => break true,
                Err(mpsc::RecvTimeoutError::Timeout) if !handle.is_finished() => {}
                Err(_) => break false,
            }
        };
        if registered {
            for req in c2c {
                let what = format!("{} {}", req.host_ep, req.path);
                match handle.c2c(req) {
                    Ok(op) if !quiet => println!("c2c #{op}: start {what}"),
                    Ok(_) => {}
                    Err(e) => eprintln!("lwm2m-client: c2c {what}: {e}"),
                }
            }
        }
    }
    handle.join();
    ExitCode::SUCCESS
}

fn print_event(e: &Event, quiet: bool) {
    match e {
        Event::SendFailed { .. } => eprintln!("{e}"),
        _ if quiet => {}
        _ => println!("{e}"),
    }
}

/// A `--c2c-read` / `--c2c-observe` value.
fn c2c_request(v: &str, observe: bool) -> Result<C2cRequest, String> {
    let name = if observe {
        "--c2c-observe"
    } else {
        "--c2c-read"
    };
    let mut r = C2cRequest::parse(v, observe).map_err(|e| format!("{name}: {e}"))?;
    if r.path.resource_id().is_some() {
        r.accept = Some(cf::TEXT);
    }
    Ok(r)
}

/// Parses the command line; `Ok(None)` for `--help`.
fn parse_args(args: &[String]) -> Result<Option<Args>, String> {
    let mut c = ClientConfig::new("");
    let mut c2c = Vec::new();
    c.period = Some(Duration::from_secs(5));
    let mut endpoint = None;
    let mut quiet = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = || -> Result<String, String> {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match name {
            "-h" | "--help" => return Ok(None),
            "--quiet" | "-q" => quiet = true,
            "--endpoint" => endpoint = Some(value()?),
            "--server" => {
                let v = value()?;
                let spec = match v.split_once('=') {
                    Some((ssid, uri)) if !ssid.contains(':') => {
                        ServerSpec::new(number(name, ssid)?, uri)
                    }
                    _ => {
                        let ssid = (1..=65534u16)
                            .find(|s| c.servers.iter().all(|x| x.ssid != *s))
                            .unwrap_or(1);
                        ServerSpec::new(ssid, &v)
                    }
                };
                c.servers.push(spec);
            }
            "--bootstrap" => c.bootstrap = Some(value()?),
            "--psk" => {
                let p = Psk::parse(&value()?).map_err(|e| format!("--psk: {e}"))?;
                let s = c.servers.last_mut().ok_or("--psk must follow a --server")?;
                s.psk = Some(p);
            }
            "--oscore" => {
                let p = OscoreParams::parse(&value()?).map_err(|e| format!("--oscore: {e}"))?;
                let s = c
                    .servers
                    .last_mut()
                    .ok_or("--oscore must follow a --server")?;
                s.oscore = Some(p);
            }
            "--oscore-seqno-file" => c.oscore_seqno_file = Some(value()?.into()),
            "--dtls-listen-psk" => c
                .listen_psks
                .push(Psk::parse(&value()?).map_err(|e| format!("--dtls-listen-psk: {e}"))?),
            "--lifetime" => c.lifetime = number(name, &value()?)?,
            "--bind" => c.bind = Some(bind_addr(&value()?)?),
            "--temperature" | "--temperatures" => c.temperatures = number(name, &value()?)?,
            "--period" => c.period = Some(seconds(name, &value()?)?),
            "--lights" => c.lights = number(name, &value()?)?,
            "--accept-any-peer-as" => c.accept_any_peer_as = Some(number(name, &value()?)?),
            "--duration" => c.duration = Some(seconds(name, &value()?)?),
            "--c2c-read" => c2c.push(c2c_request(&value()?, false)?),
            "--c2c-observe" => c2c.push(c2c_request(&value()?, true)?),
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    c.endpoint = endpoint.ok_or("--endpoint NAME is required")?;
    c.validate().map_err(|e| e.to_string())?;
    Ok(Some(Args {
        config: c,
        quiet,
        c2c,
    }))
}

fn number<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("{name}: {v:?} is not a valid number"))
}

fn seconds(name: &str, v: &str) -> Result<Duration, String> {
    match v.parse::<f64>() {
        Ok(s) if (0.0..1e9).contains(&s) => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!("{name}: {v:?} is not a number of seconds")),
    }
}

/// `IP:PORT`, `[IPv6]:PORT`, or a bare IP (any port).
fn bind_addr(v: &str) -> Result<SocketAddr, String> {
    if let Ok(a) = v.parse::<SocketAddr>() {
        return Ok(a);
    }
    let bare = v.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 0))
        .map_err(|_| format!("--bind: {v:?} is not an address (e.g. [::]:5690 or 0.0.0.0)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Option<(ClientConfig, bool)>, String> {
        let v: Vec<String> = s.split_whitespace().map(String::from).collect();
        parse_args(&v).map(|a| a.map(|a| (a.config, a.quiet)))
    }

    #[test]
    fn c2c_options() {
        let v: Vec<String> = "--endpoint r --server coap://127.0.0.1:5683 \
             --c2c-read lamp,coap://127.0.0.1:5690,/3311/0 \
             --c2c-observe lamp,coap://127.0.0.1:5690,/3303/0/5700"
            .split_whitespace()
            .map(String::from)
            .collect();
        let a = parse_args(&v).unwrap().unwrap();
        assert_eq!(a.c2c.len(), 2);
        assert!(!a.c2c[0].observe && a.c2c[1].observe);
        assert_eq!(a.c2c[0].accept, None);
        assert_eq!(a.c2c[1].accept, Some(cf::TEXT));
        assert_eq!(a.c2c[1].host_uri, "coap://127.0.0.1:5690");
        let e = parse("--endpoint r --server coap://h --c2c-read lamp,/3").unwrap_err();
        assert!(e.contains("--c2c-read"), "{e}");
        let e = parse("--endpoint r --server coap://h --c2c-observe lamp,coap://h,/x").unwrap_err();
        assert!(e.contains("--c2c-observe"), "{e}");
    }

    #[test]
    fn full_command_line() {
        let (c, quiet) = parse(
            "--endpoint ep1 --server coap://127.0.0.1:5683 --server 101=coap://[::1]:5700 \
             --lifetime 60 --bind 127.0.0.1 --temperature 2 --period 0.2 --lights=1 \
             --accept-any-peer-as 1 --duration 3 --quiet",
        )
        .unwrap()
        .unwrap();
        assert!(quiet);
        assert_eq!(c.endpoint, "ep1");
        assert_eq!(
            c.servers,
            [
                ServerSpec::new(1, "coap://127.0.0.1:5683"),
                ServerSpec::new(101, "coap://[::1]:5700")
            ]
        );
        assert_eq!(c.lifetime, 60);
        assert_eq!(c.bind, Some("127.0.0.1:0".parse().unwrap()));
        assert_eq!((c.temperatures, c.lights), (2, 1));
        assert_eq!(c.period, Some(Duration::from_millis(200)));
        assert_eq!(c.accept_any_peer_as, Some(1));
        assert_eq!(c.duration, Some(Duration::from_secs(3)));
    }

    #[test]
    fn secure_options() {
        let (c, _) = parse(
            "--endpoint e --server coaps://127.0.0.1:5684 --psk dev-1,000102030405060708090a0b0c0d0e0f \
             --server coap://127.0.0.1:5683 --oscore 0102,,01,02 --oscore-seqno-file /tmp/x \
             --dtls-listen-psk peer,aabb",
        )
        .unwrap()
        .unwrap();
        let p = c.servers[0].psk.as_ref().unwrap();
        assert_eq!(p.identity, b"dev-1");
        assert_eq!(p.key.len(), 16);
        assert!(!format!("{c:?}").contains("0a0b0c"), "Debug shows no key");
        assert_eq!(c.servers[1].oscore.as_ref().unwrap().recipient_id, [2]);
        assert_eq!(c.listen_psks[0].identity, b"peer");
        assert!(c.oscore_seqno_file.is_some());
    }

    #[test]
    fn help_and_errors() {
        assert!(parse("--help").unwrap().is_none());
        assert!(parse("--server coap://h")
            .unwrap_err()
            .contains("--endpoint"));
        assert!(parse("--endpoint e").unwrap_err().contains("--server"));
        assert!(parse("--endpoint e --server coaps://h")
            .unwrap_err()
            .contains("needs a PSK"));
        assert!(parse("--endpoint e --server coap://h --psk id,0011")
            .unwrap_err()
            .contains("coaps://"));
        let e = parse("--endpoint e --server coaps://h --psk id,00zz112233").unwrap_err();
        assert!(e.contains("bad hex") && !e.contains("00zz"), "{e}");
        assert!(parse("--psk id,00 --endpoint e")
            .unwrap_err()
            .contains("follow"));
        assert!(parse("--endpoint e --server coap://h --lifetime x")
            .unwrap_err()
            .contains("--lifetime"));
        assert!(parse("--endpoint e --server coap://h --bogus")
            .unwrap_err()
            .contains("--bogus"));
        assert!(parse("--endpoint e --server coap://h --lights")
            .unwrap_err()
            .contains("needs a value"));
        assert!(
            parse("--endpoint e --server 1=coap://h --server 1=coap://g")
                .unwrap_err()
                .contains("twice")
        );
        assert_eq!(bind_addr("[::]:9").unwrap(), "[::]:9".parse().unwrap());
        assert_eq!(bind_addr("::1").unwrap(), "[::1]:0".parse().unwrap());
        assert!(bind_addr("nope").is_err());
    }
}
