//! Firmware Update, object 5 (feature `fota`): the State / Update Result table, Package writes
//! streamed block by block to the sink (RFC 7959: repeated, missing, restarted blocks, a block
//! from another peer), the manifest's length and digest checks, and the download timeout; pull
//! (a Package URI the driver fetches and feeds back): its rows of the table, the same checks,
//! and a push during a pull and the reverse (those with feature `fota-pull`; without it, a
//! Package URI gets Update Result 9).
#![cfg(feature = "fota")]

mod common;

use common::*;
use lwm2m::coap::{code, content_format as cf, option, Block};
use lwm2m::engine::{Engine, Identity, Peer};
use lwm2m::firmware::{
    manifest, Firmware, FirmwareSink, FotaError, SinkError, State, UpdateOutcome, UpdateResult,
};
#[cfg(feature = "fota-pull")]
use lwm2m::firmware::{Protocol, PullFailure};
use std::cell::RefCell;
use std::rc::Rc;

const S: u16 = 1;

/// What the engine did to the sink.
#[derive(Default, Debug)]
struct Log {
    image: Vec<u8>,
    begun: Option<usize>,
    finished: usize,
    aborted: usize,
    updates: usize,
    /// Byte writes in order, to show nothing is written twice.
    writes: Vec<(usize, usize)>,
    outcome: Option<UpdateOutcome>,
    fail_write: bool,
    /// When set, every write must carry these bytes at its offset (the image pushed).
    expect: Option<Vec<u8>>,
}

struct Sink(Rc<RefCell<Log>>, usize);

impl FirmwareSink for Sink {
    fn capacity(&self) -> usize {
        self.1
    }
    fn begin(&mut self, len: usize) -> Result<(), SinkError> {
        let mut l = self.0.borrow_mut();
        l.begun = Some(len);
        l.image.clear();
        Ok(())
    }
    fn write(&mut self, offset: usize, data: &[u8]) -> Result<(), SinkError> {
        let mut l = self.0.borrow_mut();
        assert_eq!(offset, l.image.len(), "writes must append in order");
        if l.fail_write {
            return Err(SinkError::Io);
        }
        if let Some(x) = &l.expect {
            assert_eq!(
                x.get(offset..offset + data.len()),
                Some(data),
                "wrong bytes"
            );
        }
        l.writes.push((offset, data.len()));
        l.image.extend_from_slice(data);
        Ok(())
    }
    fn finish(&mut self) -> Result<(), SinkError> {
        self.0.borrow_mut().finished += 1;
        Ok(())
    }
    fn abort(&mut self) {
        let mut l = self.0.borrow_mut();
        l.aborted += 1;
        l.image.clear();
    }
    fn update(&mut self) -> UpdateOutcome {
        let mut l = self.0.borrow_mut();
        l.updates += 1;
        l.outcome.unwrap_or(UpdateOutcome::Succeeded)
    }
}

/// An engine with server 1 and object 5 over a logging sink of `capacity` bytes.
fn fota_engine(capacity: usize) -> (Engine<'static>, Rc<RefCell<Log>>) {
    let log = Rc::new(RefCell::new(Log::default()));
    let sink: &'static mut Sink = Box::leak(Box::new(Sink(log.clone(), capacity)));
    let fw: &'static mut Firmware<'static> = Box::leak(Box::new(Firmware::new(sink)));
    let mut e = engine(&[S]);
    e.set_firmware(fw).unwrap();
    (e, log)
}

#[cfg(feature = "fota-pull")]
static PULL: [Protocol; 2] = [Protocol::Coap, Protocol::Coaps];

/// The same with pull over `protocols`.
#[cfg(feature = "fota-pull")]
fn pull_engine(protocols: &'static [Protocol]) -> (Engine<'static>, Rc<RefCell<Log>>) {
    let log = Rc::new(RefCell::new(Log::default()));
    let sink: &'static mut Sink = Box::leak(Box::new(Sink(log.clone(), 1 << 20)));
    let fw = Firmware::new(sink).with_pull(protocols);
    let fw: &'static mut Firmware<'static> = Box::leak(Box::new(fw));
    let mut e = engine(&[S]);
    e.set_firmware(fw).unwrap();
    (e, log)
}

/// Server 1 on another driver handle than `server(S)`.
fn other() -> Peer {
    Peer {
        identity: Identity::Server(S),
        endpoint: 77,
        source: 77,
    }
}

fn image(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn package(image: &[u8]) -> Vec<u8> {
    let mut h = [0u8; manifest::MAX_LEN];
    let n = manifest::encode(image, "app", "2.0.1", &mut h).unwrap();
    let mut p = h[..n].to_vec();
    p.extend_from_slice(image);
    p
}

/// Block `num` of `pkg` (size 2^(szx+4)) as a PUT of /5/0/0.
fn block(pkg: &[u8], num: u32, szx: u8) -> Req {
    let size = 16usize << szx;
    let start = (num as usize * size).min(pkg.len());
    let end = (start + size).min(pkg.len());
    let b = Block {
        num,
        more: end < pkg.len(),
        szx,
    };
    req(code::PUT, "/5/0/0")
        .cf(cf::OPAQUE)
        .uint(option::BLOCK1, b.to_uint())
        .body(&pkg[start..end])
}

fn blocks(pkg: &[u8], szx: u8) -> u32 {
    pkg.len().div_ceil(16 << szx) as u32
}

fn state(e: &Engine<'_>) -> (State, UpdateResult) {
    let f = e.firmware().unwrap();
    (f.state(), f.result())
}

fn int(e: &mut Engine<'_>, path: &str) -> V {
    read_value(e, server(S), path, 0).unwrap()
}

/// Pushes the whole package in blocks; returns the last response.
fn push(e: &mut Engine<'_>, pkg: &[u8], szx: u8) -> Resp {
    let n = blocks(pkg, szx);
    for num in 0..n - 1 {
        let r = send(e, server(S), &block(pkg, num, szx), 0);
        assert_eq!(
            r.code,
            code::CONTINUE,
            "block {num}: {:?}",
            e.firmware().unwrap().last_error()
        );
    }
    send(e, server(S), &block(pkg, n - 1, szx), 0)
}

fn execute_update(e: &mut Engine<'_>) -> u8 {
    send(e, server(S), &req(code::POST, "/5/0/2"), 0).code
}

#[test]
fn push_streams_to_the_sink_and_update_installs() {
    let (mut e, log) = fota_engine(1 << 20);
    assert_eq!(int(&mut e, "/5/0/3"), V::I(0));
    assert_eq!(int(&mut e, "/5/0/9"), V::I(1));
    let img = image(5000);
    let pkg = package(&img);
    let r = send(&mut e, server(S), &block(&pkg, 0, 4), 0);
    assert_eq!(r.code, code::CONTINUE);
    assert_eq!(
        Block::decode(r.opt(option::BLOCK1).unwrap()).unwrap().num,
        0
    );
    assert_eq!(state(&e).0, State::Downloading);
    assert_eq!(e.firmware().unwrap().progress(), (256 - 52, 5000));
    // Only the image reaches the sink, block by block: no block is buffered whole.
    let r = push(&mut e, &pkg, 4);
    assert_eq!(r.code, code::CHANGED);
    assert_eq!(log.borrow().image, img);
    assert_eq!(log.borrow().begun, Some(5000));
    assert_eq!(log.borrow().finished, 1);
    assert_eq!(state(&e), (State::Downloaded, UpdateResult::Initial));
    assert_eq!(int(&mut e, "/5/0/6"), V::S("app".into()));
    assert_eq!(int(&mut e, "/5/0/7"), V::S("2.0.1".into()));
    assert_eq!(execute_update(&mut e), code::CHANGED);
    assert_eq!(log.borrow().updates, 1);
    assert_eq!(state(&e), (State::Idle, UpdateResult::Success));
    assert_eq!(int(&mut e, "/5/0/5"), V::I(1));
}

#[test]
fn state_machine_illegal_transitions() {
    let (mut e, log) = fota_engine(1 << 20);
    let pkg = package(&image(300));
    // Idle: Update is not allowed.
    assert_eq!(execute_update(&mut e), code::METHOD_NOT_ALLOWED);
    // Downloading: Update is not allowed; State, Update Result are read-only.
    send(&mut e, server(S), &block(&pkg, 0, 4), 0);
    assert_eq!(execute_update(&mut e), code::METHOD_NOT_ALLOWED);
    for p in ["/5/0/3", "/5/0/5", "/5/0/6", "/5/0/7", "/5/0/9"] {
        let r = put_text(&mut e, server(S), p, "1", 0);
        assert_eq!(r.code, code::METHOD_NOT_ALLOWED, "{p}");
    }
    assert_eq!(state(&e).0, State::Downloading);
    // Package is write-only.
    assert_eq!(
        read_value(&mut e, server(S), "/5/0/0", 0),
        Err(code::METHOD_NOT_ALLOWED)
    );
    let r = push(&mut e, &pkg, 4);
    assert_eq!(r.code, code::CHANGED);
    // Downloaded: a new package needs a reset first.
    let r = send(&mut e, server(S), &block(&pkg, 0, 4), 0);
    assert_eq!(r.code, code::METHOD_NOT_ALLOWED);
    assert_eq!(state(&e).0, State::Downloaded);
    // Update fails: back to Downloaded with 8; a second Update may succeed.
    log.borrow_mut().outcome = Some(UpdateOutcome::Failed);
    assert_eq!(execute_update(&mut e), code::CHANGED);
    assert_eq!(state(&e), (State::Downloaded, UpdateResult::UpdateFailed));
    // Pending: Updating until the integrator reports; writes are refused meanwhile.
    log.borrow_mut().outcome = Some(UpdateOutcome::Pending);
    assert_eq!(execute_update(&mut e), code::CHANGED);
    assert_eq!(state(&e).0, State::Updating);
    assert_eq!(execute_update(&mut e), code::METHOD_NOT_ALLOWED);
    let empty = req(code::PUT, "/5/0/0").cf(cf::OPAQUE);
    assert_eq!(
        send(&mut e, server(S), &empty, 0).code,
        code::METHOD_NOT_ALLOWED
    );
    e.firmware_mut().unwrap().update_finished(true);
    assert_eq!(state(&e), (State::Idle, UpdateResult::Success));
    assert_eq!(log.borrow().updates, 2);
}

#[test]
fn empty_package_or_uri_resets() {
    let (mut e, log) = fota_engine(1 << 20);
    let pkg = package(&image(300));
    let empty = req(code::PUT, "/5/0/0").cf(cf::OPAQUE);
    // Downloading -> Idle, the partial image dropped.
    send(&mut e, server(S), &block(&pkg, 0, 4), 0);
    assert_eq!(send(&mut e, server(S), &empty, 0).code, code::CHANGED);
    assert_eq!(state(&e), (State::Idle, UpdateResult::Initial));
    assert_eq!(log.borrow().aborted, 1);
    // Downloaded -> Idle by an empty Package URI.
    assert_eq!(push(&mut e, &pkg, 4).code, code::CHANGED);
    assert_eq!(
        put_text(&mut e, server(S), "/5/0/1", "", 0).code,
        code::CHANGED
    );
    assert_eq!(state(&e), (State::Idle, UpdateResult::Initial));
    assert_eq!(log.borrow().aborted, 2);
    assert_eq!(int(&mut e, "/5/0/6"), V::S("".into()));
    // A failed result is cleared by the reset too.
    let uri = put_text(&mut e, server(S), "/5/0/1", "coap://[::1]/fw", 0);
    assert_eq!(uri.code, code::CHANGED);
    assert_eq!(state(&e), (State::Idle, UpdateResult::UnsupportedProtocol));
    assert_eq!(
        e.firmware().unwrap().last_error(),
        Some(FotaError::PullUnsupported)
    );
    send(&mut e, server(S), &empty, 0);
    assert_eq!(state(&e), (State::Idle, UpdateResult::Initial));
}

#[test]
fn retransmitted_block_is_not_written_twice() {
    let (mut e, log) = fota_engine(1 << 20);
    let img = image(1000);
    let pkg = package(&img);
    for num in 0..blocks(&pkg, 4) {
        for _ in 0..2 {
            let r = send(&mut e, server(S), &block(&pkg, num, 4), 0);
            let last = num + 1 == blocks(&pkg, 4);
            assert_eq!(r.code, if last { code::CHANGED } else { code::CONTINUE });
        }
    }
    let l = log.borrow();
    assert_eq!(l.image, img);
    let total: usize = l.writes.iter().map(|w| w.1).sum();
    assert_eq!(total, img.len());
    assert_eq!(l.finished, 1);
}

#[test]
fn missing_block_is_4_08_and_the_transfer_goes_on() {
    let (mut e, log) = fota_engine(1 << 20);
    let img = image(1000);
    let pkg = package(&img);
    send(&mut e, server(S), &block(&pkg, 0, 4), 0);
    let r = send(&mut e, server(S), &block(&pkg, 2, 4), 0);
    assert_eq!(r.code, code::REQUEST_ENTITY_INCOMPLETE);
    // Mid-transfer, other requests still work.
    assert_eq!(int(&mut e, "/5/0/3"), V::I(1));
    assert_eq!(
        read_value(&mut e, server(S), "/3/0/0", 0),
        Ok(V::S("ACME".into()))
    );
    for num in 1..blocks(&pkg, 4) {
        send(&mut e, server(S), &block(&pkg, num, 4), 0);
    }
    assert_eq!(log.borrow().image, img);
    assert_eq!(state(&e).0, State::Downloaded);
}

#[test]
fn block_from_another_peer_is_4_08() {
    let (mut e, log) = fota_engine(1 << 20);
    let img = image(1000);
    let pkg = package(&img);
    send(&mut e, server(S), &block(&pkg, 0, 4), 0);
    assert!(e.endpoint_in_use(server(S).endpoint));
    // Same server, another handle (another address or session): not the transfer's peer.
    let r = send(&mut e, other(), &block(&pkg, 1, 4), 0);
    assert_eq!(r.code, code::REQUEST_ENTITY_INCOMPLETE);
    assert_eq!(push(&mut e, &pkg, 4).code, code::CHANGED);
    assert_eq!(log.borrow().image, img);
}

#[test]
fn block_zero_restarts() {
    let (mut e, log) = fota_engine(1 << 20);
    let old = package(&image(800));
    let img: Vec<u8> = image(900).iter().map(|b| b ^ 0x55).collect();
    let pkg = package(&img);
    for num in 0..3 {
        send(&mut e, server(S), &block(&old, num, 4), 0);
    }
    // Another peer starts over: the partial image is dropped.
    let r = send(&mut e, other(), &block(&pkg, 0, 4), 0);
    assert_eq!(r.code, code::CONTINUE);
    assert_eq!(log.borrow().aborted, 1);
    for num in 1..blocks(&pkg, 4) {
        send(&mut e, other(), &block(&pkg, num, 4), 0);
    }
    assert_eq!(log.borrow().image, img);
    assert_eq!(log.borrow().begun, Some(900));
    assert_eq!(state(&e), (State::Downloaded, UpdateResult::Initial));
}

#[test]
fn digest_mismatch_is_result_5() {
    let (mut e, log) = fota_engine(1 << 20);
    let mut pkg = package(&image(700));
    let last = pkg.len() - 1;
    pkg[last] ^= 1;
    let r = push(&mut e, &pkg, 5);
    assert_eq!(r.code, code::BAD_REQUEST);
    assert_eq!(state(&e), (State::Idle, UpdateResult::IntegrityFailure));
    assert_eq!(
        e.firmware().unwrap().last_error(),
        Some(FotaError::DigestMismatch)
    );
    assert_eq!(log.borrow().finished, 0);
    assert_eq!(log.borrow().aborted, 1);
    assert_eq!(int(&mut e, "/5/0/5"), V::I(5));
}

#[test]
fn truncated_or_overlong_image_is_result_5() {
    let pkg = package(&image(700));
    for (cut, err) in [
        (pkg.len() - 10, FotaError::Truncated),
        (30, FotaError::Truncated),
    ] {
        let (mut e, log) = fota_engine(1 << 20);
        let r = push(&mut e, &pkg[..cut], 4);
        assert_eq!(r.code, code::BAD_REQUEST, "cut {cut}");
        assert_eq!(state(&e), (State::Idle, UpdateResult::IntegrityFailure));
        assert_eq!(e.firmware().unwrap().last_error(), Some(err));
        assert_eq!(log.borrow().finished, 0);
    }
    let (mut e, _) = fota_engine(1 << 20);
    let mut long = pkg.clone();
    long.extend_from_slice(&[0; 40]);
    // Refused at the first block that goes beyond the stated length (block 2 of 256 bytes).
    for num in 0..2 {
        assert_eq!(
            send(&mut e, server(S), &block(&long, num, 4), 0).code,
            code::CONTINUE
        );
    }
    let r = send(&mut e, server(S), &block(&long, 2, 4), 0);
    assert_eq!(r.code, code::BAD_REQUEST);
    assert_eq!(e.firmware().unwrap().last_error(), Some(FotaError::TooLong));
}

#[test]
fn too_large_not_a_package_and_sink_failure() {
    let pkg = package(&image(2000));
    // Refused in the first block: the server need not send the rest.
    let (mut e, log) = fota_engine(1999);
    let r = send(&mut e, server(S), &block(&pkg, 0, 4), 0);
    assert_eq!(r.code, code::REQUEST_ENTITY_TOO_LARGE);
    assert_eq!(state(&e), (State::Idle, UpdateResult::NotEnoughFlash));
    assert_eq!(log.borrow().begun, None);
    assert_eq!(log.borrow().aborted, 0);
    let (mut e, _) = fota_engine(1 << 20);
    let mut bad = pkg.clone();
    bad[0] = b'X';
    let r = send(&mut e, server(S), &block(&bad, 0, 4), 0);
    assert_eq!(r.code, code::BAD_REQUEST);
    assert_eq!(state(&e), (State::Idle, UpdateResult::UnsupportedPackage));
    let (mut e, log) = fota_engine(1 << 20);
    log.borrow_mut().fail_write = true;
    let r = send(&mut e, server(S), &block(&pkg, 0, 4), 0);
    assert_eq!(r.code, code::INTERNAL_SERVER_ERROR);
    assert_eq!(state(&e), (State::Idle, UpdateResult::UpdateFailed));
    assert_eq!(log.borrow().aborted, 1);
    // Other content formats are not a package.
    let text = req(code::PUT, "/5/0/0").cf(cf::TEXT).body(&pkg[..16]);
    let r = send(&mut e, server(S), &text, 0);
    assert_eq!(r.code, code::UNSUPPORTED_CONTENT_FORMAT);
}

#[test]
fn whole_package_without_block1() {
    let (mut e, log) = fota_engine(1 << 20);
    let img = image(200);
    let r = send(
        &mut e,
        server(S),
        &req(code::PUT, "/5/0/0").cf(cf::OPAQUE).body(&package(&img)),
        0,
    );
    assert_eq!(r.code, code::CHANGED);
    assert_eq!(r.opt(option::BLOCK1), None);
    assert_eq!(log.borrow().image, img);
}

#[test]
fn silent_peer_ends_with_result_4() {
    let (mut e, log) = fota_engine(1 << 20);
    let pkg = package(&image(1000));
    send(&mut e, server(S), &block(&pkg, 0, 4), 1000);
    let due = e.next_wakeup().unwrap();
    assert!(due <= 1000 + lwm2m::config::FOTA_TIMEOUT_MS as u64);
    poll_all(&mut e, 1000 + lwm2m::config::FOTA_TIMEOUT_MS as u64 - 1);
    assert_eq!(state(&e).0, State::Downloading);
    poll_all(&mut e, 1000 + lwm2m::config::FOTA_TIMEOUT_MS as u64);
    assert_eq!(state(&e), (State::Idle, UpdateResult::ConnectionLost));
    assert_eq!(log.borrow().aborted, 1);
    assert!(!e.endpoint_in_use(server(S).endpoint));
}

#[test]
fn state_and_result_are_notified() {
    let (mut e, _) = fota_engine(1 << 20);
    register_all(&mut e, 0);
    for (path, token) in [("/5/0/3", b"st"), ("/5/0/5", b"ur")] {
        let obs = get(path).observe(0).token(token);
        assert_eq!(send(&mut e, server(S), &obs, 0).code, code::CONTENT);
    }
    let notes = |e: &mut Engine<'_>, now, token: &[u8]| -> Vec<V> {
        poll_all(e, now)
            .iter()
            .filter(|(_, r)| r.token == token)
            .map(|(_, r)| decode(cf::TEXT, "/5/0/3", &r.payload)[0].1.clone())
            .collect()
    };
    let pkg = package(&image(100));
    send(&mut e, server(S), &block(&pkg, 0, 2), 0);
    assert_eq!(notes(&mut e, 10, b"st"), vec![V::I(1)]);
    let mut bad = pkg.clone();
    bad[100] ^= 1;
    for num in 1..blocks(&bad, 2) {
        send(&mut e, server(S), &block(&bad, num, 2), 20);
    }
    let mut all = poll_all(&mut e, 30);
    all.retain(|(_, r)| r.token == b"ur");
    assert_eq!(all.len(), 1);
    assert_eq!(decode(cf::TEXT, "/5/0/5", &all[0].1.payload)[0].1, V::I(5));
}

#[test]
fn object_5_is_registered_and_can_be_replaced() {
    let (mut e, _) = fota_engine(1 << 20);
    e.start(0);
    let (_, reg) = poll(&mut e, 0).unwrap();
    assert!(reg.text().contains("</5/0>"), "{}", reg.text());
    let log = Rc::new(RefCell::new(Log::default()));
    let sink: &'static mut Sink = Box::leak(Box::new(Sink(log, 1)));
    let fw: &'static mut Firmware<'static> = Box::leak(Box::new(Firmware::new(sink)));
    assert!(e.set_firmware(fw).is_ok(), "replacing object 5 is allowed");
}

#[cfg(feature = "fota-pull")]
const URI: &str = "coap://127.0.0.1:5683/fw/1";

/// Feeds `pkg` as pulled blocks of `size` bytes at time `now`; the last result.
#[cfg(feature = "fota-pull")]
fn feed(e: &mut Engine<'_>, pkg: &[u8], size: usize, now: u64) -> Result<(), FotaError> {
    let n = pkg.len().div_ceil(size);
    for (i, chunk) in pkg.chunks(size).enumerate() {
        e.firmware_pull_block(i * size, chunk, i + 1 == n, now)?;
    }
    Ok(())
}

#[cfg(feature = "fota-pull")]
#[test]
fn pull_fetched_by_the_driver_goes_through_the_same_path() {
    let (mut e, log) = pull_engine(&PULL);
    assert_eq!(int(&mut e, "/5/0/9"), V::I(2));
    assert_eq!(int(&mut e, "/5/0/8/0"), V::I(0));
    assert_eq!(int(&mut e, "/5/0/8/1"), V::I(1));
    assert_eq!(e.firmware_pull(), None);
    assert_eq!(
        put_text(&mut e, server(S), "/5/0/1", URI, 0).code,
        code::CHANGED
    );
    assert_eq!(state(&e), (State::Downloading, UpdateResult::Initial));
    assert_eq!(e.firmware_pull(), Some(URI));
    assert_eq!(int(&mut e, "/5/0/1"), V::S(URI.into()));
    // Not a peer's transfer: the writer's handle is free.
    assert!(!e.endpoint_in_use(server(S).endpoint));
    let img = image(5000);
    let pkg = package(&img);
    assert_eq!(feed(&mut e, &pkg, 512, 10), Ok(()));
    assert_eq!(log.borrow().image, img);
    assert_eq!(log.borrow().finished, 1);
    assert_eq!(state(&e), (State::Downloaded, UpdateResult::Initial));
    assert_eq!(e.firmware_pull(), None);
    assert_eq!(int(&mut e, "/5/0/7"), V::S("2.0.1".into()));
    assert_eq!(execute_update(&mut e), code::CHANGED);
    assert_eq!(state(&e), (State::Idle, UpdateResult::Success));
    // Push-only objects list no protocol and say 1.
    let (mut e, _) = fota_engine(1 << 20);
    assert_eq!(int(&mut e, "/5/0/9"), V::I(1));
    assert_eq!(
        read_value(&mut e, server(S), "/5/0/8/0", 0),
        Err(code::NOT_FOUND)
    );
}

#[cfg(feature = "fota-pull")]
#[test]
fn pulled_blocks_in_order_repeats_ignored() {
    let (mut e, log) = pull_engine(&PULL);
    put_text(&mut e, server(S), "/5/0/1", URI, 0);
    let img = image(1500);
    let pkg = package(&img);
    e.firmware_pull_block(0, &pkg[..256], false, 0).unwrap();
    // The same block again (a retry): taken once.
    e.firmware_pull_block(0, &pkg[..256], false, 0).unwrap();
    // A gap: refused, nothing changed.
    let gap = e.firmware_pull_block(512, &pkg[512..768], false, 0);
    assert_eq!(gap, Err(FotaError::Unexpected));
    assert_eq!(state(&e).0, State::Downloading);
    let rest = e.firmware_pull_block(256, &pkg[256..], true, 0);
    assert_eq!(rest, Ok(()));
    assert_eq!(log.borrow().image, img);
    let total: usize = log.borrow().writes.iter().map(|w| w.1).sum();
    assert_eq!(total, img.len());
    // No pull in progress: refused.
    let late = e.firmware_pull_block(0, &pkg, true, 0);
    assert_eq!(late, Err(FotaError::Unexpected));
    assert_eq!(state(&e).0, State::Downloaded);
}

#[cfg(feature = "fota-pull")]
#[test]
fn pull_digest_mismatch_is_5_and_failures_are_4_or_7() {
    let (mut e, log) = pull_engine(&PULL);
    put_text(&mut e, server(S), "/5/0/1", URI, 0);
    let mut pkg = package(&image(3000));
    pkg[2000] ^= 4;
    assert_eq!(feed(&mut e, &pkg, 1024, 0), Err(FotaError::DigestMismatch));
    assert_eq!(state(&e), (State::Idle, UpdateResult::IntegrityFailure));
    assert_eq!(log.borrow().finished, 0);
    assert_eq!(e.firmware_pull(), None);
    assert_eq!(int(&mut e, "/5/0/1"), V::S("".into()));
    for (reason, result) in [
        (PullFailure::ConnectionLost, UpdateResult::ConnectionLost),
        (PullFailure::InvalidUri, UpdateResult::InvalidUri),
        (
            PullFailure::UnsupportedProtocol,
            UpdateResult::UnsupportedProtocol,
        ),
    ] {
        let aborted = log.borrow().aborted;
        put_text(&mut e, server(S), "/5/0/1", URI, 0);
        e.firmware_pull_block(0, &pkg[..100], false, 0).unwrap();
        e.firmware_pull_failed(reason, 0);
        assert_eq!(state(&e), (State::Idle, result));
        assert_eq!(
            e.firmware().unwrap().last_error(),
            Some(FotaError::Pull(reason))
        );
        assert_eq!(
            log.borrow().aborted,
            aborted + 1,
            "the partial image dropped"
        );
    }
    // Without a pull in progress it changes nothing.
    e.firmware_pull_failed(PullFailure::ConnectionLost, 0);
    assert_eq!(state(&e), (State::Idle, UpdateResult::UnsupportedProtocol));
}

#[cfg(feature = "fota-pull")]
#[test]
fn bad_uri_is_7_other_protocols_9_too_long_4_13() {
    let (mut e, _) = pull_engine(&[Protocol::Coap]);
    for (uri, result, err) in [
        ("not a uri", UpdateResult::InvalidUri, FotaError::InvalidUri),
        ("coap://", UpdateResult::InvalidUri, FotaError::InvalidUri),
        (
            "coap://h/a b",
            UpdateResult::InvalidUri,
            FotaError::InvalidUri,
        ),
        ("1ab://h/x", UpdateResult::InvalidUri, FotaError::InvalidUri),
        (
            "http://h/fw",
            UpdateResult::UnsupportedProtocol,
            FotaError::UnsupportedProtocol,
        ),
        (
            "coap+tcp://h/fw",
            UpdateResult::UnsupportedProtocol,
            FotaError::UnsupportedProtocol,
        ),
        // Not among this driver's protocols.
        (
            "coaps://h/fw",
            UpdateResult::UnsupportedProtocol,
            FotaError::UnsupportedProtocol,
        ),
    ] {
        let r = put_text(&mut e, server(S), "/5/0/1", uri, 0);
        assert_eq!(r.code, code::CHANGED, "{uri}");
        assert_eq!(state(&e), (State::Idle, result), "{uri}");
        assert_eq!(e.firmware().unwrap().last_error(), Some(err), "{uri}");
        assert_eq!(e.firmware_pull(), None);
    }
    let long = format!("COAP://h/{}", "x".repeat(lwm2m::config::FOTA_URI_LEN - 9));
    assert_eq!(long.len(), lwm2m::config::FOTA_URI_LEN);
    let r = put_text(&mut e, server(S), "/5/0/1", &format!("{long}y"), 0);
    assert_eq!(r.code, code::REQUEST_ENTITY_TOO_LARGE);
    assert_eq!(state(&e).0, State::Idle);
    let r = put_text(&mut e, server(S), "/5/0/1", &long, 0);
    assert_eq!(r.code, code::CHANGED);
    assert_eq!(e.firmware_pull(), Some(long.as_str()));
    // An empty URI resets a pull.
    put_text(&mut e, server(S), "/5/0/1", "", 0);
    assert_eq!(state(&e), (State::Idle, UpdateResult::Initial));
    assert_eq!(e.firmware_pull(), None);
}

#[cfg(feature = "fota-pull")]
#[test]
fn push_during_pull_replaces_it_uri_during_push_is_4_05() {
    let (mut e, log) = pull_engine(&PULL);
    let img = image(2000);
    let pkg = package(&img);
    put_text(&mut e, server(S), "/5/0/1", URI, 0);
    e.firmware_pull_block(0, &pkg[..300], false, 0).unwrap();
    // A push block other than 0 is not the transfer's: 4.08, the pull goes on.
    let r = send(&mut e, server(S), &block(&pkg, 1, 4), 0);
    assert_eq!(r.code, code::REQUEST_ENTITY_INCOMPLETE);
    assert_eq!(e.firmware_pull(), Some(URI));
    // Another URI while the pull runs: 4.05.
    let r = put_text(&mut e, server(S), "/5/0/1", "coap://h/other", 0);
    assert_eq!(r.code, code::METHOD_NOT_ALLOWED);
    // Block 0 of a push starts over as a push: the pull is dropped.
    let r = send(&mut e, server(S), &block(&pkg, 0, 4), 0);
    assert_eq!(r.code, code::CONTINUE);
    assert_eq!(e.firmware_pull(), None);
    assert_eq!(log.borrow().aborted, 1);
    let late = e.firmware_pull_block(300, &pkg[300..600], false, 0);
    assert_eq!(late, Err(FotaError::Unexpected));
    assert_eq!(push(&mut e, &pkg, 4).code, code::CHANGED);
    assert_eq!(log.borrow().image, img);
    // The reverse: a URI during a push is 4.05, the push goes on.
    put_text(&mut e, server(S), "/5/0/1", "", 0);
    send(&mut e, server(S), &block(&pkg, 0, 4), 0);
    let r = put_text(&mut e, server(S), "/5/0/1", URI, 0);
    assert_eq!(r.code, code::METHOD_NOT_ALLOWED);
    assert_eq!(e.firmware_pull(), None);
    assert_eq!(push(&mut e, &pkg, 4).code, code::CHANGED);
    // Downloaded: a URI needs a reset first.
    let r = put_text(&mut e, server(S), "/5/0/1", URI, 0);
    assert_eq!(r.code, code::METHOD_NOT_ALLOWED);
}

#[cfg(feature = "fota-pull")]
#[test]
fn silent_pull_ends_with_result_4() {
    let (mut e, log) = pull_engine(&PULL);
    let t = lwm2m::config::FOTA_TIMEOUT_MS as u64;
    put_text(&mut e, server(S), "/5/0/1", URI, 1000);
    assert!(e.next_wakeup().unwrap() <= 1000 + t);
    let pkg = package(&image(1000));
    e.firmware_pull_block(0, &pkg[..200], false, 2000).unwrap();
    poll_all(&mut e, 2000 + t - 1);
    assert_eq!(state(&e).0, State::Downloading);
    poll_all(&mut e, 2000 + t);
    assert_eq!(state(&e), (State::Idle, UpdateResult::ConnectionLost));
    assert_eq!(e.firmware().unwrap().last_error(), Some(FotaError::Timeout));
    assert_eq!(log.borrow().aborted, 1);
    assert_eq!(e.firmware_pull(), None);
}

/// Without `fota-pull` the object is push-only: resource 9 says 1, resource 8 is absent, a
/// Package URI of any length and scheme gets Update Result 9 and is not kept.
#[cfg(not(feature = "fota-pull"))]
#[test]
fn without_fota_pull_a_uri_is_result_9() {
    let (mut e, _) = fota_engine(1 << 20);
    assert_eq!(int(&mut e, "/5/0/9"), V::I(1));
    assert_eq!(
        read_value(&mut e, server(S), "/5/0/8", 0),
        Err(code::NOT_FOUND)
    );
    let long = format!("coap://h/{}", "x".repeat(300));
    for uri in ["coap://127.0.0.1:5683/fw/1", "not a uri", long.as_str()] {
        let r = put_text(&mut e, server(S), "/5/0/1", uri, 0);
        assert_eq!(r.code, code::CHANGED, "{uri}");
        assert_eq!(state(&e), (State::Idle, UpdateResult::UnsupportedProtocol));
        assert_eq!(int(&mut e, "/5/0/1"), V::S("".into()));
    }
}

mod hostile {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]
        /// Blocks of a valid package in any order, repeated, from two peers, with any sizes,
        /// interleaved with resets, Updates and pulls (URI writes, pulled blocks in any order,
        /// failed fetches): no panic, the sink only ever sees appends in
        /// order of the image's own bytes (its `write` asserts both), and a Downloaded state
        /// always holds the image.
        #[test]
        fn any_block_sequence(steps in proptest::collection::vec(
            (0u32..12, 0u8..3, any::<bool>(), 0u8..11), 1..60)) {
            #[cfg(feature = "fota-pull")]
            let (mut e, log) = pull_engine(&PULL);
            #[cfg(not(feature = "fota-pull"))]
            let (mut e, log) = fota_engine(1 << 20);
            let img = image(700);
            let pkg = package(&img);
            log.borrow_mut().expect = Some(img.clone());
            for (num, szx, peer, kind) in steps {
                let from = if peer { server(S) } else { other() };
                let size = 16usize << (szx + 4);
                let start = (num as usize * size).min(pkg.len());
                #[cfg_attr(not(feature = "fota-pull"), allow(unused_variables))]
                let end = (start + size).min(pkg.len());
                let r = match kind {
                    0 => req(code::PUT, "/5/0/0").cf(cf::OPAQUE),
                    1 => req(code::POST, "/5/0/2"),
                    // Pull: a URI write, pulled blocks in any order, a failed fetch (without
                    // `fota-pull` the URI write ends in Result 9).
                    #[cfg(not(feature = "fota-pull"))]
                    8 => req(code::PUT, "/5/0/1").cf(cf::TEXT).body(b"coap://h/fw"),
                    #[cfg(feature = "fota-pull")]
                    8 => req(code::PUT, "/5/0/1").cf(cf::TEXT).body(URI.as_bytes()),
                    #[cfg(feature = "fota-pull")]
                    9 => {
                        let _ = e.firmware_pull_block(start, &pkg[start..end], end == pkg.len(), 0);
                        req(code::GET, "/5/0/3")
                    }
                    #[cfg(feature = "fota-pull")]
                    10 => {
                        e.firmware_pull_failed(PullFailure::ConnectionLost, 0);
                        req(code::GET, "/5/0/3")
                    }
                    _ => block(&pkg, num, szx + 4),
                };
                let resp = send(&mut e, from, &r, 0);
                prop_assert!(resp.code >= code::CHANGED, "{resp:?}");
                if state(&e).0 == State::Downloaded {
                    prop_assert_eq!(&log.borrow().image, &img);
                }
            }
        }
    }
}
