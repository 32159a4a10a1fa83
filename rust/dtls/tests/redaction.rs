//! Key material never shows up in anything printable the crate produces: Debug of keys,
//! endpoints, events, stats and transmits, and Display/Debug of every error, around a real
//! handshake and data exchange with a known key.

mod common;

use common::*;
use lwm2m_dtls::{Config, Error, Key};

const KEY: [u8; 16] = [
    0x8a, 0x11, 0xf3, 0x5c, 0x27, 0xe9, 0x40, 0xbd, 0x6e, 0x93, 0x0c, 0xd4, 0x71, 0xa8, 0x2f, 0x56,
];

fn base64(bytes: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// Every way the key could be spelled in text.
fn spellings() -> Vec<String> {
    const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let lower = hex(&KEY);
    let spaced: Vec<String> = KEY.iter().map(|b| format!("{b:02x}")).collect();
    let decimal: Vec<String> = KEY.iter().map(|b| b.to_string()).collect();
    let mut all = vec![
        lower.clone(),
        lower.to_uppercase(),
        spaced.join(" "),
        spaced.join(":"),
        base64(&KEY, STD),
        base64(&KEY, URL),
        decimal.join(", "),
        format!("{:?}", KEY),
        format!("{:x?}", KEY),
        format!("{:#x?}", KEY).replace('\n', ""),
    ];
    // Any 6-byte window of the key, hex or base64, also counts as a leak.
    for w in KEY.windows(6) {
        all.push(hex(w));
        all.push(base64(w, STD));
    }
    all
}

fn assert_clean(text: &str) {
    for s in spellings() {
        assert!(!text.contains(&s), "key spelled {s:?} appears in {text:?}");
    }
    let raw = text.as_bytes();
    assert!(
        !raw.windows(6).any(|w| KEY.windows(6).any(|k| k == w)),
        "raw key bytes appear in {text:?}"
    );
}

#[test]
fn key_material_appears_in_no_printable_output() {
    let mut printed = Vec::new();

    let key = Key::new(&KEY).expect("key");
    printed.push(format!("{key:?}"));
    printed.push(format!("{:?}", Key::from_hex(&hex(&KEY)).expect("hex key")));
    for bad in [
        format!("{}z", hex(&KEY)),
        format!("{}0", hex(&KEY)),
        format!("{}00", hex(&KEY)),
    ] {
        let err = Key::from_hex(&bad).expect_err("malformed key accepted");
        printed.push(format!("{err} {err:?}"));
    }
    let long = [KEY.as_slice(), KEY.as_slice()].concat();
    let err = Key::new(&long).expect_err("32-byte key accepted");
    printed.push(format!("{err} {err:?}"));
    for err in [
        Error::WrongRole,
        Error::Capacity,
        Error::PeerExists,
        Error::NotConnected,
        Error::TooLarge(2000),
        Error::KeyLength(32),
        Error::KeyEncoding,
        Error::OutOfMemory,
        Error::SendFailed,
    ] {
        printed.push(format!("{err} {err:?}"));
    }

    let (ca, sa) = (addr("127.0.0.1:40001"), addr("127.0.0.1:5684"));
    let mut c = client(b"dev", &KEY);
    let mut s = server(ServerStore::with(b"dev", &KEY), Config::default());
    c.connect(sa).expect("connect");
    let mut traffic = pump(&mut c, ca, &mut s, sa);
    assert_eq!(
        s.session_identity(ca),
        Some(&b"dev"[..]),
        "handshake failed"
    );
    c.send(sa, b"\x40\x01\x00\x01").expect("send");
    let more = pump(&mut c, ca, &mut s, sa);
    traffic.a_events.extend(more.a_events);
    traffic.b_events.extend(more.b_events);
    printed.push(format!("{:?} {:?}", traffic.a_events, traffic.b_events));
    printed.push(format!("{c:?} {s:?} {:?} {:?}", c.stats(), s.stats()));
    s.send(ca, b"reply").expect("send");
    let t = s.poll_transmit().expect("transmit");
    printed.push(format!("{t:?}"));
    // The ciphertext on the wire does not carry the key either.
    for datagram in traffic.a_to_b.iter().chain(&traffic.b_to_a) {
        assert!(!datagram.windows(6).any(|w| KEY.windows(6).any(|k| k == w)));
    }
    assert!(s.close(ca));
    printed.push(format!("{s:?}"));

    assert!(printed.len() > 15);
    for text in &printed {
        assert_clean(text);
    }
    // The checker itself finds a leak.
    assert!(std::panic::catch_unwind(|| assert_clean(&format!("{:x?}", KEY))).is_err());
    assert!(std::panic::catch_unwind(|| assert_clean(&base64(
        &KEY,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    )))
    .is_err());
}
