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
//! Every entry point takes the engine lock. The only C code called with the lock held is the
//! glue's send (which only queues the datagram in gcoap) and the callbacks of application
//! objects, which must not call back into this crate: the public functions detect that and
//! return `-EDEADLK` instead of deadlocking.
//!
//! The C header `c_glue/lwm2m_c2c/include/lwm2m_c2c_api.h` is generated from this crate by
//! cbindgen (`make -C c_glue/lwm2m_c2c header`, configuration in `cbindgen.toml`): every
//! `#[no_mangle] extern "C"` function, `#[repr(C)]` type and `pub const` here is C API.
#![no_std]

use core::ffi::{c_char, c_int, CStr};
use core::mem::MaybeUninit;
use core::ptr::addr_of_mut;
use core::sync::atomic::{AtomicI16, Ordering};

use lwm2m::coap::dedup::ConfiguredDedup;
use lwm2m::dm::Object;
use lwm2m::dm::{ObjectDef, Operations, ResourceDef};
use lwm2m::engine::{Destination, Engine, RegistrationState, ServerConfig};
use lwm2m::objects::device::Device;
use lwm2m::objects::security::mode;
use lwm2m::objects::temperature::Temperature;
use lwm2m::path::ID_NONE;
use riot_wrappers::mutex::Mutex;
use static_cell::StaticCell;

mod app_api;
pub use app_api::*;
mod app_object;
pub use app_object::*;
mod c2c_api;
pub use c2c_api::*;
mod ev;
use ev::ev;
mod incoming;
pub use incoming::*;
mod outgoing;
use outgoing::{send, token_of};
mod peers;
pub use peers::*;
#[cfg(feature = "fota")]
mod fota;
#[cfg(feature = "fota-pull")]
mod fota_pull;
#[cfg(feature = "queue-mode")]
mod queue;
#[cfg(feature = "queue-mode")]
pub use queue::*;
#[cfg(feature = "send")]
mod send_api;
#[cfg(feature = "send")]
pub use send_api::*;
#[cfg(feature = "dtls")]
mod dtls;
#[cfg(any(feature = "dtls", feature = "oscore"))]
mod hex;
#[cfg(feature = "c2c-auth")]
mod requester;
#[cfg(feature = "oscore")]
mod secure;
#[cfg(feature = "oscore")]
mod server_oscore;
#[cfg(feature = "oscore")]
pub use server_oscore::lwm2m_riot_server_oscore;

// Pulls in riot-wrappers' panic handler.
extern crate riot_wrappers;

/// Largest datagram the driver handles (requests are copied here before the response overwrites
/// gcoap's buffer; outgoing requests are built here).
pub(crate) const PDU_BUF: usize = 512;
/// Bytes of the endpoint name (also the Device serial number).
const EP_LEN: usize = 32;
/// Server accounts whose registration state is reported as events.
const TRACKED: usize = 2;

/// Peer identity kind: nobody the transport authenticated.
pub const LWM2M_C2C_ID_UNAUTHENTICATED: u8 = 0;
/// Peer identity kind: an LwM2M server, by Short Server ID.
pub const LWM2M_C2C_ID_SERVER: u8 = 1;
/// Peer identity kind: the bootstrap server.
pub const LWM2M_C2C_ID_BOOTSTRAP: u8 = 2;
/// Peer identity kind: a requesting client (C2C), by Short Client ID.
pub const LWM2M_C2C_ID_CLIENT: u8 = 3;
/// Peer identity kind: a request over a DTLS session whose handshake used the PSK credential
/// of Security instance `id` (`LWM2M_DTLS=1`); the driver maps it to that account's server.
pub const LWM2M_C2C_ID_DTLS: u8 = 4;
/// Peer identity kind: a request over a DTLS session whose handshake used the PSK credential
/// of Client Security (11000) instance `id` (`LWM2M_DTLS=1`, hosting); the driver maps it to
/// that account's Short Client ID.
pub const LWM2M_C2C_ID_DTLS_CLIENT: u8 = 5;

/// Kind of a DTLS credential the driver hands to the glue: a Security (0) instance's.
pub const LWM2M_C2C_CRED_SERVER: u8 = 0;
/// Kind of a DTLS credential the driver hands to the glue: a Client Security (11000)
/// instance's (hosting side of client-to-client over DTLS).
pub const LWM2M_C2C_CRED_CLIENT: u8 = 1;

/// Destination of an outgoing message: a DM server by Short Server ID.
pub const LWM2M_C2C_DEST_SERVER: u8 = 0;
/// Destination of an outgoing message: the bootstrap server.
pub const LWM2M_C2C_DEST_BOOTSTRAP: u8 = 1;
/// Destination of an outgoing message: the peer handle of an earlier request.
pub const LWM2M_C2C_DEST_ENDPOINT: u8 = 2;
/// Destination of an outgoing message: a hosting client by URI (client-to-client request;
/// `id` is the operation's handle).
pub const LWM2M_C2C_DEST_PEER: u8 = 3;

/// Registration state: not started, or no such server.
pub const LWM2M_C2C_NOT_REGISTERED: c_int = 0;
/// Registration state: Register under way or waiting for a retry.
pub const LWM2M_C2C_REGISTERING: c_int = 1;
/// Registration state: registered.
pub const LWM2M_C2C_REGISTERED: c_int = 2;
/// Registration state: registered, Update under way.
pub const LWM2M_C2C_UPDATING: c_int = 3;
/// Registration state: de-registered or disabled.
pub const LWM2M_C2C_DISABLED: c_int = 4;

/// "No ID" for [`lwm2m_c2c_changed`]: the whole instance or object changed.
pub const LWM2M_C2C_ID_NONE: u16 = 0xffff;
const _: () = assert!(LWM2M_C2C_ID_NONE == ID_NONE);

extern "C" {
    /// Sends a datagram built by the driver (C glue). `uri` is the server URI for server and
    /// bootstrap destinations, the host's URI for peer destinations (not NUL-terminated), NULL
    /// for endpoint handles. Returns <= 0 when it could not be sent.
    pub(crate) fn lwm2m_c2c_glue_send(
        kind: u8,
        id: u32,
        uri: *const u8,
        uri_len: usize,
        buf: *mut u8,
        len: usize,
        confirmable: bool,
    ) -> isize;
}

extern "C" {
    /// Reports an event (C glue prints it as an `EVT` line).
    fn lwm2m_c2c_glue_event(kind: *const c_char, ssid: u16);
    /// Wakes the poll thread (something may be due now).
    fn lwm2m_c2c_glue_wake();
    /// The engine's clock, milliseconds since boot.
    fn lwm2m_c2c_now_ms() -> u64;
}

/// Device, Temperature (unless the application brings its own 3303) and application objects.
type Objects = heapless::Vec<&'static mut dyn Object, { 2 + LWM2M_C2C_MAX_APP_OBJECTS }>;

pub(crate) struct State {
    engine: Engine<'static>,
    rx: [u8; PDU_BUF],
    tx: [u8; PDU_BUF],
    tracked: [(u16, RegistrationState); TRACKED],
    #[cfg(feature = "oscore")]
    sec: secure::Secure,
    #[cfg(feature = "c2c-auth")]
    ops: requester::Ops,
    #[cfg(feature = "dtls")]
    dtls: dtls::Dtls,
    #[cfg(feature = "fota-pull")]
    pull: fota_pull::Pull,
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
/// Requests answered recently, so that duplicates are not processed twice (RFC 7252 section
/// 4.5). Not a field of [`State`], so that it needs no run-time initialization: all zeros when
/// empty, it starts in .bss. Only locked with the engine lock held.
pub(crate) static DEDUP: Mutex<ConfiguredDedup> = Mutex::new(ConfiguredDedup::new());

/// A C object registered before the engine exists.
#[derive(Clone, Copy)]
struct AppRef(&'static CObject);
// SAFETY: the firmware hands the object over for the program's life (lwm2m_c2c_add_object);
// it is only read, and its callbacks run under the engine lock.
unsafe impl Send for AppRef {}

static APP_OBJECTS: Mutex<heapless::Vec<AppRef, LWM2M_C2C_MAX_APP_OBJECTS>> =
    Mutex::new(heapless::Vec::new());
static APP_RESOURCES: StaticCell<[ResourceDef; LWM2M_C2C_MAX_APP_RESOURCES]> = StaticCell::new();
static APP_DEFS: StaticCell<heapless::Vec<ObjectDef, LWM2M_C2C_MAX_APP_OBJECTS>> =
    StaticCell::new();
static APP_ADAPTERS: StaticCell<heapless::Vec<AppObject, LWM2M_C2C_MAX_APP_OBJECTS>> =
    StaticCell::new();

/// PID of the thread holding the engine lock (0: none), to refuse re-entry from callbacks.
static OWNER: AtomicI16 = AtomicI16::new(0);

/// Errors over the C ABI (negative errno values of the build's C library: newlib and glibc
/// number several of them differently).
pub(crate) mod err {
    #![allow(dead_code)]
    use core::ffi::c_int;
    pub const INVAL: c_int = -(riot_sys::EINVAL as c_int);
    pub const ALREADY: c_int = -(riot_sys::EALREADY as c_int);
    pub const NOENT: c_int = -(riot_sys::ENOENT as c_int);
    pub const DEADLK: c_int = -(riot_sys::EDEADLK as c_int);
    pub const NOMEM: c_int = -(riot_sys::ENOMEM as c_int);
    pub const EXIST: c_int = -(riot_sys::EEXIST as c_int);
    pub const NOTSUP: c_int = -(riot_sys::ENOTSUP as c_int);
    pub const ACCES: c_int = -(riot_sys::EACCES as c_int);
    pub const TIMEDOUT: c_int = -(riot_sys::ETIMEDOUT as c_int);
    pub const NOTCONN: c_int = -(riot_sys::ENOTCONN as c_int);
    pub const BUSY: c_int = -(riot_sys::EBUSY as c_int);
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
    pub(crate) fn report(&mut self) {
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
            ev!("{} ssid={}", kind.to_str().unwrap_or("?"), ssid);
        }
    }

    /// Sends everything the engine has due; returns milliseconds until the next wakeup.
    fn poll(&mut self, now: u64) -> u64 {
        // Credentials before the first message to a (new) server account.
        #[cfg(feature = "dtls")]
        self.dtls.sync(&self.engine);
        #[cfg(feature = "c2c")]
        while let Some(cid) = self.engine.take_closed_client() {
            ev!("account_closed cid={}", cid);
            #[cfg(feature = "oscore")]
            self.sec.close(secure::Account::Client(cid));
            #[cfg(feature = "dtls")]
            self.dtls.close_client(&self.engine, cid);
            #[cfg(feature = "c2c-auth")]
            requester::account_closed(self, cid);
        }
        #[cfg(feature = "c2c-auth")]
        requester::access_results(self, now);
        #[cfg(feature = "c2c-auth")]
        let retry = requester::retry_deferred(self, now);
        #[cfg(not(feature = "c2c-auth"))]
        let retry: Option<u64> = None;
        #[cfg(feature = "send")]
        send_api::results(self);
        // A request to a server repeated with the server's Echo value (RFC 8613 B.1.2).
        #[cfg(feature = "oscore")]
        if let Some((ssid, n)) = server_oscore::echo_retry(self, now) {
            let dest = Destination::Server(ssid);
            if let Some(msg) = self.sec.out.get_mut(..n) {
                if send(&self.engine, dest, msg, true) <= 0 {
                    let token = token_of(msg);
                    self.engine.request_failed(dest, &token, now);
                }
            }
        }
        while let Some(out) = self.engine.poll(now, &mut self.tx) {
            // Notifications of observations made over OSCORE, and requests to a server
            // account with OSCORE, go out protected (never in the clear).
            #[cfg(feature = "oscore")]
            let msg = {
                let protected = match out.dest {
                    Destination::Endpoint(h) => {
                        let plain = self.tx.get(..out.len).unwrap_or(&[]);
                        self.sec.protect_notification(&self.engine, h, plain)
                    }
                    Destination::Server(ssid) => server_oscore::protect(self, ssid, out.len),
                    Destination::Bootstrap => None,
                };
                match protected {
                    Some(0) => {
                        if let Destination::Server(_) = out.dest {
                            let token = token_of(self.tx.get(..out.len).unwrap_or(&[]));
                            self.engine.request_failed(out.dest, &token, now);
                        }
                        continue;
                    }
                    Some(n) => self.sec.out.get_mut(..n),
                    None => self.tx.get_mut(..out.len),
                }
            };
            #[cfg(not(feature = "oscore"))]
            let msg = self.tx.get_mut(..out.len);
            let Some(msg) = msg else {
                break;
            };
            let sent = send(&self.engine, out.dest, msg, out.confirmable);
            // A notification the glue could not hand to gcoap (no free resend buffer while a
            // CON to another observer is unacknowledged, no DTLS session) is dropped like a
            // lost NON; the observation stays (RFC 7641 4.5 ends it on a missing ACK or an
            // RST, which gcoap does not report for notifications).
            if sent <= 0 && msg.get(1).is_some_and(|&c| c >= 0x40) {
                if let Destination::Endpoint(h) = out.dest {
                    ev!("notification_not_sent h={} err={}", h, sent);
                }
                continue;
            }
            if sent <= 0 {
                let token = token_of(msg);
                self.engine.request_failed(out.dest, &token, now);
            }
        }
        // Firmware Update pull: the next block's request, after the engine's messages (its
        // download timeout may just have ended the pull).
        #[cfg(feature = "fota-pull")]
        let retry = match (fota_pull::service(self, now), retry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.report();
        #[cfg(feature = "queue-mode")]
        queue::after_poll(self, now);
        // Access results and closed accounts arrive with requests and responses handled on
        // gcoap's thread; those wake this thread, which takes them above.
        // Requests gcoap could not take are retried on this thread too.
        let next = match (self.engine.next_wakeup(), retry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        next.map_or(u64::MAX, |t| t.saturating_sub(now))
    }
}

fn pid() -> i16 {
    // SAFETY: plain read of the current thread's PID.
    unsafe { riot_sys::thread_getpid() }
}

/// Runs `f` on the engine under its lock. `Err(-EDEADLK)` when called from inside the lock
/// (an application callback calling the API), `Err(-ENOENT)` before initialization.
pub(crate) fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> Result<R, c_int> {
    let me = pid();
    if OWNER.load(Ordering::Relaxed) == me {
        return Err(err::DEADLK);
    }
    let mut guard = STATE.lock();
    OWNER.store(me, Ordering::Relaxed);
    let res = guard.as_mut().map(|s| f(&mut s.0)).ok_or(err::NOENT);
    OWNER.store(0, Ordering::Relaxed);
    res
}

pub(crate) fn wake() {
    // SAFETY: plain C call (msg_try_send to the poll thread).
    unsafe { lwm2m_c2c_glue_wake() }
}

pub(crate) fn now() -> u64 {
    // SAFETY: plain C call.
    unsafe { lwm2m_c2c_now_ms() }
}

/// Builds the object list: Device, the application objects, and Temperature unless an
/// application object took its ID.
fn objects(device: &'static mut Device) -> Option<&'static mut [&'static mut dyn Object]> {
    let apps = APP_OBJECTS.lock();
    let mut pool: &'static mut [ResourceDef] = APP_RESOURCES.try_init(
        [ResourceDef::single(0, "", Operations::NONE, false, lwm2m::DataType::None);
            LWM2M_C2C_MAX_APP_RESOURCES],
    )?;
    let defs = APP_DEFS.try_init(heapless::Vec::new())?;
    for a in apps.iter() {
        // SAFETY: checked and promised valid in lwm2m_c2c_add_object.
        let table = unsafe { app_object::table(a.0) }?;
        let (mine, rest) = core::mem::take(&mut pool).split_at_mut(table.len());
        pool = rest;
        let mut last = None;
        for (d, r) in mine.iter_mut().zip(table) {
            *d = app_object::convert(r, last)?;
            last = Some(r.id);
        }
        defs.push(ObjectDef {
            id: a.0.id,
            name: "",
            version: None,
            multiple: a.0.multiple,
            mandatory: false,
            resources: mine,
        })
        .ok()?;
    }
    let defs: &'static heapless::Vec<ObjectDef, LWM2M_C2C_MAX_APP_OBJECTS> = defs;
    let adapters = APP_ADAPTERS.try_init(heapless::Vec::new())?;
    for (a, d) in apps.iter().zip(defs.iter()) {
        adapters.push(AppObject::new(a.0, d)).ok()?;
    }
    let objects = OBJECTS.try_init(heapless::Vec::new())?;
    objects.push(device).ok()?;
    if !apps
        .iter()
        .any(|a| a.0.id == lwm2m::objects::temperature::ID)
    {
        let t = TEMPERATURE.try_init(Temperature::new(21.5, (-40.0, 85.0)))?;
        objects.push(t).ok()?;
    }
    for a in adapters.iter_mut() {
        objects.push(a).ok()?;
    }
    Some(objects.as_mut_slice())
}

/// Creates the engine with the Device object, the application objects added so far (and the
/// built-in Temperature object unless one of them is 3303) and one DM server account. Called
/// by the glue's `lwm2m_c2c_init` on the engine's thread.
///
/// The account is NoSec for a `coap://` URI. A `coaps://` URI needs `LWM2M_DTLS=1` and a PSK:
/// `psk_id` (text) and `psk_key_hex` (the key in hex), which make it a Security Mode 0 (PSK)
/// account; both empty otherwise. Returns `-EINVAL` when URI and PSK do not go together,
/// `-ENOTSUP` for `coaps://` without DTLS in the build.
///
/// # Safety
/// `endpoint`, `server_uri`, `psk_id` and `psk_key_hex` must be NUL-terminated strings
/// (copied before returning); `psk_id` and `psk_key_hex` may be NULL (no PSK).
#[no_mangle]
pub unsafe extern "C" fn lwm2m_riot_init(
    endpoint: *const c_char,
    server_uri: *const c_char,
    ssid: u16,
    lifetime: u32,
    psk_id: *const c_char,
    psk_key_hex: *const c_char,
) -> c_int {
    if endpoint.is_null() || server_uri.is_null() {
        return err::INVAL;
    }
    // SAFETY: the caller promises NUL-terminated strings.
    let (ep, uri) = unsafe { (CStr::from_ptr(endpoint), CStr::from_ptr(server_uri)) };
    let (Ok(ep), Ok(uri)) = (ep.to_str(), uri.to_str()) else {
        return err::INVAL;
    };
    // SAFETY: as above; NULL means empty.
    let text = |p: *const c_char| unsafe { (!p.is_null()).then(|| CStr::from_ptr(p)) };
    let psk_id = text(psk_id).map_or(&[][..], CStr::to_bytes);
    let psk_hex = text(psk_key_hex).map_or(Ok(""), CStr::to_str);
    let Ok(psk_hex) = psk_hex else {
        return err::INVAL;
    };
    let coaps = uri.starts_with("coaps://");
    if coaps == psk_id.is_empty() || psk_id.is_empty() != psk_hex.is_empty() {
        return err::INVAL;
    }
    if coaps && cfg!(not(feature = "dtls")) {
        return err::NOTSUP;
    }
    #[cfg(feature = "dtls")]
    let mut key_buf = [0u8; 32];
    #[cfg(feature = "dtls")]
    let psk_key: &[u8] = match hex::hex(psk_hex, &mut key_buf) {
        Some(n) => key_buf.get(..n).unwrap_or(&[]),
        None => return err::INVAL,
    };
    #[cfg(not(feature = "dtls"))]
    let psk_key: &[u8] = &[];
    let mut guard = STATE.lock();
    if guard.is_some() {
        return err::ALREADY;
    }
    let Some(device) = DEVICE.try_uninit() else {
        return err::ALREADY;
    };
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
    let device = device.write(Device::new("RIOT", "lwm2m-c2c", ep));
    device.device_type = "RIOT node";
    #[cfg(feature = "fota")]
    if let Some(v) = fota::running_version() {
        device.firmware_version = v;
    }
    let Some(objects) = objects(device) else {
        return err::NOMEM;
    };
    let Some(cell) = STATE_CELL.try_uninit() else {
        return err::ALREADY;
    };
    // The state is larger than the thread that calls this has stack (15.8 KB on iotlab-m3 when
    // it was built here and moved, against CONFIG_LWM2M_THREAD_STACKSIZE): it is built in its
    // static cell, field by field.
    let state: *mut State = {
        let shared: *mut Shared = cell.as_mut_ptr();
        // SAFETY: `shared` points to the cell's memory (valid, aligned, handed out once by
        // `try_uninit`); taking a field's address reads nothing.
        unsafe { addr_of_mut!((*shared).0) }
    };
    // SAFETY: the engine field of the cell's memory, not referenced elsewhere; MaybeUninit has
    // the layout of the field.
    let slot: &mut MaybeUninit<Engine<'static>> =
        unsafe { &mut *addr_of_mut!((*state).engine).cast() };
    let Ok(engine) = Engine::new_in(slot, ep, objects, seed()) else {
        return err::INVAL;
    };
    // PSK credentials go to RIOT's credman at the first poll (dtls::Dtls::sync).
    let cfg = ServerConfig {
        ssid,
        uri,
        lifetime,
        mode: if coaps { mode::PSK } else { mode::NOSEC },
        identity: psk_id,
        secret_key: psk_key,
    };
    if engine.add_server(&cfg).is_err() {
        return err::INVAL;
    }
    #[cfg(feature = "fota")]
    if !fota::attach(engine) {
        return err::NOMEM;
    }
    let mut tracked = [(0, RegistrationState::NotRegistered); TRACKED];
    tracked[0].0 = ssid;
    // SAFETY: each remaining field of the cell's memory is written once through its own
    // pointer (no reference to uninitialized memory is made); after this block every field of
    // `State` is initialized, so the cell is too. On the error returns above the cell stays
    // uninitialized and unused (a second init answers -EALREADY, as before).
    let shared = unsafe {
        addr_of_mut!((*state).rx).write_bytes(0, 1);
        addr_of_mut!((*state).tx).write_bytes(0, 1);
        addr_of_mut!((*state).tracked).write(tracked);
        #[cfg(feature = "oscore")]
        addr_of_mut!((*state).sec).write(secure::Secure::new());
        #[cfg(feature = "c2c-auth")]
        requester::Ops::init_in(addr_of_mut!((*state).ops));
        #[cfg(feature = "dtls")]
        addr_of_mut!((*state).dtls).write(dtls::Dtls::new());
        #[cfg(feature = "fota-pull")]
        addr_of_mut!((*state).pull).write(fota_pull::Pull::new());
        cell.assume_init_mut()
    };
    *guard = Some(shared);
    0
}

/// Starts registration with the configured server (after `lwm2m_c2c_init`).
///
/// Returns 0, `-ENOENT` before initialization.
#[no_mangle]
pub extern "C" fn lwm2m_c2c_start() -> c_int {
    let res = with_state(|s| {
        s.engine.start(now());
        s.report();
        0
    });
    wake();
    res.unwrap_or_else(|e| e)
}

/// Sends what is due; returns milliseconds until the next call is needed (`u64::MAX`: none
/// scheduled, call again when something happens).
#[no_mangle]
pub extern "C" fn lwm2m_riot_poll(now: u64) -> u64 {
    with_state(|s| s.poll(now)).unwrap_or(u64::MAX)
}
