//! `lwm2m-client`: a simulated LwM2M client on the host (see `--help`).

// The doc comments of `Cli` are the `--help` text (clap), not rustdoc markup.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser};
use lwm2m::coap::content_format as cf;
use lwm2m_host::client::{spawn, C2cRequest, ClientConfig, Event, Psk, ServerSpec};
use lwm2m_host::oscore::OscoreParams;

/// lwm2m-client: a simulated LwM2M 1.1 client (CoAP over UDP: NoSec, DTLS-PSK or OSCORE).
///
/// It registers to every --server, serves Read / Write / Execute / Create / Delete / Discover /
/// Write-Attributes / Observe, and prints one line per event (registered, updated, request
/// served with its response code, notification sent). Ctrl-C (SIGINT) or SIGTERM de-registers,
/// then exits.
#[derive(Parser, Debug)]
#[command(
    name = "lwm2m-client",
    // A repeated single-value flag: the last one counts (as before clap).
    args_override_self = true,
    override_usage = "lwm2m-client --endpoint NAME --server URI [OPTIONS]",
    after_help = "Key material never appears in the output or in error messages. Security \
                  modes 1 (RPK), 2 and 4 (certificates) are not supported and reported as such."
)]
struct Cli {
    /// Endpoint client name (also the Device serial number).
    #[arg(long, value_name = "NAME")]
    endpoint: String,
    /// DM server, coap://host[:port] (default port 5683) or coaps://host[:port] (DTLS-PSK,
    /// default port 5684; needs --psk). IPv6 literals in brackets: coap://[::1]:5683.
    /// Repeatable; Short Server IDs are 1, 2, ... in order unless given as 101=coap://...
    #[arg(long, value_name = "[SSID=]URI")]
    server: Vec<String>,
    /// PSK of the preceding coaps:// --server (Security mode 0): the identity as text, the key
    /// (1..16 bytes) in hex.
    #[arg(long, value_name = "IDENTITY,KEY_HEX")]
    psk: Vec<String>,
    /// OSCORE context of the preceding coap:// --server: master secret, master salt, sender
    /// ID, recipient ID, all hex (salt and IDs may be empty). Written at start as OSCORE object
    /// instance /21/65534 linked from res 17 of the server's Security instance, as a bootstrap
    /// server would provision it. Every request, response and notification to and from that
    /// server is protected; plain ones are refused.
    #[arg(long, value_name = "SECRET,SALT,SID,RID")]
    oscore: Vec<String>,
    /// Persist OSCORE sequence numbers here (RFC 8613 B.1.1); on a restart they continue above
    /// the stored limit and the replay window is recovered with Echo (B.1.2). Without it the
    /// context must be fresh material each run. With several OSCORE server accounts
    /// (bootstrap), the lowest Short Server ID uses PATH, the others PATH.ssid-<SSID>.
    #[arg(long, value_name = "PATH")]
    oscore_seqno_file: Option<std::path::PathBuf>,
    /// Also act as DTLS server on the client's socket for peers with this PSK (repeatable). A
    /// peer whose identity is a server's --psk identity is that server; others are
    /// unauthenticated.
    #[arg(long, value_name = "IDENTITY,KEY_HEX")]
    dtls_listen_psk: Vec<String>,
    /// Bootstrap server (used when no --server is given, or when registration keeps failing).
    #[arg(long, value_name = "URI")]
    bootstrap: Option<String>,
    /// Registration lifetime in seconds.
    #[arg(long, value_name = "S", default_value_t = 300)]
    lifetime: u32,
    /// Local address, IP or IP:PORT, e.g. [::]:56830 or 127.0.0.1 [default: wildcard of the
    /// first server's family, any port].
    #[arg(long, value_name = "ADDR", value_parser = bind_addr)]
    bind: Option<SocketAddr>,
    /// Simulated IPSO temperature sensors, object 3303 (0..=16).
    #[arg(long, alias = "temperatures", value_name = "N", default_value_t = 0)]
    temperature: usize,
    /// Seconds between simulated readings (fractions allowed). Observers are notified under
    /// their attributes.
    #[arg(long, value_name = "S", default_value = "5", value_parser = seconds)]
    period: Duration,
    /// Pre-created IPSO Light Control instances, object 3311 (0..=16); servers may create more.
    #[arg(long, value_name = "N", default_value_t = 0)]
    lights: usize,
    /// INSECURE, for tests only: serve requests no account matches (plain from any address, or
    /// DTLS with a --dtls-listen-psk of no server) as server SSID, so generic CoAP tools can
    /// act as server.
    #[arg(long, value_name = "SSID")]
    accept_any_peer_as: Option<u16>,
    /// Client-to-client Read (repeatable), started once registered: the request goes in clear
    /// to HOST_URI (coap://host:port); on 4.01 the owner server hint is checked (a server this
    /// client is not registered with is ignored), Read rights on the instance of PATH are
    /// requested from that server (POST /ac), and the request is repeated over the installed
    /// DTLS-PSK or OSCORE account. With an account already installed it goes secure at once. A
    /// resource PATH asks for text/plain. One line per step.
    #[arg(long, value_name = "HOST_EP,HOST_URI,PATH")]
    c2c_read: Vec<String>,
    /// The same with Observe: one line per notification (with its Observe number) until the
    /// client stops or the account closes.
    #[arg(long, value_name = "HOST_EP,HOST_URI,PATH")]
    c2c_observe: Vec<String>,
    /// Send (LwM2M 1.1 `POST /dp`) the values at PATH (an object, instance or resource, e.g.
    /// /3303/0/5700; repeatable: one Send carries all) to every registered server every
    /// --send-period. One line per outcome: `send sent` (2.04) or `send failed` (error code,
    /// timeout, busy: the previous Send is unanswered, or the server's Mute Send /1/x/23).
    #[arg(long, value_name = "PATH", value_parser = send_path)]
    send: Vec<lwm2m::Path>,
    /// Seconds between Sends of --send (fractions allowed).
    #[arg(long, value_name = "S", default_value = "10", value_parser = seconds)]
    send_period: Duration,
    /// Content format of --send: senml-cbor (112) or lwm2m-cbor (11544).
    #[arg(long, value_name = "FORMAT", default_value = "senml-cbor", value_parser = send_format)]
    send_format: u16,
    /// Queue Mode (LwM2M 1.1): register with `Q`, be reachable only for --awake-ms after each
    /// message sent, drop what arrives while asleep (counted: `queue dropped`), store
    /// notifications falling due while asleep and send them on wake (lines `queue awake`,
    /// `queue sleeping`).
    #[arg(long)]
    queue_mode: bool,
    /// Awake time of --queue-mode in milliseconds (default 93000, CoAP MAX_TRANSMIT_WAIT).
    #[arg(long, value_name = "N", requires = "queue_mode")]
    awake_ms: Option<u32>,
    /// Firmware Update (object 5, push and pull): a package written to /5/0/0, or fetched
    /// from a coap:// Package URI written to /5/0/1 (CoAP GET with Block2), is stored in DIR
    /// (`firmware.part` while it arrives, `firmware.bin` once its SHA-256 verified). coaps://
    /// URIs are not fetched (Update Result 9).
    #[arg(long, value_name = "DIR")]
    fota_dir: Option<std::path::PathBuf>,
    /// Command run (`sh -c`, `FOTA_IMAGE` set to the image) on Update (Execute /5/0/2):
    /// exit status 0 is Update Result 1, anything else 8. Needs --fota-dir.
    #[arg(long, value_name = "CMD", requires = "fota_dir")]
    fota_hook: Option<String>,
    /// Block2 size in bytes of a Package URI pull: 16, 32, ..., 1024 (a server may answer
    /// with smaller blocks). One line `fota-pull-progress` per tenth of the image.
    #[arg(long, value_name = "BYTES", default_value_t = lwm2m_host::client::DEFAULT_PULL_BLOCK,
          value_parser = block_size, requires = "fota_dir")]
    fota_block: usize,
    /// Times a pulled block is asked again after its retransmissions went unanswered, before
    /// the pull ends with Update Result 4 (connection lost).
    #[arg(long, value_name = "N", default_value_t = lwm2m_host::client::DEFAULT_PULL_RETRIES,
          requires = "fota_dir")]
    fota_pull_retries: u32,
    /// RFC 7252 ACK_TIMEOUT in milliseconds: the first retransmission of a CON message (later
    /// ones double it; lower it only on fast links such as loopback).
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    ack_timeout: u64,
    /// De-register and exit after S seconds.
    #[arg(long, value_name = "S", value_parser = seconds)]
    duration: Option<Duration>,
    /// Print only errors.
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    dtls: lwm2m_dtls::cli::DtlsLimits,
}

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
            println!("{}", Cli::command().render_long_help());
            return ExitCode::SUCCESS;
        }
        Err(e) if e.contains("--help") => {
            eprintln!("lwm2m-client: {e}");
            return ExitCode::from(2);
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

/// Parses the command line (without the program name); `Ok(None)` for `--help`.
fn parse_args(args: &[String]) -> Result<Option<Args>, String> {
    let argv = std::iter::once("lwm2m-client").chain(args.iter().map(String::as_str));
    let matches = match Cli::command().try_get_matches_from(argv) {
        Ok(m) => m,
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => return Ok(None),
        Err(e) => return Err(e.render().to_string().trim_end().to_owned()),
    };
    let cli = Cli::from_arg_matches(&matches).map_err(|e| e.to_string())?;
    // --psk and --oscore belong to the --server before them on the command line.
    let indices = |id: &str| -> Vec<usize> {
        matches
            .indices_of(id)
            .map(Iterator::collect)
            .unwrap_or_default()
    };
    let server_at = indices("server");
    let owner = |at: usize, flag: &str| -> Result<usize, String> {
        server_at
            .iter()
            .rposition(|&s| s < at)
            .ok_or_else(|| format!("{flag} must follow a --server"))
    };
    let mut c = ClientConfig::new(&cli.endpoint);
    for v in &cli.server {
        let spec = match v.split_once('=') {
            Some((ssid, uri)) if !ssid.contains(':') => {
                ServerSpec::new(number("--server", ssid)?, uri)
            }
            _ => {
                let ssid = (1..=65534u16)
                    .find(|s| c.servers.iter().all(|x| x.ssid != *s))
                    .unwrap_or(1);
                ServerSpec::new(ssid, v)
            }
        };
        c.servers.push(spec);
    }
    for (v, at) in cli.psk.iter().zip(indices("psk")) {
        let p = Psk::parse(v).map_err(|e| format!("--psk: {e}"))?;
        let i = owner(at, "--psk")?;
        if let Some(s) = c.servers.get_mut(i) {
            s.psk = Some(p);
        }
    }
    for (v, at) in cli.oscore.iter().zip(indices("oscore")) {
        let p = OscoreParams::parse(v).map_err(|e| format!("--oscore: {e}"))?;
        let i = owner(at, "--oscore")?;
        if let Some(s) = c.servers.get_mut(i) {
            s.oscore = Some(p);
        }
    }
    for v in &cli.dtls_listen_psk {
        c.listen_psks
            .push(Psk::parse(v).map_err(|e| format!("--dtls-listen-psk: {e}"))?);
    }
    c.bootstrap = cli.bootstrap;
    c.oscore_seqno_file = cli.oscore_seqno_file;
    c.lifetime = cli.lifetime;
    c.bind = cli.bind;
    c.temperatures = cli.temperature;
    c.period = Some(cli.period);
    c.lights = cli.lights;
    c.accept_any_peer_as = cli.accept_any_peer_as;
    c.duration = cli.duration;
    c.dtls_server = cli.dtls.config();
    c.send_paths = cli.send;
    c.send_period = Some(cli.send_period);
    c.send_format = cli.send_format;
    c.queue_awake_ms = cli
        .queue_mode
        .then(|| cli.awake_ms.unwrap_or(lwm2m::engine::DEFAULT_AWAKE_MS));
    c.fota_dir = cli.fota_dir;
    c.fota_hook = cli.fota_hook;
    c.fota_pull = lwm2m_host::client::PullOptions {
        block_size: cli.fota_block,
        retries: cli.fota_pull_retries,
    };
    c.tx.ack_timeout = Duration::from_millis(cli.ack_timeout.max(1));
    // In command-line order (operation numbers follow it).
    let mut c2c_at: Vec<(usize, &String, bool)> = Vec::new();
    c2c_at.extend(
        cli.c2c_read
            .iter()
            .zip(indices("c2c_read"))
            .map(|(v, i)| (i, v, false)),
    );
    let observes = cli.c2c_observe.iter().zip(indices("c2c_observe"));
    c2c_at.extend(observes.map(|(v, i)| (i, v, true)));
    c2c_at.sort_by_key(|x| x.0);
    let mut c2c = Vec::new();
    for (_, v, observe) in c2c_at {
        c2c.push(c2c_request(v, observe)?);
    }
    c.validate().map_err(|e| e.to_string())?;
    Ok(Some(Args {
        config: c,
        quiet: cli.quiet,
        c2c,
    }))
}

fn send_path(v: &str) -> Result<lwm2m::Path, String> {
    match lwm2m::Path::parse_str(v) {
        Ok(p) if !p.is_root() => Ok(p),
        _ => Err(format!("{v:?} is not an LwM2M path such as /3303/0/5700")),
    }
}

fn send_format(v: &str) -> Result<u16, String> {
    match v {
        "senml-cbor" | "112" => Ok(cf::SENML_CBOR),
        "lwm2m-cbor" | "11544" => Ok(cf::LWM2M_CBOR),
        _ => Err(format!("{v:?}: senml-cbor or lwm2m-cbor")),
    }
}

fn number<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("{name}: {v:?} is not a valid number"))
}

/// A Block2 size: a power of two in 16..=1024.
fn block_size(v: &str) -> Result<usize, String> {
    match v.parse::<usize>() {
        Ok(n) if (16..=1024).contains(&n) && n.is_power_of_two() => Ok(n),
        _ => Err(format!("{v:?}: one of 16, 32, 64, 128, 256, 512, 1024")),
    }
}

/// A number of seconds, fractions allowed.
fn seconds(v: &str) -> Result<Duration, String> {
    match v.parse::<f64>() {
        Ok(s) if (0.0..1e9).contains(&s) => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!("{v:?} is not a number of seconds")),
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
        .map_err(|_| format!("{v:?} is not an address (e.g. [::]:5690 or 0.0.0.0)"))
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
             --c2c-observe lamp,coap://127.0.0.1:5690,/3303/0/5700 \
             --c2c-read lamp,coap://127.0.0.1:5690,/3/0"
            .split_whitespace()
            .map(String::from)
            .collect();
        let a = parse_args(&v).unwrap().unwrap();
        assert_eq!(a.c2c.len(), 3);
        // Command-line order.
        assert!(!a.c2c[0].observe && a.c2c[1].observe && !a.c2c[2].observe);
        assert_eq!(a.c2c[0].accept, None);
        assert_eq!(a.c2c[1].accept, Some(cf::TEXT));
        assert_eq!(a.c2c[1].host_uri, "coap://127.0.0.1:5690");
        let e = parse("--endpoint r --server coap://h --c2c-read lamp,/3").unwrap_err();
        assert!(e.contains("--c2c-read"), "{e}");
        let e = parse("--endpoint r --server coap://h --c2c-observe lamp,coap://h,/x").unwrap_err();
        assert!(e.contains("--c2c-observe"), "{e}");
    }

    #[test]
    fn send_options() {
        let (c, _) = parse(
            "--endpoint s --server coap://127.0.0.1:5683 --temperature 1 \
             --send /3303/0/5700 --send /3/0 --send-period 0.5 --send-format lwm2m-cbor",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            c.send_paths,
            [
                lwm2m::Path::resource(3303, 0, 5700),
                lwm2m::Path::instance(3, 0)
            ]
        );
        assert_eq!(c.send_period, Some(Duration::from_millis(500)));
        assert_eq!(c.send_format, cf::LWM2M_CBOR);
        let e = parse("--endpoint s --server coap://h --send /x").unwrap_err();
        assert!(e.contains("--send"), "{e}");
        let e = parse("--endpoint s --server coap://h --send /3 --send-format tlv").unwrap_err();
        assert!(e.contains("--send-format"), "{e}");
        let e = parse("--endpoint s --server coap://h --send /3 --send-period 0").unwrap_err();
        assert!(e.contains("send period"), "{e}");
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

    /// --psk / --oscore go to the --server before them; a repeated single flag: the last wins.
    #[test]
    fn per_server_options_and_repeats() {
        let (c, _) = parse(
            "--endpoint e --server coap://127.0.0.1:5683 --oscore 0102,,01,02 \
             --server coaps://127.0.0.1:5684 --psk a,00 --lifetime 60 --lifetime=70",
        )
        .unwrap()
        .unwrap();
        let ssids: Vec<u16> = c.servers.iter().map(|s| s.ssid).collect();
        assert_eq!(ssids, [1, 2]);
        assert!(c.servers[0].oscore.is_some() && c.servers[0].psk.is_none());
        assert_eq!(c.servers[1].psk.as_ref().unwrap().identity, b"a");
        assert!(c.servers[1].oscore.is_none());
        assert_eq!(c.lifetime, 70);
        assert_eq!(c.period, Some(Duration::from_secs(5)), "default period");
        assert!(parse("--oscore 0102,,01,02 --endpoint e --server coap://h")
            .unwrap_err()
            .contains("--oscore must follow a --server"));
    }

    /// `--help` lists every flag.
    #[test]
    fn queue_mode_options() {
        let base = "--endpoint q --server coap://127.0.0.1:5683";
        let (c, _) = parse(&format!("{base} --queue-mode --awake-ms 1500"))
            .unwrap()
            .unwrap();
        assert_eq!(c.queue_awake_ms, Some(1500));
        let (c, _) = parse(&format!("{base} --queue-mode")).unwrap().unwrap();
        assert_eq!(c.queue_awake_ms, Some(lwm2m::engine::DEFAULT_AWAKE_MS));
        let (c, _) = parse(base).unwrap().unwrap();
        assert_eq!(c.queue_awake_ms, None);
        assert!(parse(&format!("{base} --awake-ms 10")).is_err());
    }

    #[test]
    fn fota_options() {
        let base = "--endpoint f --server coap://127.0.0.1:5683 --fota-dir /tmp/fw";
        let (c, _) = parse(&format!("{base} --fota-block 1024 --fota-pull-retries 7"))
            .unwrap()
            .unwrap();
        assert_eq!((c.fota_pull.block_size, c.fota_pull.retries), (1024, 7));
        let (c, _) = parse(base).unwrap().unwrap();
        assert_eq!(c.fota_pull, lwm2m_host::client::PullOptions::default());
        assert!(parse(&format!("{base} --fota-block 1000")).is_err());
        assert!(parse("--endpoint f --server coap://h --fota-block 64").is_err());
    }

    #[test]
    fn help_lists_every_flag() {
        let help = Cli::command().render_long_help().to_string();
        for flag in [
            "--endpoint",
            "--server",
            "--psk",
            "--oscore ",
            "--oscore-seqno-file",
            "--dtls-listen-psk",
            "--bootstrap",
            "--lifetime",
            "--bind",
            "--temperature",
            "--period",
            "--lights",
            "--accept-any-peer-as",
            "--c2c-read",
            "--c2c-observe",
            "--send ",
            "--send-period",
            "--send-format",
            "--queue-mode",
            "--awake-ms",
            "--fota-dir",
            "--fota-block",
            "--fota-pull-retries",
            "--duration",
            "--quiet",
            "--help",
        ] {
            assert!(help.contains(flag), "{flag} missing from --help");
        }
        assert!(help.contains("Key material never appears"));
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
            .contains("a value is required for '--lights"));
        assert!(parse("--endpoint e --server coap://h --period x")
            .unwrap_err()
            .contains("--period"));
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
