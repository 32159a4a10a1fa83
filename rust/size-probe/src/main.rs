//! A bare-metal program that uses the engine as firmware would (requests in, responses and
//! registration out), so that the linker keeps exactly the engine code a device carries.
//! `make size` reads the sections of the resulting ELF. Inputs come through `black_box`, so
//! nothing is optimised away on the assumption of known data.
#![no_std]
#![no_main]

use core::hint::black_box;
use lwm2m::coap::{Message, MessageBuilder, MessageType};
use lwm2m::dm::Object;
use lwm2m::engine::{Engine, Identity, Peer, ServerConfig};
use lwm2m::objects::device::Device;

/// Size of the engine state in bytes on this target (read from the ELF by `make size`).
#[no_mangle]
#[used]
pub static LWM2M_ENGINE_STATE_SIZE: usize = core::mem::size_of::<Engine<'static>>();

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}

/// Entry point; a real firmware's network thread does the same in its loop.
#[no_mangle]
pub extern "C" fn reset() -> ! {
    let mut device = Device::new("probe", "probe", "0");
    let mut objects: [&mut dyn Object; 1] = [&mut device];
    let Ok(mut engine) = Engine::new(black_box("probe"), &mut objects, black_box(1)) else {
        loop {}
    };
    let _ = engine.add_server(&ServerConfig {
        ssid: 1,
        uri: black_box("coap://[::1]:5683"),
        lifetime: 300,
        mode: 3,
        identity: &[],
        secret_key: &[],
    });
    engine.start(0);
    let mut rx = [0u8; 256];
    let mut tx = [0u8; 512];
    let mut now = 0u64;
    loop {
        now += black_box(1000);
        let rx = black_box(&mut rx);
        let len = black_box(rx.len());
        if let Ok(req) = Message::parse(&rx[..len]) {
            let peer = Peer {
                identity: black_box(Identity::Server(1)),
                endpoint: 0,
            };
            if lwm2m::coap::code::is_request(req.code) {
                if let Ok(mut b) = MessageBuilder::new(&mut tx, MessageType::Ack, 0, req.message_id, req.token) {
                    engine.handle_request(&peer, &req, now, &mut b);
                    black_box(b.finish());
                }
            } else {
                engine.handle_response(&req, now);
            }
        }
        while let Some(out) = engine.poll(now, &mut tx) {
            black_box(&tx[..out.len]);
        }
        black_box(engine.next_wakeup());
    }
}
