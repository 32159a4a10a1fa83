//! RIOT driver for the `lwm2m` engine, exported as a C ABI for the `lwm2m_c2c` RIOT module.
//!
//! The split between this crate and `c_glue/` follows what each language does with less code:
//! - Rust (here): owns the engine and its objects behind a RIOT mutex, turns raw CoAP datagrams
//!   into [`lwm2m::coap::Message`]s, builds responses, runs `poll`, and reports registration
//!   state changes.
//! - C (`c_glue/lwm2m_c2c/lwm2m_c2c.c`): gcoap listener and client requests, the endpoint table that maps
//!   remote addresses to peers (and so to [`Identity`]), the poll thread with its ztimer
//!   timeout, the 64-bit millisecond clock, event printing and shell commands.
//!
//! gcoap hands the request to the C handler as a parsed `coap_pkt_t` whose buffer still holds
//! the whole datagram, so the bytes are passed here unchanged and parsed by the engine's own
//! parser; riot-wrappers' coap-handler adapter is not used on this path because a coap-handler
//! `Handler` does not see the remote endpoint, and the engine needs the peer identity with
//! every request.
//!
//! Every entry point takes the engine lock; none of them calls back into C code that could
//! re-enter this crate (sending only queues the datagram in gcoap).
#![no_std]

use core::ffi::{c_char, c_int, CStr};

use lwm2m::coap::{Message, MessageBuilder, MessageType};
use lwm2m::codec::text::Decoder;
use lwm2m::dm::Object;
use lwm2m::engine::{Destination, Engine, Identity, Peer, RegistrationState, ServerConfig};
use lwm2m::objects::device::Device;
use lwm2m::objects::security::mode;
use lwm2m::objects::temperature::Temperature;
use lwm2m::path::Path;
use riot_wrappers::mutex::Mutex;
use static_cell::StaticCell;

// Pulls in riot-wrappers' panic handler.
extern crate riot_wrappers;

/// Largest datagram the driver handles (requests are copied here before the response overwrites
/// gcoap's buffer; outgoing requests are built here).
const PDU_BUF: usize = 512;
/// Bytes of the endpoint name (also the Device serial number).
const EP_LEN: usize = 32;
/// Server accounts whose registration state is reported as events.
const TRACKED: usize = 2;

/// Identity kinds as passed over the C ABI (`LWM2M_C2C_ID_*` in `lwm2m_c2c.h`); any other
/// value, `LWM2M_C2C_ID_UNAUTHENTICATED` (0) among them, means unauthenticated.
mod id_kind {
    pub const SERVER: u8 = 1;
    pub const BOOTSTRAP: u8 = 2;
    pub const CLIENT: u8 = 3;
}

/// Destination kinds as passed over the C ABI (`LWM2M_C2C_DEST_*`).
mod dest_kind {
    pub const SERVER: u8 = 0;
    pub const BOOTSTRAP: u8 = 1;
    pub const ENDPOINT: u8 = 2;
}

extern "C" {
    /// Sends a datagram built by the engine (C glue). `uri` is the server URI for server and
    /// bootstrap destinations (not NUL-terminated), NULL for endpoint handles. Returns <= 0 when
    /// it could not be sent.
    fn lwm2m_c2c_glue_send(
        kind: u8,
        id: u32,
        uri: *const u8,
        uri_len: usize,
        buf: *mut u8,
        len: usize,
        confirmable: bool,
    ) -> isize;
    /// Reports an event (C glue prints it as an `EVT` line).
    fn lwm2m_c2c_glue_event(kind: *const c_char, ssid: u16);
}

type Objects = [&'static mut dyn Object; 2];

struct State {
    engine: Engine<'static>,
    rx: [u8; PDU_BUF],
    tx: [u8; PDU_BUF],
    tracked: [(u16, RegistrationState); TRACKED],
}

/// The engine holds `&mut dyn Object`s, which are not `Send`; they live in statics handed out
/// once, and every access goes through the mutex below.
struct Shared(State);
// SAFETY: the objects are only reached through the engine, which is only reached through the
// RIOT mutex, so moving the state between threads never creates concurrent access.
unsafe impl Send for Shared {}

// The state lives in a StaticCell (zero-initialized, so .bss); an `Option<Shared>` in the mutex
// itself would land in .data, its `None` niche being non-zero, and cost its size in flash too.
static STATE: Mutex<Option<&'static mut Shared>> = Mutex::new(None);
static STATE_CELL: StaticCell<Shared> = StaticCell::new();
static ENDPOINT: StaticCell<[u8; EP_LEN]> = StaticCell::new();
static DEVICE: StaticCell<Device> = StaticCell::new();
static TEMPERATURE: StaticCell<Temperature<1>> = StaticCell::new();
static OBJECTS: StaticCell<Objects> = StaticCell::new();

/// Errors over the C ABI (negative return values).
mod err {
    use core::ffi::c_int;
    pub const INVAL: c_int = -22;
    pub const ALREADY: c_int = -114;
    pub const NOTSUP: c_int = -95;
    pub const NOENT: c_int = -2;
}

fn seed() -> u64 {
    // SAFETY: plain C call into RIOT's random module (seeded at boot).
    let (a, b) = unsafe { (riot_sys::random_uint32(), riot_sys::random_uint32()) };
    (u64::from(a) << 32) | u64::from(b)
}

fn event(kind: &CStr, ssid: u16) {
    // SAFETY: `kind` is NUL-terminated and outlives the call.
    unsafe { lwm2m_c2c_glue_event(kind.as_ptr(), ssid) }
}

impl State {
    /// Emits an event for every tracked server whose registration state changed.
    fn report(&mut self) {
        use RegistrationState as R;
        for (ssid, last) in self.tracked.iter_mut() {
            if *ssid == 0 {
                continue;
            }
            let now = self.engine.registration_state(*ssid);
            if now == *last {
                continue;
            }
            let kind: &CStr = match (*last, now) {
                (R::Updating, R::Registered) => c"updated",
                (_, R::Registered) => c"registered",
                (R::Registered | R::Updating, R::Registering) => c"reg_lost",
                (_, R::Registering) => c"registering",
                (_, R::Updating) => c"updating",
                (_, R::Disabled) => c"disabled",
                (_, R::NotRegistered) => c"deregistered",
            };
            *last = now;
            event(kind, *ssid);
        }
    }

    /// Sends everything the engine has due; returns milliseconds until the next wakeup.
    fn poll(&mut self, now: u64) -> u64 {
        while let Some(out) = self.engine.poll(now, &mut self.tx) {
            let Some(msg) = self.tx.get_mut(..out.len) else {
                break;
            };
            let (kind, id, uri) = match out.dest {
                Destination::Server(ssid) => (
                    dest_kind::SERVER,
                    u32::from(ssid),
                    self.engine.security().by_ssid(ssid).map(|s| s.uri.as_str()),
                ),
                Destination::Bootstrap => (
                    dest_kind::BOOTSTRAP,
                    0,
                    self.engine.security().bootstrap().map(|s| s.uri.as_str()),
                ),
                Destination::Endpoint(h) => (dest_kind::ENDPOINT, h, None),
            };
            let (uri_ptr, uri_len) = uri.map_or((core::ptr::null(), 0), |u| (u.as_ptr(), u.len()));
            // SAFETY: pointers are valid for the given lengths for the duration of the call; the
            // C side copies what it keeps (gcoap copies CON requests into its resend buffers).
            let sent = unsafe {
                lwm2m_c2c_glue_send(
                    kind,
                    id,
                    uri_ptr,
                    uri_len,
                    msg.as_mut_ptr(),
                    msg.len(),
                    out.confirmable,
                )
            };
            if sent <= 0 {
                // The token sits right after the 4-byte header; its length is in the low nibble.
                let tkl = usize::from(msg.first().map_or(0, |b| b & 0x0f));
                let token = msg.get(4..4 + tkl).unwrap_or(&[]);
                let mut t = [0u8; 8];
                let t = match t.get_mut(..token.len()) {
                    Some(dst) => {
                        dst.copy_from_slice(token);
                        &*dst
                    }
                    None => &[][..],
                };
                self.engine.request_failed(out.dest, t, now);
            }
        }
        self.report();
        self.engine
            .next_wakeup()
            .map_or(u64::MAX, |t| t.saturating_sub(now))
    }
}

fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> Option<R> {
    let mut guard = STATE.lock();
    guard.as_mut().map(|s| f(&mut s.0))
}

/// Creates the engine with the Device and Temperature objects and one DM server account.
///
/// # Safety
/// `endpoint` and `server_uri` must be NUL-terminated strings (copied before returning).
#[no_mangle]
pub unsafe extern "C" fn lwm2m_riot_init(
    endpoint: *const c_char,
    server_uri: *const c_char,
    ssid: u16,
    lifetime: u32,
) -> c_int {
    if endpoint.is_null() || server_uri.is_null() {
        return err::INVAL;
    }
    // SAFETY: the caller promises NUL-terminated strings.
    let (ep, uri) = unsafe { (CStr::from_ptr(endpoint), CStr::from_ptr(server_uri)) };
    let (Ok(ep), Ok(uri)) = (ep.to_str(), uri.to_str()) else {
        return err::INVAL;
    };
    let mut guard = STATE.lock();
    if guard.is_some() {
        return err::ALREADY;
    }
    let Some(ep_buf) = ENDPOINT.try_init([0; EP_LEN]) else {
        return err::ALREADY;
    };
    let Some(dst) = ep_buf.get_mut(..ep.len()) else {
        return err::INVAL;
    };
    dst.copy_from_slice(ep.as_bytes());
    let Ok(ep) = core::str::from_utf8(&*dst) else {
        return err::INVAL;
    };
    let ep: &'static str = ep;
    let device = DEVICE.init(Device::new("RIOT", "lwm2m-c2c", ep));
    device.device_type = "RIOT node";
    let temperature = TEMPERATURE.init(Temperature::new(21.5, (-40.0, 85.0)));
    let objects = OBJECTS.init([device, temperature]);
    let Ok(mut engine) = Engine::new(ep, objects, seed()) else {
        return err::INVAL;
    };
    // NoSec for this slice; PSK credentials go to RIOT's credman (c_glue) once gcoap_dtls is in.
    let cfg = ServerConfig {
        ssid,
        uri,
        lifetime,
        mode: mode::NOSEC,
        identity: &[],
        secret_key: &[],
    };
    if engine.add_server(&cfg).is_err() {
        return err::INVAL;
    }
    let mut tracked = [(0, RegistrationState::NotRegistered); TRACKED];
    tracked[0].0 = ssid;
    let Some(cell) = STATE_CELL.try_uninit() else {
        return err::ALREADY;
    };
    *guard = Some(cell.write(Shared(State {
        engine,
        rx: [0; PDU_BUF],
        tx: [0; PDU_BUF],
        tracked,
    })));
    0
}

/// Starts registration (or bootstrap).
#[no_mangle]
pub extern "C" fn lwm2m_riot_start(now: u64) -> c_int {
    with_state(|s| {
        s.engine.start(now);
        s.report();
        0
    })
    .unwrap_or(err::NOENT)
}

/// Sends what is due; returns milliseconds until the next call is needed (`u64::MAX`: none
/// scheduled, call again when something happens).
#[no_mangle]
pub extern "C" fn lwm2m_riot_poll(now: u64) -> u64 {
    with_state(|s| s.poll(now)).unwrap_or(u64::MAX)
}

/// Handles the request `req[..req_len]` and writes the response into `resp[..cap]` (which may
/// be the same buffer: gcoap answers in place). Returns the response length, or a negative
/// value when the datagram is not CoAP (gcoap then answers 5.00).
///
/// `id_kind` / `id` is the identity the transport vouches for (see `LWM2M_C2C_ID_*`);
/// `endpoint` the C glue's handle of the remote, used again for notifications.
///
/// # Safety
/// `req` must be valid for reads of `req_len` bytes and `resp` for writes of `cap` bytes.
#[no_mangle]
pub unsafe extern "C" fn lwm2m_riot_handle_request(
    id_kind: u8,
    id: u16,
    endpoint: u32,
    req: *const u8,
    req_len: usize,
    resp: *mut u8,
    cap: usize,
    now: u64,
) -> isize {
    if req.is_null() || resp.is_null() {
        return -1;
    }
    let identity = match id_kind {
        id_kind::SERVER => Identity::Server(id),
        id_kind::BOOTSTRAP => Identity::Bootstrap,
        id_kind::CLIENT => Identity::Client(id),
        _ => Identity::Unauthenticated,
    };
    let peer = Peer { identity, endpoint };
    with_state(|s| {
        let Some(rx) = s.rx.get_mut(..req_len) else {
            return -1;
        };
        // SAFETY: the caller promises `req` is valid for `req_len` bytes; the slice is dropped
        // before the response slice, which may alias it, is created.
        rx.copy_from_slice(unsafe { core::slice::from_raw_parts(req, req_len) });
        let Ok(msg) = Message::parse(rx) else {
            return -1;
        };
        // SAFETY: the caller promises `resp` is valid for `cap` bytes; the request was copied.
        let out = unsafe { core::slice::from_raw_parts_mut(resp, cap) };
        let mtype = match msg.mtype {
            MessageType::Con => MessageType::Ack,
            _ => MessageType::Non,
        };
        let Ok(mut b) = MessageBuilder::new(out, mtype, 0, msg.message_id, msg.token) else {
            return -1;
        };
        s.engine.handle_request(&peer, &msg, now, &mut b);
        let len = b.finish();
        s.report();
        isize::try_from(len).unwrap_or(-1)
    })
    .unwrap_or(-1)
}

/// Hands a response to a request the engine sent.
///
/// # Safety
/// `buf` must be valid for reads of `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn lwm2m_riot_handle_response(buf: *const u8, len: usize, now: u64) {
    if buf.is_null() {
        return;
    }
    // SAFETY: the caller promises `buf` is valid for `len` bytes.
    let bytes = unsafe { core::slice::from_raw_parts(buf, len) };
    with_state(|s| {
        if let Ok(msg) = Message::parse(bytes) {
            s.engine.handle_response(&msg, now);
            s.report();
        }
    });
}

/// Tells the engine that a request it sent timed out or was rejected.
///
/// # Safety
/// `token` must be valid for reads of `token_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn lwm2m_riot_request_failed(
    kind: u8,
    id: u32,
    token: *const u8,
    token_len: usize,
    now: u64,
) {
    let token: &[u8] = if token.is_null() || token_len > 8 {
        &[]
    } else {
        // SAFETY: the caller promises `token` is valid for `token_len` bytes.
        unsafe { core::slice::from_raw_parts(token, token_len) }
    };
    let dest = match kind {
        dest_kind::SERVER => Destination::Server(u16::try_from(id).unwrap_or(0)),
        dest_kind::BOOTSTRAP => Destination::Bootstrap,
        _ => Destination::Endpoint(id),
    };
    with_state(|s| {
        s.engine.request_failed(dest, token, now);
        s.report();
    });
}

/// Sets a resource (`/3303/0/5700` style path) from its text representation (LwM2M text
/// content format: `25.5`, `1`/`0` for booleans, ...), as the firmware would after a sensor
/// reading; schedules notifications. Returns 0, or a negative error / CoAP code.
///
/// # Safety
/// `path` and `value` must be NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn lwm2m_riot_set(
    path: *const c_char,
    value: *const c_char,
    now: u64,
) -> c_int {
    if path.is_null() || value.is_null() {
        return err::INVAL;
    }
    // SAFETY: the caller promises NUL-terminated strings.
    let (p, v) = unsafe { (CStr::from_ptr(path), CStr::from_ptr(value)) };
    let (Ok(p), Ok(v)) = (p.to_str(), v.to_str()) else {
        return err::INVAL;
    };
    let Ok(path) = Path::parse_str(p) else {
        return err::INVAL;
    };
    with_state(|s| {
        // Parsed as the text content format of the resource's declared type: the engine's text
        // codec avoids core's float parser (about 13 KiB of flash on thumbv7m).
        let dt = match (path.object_id(), path.resource_id()) {
            (Some(o), Some(r)) => s.engine.object(o).and_then(|obj| {
                obj.def()
                    .resources
                    .iter()
                    .find(|d| d.id == r)
                    .map(|d| d.data_type)
            }),
            _ => None,
        };
        let Some(dt) = dt else {
            return -c_int::from(lwm2m::coap::code::NOT_FOUND);
        };
        let type_of = |_: &Path| Some(dt);
        let value = match Decoder::new(&path, v.as_bytes(), &type_of).next() {
            Some(Ok(rec)) => rec.value,
            _ => return err::INVAL,
        };
        match s.engine.set_value(&path, value, now) {
            Ok(()) => 0,
            Err(e) => -c_int::from(e.code()),
        }
    })
    .unwrap_or(err::NOENT)
}

/// Registration state toward `ssid`: 0 not registered, 1 registering, 2 registered,
/// 3 updating, 4 disabled; negative when the engine is not initialized.
#[no_mangle]
pub extern "C" fn lwm2m_riot_state(ssid: u16) -> c_int {
    with_state(|s| match s.engine.registration_state(ssid) {
        RegistrationState::NotRegistered => 0,
        RegistrationState::Registering => 1,
        RegistrationState::Registered => 2,
        RegistrationState::Updating => 3,
        RegistrationState::Disabled => 4,
    })
    .unwrap_or(err::NOENT)
}

/// Copies the endpoint name (NUL-terminated) into `buf`; returns its length.
///
/// # Safety
/// `buf` must be valid for writes of `cap` bytes.
#[no_mangle]
pub unsafe extern "C" fn lwm2m_riot_endpoint(buf: *mut c_char, cap: usize) -> c_int {
    with_state(|s| {
        let ep = s.engine.endpoint().as_bytes();
        if buf.is_null() || ep.len() >= cap {
            return err::INVAL;
        }
        // SAFETY: the caller promises `cap` writable bytes; `ep.len() + 1 <= cap`.
        unsafe {
            core::ptr::copy_nonoverlapping(ep.as_ptr(), buf.cast::<u8>(), ep.len());
            *buf.add(ep.len()) = 0;
        }
        c_int::try_from(ep.len()).unwrap_or(err::INVAL)
    })
    .unwrap_or(err::NOTSUP)
}
