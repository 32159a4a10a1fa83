//! NSTART = 1 per client (RFC 7252 4.7): a second confirmable request to a client waits until
//! the first is answered or acknowledged; the queue per client is bounded.

mod common;

use std::collections::BTreeSet;
use std::thread;
use std::time::Duration;

use common::*;
use lwm2m::coap::{code, content_format as cf, option, MessageType};
use lwm2m::Path;
use lwm2m_server::layer::TransmissionParams;
use lwm2m_server::{ServerError, ServerHandle};

fn read(h: &ServerHandle, instance: u16) -> thread::JoinHandle<Result<u8, ServerError>> {
    let h = h.clone();
    thread::spawn(move || {
        h.read("dev", &Path::resource(3, 0, instance), Some(cf::TEXT))
            .map(|r| r.code)
    })
}

/// Tokens of the distinct requests the client receives within `within`.
fn tokens_within(c: &mut FakeClient, within: Duration) -> BTreeSet<Vec<u8>> {
    let mut seen = BTreeSet::new();
    while let Some(m) = c.recv_where_for(within, |m| code::is_request(m.code)) {
        seen.insert(m.token);
    }
    seen
}

#[test]
fn a_second_request_waits_for_the_first() {
    let server = start(|_| {});
    let mut c = FakeClient::new(server.coap_addr());
    c.register("dev", 300, "</3/0>");
    let first = read(&server, 1);
    let r1 = c.recv_request();
    let second = read(&server, 2);
    // The first is neither answered nor acknowledged: only its retransmissions arrive.
    let before = tokens_within(&mut c, Duration::from_millis(800));
    assert_eq!(before, BTreeSet::from([r1.token.clone()]));
    // Acknowledged (empty ACK, a separate response follows): no longer outstanding.
    c.send(&encode(
        MessageType::Ack,
        code::EMPTY,
        r1.mid,
        &[],
        &[],
        &[],
    ));
    let r2 = c.recv_request();
    assert_ne!(r2.token, r1.token);
    assert_eq!(r2.uri_path(), ["3", "0", "2"]);
    c.respond(
        &r2,
        code::CONTENT,
        &[(option::CONTENT_FORMAT, uint(0))],
        b"b",
    );
    assert_eq!(second.join().unwrap(), Ok(code::CONTENT));
    // The separate response of the first.
    c.send(&encode(
        MessageType::Non,
        code::CONTENT,
        0x7001,
        &r1.token,
        &[(option::CONTENT_FORMAT, uint(0))],
        b"a",
    ));
    assert_eq!(first.join().unwrap(), Ok(code::CONTENT));
    server.shutdown();
}

#[test]
fn the_queue_per_client_is_bounded_and_released_in_order() {
    let server = start(|cfg| {
        cfg.transmission = TransmissionParams {
            ack_timeout: Duration::from_millis(300),
            nstart_queue: 2,
            ..Default::default()
        };
    });
    let mut c = FakeClient::new(server.coap_addr());
    c.register("dev", 300, "</3/0>");
    let first = read(&server, 1);
    let r1 = c.recv_request();
    let queued: Vec<_> = [2, 3]
        .into_iter()
        .map(|i| {
            let t = read(&server, i);
            // Let each call reach the loop before the next (they queue in this order).
            thread::sleep(Duration::from_millis(100));
            t
        })
        .collect();
    // The queue holds 2: a third waiting request is refused at once.
    assert_eq!(
        read(&server, 4).join().unwrap(),
        Err(ServerError::QueueFull(2))
    );
    c.respond(
        &r1,
        code::CONTENT,
        &[(option::CONTENT_FORMAT, uint(0))],
        b"a",
    );
    assert_eq!(first.join().unwrap(), Ok(code::CONTENT));
    for (i, t) in [2, 3].into_iter().zip(queued) {
        let r = c.recv_request();
        assert_eq!(r.uri_path(), ["3", "0", &i.to_string()]);
        c.respond(
            &r,
            code::CONTENT,
            &[(option::CONTENT_FORMAT, uint(0))],
            b"x",
        );
        assert_eq!(t.join().unwrap(), Ok(code::CONTENT));
    }
    server.shutdown();
}
