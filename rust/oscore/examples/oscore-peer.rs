//! A tiny OSCORE peer on a UDP socket for the interoperability tests (tests/interop/test_oscore.py).
//!
//! ```text
//! oscore-peer server --bind ADDR CONTEXT [--resume] [--value TEXT] [--count N]
//! oscore-peer client --peer ADDR CONTEXT --path a/b/c [--requests N]
//! CONTEXT: --secret HEX --salt HEX --sender HEX --recipient HEX [--id-context HEX]
//!          [--seqno-file PATH]
//! ```
//!
//! The server answers GET on `--path`-less `/3303/0/5700` with `--value` (text/plain) and 4.04
//! elsewhere. With `--seqno-file` the sequence-number limit is persisted in that file and, if the
//! file exists at start, the context resumes from it (appendix B.1: reboot recovery).
use std::net::UdpSocket;
use std::time::Duration;

use lwm2m::coap::{code, content_format, option, Message, MessageBuilder, MessageType};
use lwm2m_oscore::*;

struct FileStore(Option<String>, MemoryStore);

impl SeqnoStore for FileStore {
    fn store(&mut self, limit: u64) -> Result<(), StoreError> {
        if let Some(p) = &self.0 {
            std::fs::write(p, limit.to_string()).map_err(|_| StoreError)?;
        }
        self.1.store(limit)
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

fn arg<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn context(args: &[String]) -> (SecurityContext, FileStore) {
    let need = |n| hex(arg(args, n).unwrap_or(""));
    let idc = arg(args, "--id-context").map(hex);
    let mut ctx = SecurityContext::derive(
        &need("--secret"),
        &need("--salt"),
        &need("--sender"),
        &need("--recipient"),
        idc.as_deref(),
    )
    .expect("context");
    let file = arg(args, "--seqno-file").map(String::from);
    let stored = file
        .as_ref()
        .and_then(|f| std::fs::read_to_string(f).ok())
        .and_then(|s| s.trim().parse().ok());
    if let Some(limit) = stored {
        ctx.resume(limit);
        println!("resumed at {limit}");
    } else if args.iter().any(|a| a == "--resume") {
        ctx.resume(0);
        println!("resumed at 0");
    }
    (ctx, FileStore(file, MemoryStore::default()))
}

fn server(args: &[String]) {
    let (mut ctx, mut store) = context(args);
    let sock = UdpSocket::bind(arg(args, "--bind").expect("--bind")).expect("bind");
    let value = arg(args, "--value").unwrap_or("21.5").as_bytes().to_vec();
    let mut count: u32 = arg(args, "--count").map_or(u32::MAX, |c| c.parse().expect("count"));
    println!("listening on {}", sock.local_addr().expect("addr"));
    let mut buf = [0u8; 1280];
    let mut plain = [0u8; 1280];
    let mut out = [0u8; 1280];
    while count > 0 {
        let (n, from) = sock.recv_from(&mut buf).expect("recv");
        let wire = buf[..n].to_vec();
        let reply = match unprotect_request(&mut ctx, &mut buf[..n], &mut plain) {
            Ok((pn, mut id)) => {
                let m = Message::parse(&plain[..pn]).expect("plain");
                let path: Vec<_> = m
                    .uri_path()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect();
                let path = path.join("/");
                println!(
                    "request kid={:02x?} seqno={} path=/{path} echo={}",
                    id.kid(),
                    id.sequence_number(),
                    m.option(option::ECHO).is_some()
                );
                let mut rb = [0u8; 256];
                let (mt, mid) = match m.mtype {
                    MessageType::Con => (MessageType::Ack, m.message_id),
                    _ => (MessageType::Non, m.message_id),
                };
                let mut b =
                    MessageBuilder::new(&mut rb, mt, code::CONTENT, mid, m.token).expect("builder");
                if m.code == code::GET && path == "3303/0/5700" {
                    b.option_uint(option::CONTENT_FORMAT, content_format::TEXT.into())
                        .expect("cf");
                    b.payload(&value).expect("payload");
                } else {
                    b.set_code(code::NOT_FOUND);
                }
                let rn = b.finish();
                count -= 1;
                protect_response(&mut ctx, &mut store, &mut id, &rb[..rn], &mut out)
            }
            Err(Error::EchoRequired(mut id)) => {
                println!("echo challenge kid={:02x?}", id.kid());
                echo_response(&mut ctx, &mut store, &mut id, &wire, &mut out)
            }
            Err(e) => {
                println!("rejected: {e:?}");
                continue;
            }
        };
        match reply {
            Ok(len) => {
                sock.send_to(&out[..len], from).expect("send");
            }
            Err(e) => println!("cannot answer: {e:?}"),
        }
    }
}

fn client(args: &[String]) {
    let (mut ctx, mut store) = context(args);
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    sock.connect(arg(args, "--peer").expect("--peer"))
        .expect("connect");
    sock.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let path = arg(args, "--path").unwrap_or("3303/0/5700");
    let requests: u16 = arg(args, "--requests").map_or(1, |c| c.parse().expect("requests"));
    let mut mid = 0x1000u16;
    for i in 0..requests {
        let mut echo: Option<Vec<u8>> = None;
        loop {
            mid += 1;
            let token = mid.to_be_bytes();
            let mut rb = [0u8; 256];
            let mut b = MessageBuilder::new(&mut rb, MessageType::Con, code::GET, mid, &token)
                .expect("builder");
            for seg in path.split('/') {
                b.option(option::URI_PATH, seg.as_bytes()).expect("path");
            }
            let rn = b.finish();
            let mut out = [0u8; 1280];
            let (n, id) = protect_request_with_echo(
                &mut ctx,
                &mut store,
                &rb[..rn],
                echo.as_deref(),
                &mut out,
            )
            .expect("protect");
            sock.send(&out[..n]).expect("send");
            let mut buf = [0u8; 1280];
            let n = sock.recv(&mut buf).expect("no response");
            let mut plain = [0u8; 1280];
            let pn = match unprotect_response(&mut ctx, &id, &mut buf[..n], &mut plain) {
                Ok(pn) => pn,
                Err(e) => {
                    // E.g. the peer's unprotected 4.01 when it cannot verify the request.
                    let code = Message::parse(&buf[..n]).map_or(0, |m| m.code);
                    println!(
                        "response rejected: {e:?} (outer code {}.{:02})",
                        code >> 5,
                        code & 0x1f
                    );
                    std::process::exit(1);
                }
            };
            let m = Message::parse(&plain[..pn]).expect("plain");
            assert_eq!(m.token, token, "token");
            if let (None, Some(e)) = (&echo, echo_challenge(&plain[..pn])) {
                println!("echo challenge received ({} bytes), retrying", e.len());
                echo = Some(e.to_vec());
                continue;
            }
            println!(
                "response {i}: code={}.{:02} payload={}",
                m.code >> 5,
                m.code & 0x1f,
                String::from_utf8_lossy(m.payload)
            );
            break;
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("server") => server(&args),
        Some("client") => client(&args),
        _ => {
            eprintln!("usage: oscore-peer server|client ...");
            std::process::exit(2)
        }
    }
}
