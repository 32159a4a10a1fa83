//! Unit tests of the OSCORE layer: key derivation (RFC 8613 appendix C vectors), parameter and option checks, Partial IV encoding.

use super::*;

/// Reads the derived keys (test-only: the API never exposes them).
fn keys(ctx: &mut SecurityContext) -> ([u8; 16], [u8; 16], [u8; 13]) {
    let p = primitive(&mut ctx.ctx);
    // SAFETY: `immutables` points into the context, which outlives this read.
    let imm = unsafe { &*p.immutables };
    let mut s = [0; 16];
    let mut r = [0; 16];
    s.copy_from_slice(&imm.sender_key[..16]);
    r.copy_from_slice(&imm.recipient_key[..16]);
    (s, r, imm.common_iv)
}

/// A message with Observe and Location-Path (which liboscore 0.2.7 would put out of order
/// and panic on) is refused, the request and the response alike; found by the
/// `oscore_option` fuzz target.
#[test]
fn observe_with_location_path_is_refused() {
    let mut c = SecurityContext::derive(&[1; 16], &[], &[], &[1], None).unwrap();
    let mut s = SecurityContext::derive(&[1; 16], &[], &[1], &[], None).unwrap();
    let mut store = MemoryStore::default();
    let mut out = [0u8; 96];
    // GET, token 20 00, Observe (empty), Location-Path (empty).
    let bad = [0x42, 0x01, 0x60, 0x60, 0x20, 0x00, 0x60, 0x20];
    let r = protect_request(&mut c, &mut store, &bad, &mut out);
    assert!(matches!(r, Err(Error::Malformed)), "{r:?}");
    // The same without Location-Path protects, and the server can answer it.
    let good = [0x42, 0x01, 0x60, 0x60, 0x20, 0x00, 0x60];
    let (n, _) = protect_request(&mut c, &mut store, &good, &mut out).unwrap();
    let mut wire = out[..n].to_vec();
    let mut plain = [0u8; 96];
    let (_, mut id) = unprotect_request(&mut s, &mut wire, &mut plain).unwrap();
    // 2.05 notification, Observe 1, Location-Path "x".
    let bad_response = [0x62, 0x45, 0x60, 0x60, 0x20, 0x00, 0x61, 0x01, 0x21, b'x'];
    let r = protect_response(&mut s, &mut store, &mut id, &bad_response, &mut out);
    assert!(matches!(r, Err(Error::Malformed)), "{r:?}");
}

/// RFC 8613 section 6.1 option values: well formed and not.
#[test]
fn option_value_validity() {
    // Empty (a response's), Partial IV 0x05 + kid 0x07, with kid context.
    for ok in [
        &[][..],
        &[0x09, 0x05, 0x07],
        &[0x19, 0x05, 0x02, 0xaa, 0xbb, 0x07],
    ] {
        assert!(is_valid_option(ok), "{ok:02x?}");
    }
    for bad in [
        &[0x80][..],               // reserved bit
        &[0x06, 1, 2, 3, 4, 5, 6], // Partial IV length 6 (reserved)
        &[0x03, 0x01],             // Partial IV shorter than announced
        &[0x11, 0x05, 0x04, 0xaa], // kid context shorter than announced
        &[0x01, 0x05, 0x07],       // bytes after the Partial IV without the kid flag
        b"x",                      // 0x78: reserved bits
    ] {
        assert!(!is_valid_option(bad), "{bad:02x?}");
    }
}

fn hex(s: &str) -> std::vec::Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

extern crate std;

const SECRET: &str = "0102030405060708090a0b0c0d0e0f10";
const SALT: &str = "9e7ca92223786340";

fn check(ctx: &mut SecurityContext, sk: &str, rk: &str, iv: &str) {
    let (s, r, i) = keys(ctx);
    assert_eq!(s[..], hex(sk)[..]);
    assert_eq!(r[..], hex(rk)[..]);
    assert_eq!(i[..], hex(iv)[..]);
}

#[test]
fn c1_key_derivation_with_salt() {
    let (s, salt) = (hex(SECRET), hex(SALT));
    let mut c = SecurityContext::derive(&s, &salt, &[], &[1], None).unwrap();
    check(
        &mut c,
        "f0910ed7295e6ad4b54fc793154302ff",
        "ffb14e093c94c9cac9471648b4f98710",
        "4622d4dd6d944168eefb54987c",
    );
    let mut c = SecurityContext::derive(&s, &salt, &[1], &[], None).unwrap();
    check(
        &mut c,
        "ffb14e093c94c9cac9471648b4f98710",
        "f0910ed7295e6ad4b54fc793154302ff",
        "4622d4dd6d944168eefb54987c",
    );
}

#[test]
fn c2_key_derivation_without_salt() {
    let s = hex(SECRET);
    let mut c = SecurityContext::derive(&s, &[], &[0], &[1], None).unwrap();
    check(
        &mut c,
        "321b26943253c7ffb6003b0b64d74041",
        "e57b5635815177cd679ab4bcec9d7dda",
        "be35ae297d2dace910c52e99f9",
    );
    let mut c = SecurityContext::derive(&s, &[], &[1], &[0], None).unwrap();
    check(
        &mut c,
        "e57b5635815177cd679ab4bcec9d7dda",
        "321b26943253c7ffb6003b0b64d74041",
        "be35ae297d2dace910c52e99f9",
    );
}

#[test]
fn c3_key_derivation_with_id_context() {
    let (s, salt, ctx) = (hex(SECRET), hex(SALT), hex("37cbf3210017a2d3"));
    let mut c = SecurityContext::derive(&s, &salt, &[], &[1], Some(&ctx)).unwrap();
    check(
        &mut c,
        "af2a1300a5e95788b356336eeecd2b92",
        "e39a0c7c77b43f03b4b39ab9a268699f",
        "2ca58fb85ff1b81c0b7181b85e",
    );
    let mut c = SecurityContext::derive(&s, &salt, &[1], &[], Some(&ctx)).unwrap();
    check(
        &mut c,
        "e39a0c7c77b43f03b4b39ab9a268699f",
        "af2a1300a5e95788b356336eeecd2b92",
        "2ca58fb85ff1b81c0b7181b85e",
    );
}

#[test]
fn bad_parameters() {
    let s = hex(SECRET);
    assert_eq!(
        SecurityContext::derive(&s, &[], &[0; 8], &[1], None).unwrap_err(),
        Error::BadParameter
    );
    assert_eq!(
        SecurityContext::derive(&s, &[], &[0], &[1; 8], None).unwrap_err(),
        Error::BadParameter
    );
    assert_eq!(
        SecurityContext::derive_with(99, 5, &s, &[], &[0], &[1], None).unwrap_err(),
        Error::UnsupportedAlgorithm
    );
    assert_eq!(
        SecurityContext::derive_with(10, 7, &s, &[], &[0], &[1], None).unwrap_err(),
        Error::UnsupportedAlgorithm
    );
    // ChaCha20-Poly1305 (24) and AES-GCM (1, 3) exist unless the build keeps CCM only.
    for other in [24, 1, 3] {
        let r = SecurityContext::derive_with(other, 5, &s, &[], &[0], &[1], None);
        if cfg!(feature = "aead-ccm-only") {
            assert_eq!(r.unwrap_err(), Error::UnsupportedAlgorithm);
        } else {
            assert!(r.is_ok(), "AEAD {other}");
        }
    }
    SecurityContext::derive_with(AES_CCM_16_128_128, 5, &s, &[], &[0], &[1], None).unwrap();
    // -10 (HKDF SHA-256) and 5 (HMAC 256/256) name the same derivation.
    let mut a = SecurityContext::derive_with(10, -10, &s, &[], &[0], &[1], None).unwrap();
    let mut b = SecurityContext::derive_with(10, 5, &s, &[], &[0], &[1], None).unwrap();
    assert_eq!(keys(&mut a), keys(&mut b));
}

#[test]
fn oscore_option_parsing() {
    // RFC 8613 section 6.3 examples.
    let o = parse_oscore_option(&[0x09, 0x05, 0x25]).unwrap();
    assert_eq!(
        (o.piv, o.kid, o.kid_context),
        (&[5][..], Some(&[0x25][..]), None)
    );
    let o = parse_oscore_option(&[0x09, 0x00]).unwrap();
    assert_eq!((o.piv, o.kid), (&[0][..], Some(&[][..])));
    let o = parse_oscore_option(&[0x19, 0x05, 0x05, 0x44, 0x61, 0x6c, 0x65, 0x6b]).unwrap();
    assert_eq!(
        (o.piv, o.kid, o.kid_context),
        (&[5][..], Some(&[][..]), Some(&b"Dalek"[..]))
    );
    let o = parse_oscore_option(&[0x01, 0x07]).unwrap();
    assert_eq!((o.piv, o.kid), (&[7][..], None));
    let o = parse_oscore_option(&[]).unwrap();
    assert_eq!((o.piv, o.kid), (&[][..], None));
    for bad in [
        &[0x06][..],         // n = 6
        &[0x20],             // reserved bit
        &[0x02, 0x01],       // PIV truncated
        &[0x10],             // h without s
        &[0x10, 0x03, 0x01], // kid context truncated
        &[0x01, 0x01, 0x02], // trailing bytes without k
    ] {
        assert!(parse_oscore_option(bad).is_err(), "{bad:02x?}");
    }
}

#[test]
fn piv_encoding() {
    let mut b = [0; 5];
    assert_eq!(piv_bytes(0, &mut b), [0]);
    assert_eq!(piv_bytes(20, &mut b), [0x14]);
    assert_eq!(piv_bytes(256, &mut b), [1, 0]);
    assert_eq!(piv_bytes(SEQNO_MAX, &mut b), [0xff; 5]);
}
