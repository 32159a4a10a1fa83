//! `lwm2m-server`: the LwM2M server binary (console on stdin, HTTP API, event printing).

use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use lwm2m_server::c2c::{InstallMode, SecurityMode};
use lwm2m_server::secure::Credentials;
use lwm2m_server::{bootstrap, cli, values, Config, Policy, Server};

const USAGE: &str = "\
lwm2m-server: LwM2M 1.1 server (registration, bootstrap, device management, observe)

usage: lwm2m-server [options]

options:
  --coap <addr>        CoAP/UDP bind address (default [::]:5683; [::] also takes IPv4)
  --coaps <addr>       DTLS-PSK (coaps://) listener bind address (default: none)
  --psk-file <file>    PSK table, one `endpoint identity key-hex` per line (identity as
                       text; `#` comments). An endpoint listed may only register over DTLS
                       with its identity; its registration is bound to that identity.
  --oscore-client <s>  OSCORE client EP,secret,salt,sid,rid (hex; the client's view, as
                       given to its --oscore; repeatable). Its registration is bound to the
                       verified kid. Without --oscore-seqno-file give fresh material
                       after a server restart.
  --oscore-seqno-file <f>  persist the server's OSCORE sequence numbers (RFC 8613 B.1.1)
                       in <f>.kid-<recipient id hex>, one file per --oscore-client; after a
                       restart numbers continue above every one used before
  --http <addr>        HTTP/JSON API bind address (default 127.0.0.1:8080)
  --no-http            disable the HTTP API
  --no-stdin           no console on stdin; run until killed
  --quiet              do not print events
  --timeout <secs>     how long an operation waits for the client (default 30)
  --bootstrap <spec>   serve Bootstrap-Requests of an endpoint (repeatable):
                       EP,URI[,ssid=N][,lifetime=N][,binding=B][,security-instance=N]
                       [,server-instance=N][,discover]   (EP `*` matches any endpoint)
                       [,oscore=SECRET:SALT:SID:RID][,oscore-instance=N]: protect the
                       account with OSCORE (hex, client's view as its --oscore; written
                       as /21/N, default N=65534, linked from Security res 17); the DM
                       server needs the same context (--oscore-client EP,...)
  -h, --help           this text
  -V, --version        print the version

client-to-client authorization (POST /ac?ep=<host>[&c]):
  --policy <file>      access policy (default: deny everything); reloaded on SIGHUP,
                       `reload` on the console or POST /api/policy/reload
  --c2c-security <m>   psk (default), oscore, or nosec (tests only)
  --c2c-install <m>    composite (default: one Write-Composite per client creating the
                       C2C instances) or separate (one Create per instance, as the artifact)
  --c2c-format <f>     auto (default: the smaller), senml-cbor or lwm2m-cbor
  --c2c-lifetime <s>   account lifetime when no rule caps it (default 3600, 0 = forever)
  --c2c-ssid <n>       this server's Short Server ID at the hosts, written as 11002 owner
                       (default 1; a --bootstrap spec of the host's endpoint takes precedence)
  --state <file>       keep grants, accounts and the IDs handed out in <file> (JSON, no
                       keys), written on every change and loaded at start, so grants can be
                       listed and revoked after a restart; a corrupt file stops the start

policy file: one rule per line, `#` comments; first rule that applies wins; default deny.
  allow|deny [requester=PATTERN] [host=PATTERN] [path=/O[/I]] [rights=R] [lifetime=S]
  PATTERN: endpoint name, `*` matches anything (default *); path: prefix (default /);
  R: all (default), a number, or names joined by , or +: read write execute delete create
  discover; an allow rule applies when all requested rights are in R, a deny rule when any
  is; lifetime (allow only): longest account lifetime in s. Objects 0 1 2 21 11000-11002
  are never granted.
  example:  allow requester=switch-* host=lamp-* path=/3311 rights=read,write lifetime=600

console commands (stdin): type `help`.
HTTP routes: GET /api/clients, GET /api/clients/<ep>, GET|PUT|POST|DELETE
/api/clients/<ep>/<path>, GET .../discover, POST|DELETE .../observe, PUT .../attributes,
GET|PUT /api/clients/<ep>/composite, GET /api/events (newline-delimited JSON),
GET /api/grants, DELETE /api/grants/<id>, GET /api/policy, POST /api/policy/reload,
GET|POST /api/relays, DELETE /api/relays/<id>.";

struct Options {
    config: Config,
    stdin: bool,
    quiet: bool,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut o = Options {
        config: Config {
            http_addr: Some("127.0.0.1:8080".into()),
            ..Default::default()
        },
        stdin: true,
        quiet: false,
    };
    while let Some(a) = args.next() {
        let mut val = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            "-V" | "--version" => {
                println!("lwm2m-server {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            "--coap" => o.config.coap_addr = val("--coap")?,
            "--coaps" => o.config.coaps_addr = Some(val("--coaps")?),
            "--psk-file" => {
                let f = val("--psk-file")?;
                let text = std::fs::read_to_string(&f).map_err(|e| format!("{f}: {e}"))?;
                let t = Credentials::parse_psk_file(&text).map_err(|e| format!("{f}: {e}"))?;
                o.config.credentials.psk.extend(t);
            }
            "--oscore-client" => {
                let c = Credentials::parse_oscore_client(&val("--oscore-client")?)
                    .map_err(|e| format!("--oscore-client: {e}"))?;
                o.config.credentials.oscore.push(c);
            }
            "--oscore-seqno-file" => {
                o.config.oscore_seqno_file = Some(val("--oscore-seqno-file")?.into());
            }
            "--state" => o.config.c2c.state_file = Some(val("--state")?.into()),
            "--http" => o.config.http_addr = Some(val("--http")?),
            "--no-http" => o.config.http_addr = None,
            "--no-stdin" => o.stdin = false,
            "--quiet" => o.quiet = true,
            "--timeout" => {
                let s: u64 = val("--timeout")?
                    .parse()
                    .map_err(|_| "--timeout needs seconds")?;
                o.config.request_timeout = Duration::from_secs(s.max(1));
            }
            "--bootstrap" => {
                let (ep, cfg) = bootstrap::parse_spec(&val("--bootstrap")?)?;
                o.config.bootstrap.insert(ep, cfg);
            }
            "--policy" => {
                let f = std::path::PathBuf::from(val("--policy")?);
                o.config.c2c.policy =
                    Policy::load(&f).map_err(|e| format!("{}: {e}", f.display()))?;
                o.config.c2c.policy_file = Some(f);
            }
            "--c2c-security" => {
                o.config.c2c.security = SecurityMode::parse(&val("--c2c-security")?)
                    .ok_or("--c2c-security takes psk, oscore or nosec")?;
            }
            "--c2c-install" => {
                o.config.c2c.install = InstallMode::parse(&val("--c2c-install")?)
                    .ok_or("--c2c-install takes composite or separate")?;
            }
            "--c2c-format" => {
                o.config.c2c.format = match val("--c2c-format")?.as_str() {
                    "auto" => None,
                    f @ ("senml-cbor" | "lwm2m-cbor") => values::parse_format(f),
                    _ => return Err("--c2c-format takes auto, senml-cbor or lwm2m-cbor".into()),
                };
            }
            "--c2c-lifetime" => {
                o.config.c2c.default_lifetime = val("--c2c-lifetime")?
                    .parse()
                    .map_err(|_| "--c2c-lifetime needs seconds")?;
            }
            "--c2c-ssid" => {
                o.config.c2c.short_server_id = val("--c2c-ssid")?
                    .parse()
                    .ok()
                    .filter(|n| (1..65535).contains(n))
                    .ok_or("--c2c-ssid needs 1..65534")?;
            }
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        }
    }
    Ok(Some(o))
}

fn main() -> ExitCode {
    let mut opts = match parse_args(std::env::args().skip(1)) {
        Ok(Some(o)) => o,
        Ok(None) => return ExitCode::SUCCESS,
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
