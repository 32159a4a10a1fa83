#![no_main]
//! Fuzz target: one CoAP request fed to an engine with several objects, first from an
//! unauthenticated peer (which must get an error and change nothing), then from a DM server
//! and the bootstrap server. Every response must be a well-formed CoAP response with the
//! request's token; polling afterwards must produce well-formed messages.
//!
//! Input: byte 0 picks the setup (second server, response buffer size), the rest is the
//! datagram.
use libfuzzer_sys::fuzz_target;
use lwm2m::coap::{code, Message, MessageBuilder, MessageType};
use lwm2m::dm::Object;
use lwm2m::engine::{Engine, Identity, Peer, ServerConfig};
use lwm2m::objects::{device::Device, light_control::LightControl, temperature::Temperature};

fn respond(e: &mut Engine<'_>, peer: Identity, m: &Message<'_>, size: usize) -> u8 {
    let mut buf = [0u8; 1024];
    let buf = &mut buf[..size];
    let Ok(mut b) = MessageBuilder::new(buf, MessageType::Ack, 0, m.message_id, m.token) else {
        return 0;
    };
    let p = Peer {
        identity: peer,
        endpoint: 7,
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

fuzz_target!(|data: &[u8]| {
    let Some((&setup, msg)) = data.split_first() else {
        return;
    };
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
});
