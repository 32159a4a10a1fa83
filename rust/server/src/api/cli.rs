//! The line-based console of the `lwm2m-server` binary: one command per line, results printed
//! as JSON. See [`HELP`].

use std::io::{BufRead, Write};

use lwm2m::{DataType, Path};
use serde_json::{json, Value as Json};

use crate::dm::ops::Attributes;
use crate::dm::types;
use crate::dm::values::{self, OwnedRecord, OwnedValue, ValueJson};
use crate::server::ServerHandle;

/// Help text of the console.
pub const HELP: &str = "\
commands (paths like /3/0/1). Commands that send or ask for a payload take
`--format F` or `format=F` anywhere (F: senml-cbor senml-json tlv lwm2m-cbor lwm2m-json
text opaque or a number); without, the server picks per client: the format that worked
before, else SenML CBOR (1.1) / TLV (1.0), falling back to TLV, SenML JSON (1.1) and text
(single resources) on 4.06 / 4.15.
  list                                   registered clients
  show <ep>                              one registration
  read <ep> <path> [format]              Read
  write <ep> <path> <value>              Write (replace) one resource
  write <ep> <path> <res>=<value>...     Write (replace) resources of an instance
  update <ep> <path> <res>=<value>...    Write (partial update, POST)
  exec <ep> <path> [args]                Execute
  create <ep> </O or /O/I> [<res>=<value>...]  Create (the answer's location names the instance)
  delete <ep> <path>                     Delete
  discover <ep> [path]                   Discover
  observe <ep> <path> [format]           Observe (notifications print as events)
  cancel <ep> <path>                     cancel an observation (with its own options)
  attr <ep> <path> pmin=N pmax=N gt=X lt=X st=X epmin=N epmax=N   Write-Attributes
  cread <ep> <path>...                   Read-Composite (senml-cbor or senml-json)
  cwrite <ep> <path>=<value>...          Write-Composite (senml-cbor or senml-json)
  cobserve <ep> <path>...                Observe-Composite (notifications print as events, path /)
  ccancel <ep>                           cancel the Observe-Composite (same as cancel <ep> /)
  grants                                 client-to-client grants
  revoke <id>                            revoke a grant (and the accounts with the pair's last one)
  policy                                 the access policy in force
  reload                                 reload the policy file
  fota <ep> <file> push [name=N] [version=V] [block=B]   Firmware Update: write the file,
                                         wrapped in a manifest (SHA-256, name, version), to
                                         /5/0/0 with Block1 (B bytes, default 512); progress
                                         prints as block1-progress events
  fota <ep> <file> pull [name=N] [version=V] [host=H:P]   Firmware Update pull: serve the
                                         package at coap://<H:P, default the address the client
                                         registered to>/fw/<id> (coaps:// for a client on DTLS;
                                         Block2) and write that URI to /5/0/1; the client
                                         fetches it (block2-progress events;
                                         at most 4 packages served, the oldest replaced)
  fota <ep> update                       Execute Update (/5/0/2)
  fota <ep> state                        State, Update Result, PkgName, PkgVersion of /5/0
  relay <host> <path> <requester> <target>   server-centric baseline: observe and forward
  relays                                 running relays
  unrelay <id>                           stop a relay
  help                                   this text
  quit                                   stop the server";

/// A parsed console command.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Empty line.
    Nothing,
    /// `help`.
    Help,
    /// `quit`.
    Quit,
    /// `list`.
    List,
    /// `show <ep>`.
    Show(String),
    /// `read <ep> <path> [format]`.
    Read(String, Path, Option<u16>),
    /// `write` / `update`: endpoint, path, records, replace, format.
    Write(String, Path, Vec<OwnedRecord>, bool, Option<u16>),
    /// `exec <ep> <path> [args]`.
    Exec(String, Path, Option<String>),
    /// `create <ep> <path> res=value...`: object, instance, records, format.
    Create(String, u16, Option<u16>, Vec<OwnedRecord>, Option<u16>),
    /// `delete <ep> <path>`.
    Delete(String, Path),
    /// `discover <ep> [path]`.
    Discover(String, Path),
    /// `observe <ep> <path> [format]`.
    Observe(String, Path, Option<u16>),
    /// `cancel <ep> <path>`.
    Cancel(String, Path),
    /// `attr <ep> <path> k=v...`.
    Attr(String, Path, Attributes),
    /// `cread <ep> <path>...`, format.
    CompositeRead(String, Vec<Path>, Option<u16>),
    /// `cwrite <ep> <path>=<value>...`, format.
    CompositeWrite(String, Vec<OwnedRecord>, Option<u16>),
    /// `cobserve <ep> <path>... [format=..]`.
    CompositeObserve(String, Vec<Path>, Option<u16>),
    /// `grants`.
    Grants,
    /// `revoke <id>`.
    Revoke(u64),
    /// `policy`.
    Policy,
    /// `reload`.
    Reload,
    /// `relay <host> <path> <requester> <target>`.
    Relay(String, Path, String, Path),
    /// `relays`.
    Relays,
    /// `fota <ep> <file> push [name=N] [version=V] [block=B]`: endpoint, file, name, version,
    /// block size.
    FotaPush(String, String, String, String, usize),
    /// `fota <ep> <file> pull [name=N] [version=V] [host=H:P]`: endpoint, file, name,
    /// version, the URI's authority if not the server's address.
    FotaPull(String, String, String, String, Option<String>),
    /// `fota <ep> update`.
    FotaUpdate(String),
    /// `fota <ep> state`.
    FotaState(String),
    /// `unrelay <id>`.
    Unrelay(u64),
}

/// Splits a line into words; double quotes group words (`"a b"`).
pub fn tokenize(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

fn path(s: &str) -> Result<Path, String> {
    Path::parse_str(s).map_err(|_| format!("bad path {s:?}"))
}

fn format(s: Option<&String>) -> Result<Option<u16>, String> {
    s.map(|f| values::parse_format(f).ok_or_else(|| format!("unknown format {f:?}")))
        .transpose()
}

fn value_at(p: Path, text: &str) -> Result<OwnedRecord, String> {
    let ty = types::type_of(&p).filter(|t| *t != DataType::None);
    Ok(OwnedRecord {
        path: p,
        value: OwnedValue::from_text(text, ty)?,
    })
}

/// `res=value` (relative to `base`) or `/abs/path=value` assignments.
fn assignments(base: &Path, items: &[String]) -> Result<Vec<OwnedRecord>, String> {
    items
        .iter()
        .map(|it| {
            let (k, v) = it
                .split_once('=')
                .ok_or_else(|| format!("expected <path>=<value>, got {it:?}"))?;
            let p = if k.starts_with('/') {
                path(k)?
            } else {
                path(k)?
                    .ids()
                    .iter()
                    .try_fold(*base, |acc, id| acc.child(*id))
                    .map_err(|_| format!("bad path {k:?}"))?
            };
            value_at(p, v)
        })
        .collect()
}

/// Takes `--format F` / `format=F` out of the words; the format if one was given.
fn take_format(t: &mut Vec<String>) -> Result<Option<u16>, String> {
    let mut found = None;
    let mut i = 0;
    while let Some(w) = t.get(i) {
        let value = if w == "--format" {
            let v = t.get(i + 1).cloned().ok_or("--format needs a value")?;
            t.drain(i..i + 2);
            v
        } else if let Some(v) = w.strip_prefix("format=").or(w.strip_prefix("--format=")) {
            let v = v.to_owned();
            t.remove(i);
            v
        } else {
            i += 1;
            continue;
        };
        if found.is_some() {
            return Err("format given twice".into());
        }
        found = format(Some(&value))?;
    }
    Ok(found)
}

/// Parses one console line.
pub fn parse_command(line: &str) -> Result<Command, String> {
    let mut t = tokenize(line);
    let fmt = take_format(&mut t)?;
    let positional = |i: usize| -> Result<Option<u16>, String> {
        match (fmt, format(t.get(i))?) {
            (Some(_), Some(_)) => Err("format given twice".into()),
            (a, b) => Ok(a.or(b)),
        }
    };
    let words: Vec<&str> = t.iter().map(String::as_str).collect();
    let ep = || t.get(1).cloned().ok_or("missing endpoint name");
    let p = |i: usize| -> Result<Path, String> {
        path(t.get(i).map(String::as_str).ok_or("missing path")?)
    };
    let rest = |i: usize| t.get(i..).unwrap_or(&[]);
    Ok(match words.first().copied() {
        None => Command::Nothing,
        Some("help" | "?") => Command::Help,
        Some("quit" | "exit") => Command::Quit,
        Some("list" | "ls") => Command::List,
        Some("show") => Command::Show(ep()?),
        Some("read") => Command::Read(ep()?, p(2)?, positional(3)?),
        Some(w @ ("write" | "update")) => {
            let target = p(2)?;
            let args = rest(3);
            let recs = match args {
                [] => return Err("missing value".into()),
                [v] if !v.contains('=') || target.len() >= 3 => vec![value_at(target, v)?],
                _ => assignments(&target, args)?,
            };
            Command::Write(ep()?, target, recs, w == "write", fmt)
        }
        Some("exec") => {
            let args = rest(3).join(" ");
            Command::Exec(ep()?, p(2)?, (!args.is_empty()).then_some(args))
        }
        Some("create") => {
            let target = p(2)?;
            let (obj, inst) = match target.ids() {
                [o] => (*o, None),
                [o, i] => (*o, Some(*i)),
                _ => return Err("create needs /O or /O/I".into()),
            };
            let recs = assignments(&Path::instance(obj, inst.unwrap_or(0)), rest(3))?;
            Command::Create(ep()?, obj, inst, recs, fmt)
        }
        Some("delete") => Command::Delete(ep()?, p(2)?),
        Some("discover") => Command::Discover(ep()?, if t.len() > 2 { p(2)? } else { Path::ROOT }),
        Some("observe") => Command::Observe(ep()?, p(2)?, positional(3)?),
        Some("cancel") => Command::Cancel(ep()?, p(2)?),
        Some("attr") => Command::Attr(ep()?, p(2)?, Attributes::parse_str(&rest(3).join(" "))?),
        Some(c @ ("cread" | "cobserve")) => {
            let paths = rest(2)
                .iter()
                .map(|s| path(s))
                .collect::<Result<Vec<_>, _>>()?;
            if c == "cread" {
                Command::CompositeRead(ep()?, paths, fmt)
            } else {
                Command::CompositeObserve(ep()?, paths, fmt)
            }
        }
        Some("ccancel") => Command::Cancel(ep()?, Path::ROOT),
        Some("cwrite") => Command::CompositeWrite(ep()?, assignments(&Path::ROOT, rest(2))?, fmt),
        Some("grants") => Command::Grants,
        Some("policy") => Command::Policy,
        Some("reload") => Command::Reload,
        Some("relays") => Command::Relays,
        Some(c @ ("revoke" | "unrelay")) => {
            let id = t
                .get(1)
                .and_then(|s| s.parse().ok())
                .ok_or("missing or bad ID")?;
            if c == "revoke" {
                Command::Revoke(id)
            } else {
                Command::Unrelay(id)
            }
        }
        Some("fota") => fota_command(ep()?, rest(2))?,
        Some("relay") => {
            let requester = t.get(3).cloned().ok_or("missing requester")?;
            Command::Relay(ep()?, p(2)?, requester, p(4)?)
        }
        Some(other) => return Err(format!("unknown command {other:?} (try help)")),
    })
}

/// `fota <ep> ...` after the endpoint.
fn fota_command(ep: String, args: &[String]) -> Result<Command, String> {
    match args {
        [w] if w == "update" => Ok(Command::FotaUpdate(ep)),
        [w] if w == "state" => Ok(Command::FotaState(ep)),
        [file, w, opts @ ..] if w == "pull" => {
            let (mut name, mut version, mut host) = (String::new(), String::new(), None);
            for o in opts {
                match o.split_once('=') {
                    Some(("name", v)) => name = v.into(),
                    Some(("version", v)) => version = v.into(),
                    Some(("host", v)) => host = Some(v.into()),
                    _ => return Err(format!("fota pull: unknown option {o:?}")),
                }
            }
            Ok(Command::FotaPull(ep, file.clone(), name, version, host))
        }
        [file, w, opts @ ..] if w == "push" => {
            let (mut name, mut version) = (String::new(), String::new());
            let mut block = crate::fota::DEFAULT_BLOCK_SIZE;
            for o in opts {
                match o.split_once('=') {
                    Some(("name", v)) => name = v.into(),
                    Some(("version", v)) => version = v.into(),
                    Some(("block", v)) => block = v.parse().map_err(|_| format!("block={v}"))?,
                    _ => return Err(format!("fota push: unknown option {o:?}")),
                }
            }
            Ok(Command::FotaPush(ep, file.clone(), name, version, block))
        }
        _ => Err("fota <ep> <file> push [name=N] [version=V] [block=B] | \
             <file> pull [name=N] [version=V] [host=H:P] | update | state"
            .into()),
    }
}

/// Runs a command and renders its result as one JSON text (or the help text).
pub fn run_command(h: &ServerHandle, cmd: &Command) -> String {
    let show = |r: Result<crate::dm::ops::Response, crate::ServerError>| -> Json {
        match r {
            Ok(resp) => resp.to_json(),
            Err(e) => json!({"error": e.to_string()}),
        }
    };
    let now = std::time::Instant::now();
    let j = match cmd {
        Command::Nothing | Command::Quit => return String::new(),
        Command::Help => return HELP.to_owned(),
        Command::List => Json::Array(h.clients().iter().map(|r| r.to_json(now)).collect()),
        Command::Show(ep) => match h.client(ep) {
            Some(r) => r.to_json(now),
            None => json!({"error": format!("no client registered as {ep:?}")}),
        },
        Command::Read(ep, p, f) => show(h.read(ep, p, *f)),
        Command::Write(ep, p, recs, replace, f) => show(h.write(ep, p, recs, *f, *replace)),
        Command::Exec(ep, p, args) => show(h.execute(ep, p, args.as_deref())),
        Command::Create(ep, o, i, recs, f) => show(h.create(ep, *o, *i, recs, *f)),
        Command::Delete(ep, p) => show(h.delete(ep, p)),
        Command::Discover(ep, p) => show(h.discover(ep, p)),
        Command::Observe(ep, p, f) => show(h.observe(ep, p, *f)),
        Command::Cancel(ep, p) => show(h.cancel_observe(ep, p)),
        Command::Attr(ep, p, a) => show(h.write_attributes(ep, p, a)),
        Command::CompositeRead(ep, paths, f) => show(h.read_composite(ep, paths, *f)),
        Command::CompositeWrite(ep, recs, f) => show(h.write_composite(ep, recs, *f)),
        Command::CompositeObserve(ep, paths, f) => show(h.observe_composite(ep, paths, *f)),
        Command::Grants => h.grants(),
        Command::Revoke(id) => h
            .revoke(*id)
            .unwrap_or_else(|e| json!({"error": e.to_string()})),
        Command::Policy => h.policy().to_json(),
        Command::Reload => match h.reload_policy() {
            Ok(n) => json!({"rules": n}),
            Err(e) => json!({"error": e.to_string()}),
        },
        Command::Relay(host, p, req, target) => match h.relay(host, p, req, target) {
            Ok(id) => json!({"relay": id}),
            Err(e) => json!({"error": e.to_string()}),
        },
        Command::FotaPush(ep, file, name, version, block) => {
            match std::fs::read(file).map_err(|e| format!("{file}: {e}")) {
                Ok(image) => show(
                    crate::fota::package(&image, name, version)
                        .and_then(|p| h.fota_push(ep, p, *block)),
                ),
                Err(e) => json!({ "error": e }),
            }
        }
        Command::FotaPull(ep, file, name, version, host) => {
            let pulled = std::fs::read(file)
                .map_err(|e| format!("{file}: {e}"))
                .and_then(|image| {
                    crate::fota::package(&image, name, version)
                        .and_then(|p| h.fota_pull(ep, p, host.as_deref()))
                        .map_err(|e| e.to_string())
                });
            match pulled {
                Ok((r, uri)) => {
                    let mut j = r.to_json();
                    j["uri"] = json!(uri);
                    j
                }
                Err(e) => json!({ "error": e }),
            }
        }
        Command::FotaUpdate(ep) => show(h.fota_update(ep)),
        Command::FotaState(ep) => h
            .fota_status(ep)
            .unwrap_or_else(|e| json!({"error": e.to_string()})),
        Command::Relays => Json::Array(h.relay_list().iter().map(|r| r.to_json()).collect()),
        Command::Unrelay(id) => match h.stop_relay(*id) {
            Ok(()) => json!({"stopped": id}),
            Err(e) => json!({"error": e.to_string()}),
        },
    };
    j.to_string()
}

/// Reads commands from `input` until `quit` or end of input, printing results to `out`.
pub fn repl(h: &ServerHandle, input: impl BufRead, out: &mut impl Write) -> std::io::Result<()> {
    for line in input.lines() {
        let line = line?;
        match parse_command(&line) {
            Ok(Command::Quit) => break,
            Ok(cmd) => {
                let text = run_command(h, &cmd);
                if !text.is_empty() {
                    writeln!(out, "{text}")?;
                }
            }
            Err(e) => writeln!(out, "error: {e}")?,
        }
        out.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer_groups_quotes() {
        assert_eq!(
            tokenize(r#"write a /3/0/14 "+01 x""#),
            vec!["write", "a", "/3/0/14", "+01 x"]
        );
        assert_eq!(tokenize("  list  "), vec!["list"]);
        assert_eq!(tokenize(r#"x """#), vec!["x", ""]);
    }

    #[test]
    fn parses_fota_commands() {
        assert_eq!(
            parse_command("fota n fw.bin push name=app version=1.2 block=256"),
            Ok(Command::FotaPush(
                "n".into(),
                "fw.bin".into(),
                "app".into(),
                "1.2".into(),
                256
            ))
        );
        assert_eq!(
            parse_command("fota n fw.bin push"),
            Ok(Command::FotaPush(
                "n".into(),
                "fw.bin".into(),
                String::new(),
                String::new(),
                crate::fota::DEFAULT_BLOCK_SIZE
            ))
        );
        assert_eq!(
            parse_command("fota n update"),
            Ok(Command::FotaUpdate("n".into()))
        );
        assert_eq!(
            parse_command("fota n state"),
            Ok(Command::FotaState("n".into()))
        );
        assert_eq!(
            parse_command("fota n fw.bin pull name=a version=2 host=127.0.0.1:9"),
            Ok(Command::FotaPull(
                "n".into(),
                "fw.bin".into(),
                "a".into(),
                "2".into(),
                Some("127.0.0.1:9".into())
            ))
        );
        for bad in [
            "fota n fw.bin pull block=512",
            "fota n fw.bin push size=1",
            "fota n",
            "fota",
        ] {
            assert!(parse_command(bad).is_err(), "{bad}");
        }
        assert!(crate::fota::block_szx(1000).is_err());
        assert_eq!(crate::fota::block_szx(1024).unwrap(), 6);
    }

    #[test]
    fn parses_commands() {
        assert_eq!(parse_command(""), Ok(Command::Nothing));
        assert_eq!(
            parse_command("read n /3/0/1 tlv"),
            Ok(Command::Read(
                "n".into(),
                Path::resource(3, 0, 1),
                Some(11542)
            ))
        );
        assert_eq!(
            parse_command("write n /3/0/14 +02"),
            Ok(Command::Write(
                "n".into(),
                Path::resource(3, 0, 14),
                vec![OwnedRecord {
                    path: Path::resource(3, 0, 14),
                    value: OwnedValue::String("+02".into())
                }],
                true,
                None
            ))
        );
        match parse_command("update n /1/0 1=60 7=U").unwrap() {
            Command::Write(_, p, recs, false, None) => {
                assert_eq!(p, Path::instance(1, 0));
                assert_eq!(recs[0].value, OwnedValue::Integer(60));
                assert_eq!(recs[1].path, Path::resource(1, 0, 7));
            }
            c => panic!("{c:?}"),
        }
        match parse_command("create n /3303/2 5700=21.5").unwrap() {
            Command::Create(_, 3303, Some(2), recs, None) => {
                assert_eq!(recs[0].path, Path::resource(3303, 2, 5700));
                assert_eq!(recs[0].value, OwnedValue::Float(21.5));
            }
            c => panic!("{c:?}"),
        }
        assert_eq!(
            parse_command("exec n /3/0/4 a b"),
            Ok(Command::Exec(
                "n".into(),
                Path::resource(3, 0, 4),
                Some("a b".into())
            ))
        );
        assert_eq!(
            parse_command("discover n"),
            Ok(Command::Discover("n".into(), Path::ROOT))
        );
        match parse_command("attr n /3/0/9 pmin=1 pmax=5").unwrap() {
            Command::Attr(_, _, a) => assert_eq!((a.pmin, a.pmax), (Some(1), Some(5))),
            c => panic!("{c:?}"),
        }
        assert!(parse_command("read n").is_err());
        assert!(parse_command("write n /3/0/9 abc").is_err());
        assert!(parse_command("bogus").is_err());
        assert_eq!(parse_command("revoke 3"), Ok(Command::Revoke(3)));
        assert!(parse_command("revoke x").is_err());
        assert_eq!(
            parse_command("relay h /3303/0/5700 r /3311/0/5851"),
            Ok(Command::Relay(
                "h".into(),
                Path::resource(3303, 0, 5700),
                "r".into(),
                Path::resource(3311, 0, 5851)
            ))
        );
        assert_eq!(parse_command("unrelay 2"), Ok(Command::Unrelay(2)));
        assert!(parse_command("create n /3/0/1 x=1").is_err());
    }

    #[test]
    fn format_options_on_payload_commands() {
        let w = parse_command("write n /3/0/14 +02 --format tlv").unwrap();
        assert!(
            matches!(w, Command::Write(_, _, _, true, Some(11542))),
            "{w:?}"
        );
        let u = parse_command("update n /3/0 format=senml-json 14=+02").unwrap();
        assert!(
            matches!(u, Command::Write(_, _, _, false, Some(110))),
            "{u:?}"
        );
        let c = parse_command("create n /3303/4 --format=senml-cbor").unwrap();
        assert!(matches!(c, Command::Create(_, 3303, Some(4), ref r, Some(112)) if r.is_empty()));
        assert_eq!(
            parse_command("read n /3/0 --format tlv"),
            parse_command("read n /3/0 tlv")
        );
        assert!(matches!(
            parse_command("observe n /3/0/9 format=text").unwrap(),
            Command::Observe(_, _, Some(0))
        ));
        assert!(matches!(
            parse_command("cread n /3/0/0 --format senml-json").unwrap(),
            Command::CompositeRead(_, ref p, Some(110)) if p.len() == 1
        ));
        assert!(matches!(
            parse_command("cwrite n /3/0/14=+02 format=110").unwrap(),
            Command::CompositeWrite(_, _, Some(110))
        ));
        assert!(matches!(
            parse_command("cobserve n /3/0/0 /3303/0/5700 format=lwm2m-cbor").unwrap(),
            Command::CompositeObserve(_, ref p, Some(11544)) if p.len() == 2
        ));
        assert_eq!(
            parse_command("ccancel n").unwrap(),
            Command::Cancel("n".into(), Path::ROOT)
        );
        assert!(parse_command("read n /3/0 tlv --format tlv").is_err());
        assert!(parse_command("read n /3/0 --format").is_err());
        assert!(parse_command("read n /3/0 --format nope").is_err());
        assert!(parse_command("write n /3/0/14 x format=tlv format=tlv").is_err());
    }
}
