//! The package manifest: a small header in front of the firmware image that states the
//! image's length, its SHA-256 digest, and the Package Name and Package Version the client
//! reports (resources 6 and 7 are read-only, so a server cannot write them).
//!
//! Layout (integers big-endian), 44 fixed bytes then the two strings:
//!
//! | offset | bytes | field                                                   |
//! |--------|-------|---------------------------------------------------------|
//! | 0      | 4     | magic `LWFW`                                            |
//! | 4      | 1     | format version, 1                                       |
//! | 5      | 1     | N: bytes of the package name (at most `FOTA_NAME_LEN`)  |
//! | 6      | 1     | V: bytes of the package version (at most `FOTA_VERSION_LEN`) |
//! | 7      | 1     | reserved, 0                                             |
//! | 8      | 4     | image length in bytes                                   |
//! | 12     | 32    | SHA-256 of the image                                    |
//! | 44     | N     | package name, UTF-8                                     |
//! | 44 + N | V     | package version, UTF-8                                  |
//! | 44+N+V | ...   | the image                                               |
//!
//! The server's `fota` command wraps a raw image with [`encode`]; the engine parses the header
//! with [`Parser`] as the bytes arrive, whatever the block boundaries.

use crate::config::{FOTA_NAME_LEN, FOTA_VERSION_LEN};
use sha2::{Digest, Sha256};

/// The magic number at the start of a package.
pub const MAGIC: [u8; 4] = *b"LWFW";
/// The format version this engine reads.
pub const VERSION: u8 = 1;
/// Bytes of the fixed part of the header.
pub const FIXED_LEN: usize = 44;
/// Bytes of the longest header the engine accepts.
pub const MAX_LEN: usize = FIXED_LEN + FOTA_NAME_LEN + FOTA_VERSION_LEN;

/// Why a package was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ManifestError {
    /// Not a package: the magic number is not `LWFW`.
    BadMagic,
    /// A format version this engine does not read.
    UnsupportedVersion(u8),
    /// The package name is longer than `FOTA_NAME_LEN` or the version longer than
    /// `FOTA_VERSION_LEN` (build knobs `LWM2M_FOTA_NAME_LEN` / `LWM2M_FOTA_VERSION_LEN`).
    StringTooLong,
    /// The name or version is not UTF-8.
    NotUtf8,
}

/// A parsed header, borrowing the name and version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Manifest<'a> {
    /// Length of the image that follows the header.
    pub image_len: u32,
    /// SHA-256 of the image.
    pub digest: [u8; 32],
    /// Package Name (resource 6).
    pub name: &'a str,
    /// Package Version (resource 7).
    pub version: &'a str,
}

impl<'a> Manifest<'a> {
    /// Parses a complete header (its length is [`header_len`] of the first 8 bytes).
    pub fn parse(h: &'a [u8]) -> Result<Self, ManifestError> {
        let need = header_len(h)?.ok_or(ManifestError::BadMagic)?;
        let h = h.get(..need).ok_or(ManifestError::BadMagic)?;
        let (n, v) = (usize::from(h[5]), usize::from(h[6]));
        let text = |b: &'a [u8]| core::str::from_utf8(b).map_err(|_| ManifestError::NotUtf8);
        let mut digest = [0; 32];
        digest.copy_from_slice(&h[12..FIXED_LEN]);
        Ok(Manifest {
            image_len: u32::from_be_bytes([h[8], h[9], h[10], h[11]]),
            digest,
            name: text(&h[FIXED_LEN..FIXED_LEN + n])?,
            version: text(&h[FIXED_LEN + n..FIXED_LEN + n + v])?,
        })
    }
}

/// The header's total length, from its first 8 bytes (`None` while fewer arrived), or why the
/// package is refused. Checked as soon as the bytes are there, so a wrong package is refused
/// in its first block.
pub fn header_len(h: &[u8]) -> Result<Option<usize>, ManifestError> {
    let magic = &h[..h.len().min(4)];
    if magic != &MAGIC[..magic.len()] {
        return Err(ManifestError::BadMagic);
    }
    match h.get(4) {
        Some(&v) if v != VERSION => return Err(ManifestError::UnsupportedVersion(v)),
        _ => {}
    }
    let [_, _, _, _, _, n, v, _, ..] = *h else {
        return Ok(None);
    };
    if usize::from(n) > FOTA_NAME_LEN || usize::from(v) > FOTA_VERSION_LEN {
        return Err(ManifestError::StringTooLong);
    }
    Ok(Some(FIXED_LEN + usize::from(n) + usize::from(v)))
}

/// SHA-256 of `data` (for tools that build packages).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Writes the header for `image` into `out`; returns its length, or `None` when `out` is too
/// short, the image is longer than 4 GiB or a string is longer than its knob.
pub fn encode(image: &[u8], name: &str, version: &str, out: &mut [u8]) -> Option<usize> {
    let len = u32::try_from(image.len()).ok()?;
    let (n, v) = (name.len(), version.len());
    if n > FOTA_NAME_LEN || v > FOTA_VERSION_LEN {
        return None;
    }
    let out = out.get_mut(..FIXED_LEN + n + v)?;
    out[..4].copy_from_slice(&MAGIC);
    out[4..8].copy_from_slice(&[VERSION, n as u8, v as u8, 0]);
    out[8..12].copy_from_slice(&len.to_be_bytes());
    out[12..FIXED_LEN].copy_from_slice(&sha256(image));
    out[FIXED_LEN..FIXED_LEN + n].copy_from_slice(name.as_bytes());
    out[FIXED_LEN + n..].copy_from_slice(version.as_bytes());
    Some(out.len())
}

/// Collects the header from a stream of chunks of any size.
#[derive(Clone, Debug)]
pub struct Parser {
    buf: [u8; MAX_LEN],
    have: usize,
    need: Option<usize>,
}

impl Default for Parser {
    fn default() -> Self {
        Parser {
            buf: [0; MAX_LEN],
            have: 0,
            need: None,
        }
    }
}

impl Parser {
    /// Takes header bytes from the front of `data`; returns how many it took. Once
    /// [`Parser::manifest`] is `Some`, it takes nothing more.
    pub fn take(&mut self, data: &[u8]) -> Result<usize, ManifestError> {
        let mut taken = 0;
        loop {
            let want = self.need.unwrap_or(8);
            let n = (want - self.have).min(data.len() - taken);
            self.buf[self.have..self.have + n].copy_from_slice(&data[taken..taken + n]);
            self.have += n;
            taken += n;
            if self.need.is_none() {
                self.need = header_len(&self.buf[..self.have])?;
                if self.need.is_some() {
                    continue;
                }
            }
            if let Some(need) = self.need.filter(|&need| need == self.have) {
                Manifest::parse(&self.buf[..need])?;
            }
            return Ok(taken);
        }
    }

    /// The header, once complete and valid.
    pub fn manifest(&self) -> Option<Manifest<'_>> {
        let need = self.need.filter(|&n| n == self.have)?;
        Manifest::parse(&self.buf[..need]).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(image: &[u8], name: &str, version: &str) -> std::vec::Vec<u8> {
        let mut h = [0u8; MAX_LEN];
        let n = encode(image, name, version, &mut h).unwrap();
        let mut p = h[..n].to_vec();
        p.extend_from_slice(image);
        p
    }

    #[test]
    fn layout() {
        let p = package(b"abc", "fw", "1.2");
        assert_eq!(&p[..12], b"LWFW\x01\x02\x03\x00\x00\x00\x00\x03");
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(&p[12..16], &[0xba, 0x78, 0x16, 0xbf]);
        assert_eq!(&p[44..], b"fw1.2abc");
        let m = Manifest::parse(&p).unwrap();
        assert_eq!((m.image_len, m.name, m.version), (3, "fw", "1.2"));
    }

    #[test]
    fn split_at_every_boundary() {
        let p = package(b"image bytes", "name", "v9");
        for cut in 0..=p.len() {
            for step in 1..4 {
                let mut parser = Parser::default();
                let mut used = 0;
                let mut first = true;
                let mut i = 0;
                while i < p.len() {
                    let end = if first { cut } else { (i + step).min(p.len()) };
                    first = false;
                    used += parser.take(&p[i..end]).unwrap();
                    i = end;
                    if parser.manifest().is_some() {
                        break;
                    }
                }
                let m = parser.manifest().expect("complete");
                assert_eq!((m.name, m.version, m.image_len), ("name", "v9", 11));
                assert_eq!(used, 44 + 6, "cut {cut} step {step}");
            }
        }
    }

    #[test]
    fn refused_early() {
        let mut p = Parser::default();
        assert_eq!(p.take(b"LWF"), Ok(3));
        assert_eq!(p.take(b"X"), Err(ManifestError::BadMagic));
        let mut p = Parser::default();
        assert_eq!(
            p.take(b"LWFW\x02"),
            Err(ManifestError::UnsupportedVersion(2))
        );
        let mut p = Parser::default();
        let long = [b'L', b'W', b'F', b'W', 1, (FOTA_NAME_LEN + 1) as u8, 0, 0];
        assert_eq!(p.take(&long), Err(ManifestError::StringTooLong));
        let mut bad = package(b"x", "\u{e9}", "");
        bad[44] = 0xff;
        assert_eq!(Parser::default().take(&bad), Err(ManifestError::NotUtf8));
        assert!(encode(b"x", &"n".repeat(FOTA_NAME_LEN + 1), "", &mut [0; MAX_LEN]).is_none());
        assert!(encode(b"x", "n", "v", &mut [0; 10]).is_none());
    }
}
