//! Fuzz target: one CoAP request fed to an engine with several objects, first from an
//! unauthenticated peer (which must get an error and change nothing), then from a DM server
//! and the bootstrap server. Every response must be a well-formed CoAP response with the
//! request's token; polling afterwards must produce well-formed messages.
//!
//! The requesting side of the C2C extension runs on every input too (see [`requesting`]):
//! the rest of the input is checked as an owner server hint by a registered engine
//! (`hint_server`), and cut into answers (code, payload) to the engine's `POST /ac` tries, or
//! driver timeouts, until the request ends or the input does.
//!
//! Input: byte 0 picks the setup (second server, response buffer size), the rest is the
//! datagram.
use lwm2m::c2c::access_request::Grant;
use lwm2m::coap::{code, option, Message, MessageBuilder, MessageType};
use lwm2m::dm::Object;
use lwm2m::engine::{AccessOutcome, Engine, Identity, Peer, ServerConfig, ACCESS_TRIES};
use lwm2m::objects::{device::Device, light_control::LightControl, temperature::Temperature};
use lwm2m::Path;

fn respond(e: &mut Engine<'_>, peer: Identity, m: &Message<'_>, size: usize) -> u8 {
    let mut buf = [0u8; 1024];
    let buf = &mut buf[..size];
    let Ok(mut b) = MessageBuilder::new(buf, MessageType::Ack, 0, m.message_id, m.token) else {
        return 0;
    };
    let p = Peer {
        identity: peer,
        endpoint: 7,
        source: 7,
    };
    e.handle_request(&p, m, 1000, &mut b);
    let n = b.finish();
    let r = Message::parse(&buf[..n]).expect("response parses");
    assert!(code::is_response(r.code), "code {:#x}", r.code);
    assert_eq!(r.token, m.token);
    r.code
}

/// A few values that an unauthenticated request must not change.
fn snapshot(e: &Engine<'_>) -> (usize, usize, Option<u16>, u32) {
    let lights = {
        let o = e.object(3311).expect("3311");
        let mut n = 0;
        let mut cur = None;
        while let Some(i) = o.next_instance(cur) {
            cur = Some(i);
            n += 1;
        }
        n
    };
    (
        lights,
        e.observation_count(),
        e.object(3311).and_then(|o| o.next_instance(None)),
        e.servers().by_ssid(1).map_or(0, |s| s.lifetime),
    )
}

/// Sends `code` + `payload` as the piggy-backed answer to the request `req` (ACK, same MID and
/// token, Location-Path `/rd/1` on 2.01).
fn answer(e: &mut Engine<'_>, req: &[u8], c: u8, payload: &[u8], now: u64) {
    let r = Message::parse(req).expect("engine request parses");
    let mut buf = [0u8; 600];
    let mut b = MessageBuilder::new(&mut buf, MessageType::Ack, c, r.message_id, r.token)
        .expect("answer header");
    if c == code::CREATED {
        let _ = b.option(option::LOCATION_PATH, b"rd");
        let _ = b.option(option::LOCATION_PATH, b"1");
    }
    if !payload.is_empty() {
        let _ = b.payload(payload);
    }
    let n = b.finish();
    let m = Message::parse(&buf[..n]).expect("answer parses");
    e.handle_response(&m, now);
}

/// The requesting side: hint check and an access request answered from `input`.
fn requesting(setup: u8, input: &[u8]) {
    let mut device = Device::new("fuzz", "m", "s");
    let mut objs: [&mut dyn Object; 1] = [&mut device];
    let mut e = Engine::new("req", &mut objs, u64::from(setup) + 7).expect("engine");
    e.add_server(&ServerConfig {
        ssid: 1,
        uri: "coap://[::1]:5683",
        lifetime: 60,
        mode: 3,
        identity: b"",
        secret_key: b"",
    })
    .expect("server");
    e.start(0);
    let mut out = [0u8; 512];
    let o = e.poll(0, &mut out).expect("register");
    let reg = out[..o.len].to_vec();
    answer(&mut e, &reg, code::CREATED, &[], 0);
    // Arbitrary bytes as an owner server hint: only server 1's own URI may be trusted.
    if let Ok(ssid) = e.hint_server(input) {
        assert_eq!(ssid, 1);
    }
    let grant = Grant {
        path: Path::instance(3311, u16::from(setup >> 4)),
        rights: 1 | (setup & 0x1e),
    };
    if e.request_access(1, "host-1", &[grant], setup & 1 == 1, 0)
        .is_err()
    {
        return;
    }
    let mut now = 0u64;
    let mut rest = input;
    let mut sent = 0u8;
    for _ in 0..16 {
        now += 1_000;
        let mut ac = None;
        while let Some(o) = e.poll(now, &mut out) {
            let m = Message::parse(&out[..o.len]).expect("outgoing parses");
            assert!(code::is_request(m.code) || code::is_response(m.code));
            if m.option(option::URI_PATH) == Some(b"ac".as_slice()) {
                ac = Some(out[..o.len].to_vec());
            }
        }
        if let Some(req) = ac {
            sent += 1;
            assert!(sent <= ACCESS_TRIES, "more tries than ACCESS_TRIES");
            // One answer per try: [code, len, payload...]; 0 or no input left = timeout.
            let (c, len, tail) = match rest {
                [c, len, tail @ ..] => (*c, usize::from(*len), tail),
                _ => (0, 0, &[][..]),
            };
            let (payload, next) = tail.split_at(len.min(tail.len()));
            rest = next;
            if c == 0 {
                let token = Message::parse(&req)
                    .map(|m| m.token.to_vec())
                    .unwrap_or_default();
                e.request_failed(lwm2m::engine::Destination::Server(1), &token, now);
            } else {
                answer(&mut e, &req, c, payload, now);
            }
        }
        if let Some(r) = e.take_access_result() {
            if r.outcome == AccessOutcome::Timeout {
                assert_eq!(
                    sent, ACCESS_TRIES,
                    "a timeout is final only after every try"
                );
            }
            return;
        }
        now = now.max(e.next_wakeup().unwrap_or(now));
    }
}

/// Runs the target on one input; panics when an oracle fails.
pub fn run(data: &[u8]) {
    let Some((&setup, msg)) = data.split_first() else {
        return;
    };
    requesting(setup, msg);
    let Ok(m) = Message::parse(msg) else {
        return;
    };
    let mut block1 = [0u8; 128];
    let mut device = Device::new("fuzz", "m", "s");
    let mut temp = Temperature::<2>::new(20.0, (-40.0, 85.0));
    let mut light = LightControl::<3>::new();
    let mut objs: [&mut dyn Object; 3] = [&mut device, &mut temp, &mut light];
    let mut e = Engine::new("fuzz", &mut objs, u64::from(setup) + 1).expect("engine");
    let servers: &[u16] = if setup & 1 == 0 { &[1] } else { &[1, 2] };
    for &ssid in servers {
        e.add_server(&ServerConfig {
            ssid,
            uri: "coap://[::1]:5683",
            lifetime: 60,
            mode: 3,
            identity: b"",
            secret_key: b"",
        })
        .expect("server");
    }
    e.add_bootstrap_server("coap://[::1]:5783", 3, b"", b"")
        .expect("bootstrap");
    e.set_block1_buffer(&mut block1);
    e.start(0);
    let size = [24usize, 64, 256, 1024][usize::from(setup >> 1) & 3];

    let before = snapshot(&e);
    let c = respond(&mut e, Identity::Unauthenticated, &m, size);
    if c != 0 {
        assert!(c >= code::BAD_REQUEST, "unauthenticated got {c:#x}");
    }
    assert_eq!(before, snapshot(&e));
    respond(&mut e, Identity::Server(1), &m, size);
    respond(&mut e, Identity::Bootstrap, &m, size);

    let mut out = [0u8; 512];
    for now in [1000u64, 60_000, 3_600_000] {
        for _ in 0..8 {
            let Some(o) = e.poll(now, &mut out) else {
                break;
            };
            let r = Message::parse(&out[..o.len]).expect("outgoing parses");
            assert!(code::is_request(r.code) || code::is_response(r.code));
        }
    }
}
