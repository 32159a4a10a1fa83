//! LwM2M paths: `/`, `/O`, `/O/I`, `/O/I/R` and `/O/I/R/RI`.

use core::fmt;

/// The reserved identifier that means "no ID" in LwM2M (e.g. the object-level ACL instance
/// uses it as Object Instance ID).
pub const ID_NONE: u16 = 65535;

/// A path into the LwM2M data model, from the root down to a resource instance.
///
/// IDs are 0..=65534; 65535 ([`ID_NONE`]) is reserved by the specification and never appears
/// in a parsed path.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Path {
    ids: [u16; 4],
    len: u8,
}

/// Why a path could not be built or parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathError {
    /// More than four levels.
    TooDeep,
    /// A segment is empty, not decimal, has a leading zero, or is above 65534.
    BadSegment,
}

impl Path {
    /// The root path `/`.
    pub const ROOT: Path = Path {
        ids: [0; 4],
        len: 0,
    };

    /// `/obj`
    pub const fn object(obj: u16) -> Self {
        Path {
            ids: [obj, 0, 0, 0],
            len: 1,
        }
    }

    /// `/obj/inst`
    pub const fn instance(obj: u16, inst: u16) -> Self {
        Path {
            ids: [obj, inst, 0, 0],
            len: 2,
        }
    }

    /// `/obj/inst/res`
    pub const fn resource(obj: u16, inst: u16, res: u16) -> Self {
        Path {
            ids: [obj, inst, res, 0],
            len: 3,
        }
    }

    /// `/obj/inst/res/ri`
    pub const fn resource_instance(obj: u16, inst: u16, res: u16, ri: u16) -> Self {
        Path {
            ids: [obj, inst, res, ri],
            len: 4,
        }
    }

    /// Builds a path from up to four IDs. IDs must be below 65535.
    pub fn from_ids(ids: &[u16]) -> Result<Self, PathError> {
        if ids.len() > 4 {
            return Err(PathError::TooDeep);
        }
        let mut p = Path::ROOT;
        for &id in ids {
            p = p.child(id)?;
        }
        Ok(p)
    }

    /// Parses one Uri-Path segment as an LwM2M ID (decimal, no sign, no leading zeros,
    /// at most 65534).
    pub fn parse_segment(seg: &[u8]) -> Result<u16, PathError> {
        if seg.is_empty() || seg.len() > 5 || (seg.len() > 1 && seg[0] == b'0') {
            return Err(PathError::BadSegment);
        }
        let mut v: u32 = 0;
        for &c in seg {
            if !c.is_ascii_digit() {
                return Err(PathError::BadSegment);
            }
            v = v * 10 + u32::from(c - b'0');
        }
        if v >= u32::from(ID_NONE) {
            return Err(PathError::BadSegment);
        }
        Ok(v as u16)
    }

    /// Parses a textual path such as `/3/0/1` (a leading `/` is optional; `/` alone is root).
    pub fn parse_str(s: &str) -> Result<Self, PathError> {
        let s = s.strip_prefix('/').unwrap_or(s);
        let s = s.strip_suffix('/').unwrap_or(s);
        let mut p = Path::ROOT;
        if s.is_empty() {
            return Ok(p);
        }
        // Split as bytes: `str::split`'s char searcher costs flash for nothing here.
        for seg in s.as_bytes().split(|&c| c == b'/') {
            p = p.child(Self::parse_segment(seg)?)?;
        }
        Ok(p)
    }

    /// The path one level deeper.
    pub fn child(&self, id: u16) -> Result<Self, PathError> {
        if self.len >= 4 {
            return Err(PathError::TooDeep);
        }
        if id == ID_NONE {
            return Err(PathError::BadSegment);
        }
        let mut p = *self;
        p.ids[p.len as usize] = id;
        p.len += 1;
        Ok(p)
    }

    /// The path one level up (root stays root).
    pub fn parent(&self) -> Self {
        let mut p = *self;
        if p.len > 0 {
            p.len -= 1;
            p.ids[p.len as usize] = 0;
        }
        p
    }

    /// Number of levels (0 for root, 4 for a resource instance).
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// True for the root path (an empty list of IDs).
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True for the root path.
    pub const fn is_root(&self) -> bool {
        self.len == 0
    }

    /// The IDs of this path.
    pub fn ids(&self) -> &[u16] {
        &self.ids[..self.len as usize]
    }

    /// The ID at `level` (0: object), if the path is that deep. Compares the length instead of
    /// slicing with [`Path::ids`]: the accessors are inlined at dozens of places, and without the
    /// slice's bounds check each use is smaller (`make size`: about 100 B in all).
    #[inline(always)]
    fn id_at(&self, level: usize) -> Option<u16> {
        if level < self.len as usize {
            self.ids.get(level).copied()
        } else {
            None
        }
    }

    /// Object ID, if the path has one.
    pub fn object_id(&self) -> Option<u16> {
        self.id_at(0)
    }

    /// Object instance ID, if the path has one.
    pub fn instance_id(&self) -> Option<u16> {
        self.id_at(1)
    }

    /// Resource ID, if the path has one.
    pub fn resource_id(&self) -> Option<u16> {
        self.id_at(2)
    }

    /// Resource instance ID, if the path has one.
    pub fn resource_instance_id(&self) -> Option<u16> {
        self.id_at(3)
    }

    /// True if `self` equals `other` or lies below it (`/3/0/1` starts with `/3`).
    pub fn starts_with(&self, other: &Path) -> bool {
        other.len <= self.len && self.ids[..other.len as usize] == other.ids[..other.len as usize]
    }

    /// The path truncated to `levels` levels.
    pub fn truncated(&self, levels: usize) -> Self {
        let mut p = *self;
        while p.len() > levels {
            p = p.parent();
        }
        p
    }
}

impl PartialOrd for Path {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Path {
    /// Depth-first order: a path sorts before everything below it.
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.ids().cmp(other.ids())
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.len == 0 {
            return f.write_str("/");
        }
        for id in self.ids() {
            write!(f, "/{id}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Path({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        assert_eq!(Path::parse_str("/3/0/1").unwrap(), Path::resource(3, 0, 1));
        assert_eq!(Path::parse_str("/").unwrap(), Path::ROOT);
        assert_eq!(Path::parse_str("").unwrap(), Path::ROOT);
        assert_eq!(Path::resource_instance(3, 0, 7, 1).display(), "/3/0/7/1");
        assert_eq!(Path::ROOT.display(), "/");
    }

    #[test]
    fn rejects_bad_segments() {
        for bad in [
            "/65535",
            "/01",
            "/-1",
            "/a",
            "/3//1",
            "/1/2/3/4/5",
            "/70000",
        ] {
            assert!(Path::parse_str(bad).is_err(), "{bad}");
        }
        assert_eq!(Path::parse_segment(b"65534"), Ok(65534));
        assert_eq!(Path::parse_segment(b"0"), Ok(0));
    }

    #[test]
    fn prefix_and_order() {
        let r = Path::resource(3, 0, 1);
        assert!(r.starts_with(&Path::object(3)));
        assert!(r.starts_with(&Path::ROOT));
        assert!(!Path::object(3).starts_with(&r));
        assert!(Path::object(3) < Path::instance(3, 0));
        assert!(Path::instance(3, 0) < Path::object(4));
        assert_eq!(r.parent(), Path::instance(3, 0));
        assert_eq!(r.truncated(1), Path::object(3));
    }

    impl Path {
        fn display(&self) -> std::string::String {
            use std::fmt::Write;
            let mut s = std::string::String::new();
            write!(s, "{self}").unwrap();
            s
        }
    }
}
