//! Owner server hints: the payload of a hosting client's 4.01 Unauthorized answer
//! (Content-Format 60), a CBOR map `{1: "<owner server URI>"}` (the artifact's form) or
//! `{1: ["<uri>", "<uri>", ...]}` (several owners). Both forms are accepted on decoding.

use crate::codec::Writer;
use crate::error::{Error, Result};

/// Map key of the owner server URI(s).
pub const KEY_OWNER: u8 = 1;
/// Most URIs one hint carries (the decoder stops with an error beyond).
pub const MAX_URIS: usize = 4;

fn head(w: &mut Writer<'_>, major: u8, len: usize) -> Result<()> {
    let m = major << 5;
    match len {
        0..=23 => w.byte(m | len as u8),
        24..=0xff => w.write(&[m | 24, len as u8]),
        0x100..=0xffff => w.write(&[m | 25, (len >> 8) as u8, len as u8]),
        _ => Err(Error::RequestEntityTooLarge),
    }
}

/// Encodes a hint naming `uris` (at least one). One URI uses the artifact's single-text form.
pub fn encode(uris: &[&str], w: &mut Writer<'_>) -> Result<()> {
    if uris.is_empty() || uris.len() > MAX_URIS {
        return Err(Error::BadRequest);
    }
    head(w, 5, 1)?;
    w.byte(KEY_OWNER)?;
    if uris.len() > 1 {
        head(w, 4, uris.len())?;
    }
    for u in uris {
        head(w, 3, u.len())?;
        w.write(u.as_bytes())?;
    }
    Ok(())
}

/// Reads a CBOR head with a definite argument that fits in `usize`.
fn read_head(b: &[u8], pos: &mut usize) -> Result<(u8, usize)> {
    let first = *b.get(*pos).ok_or(Error::BadRequest)?;
    *pos += 1;
    let (major, info) = (first >> 5, first & 0x1f);
    let n = match info {
        0..=23 => 1,
        24..=27 => 1usize << (info - 24),
        _ => return Err(Error::BadRequest),
    };
    let arg = if info < 24 {
        usize::from(info)
    } else {
        let bytes = b.get(*pos..*pos + n).ok_or(Error::BadRequest)?;
        *pos += n;
        let v = bytes.iter().fold(0u64, |a, &x| (a << 8) | u64::from(x));
        usize::try_from(v).map_err(|_| Error::BadRequest)?
    };
    Ok((major, arg))
}

fn read_text<'a>(b: &'a [u8], pos: &mut usize) -> Result<&'a str> {
    let (major, len) = read_head(b, pos)?;
    if major != 3 {
        return Err(Error::BadRequest);
    }
    let end = pos.checked_add(len).ok_or(Error::BadRequest)?;
    let s = b.get(*pos..end).ok_or(Error::BadRequest)?;
    *pos = end;
    core::str::from_utf8(s).map_err(|_| Error::BadRequest)
}

/// Decodes a hint into the owner URIs it names (in order). Unknown map keys are skipped only
/// when their values are unsigned integers or text; anything else is malformed.
pub fn decode(payload: &[u8]) -> Result<heapless::Vec<&str, MAX_URIS>> {
    let mut pos = 0;
    let (major, entries) = read_head(payload, &mut pos)?;
    if major != 5 {
        return Err(Error::BadRequest);
    }
    let mut out = heapless::Vec::new();
    for _ in 0..entries {
        let (kmajor, key) = read_head(payload, &mut pos)?;
        if kmajor != 0 {
            return Err(Error::BadRequest);
        }
        if key != usize::from(KEY_OWNER) {
            match read_head(payload, &mut pos)? {
                (0, _) => {}
                (3, len) => {
                    pos = pos
                        .checked_add(len)
                        .filter(|&e| e <= payload.len())
                        .ok_or(Error::BadRequest)?
                }
                _ => return Err(Error::BadRequest),
            }
            continue;
        }
        let mut peek = pos;
        let (vmajor, n) = read_head(payload, &mut peek)?;
        if vmajor == 4 {
            pos = peek;
            for _ in 0..n {
                let u = read_text(payload, &mut pos)?;
                out.push(u).map_err(|_| Error::RequestEntityTooLarge)?;
            }
        } else {
            let u = read_text(payload, &mut pos)?;
            out.push(u).map_err(|_| Error::RequestEntityTooLarge)?;
        }
    }
    if pos != payload.len() || out.is_empty() {
        return Err(Error::BadRequest);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(uris: &[&str]) -> std::vec::Vec<u8> {
        let mut buf = [0u8; 128];
        let mut w = Writer::new(&mut buf);
        encode(uris, &mut w).unwrap();
        w.window_data().to_vec()
    }

    #[test]
    fn single_uri_artifact_form() {
        // {1: "coap://[::1]"}
        let b = enc(&["coap://[::1]"]);
        let mut expect = std::vec![0xA1, 0x01, 0x6C];
        expect.extend_from_slice(b"coap://[::1]");
        assert_eq!(b, expect);
        assert_eq!(decode(&b).unwrap().as_slice(), &["coap://[::1]"]);
    }

    #[test]
    fn several_uris() {
        // {1: ["coap://a", "coap://b"]}
        let b = enc(&["coap://a", "coap://b"]);
        assert_eq!(&b[..4], &[0xA1, 0x01, 0x82, 0x68]);
        assert_eq!(decode(&b).unwrap().as_slice(), &["coap://a", "coap://b"]);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            &b""[..],
            &[0xA0],                         // empty map: no owner
            &[0xA1, 0x01],                   // truncated
            &[0xA1, 0x01, 0x01],             // owner not text
            &[0xA1, 0x01, 0x63, b'a'],       // text runs past the end
            &[0xA1, 0x01, 0x61, 0xff],       // bad UTF-8
            &[0xBF, 0x01, 0x61, b'a', 0xFF], // indefinite map
            &[0xA1, 0x01, 0x61, b'a', 0x00], // trailing bytes
            &[0x81, 0x61, b'a'],             // not a map
        ] {
            assert!(decode(bad).is_err(), "{bad:02x?}");
        }
    }

    #[test]
    fn skips_unknown_simple_keys() {
        let b = [0xA2, 0x05, 0x07, 0x01, 0x61, b'x'];
        assert_eq!(decode(&b).unwrap().as_slice(), &["x"]);
    }
}
