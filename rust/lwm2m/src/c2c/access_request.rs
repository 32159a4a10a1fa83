//! The access request: `POST /ac?ep=<hosting client endpoint>[&c]` from a requesting client to
//! its server, Content-Format 60, payload a CBOR map from a path (array of IDs) to the rights
//! wanted, e.g. Read on /3311/0: `A1 82 19 0C EF 00 01`.

use super::rights;
use crate::codec::Writer;
use crate::error::{Error, Result};
use crate::path::Path;

/// Most entries one access request carries.
pub const MAX_ENTRIES: usize = 8;

/// The payload of a 2.01 to `/ac` when the hosting client is in Queue Mode (registered with
/// `Q`), Content-Format 60: the CBOR map `{"q": true}`. The server sends the 2.01 only once
/// the accounts are installed on the host, i.e. while the host is awake: the requester should
/// send at once, and when a request to that host gets no answer (it fell asleep), ask the
/// server again rather than give up.
pub const QUEUE_MODE_HOST: [u8; 4] = [0xa1, 0x61, b'q', 0xf5];

/// One requested grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grant {
    /// An object (`/O`, for Create) or object instance (`/O/I`); resources are granted through
    /// their instance, as ACLs are per instance.
    pub path: Path,
    /// Rights ([`rights`] bits).
    pub rights: u8,
}

fn head(w: &mut Writer<'_>, major: u8, v: u64) -> Result<()> {
    let m = major << 5;
    match v {
        0..=23 => w.byte(m | v as u8),
        24..=0xff => w.write(&[m | 24, v as u8]),
        0x100..=0xffff => w.write(&[m | 25, (v >> 8) as u8, v as u8]),
        _ => w.write(&[
            m | 26,
            (v >> 24) as u8,
            (v >> 16) as u8,
            (v >> 8) as u8,
            v as u8,
        ]),
    }
}

/// Encodes the rights map (shortest CBOR forms, entries in the given order).
pub fn encode(grants: &[Grant], w: &mut Writer<'_>) -> Result<()> {
    if grants.is_empty() || grants.len() > MAX_ENTRIES {
        return Err(Error::BadRequest);
    }
    head(w, 5, grants.len() as u64)?;
    for g in grants {
        if !(1..=2).contains(&g.path.len()) || g.rights == 0 || g.rights & !rights::ALL != 0 {
            return Err(Error::BadRequest);
        }
        head(w, 4, g.path.len() as u64)?;
        for &id in g.path.ids() {
            head(w, 0, id.into())?;
        }
        head(w, 0, g.rights.into())?;
    }
    Ok(())
}

fn read_uint(b: &[u8], pos: &mut usize, major: u8) -> Result<u64> {
    let first = *b.get(*pos).ok_or(Error::BadRequest)?;
    *pos += 1;
    if first >> 5 != major {
        return Err(Error::BadRequest);
    }
    let info = first & 0x1f;
    if info < 24 {
        return Ok(info.into());
    }
    let n = match info {
        24 => 1,
        25 => 2,
        26 => 4,
        27 => 8,
        _ => return Err(Error::BadRequest),
    };
    let bytes = b.get(*pos..*pos + n).ok_or(Error::BadRequest)?;
    *pos += n;
    Ok(bytes.iter().fold(0u64, |a, &x| (a << 8) | u64::from(x)))
}

/// Decodes a rights map. Paths must be `/O` or `/O/I` with valid IDs, rights non-zero and
/// within [`rights::ALL`], no path twice, nothing after the map.
pub fn decode(payload: &[u8]) -> Result<heapless::Vec<Grant, MAX_ENTRIES>> {
    let mut pos = 0;
    let n = read_uint(payload, &mut pos, 5)?;
    if n == 0 || n > MAX_ENTRIES as u64 {
        return Err(Error::BadRequest);
    }
    let mut out: heapless::Vec<Grant, MAX_ENTRIES> = heapless::Vec::new();
    for _ in 0..n {
        let len = read_uint(payload, &mut pos, 4)?;
        if !(1..=2).contains(&len) {
            return Err(Error::BadRequest);
        }
        let mut path = Path::ROOT;
        for _ in 0..len {
            let id = read_uint(payload, &mut pos, 0)?;
            let id = u16::try_from(id).map_err(|_| Error::BadRequest)?;
            path = path.child(id).map_err(|_| Error::BadRequest)?;
        }
        let r = read_uint(payload, &mut pos, 0)?;
        if r == 0 || r > u64::from(rights::ALL) {
            return Err(Error::BadRequest);
        }
        if out.iter().any(|g| g.path == path) {
            return Err(Error::BadRequest);
        }
        out.push(Grant {
            path,
            rights: r as u8,
        })
        .map_err(|_| Error::BadRequest)?;
    }
    if pos != payload.len() {
        return Err(Error::BadRequest);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_example_read_on_3311_0() {
        let g = [Grant {
            path: Path::instance(3311, 0),
            rights: rights::READ,
        }];
        let mut buf = [0u8; 16];
        let mut w = Writer::new(&mut buf);
        encode(&g, &mut w).unwrap();
        assert_eq!(w.window_data(), &[0xA1, 0x82, 0x19, 0x0C, 0xEF, 0x00, 0x01]);
        assert_eq!(
            decode(&[0xA1, 0x82, 0x19, 0x0C, 0xEF, 0x00, 0x01])
                .unwrap()
                .as_slice(),
            &g
        );
    }

    #[test]
    fn object_level_create_and_several_entries() {
        let g = [
            Grant {
                path: Path::object(3311),
                rights: rights::CREATE,
            },
            Grant {
                path: Path::instance(3303, 0),
                rights: rights::READ | rights::DISCOVER,
            },
        ];
        let mut buf = [0u8; 32];
        let mut w = Writer::new(&mut buf);
        encode(&g, &mut w).unwrap();
        assert_eq!(
            w.window_data(),
            &[0xA2, 0x81, 0x19, 0x0C, 0xEF, 0x10, 0x82, 0x19, 0x0C, 0xE7, 0x00, 0x18, 0x21]
        );
        assert_eq!(decode(w.window_data()).unwrap().as_slice(), &g);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            &b""[..],
            &[0xA0],                                           // empty
            &[0xA1, 0x82, 0x19, 0x0C, 0xEF, 0x00],             // truncated
            &[0xA1, 0x82, 0x19, 0x0C, 0xEF, 0x00, 0x00],       // no rights
            &[0xA1, 0x82, 0x19, 0x0C, 0xEF, 0x00, 0x18, 0x40], // unknown right bit
            &[0xA1, 0x80, 0x01],                               // root path
            &[0xA1, 0x83, 0x01, 0x02, 0x03, 0x01],             // resource path
            &[0xA1, 0x81, 0x19, 0xFF, 0xFF, 0x01],             // ID 65535
            &[0xA1, 0x81, 0x1A, 0x00, 0x01, 0x00, 0x00, 0x01], // ID > 65535
            &[0xA2, 0x81, 0x01, 0x01, 0x81, 0x01, 0x01],       // duplicate path
            &[0xA1, 0x81, 0x01, 0x01, 0x00],                   // trailing byte
            &[0xBF, 0x81, 0x01, 0x01, 0xFF],                   // indefinite map
            &[0xA1, 0x61, 0x61, 0x01],                         // text key
        ] {
            assert!(decode(bad).is_err(), "{bad:02x?}");
        }
    }

    #[test]
    fn encode_rejects_bad_grants() {
        let mut buf = [0u8; 16];
        for g in [
            Grant {
                path: Path::ROOT,
                rights: 1,
            },
            Grant {
                path: Path::resource(1, 2, 3),
                rights: 1,
            },
            Grant {
                path: Path::object(1),
                rights: 0,
            },
            Grant {
                path: Path::object(1),
                rights: 0x40,
            },
        ] {
            assert!(encode(&[g], &mut Writer::new(&mut buf)).is_err());
        }
    }
}
