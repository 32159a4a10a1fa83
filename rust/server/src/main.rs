//! `lwm2m-server`: the LwM2M server binary (console on stdin, HTTP API, event printing).

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

use lwm2m_server::{bootstrap, cli, Config, Server};

const USAGE: &str = "\
lwm2m-server: LwM2M 1.1 server (registration, bootstrap, device management, observe)

usage: lwm2m-server [options]

options:
  --coap <addr>        CoAP/UDP bind address (default [::]:5683; [::] also takes IPv4)
  --http <addr>        HTTP/JSON API bind address (default 127.0.0.1:8080)
  --no-http            disable the HTTP API
  --no-stdin           no console on stdin; run until killed
  --quiet              do not print events
  --timeout <secs>     how long an operation waits for the client (default 30)
  --bootstrap <spec>   serve Bootstrap-Requests of an endpoint (repeatable):
                       EP,URI[,ssid=N][,lifetime=N][,binding=B][,security-instance=N]
                       [,server-instance=N][,discover]   (EP `*` matches any endpoint)
  -h, --help           this text
  -V, --version        print the version

console commands (stdin): type `help`.
HTTP routes: GET /api/clients, GET /api/clients/<ep>, GET|PUT|POST|DELETE
/api/clients/<ep>/<path>, GET .../discover, POST|DELETE .../observe, PUT .../attributes,
GET|PUT /api/clients/<ep>/composite, GET /api/events (newline-delimited JSON).";

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
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        }
    }
    Ok(Some(o))
}

fn main() -> ExitCode {
    let opts = match parse_args(std::env::args().skip(1)) {
        Ok(Some(o)) => o,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lwm2m-server: {e}");
            return ExitCode::from(2);
        }
    };
    let server = match Server::start(opts.config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("lwm2m-server: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("lwm2m-server: CoAP on {}", server.coap_addr());
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
