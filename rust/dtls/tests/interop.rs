//! Our endpoints against independent DTLS stacks on loopback: OpenSSL (`s_client`, `s_server`)
//! and libcoap (`coap-client-openssl`, `coap-server-openssl`). Each test skips with a message
//! when its peer program is missing (tests/install-deps.sh installs them) and gives up after
//! [`DEADLINE`].

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::*;
use lwm2m_dtls::{Config, Event};

/// ASCII, because libcoap's `-k` takes the key as text; OpenSSL gets its hex.
const KEY: &[u8] = b"c2c-secret-16byt";
const TICK: Duration = Duration::from_millis(20);

fn skip(program: &str) -> bool {
    if have(program) {
        return false;
    }
    eprintln!("SKIPPED: {program} not installed (run tests/install-deps.sh)");
    true
}

#[test]
fn our_server_with_openssl_s_client() {
    if skip("openssl") {
        return;
    }
    let mut srv = UdpEndpoint::bind(server(
        ServerStore::with(b"ossl-client", KEY),
        Config::default(),
    ));
    let port = srv.local().port().to_string();
    let mut peer = Peer::spawn(
        "openssl",
        &[
            "s_client",
            "-dtls1_2",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-psk",
            &hex(KEY),
            "-psk_identity",
            "ossl-client",
            "-cipher",
            "PSK-AES128-CCM8",
        ],
    )
    .expect("spawn openssl s_client");
    let (mut identity, mut received, mut lines) = (None, Vec::new(), Vec::new());
    let start = Instant::now();
    while start.elapsed() < DEADLINE {
        for event in srv.step(TICK) {
            match event {
                Event::Connected {
                    peer: p,
                    identity: id,
                } => {
                    identity = Some((p, id));
                    let stdin = peer.stdin.as_mut().expect("stdin");
                    stdin.write_all(b"hello-from-openssl\n").expect("write");
                    stdin.flush().expect("flush");
                }
                Event::Data { peer: p, plaintext } => {
                    received.extend_from_slice(&plaintext);
                    let mut reply = b"echo:".to_vec();
                    reply.extend_from_slice(&plaintext);
                    srv.ep.send(p, &reply).expect("send echo");
                    srv.flush();
                }
                _ => {}
            }
        }
        peer.drain(&mut lines);
        if lines.iter().any(|l| l.contains("echo:hello-from-openssl")) {
            break;
        }
    }
    let (client_addr, id) =
        identity.unwrap_or_else(|| panic!("no handshake; s_client said {lines:#?}"));
    assert_eq!(id, b"ossl-client");
    assert_eq!(
        srv.ep.session_identity(client_addr),
        Some(&b"ossl-client"[..])
    );
    assert_eq!(received, b"hello-from-openssl\n");
    assert!(
        lines.iter().any(|l| l.contains("echo:hello-from-openssl")),
        "s_client did not print the echo: {lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("PSK-AES128-CCM8")),
        "cipher not reported: {lines:#?}"
    );
}

#[test]
fn our_server_with_libcoap_client() {
    if skip("coap-client-openssl") {
        return;
    }
    let mut srv = UdpEndpoint::bind(server(
        ServerStore::with(b"coap-client", KEY),
        Config::default(),
    ));
    let uri = format!("coaps://127.0.0.1:{}/3/0/0", srv.local().port());
    let key = std::str::from_utf8(KEY).expect("ascii key");
    let peer = Peer::spawn(
        "coap-client-openssl",
        &[
            "-m",
            "get",
            "-k",
            key,
            "-u",
            "coap-client",
            "-B",
            "15",
            &uri,
        ],
    )
    .expect("spawn coap-client-openssl");
    let (mut identity, mut requests, mut lines) = (None, 0, Vec::new());
    let start = Instant::now();
    while start.elapsed() < DEADLINE {
        for event in srv.step(TICK) {
            match event {
                Event::Connected { identity: id, .. } => identity = Some(id),
                Event::Data { peer: p, plaintext } => {
                    if let Some(response) = coap_ok_response(&plaintext) {
                        requests += 1;
                        srv.ep.send(p, &response).expect("send response");
                        srv.flush();
                    }
                }
                _ => {}
            }
        }
        peer.drain(&mut lines);
        if lines.iter().any(|l| l.trim() == "ok") {
            break;
        }
    }
    assert_eq!(
        identity.as_deref(),
        Some(&b"coap-client"[..]),
        "lines: {lines:#?}"
    );
    assert_eq!(requests, 1);
    assert!(
        lines.iter().any(|l| l.trim() == "ok"),
        "coap-client printed {lines:#?}"
    );
}

#[test]
fn our_client_with_openssl_s_server() {
    if skip("openssl") {
        return;
    }
    let port = free_port_pair();
    let mut peer = Peer::spawn(
        "openssl",
        &[
            "s_server",
            "-dtls1_2",
            "-accept",
            &format!("127.0.0.1:{port}"),
            "-psk",
            &hex(KEY),
            "-nocert",
            "-cipher",
            "PSK-AES128-CCM8",
        ],
    )
    .expect("spawn openssl s_server");
    let mut lines = Vec::new();
    let start = Instant::now();
    while start.elapsed() < DEADLINE && !lines.iter().any(|l: &String| l.contains("ACCEPT")) {
        std::thread::sleep(TICK);
        peer.drain(&mut lines);
    }
    let server_addr = addr(&format!("127.0.0.1:{port}"));
    let mut cl = UdpEndpoint::bind(client(b"rust-client", KEY));
    cl.ep.connect(server_addr).expect("connect");
    cl.flush();
    let (mut connected, mut sent_pong, mut received) = (false, false, Vec::new());
    while start.elapsed() < DEADLINE {
        for event in cl.step(TICK) {
            match event {
                Event::Connected { peer: p, identity } => {
                    assert_eq!((p, identity.as_slice()), (server_addr, &b"rust-client"[..]));
                    connected = true;
                    cl.ep.send(p, b"ping-from-rust\n").expect("send");
                    cl.flush();
                }
                Event::Data { plaintext, .. } => received.extend_from_slice(&plaintext),
                _ => {}
            }
        }
        peer.drain(&mut lines);
        if !sent_pong && lines.iter().any(|l| l.contains("ping-from-rust")) {
            let stdin = peer.stdin.as_mut().expect("stdin");
            stdin.write_all(b"pong-from-openssl\n").expect("write");
            stdin.flush().expect("flush");
            sent_pong = true;
        }
        if received.ends_with(b"pong-from-openssl\n") {
            break;
        }
    }
    assert!(connected, "no handshake; s_server said {lines:#?}");
    assert!(sent_pong, "s_server did not print our data: {lines:#?}");
    assert_eq!(received, b"pong-from-openssl\n");
}

#[test]
fn our_client_with_libcoap_server() {
    if skip("coap-server-openssl") {
        return;
    }
    let port = free_port_pair();
    let key = std::str::from_utf8(KEY).expect("ascii key");
    let _peer = Peer::spawn(
        "coap-server-openssl",
        &["-A", "127.0.0.1", "-p", &port.to_string(), "-k", key],
    )
    .expect("spawn coap-server-openssl");
    // libcoap listens for DTLS on port + 1.
    let server_addr = addr(&format!("127.0.0.1:{}", port + 1));
    let mut cl = UdpEndpoint::bind(client(b"rust-client", KEY));
    // Give the server a moment; tinydtls retransmits the ClientHello anyway.
    std::thread::sleep(Duration::from_millis(200));
    cl.ep.connect(server_addr).expect("connect");
    cl.flush();
    // CoAP GET / (CON, message ID 0x1234, token 0xAB): libcoap's index resource.
    let request = [0x41, 0x01, 0x12, 0x34, 0xAB];
    let (mut connected, mut response) = (false, None);
    let start = Instant::now();
    while start.elapsed() < DEADLINE && response.is_none() {
        for event in cl.step(TICK) {
            match event {
                Event::Connected { peer: p, .. } => {
                    connected = true;
                    cl.ep.send(p, &request).expect("send");
                    cl.flush();
                }
                Event::Data { plaintext, .. } => response = Some(plaintext),
                _ => {}
            }
        }
    }
    assert!(connected, "no handshake with coap-server-openssl");
    let response = response.expect("CoAP response");
    // ACK, token length 1, 2.05 Content, same message ID and token.
    assert_eq!(&response[..5], &[0x61, 0x45, 0x12, 0x34, 0xAB]);
}

#[test]
fn openssl_s_client_with_wrong_key_gets_nothing_through() {
    if skip("openssl") {
        return;
    }
    let mut srv = UdpEndpoint::bind(server(
        ServerStore::with(b"ossl-client", KEY),
        Config::default(),
    ));
    let port = srv.local().port().to_string();
    let mut peer = Peer::spawn(
        "openssl",
        &[
            "s_client",
            "-dtls1_2",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-psk",
            &hex(b"not-the-right-k!"),
            "-psk_identity",
            "ossl-client",
            "-cipher",
            "PSK-AES128-CCM8",
        ],
    )
    .expect("spawn openssl s_client");
    if let Some(stdin) = peer.stdin.as_mut() {
        let _ = stdin.write_all(b"sneak-in\n");
    }
    let (mut events, mut lines) = (Vec::new(), Vec::new());
    let start = Instant::now();
    // Long enough for the full handshake and a retransmission of the client's last flight.
    while start.elapsed() < Duration::from_secs(3) {
        events.extend(srv.step(TICK));
        peer.drain(&mut lines);
    }
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::Connected { .. } | Event::Data { .. })),
        "events: {events:?}"
    );
    assert_eq!(srv.ep.session_count(), 0);
    assert!(srv.ep.sessions().next().is_none());
    assert_eq!(srv.ep.stats().hello_verify_requests, 1, "lines: {lines:#?}");
}
