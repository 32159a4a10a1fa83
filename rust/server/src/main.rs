//! `lwm2m-server`: the LwM2M server binary (console on stdin, HTTP API, event printing).

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use lwm2m_server::c2c::{InstallMode, SecurityMode};
use lwm2m_server::registration::RegistryLimits;
use lwm2m_server::secure::Credentials;
use lwm2m_server::{bootstrap, cli, values, Config, HttpConfig, Policy, Server};

/// Text after the flags in `--help`: the policy file, the console and the HTTP routes.
const AFTER_HELP: &str = "\
policy file: one rule per line, `#` comments; first rule that applies wins; default deny.
  allow|deny [requester=PATTERN] [host=PATTERN] [path=/O[/I]] [rights=R] [lifetime=S]
             [renew=S|no]
  PATTERN: endpoint name, `*` matches anything (default *); path: prefix (default /);
  R: all (default), a number, or names joined by , or +: read write execute delete create
  discover; an allow rule applies when all requested rights are in R, a deny rule when any
  is. Allow only: lifetime = longest lifetime in s of one grant (the account lifetime
  written at the install and at each refresh); renew = refreshes are granted until S s
  after the pair's first grant and the accounts never outlive that (no: no refresh;
  absent: refreshes without end). Objects 0 1 2 21 11000-11002 are never granted.
  example:  allow requester=switch-* host=lamp-* path=/3311 rights=read,write lifetime=600 renew=3600

console commands (stdin): type `help`.
HTTP routes: GET /api/clients, GET /api/clients/<ep>, GET|PUT|POST|DELETE
/api/clients/<ep>/<path>, GET .../discover, POST|DELETE .../observe, PUT .../attributes,
GET|PUT /api/clients/<ep>/composite, GET /api/events (newline-delimited JSON),
GET /api/grants, DELETE /api/grants/<id>, GET /api/policy, POST /api/policy/reload,
GET|POST /api/relays, DELETE /api/relays/<id>. `?format=` on every route that sends or
asks for a payload; without, the server picks per client.
The HTTP API needs `Authorization: Bearer <token>` on every request when --api-token-file
is given; without a token file it may only be bound to a loopback address.";

/// LwM2M 1.1 server (registration, bootstrap, device management, observe)
#[derive(Parser, Debug)]
#[command(name = "lwm2m-server", version, after_help = AFTER_HELP)]
struct Args {
    /// CoAP/UDP bind address ([::] also takes IPv4)
    #[arg(long, value_name = "ADDR", default_value = "[::]:5683")]
    coap: String,
    /// DTLS-PSK (coaps://) listener bind address (default: none)
    #[arg(long, value_name = "ADDR")]
    coaps: Option<String>,
    /// PSK table, one `endpoint identity key-hex` per line (identity as text; `#`
    /// comments; repeatable). An endpoint listed may only register over DTLS with its
    /// identity; its registration is bound to that identity.
    #[arg(long, value_name = "FILE")]
    psk_file: Vec<PathBuf>,
    /// OSCORE client EP,secret,salt,sid,rid (hex; the client's view, as given to its
    /// --oscore; repeatable). Its registration is bound to the verified kid. Without
    /// --oscore-seqno-file give fresh material after a server restart.
    #[arg(long, value_name = "SPEC")]
    oscore_client: Vec<String>,
    /// Persist the server's OSCORE sequence numbers (RFC 8613 B.1.1) in
    /// <FILE>.kid-<recipient id hex>, one file per --oscore-client; after a restart
    /// numbers continue above every one used before
    #[arg(long, value_name = "FILE")]
    oscore_seqno_file: Option<PathBuf>,
    /// HTTP/JSON API bind address
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    http: String,
    /// Disable the HTTP API
    #[arg(long)]
    no_http: bool,
    /// File holding the API's bearer token (one line); every HTTP request must then send
    /// `Authorization: Bearer <token>`. Required for a non-loopback --http address.
    #[arg(long, value_name = "FILE")]
    api_token_file: Option<PathBuf>,
    /// Open HTTP connections at most (one more gets 503 and is closed)
    #[arg(long, value_name = "N", default_value_t = HttpConfig::default().max_connections)]
    http_max_connections: usize,
    /// Seconds a client may take to send request line and headers
    #[arg(long, value_name = "SECS", default_value_t = HttpConfig::default().header_timeout.as_secs())]
    http_header_timeout: u64,
    /// Seconds a client may take to send the body after the headers
    #[arg(long, value_name = "SECS", default_value_t = HttpConfig::default().body_timeout.as_secs())]
    http_body_timeout: u64,
    /// Largest request line + headers in bytes (at least 8192; larger: 431)
    #[arg(long, value_name = "BYTES", default_value_t = HttpConfig::default().max_head)]
    http_max_head: usize,
    /// Largest request body in bytes (larger: 413)
    #[arg(long, value_name = "BYTES", default_value_t = HttpConfig::default().max_body)]
    http_max_body: usize,
    /// LwM2M operations the API runs at once (threads); more requests wait
    #[arg(long, value_name = "N", default_value_t = HttpConfig::default().workers)]
    http_workers: usize,
    /// No console on stdin; run until killed
    #[arg(long)]
    no_stdin: bool,
    /// Do not print events
    #[arg(long)]
    quiet: bool,
    /// How long an operation waits for the client, in seconds (at least 1)
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    timeout: u64,
    /// RFC 7252 ACK_TIMEOUT in milliseconds: the first retransmission of a CON message (later
    /// ones double it; lower it only on fast links such as loopback)
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    ack_timeout: u64,
    /// Times one block of a Block1 request (`fota ... push`) is sent again after its
    /// retransmissions went unanswered, before the request fails
    #[arg(long, value_name = "N", default_value_t = Config::default().block1_retries)]
    block1_retries: u32,
    /// Most registrations at once; a new endpoint beyond it gets 5.03 (an event
    /// `registration-limited` says so)
    #[arg(long, value_name = "N", default_value_t = RegistryLimits::default().max_registrations)]
    max_registrations: usize,
    /// Longest registration lifetime in seconds; a longer `lt` is shortened to it (the
    /// registration expires then; event `registration-limited`) and written to the client's
    /// Server object (`/1/x/1`)
    #[arg(long, value_name = "SECS", default_value_t = RegistryLimits::default().max_lifetime)]
    max_lifetime: u32,
    /// Queue Mode clients (registered with `Q`): milliseconds after each message from one
    /// during which the server takes it for awake; requests for it while asleep wait (events
    /// `awake`, `sleeping`, `request-queued`)
    #[arg(long, value_name = "MS", default_value_t = 93_000)]
    queue_awake_ms: u64,
    /// Requests that may wait for one sleeping Queue Mode client; more are refused
    #[arg(long, value_name = "N", default_value_t = lwm2m_server::server::QueueConfig::default().max_requests)]
    queue_max_requests: usize,
    #[command(flatten)]
    dtls: lwm2m_dtls::cli::DtlsLimits,
    /// Serve Bootstrap-Requests of an endpoint (repeatable):
    /// EP,URI[,ssid=N][,lifetime=N][,binding=B][,security-instance=N][,server-instance=N]
    /// [,discover] (EP `*` matches any endpoint) [,oscore=SECRET:SALT:SID:RID]
    /// [,oscore-instance=N]: protect the account with OSCORE (hex, client's view as its
    /// --oscore; written as /21/N, default N=65534, linked from Security res 17); the DM
    /// server needs the same context (--oscore-client EP,...)
    #[arg(long, value_name = "SPEC")]
    bootstrap: Vec<String>,
    /// Client-to-client access policy (default: deny everything); reloaded on SIGHUP,
    /// `reload` on the console or POST /api/policy/reload
    #[arg(
        long,
        value_name = "FILE",
        help_heading = "Client-to-client authorization (POST /ac?ep=<host>[&c])"
    )]
    policy: Option<PathBuf>,
    /// Accounts secured with psk, oscore, or nosec (tests only)
    #[arg(long, value_name = "MODE", default_value = "psk", value_parser = ["psk", "oscore", "nosec"], help_heading = "Client-to-client authorization (POST /ac?ep=<host>[&c])")]
    c2c_security: String,
    /// composite: one Write-Composite per client creating the C2C instances; separate:
    /// one Create per instance, as the artifact
    #[arg(long, value_name = "MODE", default_value = "composite", value_parser = ["composite", "separate"], help_heading = "Client-to-client authorization (POST /ac?ep=<host>[&c])")]
    c2c_install: String,
    /// Format of the installs: auto (the smaller), senml-cbor or lwm2m-cbor
    #[arg(long, value_name = "FORMAT", default_value = "auto", value_parser = ["auto", "senml-cbor", "lwm2m-cbor"], help_heading = "Client-to-client authorization (POST /ac?ep=<host>[&c])")]
    c2c_format: String,
    /// Account lifetime in s when no rule caps it (0 = forever)
    #[arg(long, value_name = "SECS", default_value_t = lwm2m_server::config::DEFAULT_C2C_LIFETIME, help_heading = "Client-to-client authorization (POST /ac?ep=<host>[&c])")]
    c2c_lifetime: u32,
    /// This server's Short Server ID at the hosts, written as 11002 owner (1..65534; a
    /// --bootstrap spec of the host's endpoint takes precedence)
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..65535), help_heading = "Client-to-client authorization (POST /ac?ep=<host>[&c])")]
    c2c_ssid: u16,
    /// Access requests one requester may send at once (its token bucket); beyond, 5.03
    /// Service Unavailable with Max-Age = seconds until the next token (0 = no limit)
    #[arg(long, value_name = "N", default_value_t = lwm2m_server::access::limit::DEFAULT_AC_BURST, help_heading = "Client-to-client authorization (POST /ac?ep=<host>[&c])")]
    ac_burst: u32,
    /// One more access request per requester every SECS (refill of --ac-burst)
    #[arg(long, value_name = "SECS", default_value_t = lwm2m_server::access::limit::DEFAULT_AC_REFILL_SECS, value_parser = clap::value_parser!(u64).range(1..), help_heading = "Client-to-client authorization (POST /ac?ep=<host>[&c])")]
    ac_refill_secs: u64,
    /// Keep grants, accounts and the IDs handed out in <FILE> (JSON, no keys), written on
    /// every change and loaded at start; a corrupt file stops the start
    #[arg(
        long,
        value_name = "FILE",
        help_heading = "Client-to-client authorization (POST /ac?ep=<host>[&c])"
    )]
    state: Option<PathBuf>,
}

struct Options {
    config: Config,
    stdin: bool,
    quiet: bool,
}

fn options(a: Args) -> Result<Options, String> {
    let mut config = Config {
        coap_addr: a.coap,
        coaps_addr: a.coaps,
        http_addr: (!a.no_http).then_some(a.http),
        request_timeout: Duration::from_secs(a.timeout.max(1)),
        oscore_seqno_file: a.oscore_seqno_file,
        registrations: RegistryLimits {
            max_registrations: a.max_registrations.max(1),
            max_lifetime: a.max_lifetime.max(1),
        },
        dtls: a.dtls.config(),
        queue: lwm2m_server::server::QueueConfig {
            awake: Duration::from_millis(a.queue_awake_ms.max(1)),
            max_requests: a.queue_max_requests.max(1),
        },
        ..Default::default()
    };
    config.transmission.ack_timeout = Duration::from_millis(a.ack_timeout.max(1));
    config.block1_retries = a.block1_retries;
    for f in &a.psk_file {
        let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        let t = Credentials::parse_psk_file(&text).map_err(|e| format!("{}: {e}", f.display()))?;
        config.credentials.psk.extend(t);
    }
    for spec in &a.oscore_client {
        let c =
            Credentials::parse_oscore_client(spec).map_err(|e| format!("--oscore-client: {e}"))?;
        config.credentials.oscore.push(c);
    }
    for spec in &a.bootstrap {
        let (ep, cfg) = bootstrap::parse_spec(spec)?;
        config.bootstrap.insert(ep, cfg);
    }
    config.http = HttpConfig {
        max_connections: a.http_max_connections.max(1),
        header_timeout: Duration::from_secs(a.http_header_timeout.max(1)),
        body_timeout: Duration::from_secs(a.http_body_timeout.max(1)),
        max_head: a.http_max_head,
        max_body: a.http_max_body,
        workers: a.http_workers.max(1),
        token: None,
    };
    if let Some(f) = &a.api_token_file {
        let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        let token = text.trim();
        if token.is_empty() || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("{}: the token must be one word", f.display()));
        }
        config.http.token = Some(token.to_owned());
    }
    if let Some(f) = a.policy {
        config.c2c.policy = Policy::load(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        config.c2c.policy_file = Some(f);
    }
    config.c2c.security =
        SecurityMode::parse(&a.c2c_security).ok_or("--c2c-security takes psk, oscore or nosec")?;
    config.c2c.install =
        InstallMode::parse(&a.c2c_install).ok_or("--c2c-install takes composite or separate")?;
    config.c2c.format = match a.c2c_format.as_str() {
        "auto" => None,
        f => values::parse_format(f),
    };
    config.c2c.default_lifetime = a.c2c_lifetime;
    config.c2c.short_server_id = a.c2c_ssid;
    config.c2c.state_file = a.state;
    config.c2c.rate_limit = lwm2m_server::access::limit::AcRateLimit {
        burst: a.ac_burst,
        refill: std::time::Duration::from_secs(a.ac_refill_secs),
    };
    Ok(Options {
        config,
        stdin: !a.no_stdin,
        quiet: a.quiet,
    })
}

fn main() -> ExitCode {
    let mut opts = match options(Args::parse()) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("lwm2m-server: {e}");
            return ExitCode::from(2);
        }
    };
    // SIGHUP only sets a flag; the server's event loop sees it and reloads the policy file.
    let reload = Arc::new(AtomicBool::new(false));
    if let Err(e) = signal_hook::flag::register(signal_hook::consts::SIGHUP, reload.clone()) {
        eprintln!("lwm2m-server: no SIGHUP reload: {e}");
    }
    opts.config.c2c.reload_flag = Some(reload);
    let server = match Server::start(opts.config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("lwm2m-server: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("lwm2m-server: CoAP on {}", server.coap_addr());
    if let Some(a) = server.coaps_addr() {
        eprintln!("lwm2m-server: CoAP over DTLS on {a}");
    }
    if let Some(a) = server.http_addr() {
        eprintln!("lwm2m-server: HTTP API on http://{a}/api/clients");
    }
    if !opts.quiet {
        let events = server.subscribe();
        std::thread::spawn(move || {
            for ev in events {
                let mut out = io::stdout().lock();
                let _ = writeln!(out, "event {}", ev.to_json());
                let _ = out.flush();
            }
        });
    }
    if opts.stdin {
        let stdin = io::stdin();
        if let Err(e) = cli::repl(&server, stdin.lock(), &mut io::stdout()) {
            eprintln!("lwm2m-server: console: {e}");
        }
    } else {
        while !server.is_stopped() {
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    server.shutdown();
    ExitCode::SUCCESS
}
