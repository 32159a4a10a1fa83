//! A bare-metal program that uses the engine as firmware would (requests in, responses and
//! registration out), so that the linker keeps exactly the engine code a device carries.
//! `make size` reads the sections of the resulting ELF. Inputs come through `black_box`, so
//! nothing is optimised away on the assumption of known data. With the `c2c` / `c2c-auth`
//! features the probe also uses the entry points of the client-to-client extension the way a
//! driver does (peer identities from the transport's account lookups, closed accounts,
//! owner server hints and access requests).
//!
//! The engine's entry points are called through function pointers the optimiser cannot see
//! through (`black_box`), so that each keeps its own symbol instead of being inlined into
//! `reset`: `breakdown.py` can then count their bytes to the engine's modules.
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

/// Size of object 5's state in bytes (the integrator's, not in the engine; feature `fota`).
#[cfg(feature = "fota")]
#[no_mangle]
#[used]
pub static LWM2M_FIRMWARE_STATE_SIZE: usize =
    core::mem::size_of::<lwm2m::firmware::Firmware<'static>>();

/// The identity the transport established for a request: a server, or with `c2c` a
/// requesting client found by its PSK identity or OSCORE Recipient ID.
fn identity(engine: &Engine<'_>, rx: &[u8]) -> Identity {
    #[cfg(feature = "c2c")]
    {
        let psk = black_box(rx.get(..4).unwrap_or(&[]));
        if let Some(cid) = engine
            .client_by_psk_identity(psk)
            .or_else(|| engine.client_by_oscore_recipient(black_box(&psk[..1.min(psk.len())])))
        {
            return Identity::Client(cid);
        }
    }
    let _ = (engine, rx);
    black_box(Identity::Server(1))
}

/// A firmware slot that takes the image and forgets it (the probe measures the engine).
#[cfg(feature = "fota")]
struct Slot;

#[cfg(feature = "fota")]
impl lwm2m::firmware::FirmwareSink for Slot {
    fn capacity(&self) -> usize {
        black_box(256 * 1024)
    }
    fn begin(&mut self, len: usize) -> Result<(), lwm2m::firmware::SinkError> {
        black_box(len);
        Ok(())
    }
    fn write(&mut self, offset: usize, data: &[u8]) -> Result<(), lwm2m::firmware::SinkError> {
        black_box((offset, data));
        Ok(())
    }
    fn finish(&mut self) -> Result<(), lwm2m::firmware::SinkError> {
        Ok(())
    }
    fn abort(&mut self) {}
    fn update(&mut self) -> lwm2m::firmware::UpdateOutcome {
        black_box(lwm2m::firmware::UpdateOutcome::Pending)
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}

/// Entry point; a real firmware's network thread does the same in its loop.
#[no_mangle]
pub extern "C" fn reset() -> ! {
    // `_` is the engine's type: one concrete lifetime, not any.
    let handle_request: fn(&mut _, &Peer, &Message<'_>, u64, &mut MessageBuilder<'_>) =
        black_box(Engine::handle_request);
    let handle_response: fn(&mut _, &Message<'_>, u64) = black_box(Engine::handle_response);
    let poll: fn(&mut _, u64, &mut [u8]) -> _ = black_box(Engine::poll);
    let next_wakeup: fn(&_) -> _ = black_box(Engine::next_wakeup);
    let start: fn(&mut _, u64) = black_box(Engine::start);
    let mut device = Device::new("probe", "probe", "0");
    let mut objects: [&mut dyn Object; 1] = [&mut device];
    #[cfg(feature = "fota")]
    let mut slot = Slot;
    #[cfg(feature = "fota")]
    let firmware = lwm2m::firmware::Firmware::new(&mut slot);
    // A driver that fetches `coap://` Package URIs.
    #[cfg(feature = "fota-pull")]
    let firmware = firmware.with_pull(&[lwm2m::firmware::Protocol::Coap]);
    #[cfg(feature = "fota")]
    let mut firmware = firmware;
    let Ok(mut engine) = Engine::new(black_box("probe"), &mut objects, black_box(1)) else {
        loop {}
    };
    #[cfg(feature = "fota")]
    let _ = engine.set_firmware(&mut firmware);
    let _ = engine.add_server(&ServerConfig {
        ssid: 1,
        uri: black_box("coap://[::1]:5683"),
        lifetime: 300,
        mode: 3,
        identity: &[],
        secret_key: &[],
    });
    // A sleepy sensor: Queue Mode with the default awake time.
    #[cfg(feature = "queue-mode")]
    engine.set_queue_mode(Some(black_box(lwm2m::engine::DEFAULT_AWAKE_MS)), 0);
    start(&mut engine, 0);
    let mut rx = [0u8; 256];
    let mut tx = [0u8; 512];
    let mut now = 0u64;
    loop {
        now += black_box(1000);
        let rx = black_box(&mut rx);
        let len = black_box(rx.len());
        if let Ok(req) = Message::parse(&rx[..len]) {
            let peer = Peer {
                identity: identity(&engine, &rx[..len]),
                endpoint: 0,
                source: 0,
            };
            if lwm2m::coap::code::is_request(req.code) {
                if let Ok(mut b) =
                    MessageBuilder::new(&mut tx, MessageType::Ack, 0, req.message_id, req.token)
                {
                    handle_request(&mut engine, &peer, &req, now, &mut b);
                    black_box(b.finish());
                }
            } else {
                handle_response(&mut engine, &req, now);
                #[cfg(feature = "c2c-auth")]
                if req.code == lwm2m::coap::code::UNAUTHORIZED {
                    // An owner server hint: ask the server it names (if trusted) for access.
                    if let Ok(ssid) = engine.hint_server(req.payload) {
                        let g = lwm2m::c2c::access_request::Grant {
                            path: black_box(lwm2m::Path::instance(3311, 0)),
                            rights: black_box(1),
                        };
                        let _ = engine.request_access(ssid, black_box("host"), &[g], true, now);
                    }
                }
            }
        }
        #[cfg(feature = "c2c")]
        while let Some(c) = engine.take_closed_client() {
            black_box(c);
        }
        #[cfg(feature = "c2c-auth")]
        while let Some(r) = engine.take_access_result() {
            black_box(&r);
            if let Some(a) = engine.client_account(&r.host) {
                black_box(a.security.map(|s| s.secret_key.len()));
            }
        }
        #[cfg(feature = "send")]
        {
            // A sensor reporting one resource now and then, and taking the outcome.
            let paths = [black_box(lwm2m::Path::resource(3, 0, 9))];
            let _ = engine.send(
                1,
                &paths,
                black_box(lwm2m::coap::content_format::SENML_CBOR),
                now,
            );
            while let Some(r) = engine.take_send_result() {
                black_box(&r);
            }
        }
        #[cfg(feature = "queue-mode")]
        {
            // The driver sleeps while the engine does, and wakes it on a button press.
            black_box(engine.queue_state(now));
            if black_box(now % 7 == 0) {
                engine.wake(now);
            }
        }
        #[cfg(feature = "fota-pull")]
        if engine.firmware_pull().is_some() {
            // The driver's fetch: a block of the response it got, or the failure.
            let data = black_box(&rx[..len]);
            if black_box(data.is_empty()) {
                let reason = black_box(lwm2m::firmware::PullFailure::ConnectionLost);
                engine.firmware_pull_failed(reason, now);
            } else {
                let _ = engine.firmware_pull_block(black_box(0), data, black_box(false), now);
            }
        }
        while let Some(out) = poll(&mut engine, now, &mut tx) {
            black_box(&tx[..out.len]);
        }
        black_box(next_wakeup(&engine));
    }
}
