//! Notification attributes (LwM2M 1.1 TS Core section 5.1.2): pmin, pmax, gt, lt, st, epmin,
//! epmax, set per server and path with Write-Attributes and inherited downwards
//! (object -> instance -> resource -> resource instance).

use super::{Engine, Request};
use crate::coap::{code, Message, MessageBuilder};
use crate::config::MAX_ATTRIBUTES;
use crate::dm::Caller;
use crate::error::{Error, Result};
use crate::path::Path;

/// A set of notification attributes; `None` means not set at this level.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Attributes {
    /// Minimum period in seconds.
    pub pmin: Option<u32>,
    /// Maximum period in seconds.
    pub pmax: Option<u32>,
    /// Greater-than threshold.
    pub gt: Option<f64>,
    /// Less-than threshold.
    pub lt: Option<f64>,
    /// Step.
    pub st: Option<f64>,
    /// Minimum evaluation period in seconds.
    pub epmin: Option<u32>,
    /// Maximum evaluation period in seconds.
    pub epmax: Option<u32>,
}

impl Attributes {
    /// True if any attribute is set.
    pub fn is_empty(&self) -> bool {
        *self == Attributes::default()
    }

    /// Checks the constraints between attributes: lt < gt, lt + 2 st < gt, st >= 0,
    /// epmin <= epmax.
    fn valid(&self) -> bool {
        use core::cmp::Ordering::{Equal, Greater, Less};
        if self.st.is_some_and(|s| compare(s, 0.0) == Some(Less)) {
            return false;
        }
        if let (Some(lt), Some(gt)) = (self.lt, self.gt) {
            // 2 st as st + st: the same value, without a multiplication.
            let st = self.st.unwrap_or(0.0);
            if matches!(compare(lt, gt), Some(Greater | Equal))
                || matches!(compare(lt + st + st, gt), Some(Greater | Equal))
            {
                return false;
            }
        }
        !matches!((self.epmin, self.epmax), (Some(a), Some(b)) if a > b)
    }

    /// True if a new numeric value `v` should be notified, given the last notified `last`.
    pub(crate) fn numeric_trigger(&self, last: Option<f64>, v: f64) -> bool {
        if self.gt.is_none() && self.lt.is_none() && self.st.is_none() {
            return true;
        }
        let Some(last) = last else { return true };
        // "Above gt" is v > gt, "below lt" is v < lt: a value equal to the threshold is on
        // the other side of each.
        use core::cmp::Ordering::{Equal, Greater, Less};
        let above = |a, t| compare(a, t) == Some(Greater);
        let under = |a, t| compare(a, t) == Some(Less);
        self.gt.is_some_and(|t| above(last, t) != above(v, t))
            || self.lt.is_some_and(|t| under(last, t) != under(v, t))
            || self.st.is_some_and(|s| {
                let d = f64::from_bits((v - last).to_bits() & !(1 << 63));
                matches!(compare(d, s), Some(Greater | Equal))
            })
    }
}

/// `f` as an integer with the same order as the floats (`-0.0` and `0.0` equal), `None` for
/// NaN.
fn order_key(f: f64) -> Option<i64> {
    let bits = f.to_bits();
    let mag = (bits & !(1 << 63)) as i64;
    if mag > f64::INFINITY.to_bits() as i64 {
        None
    } else if bits >> 63 != 0 {
        Some(-mag)
    } else {
        Some(mag)
    }
}

/// `a.partial_cmp(&b)` on the bits: thresholds are checked on every value change, and on
/// FPU-less targets this keeps the soft-float compare routines out of the firmware. Outlined:
/// inlined at each of its eight uses it cost 300-400 B of flash (`make size`).
#[inline(never)]
fn compare(a: f64, b: f64) -> Option<core::cmp::Ordering> {
    Some(order_key(a)?.cmp(&order_key(b)?))
}

/// `a == b` for optional numbers (IEEE equality: `-0.0` equals `0.0`, NaN equals nothing),
/// through [`compare`]: keeps the soft-float equality routine out of the firmware.
pub(crate) fn same(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => compare(a, b) == Some(core::cmp::Ordering::Equal),
        (a, b) => a.is_none() && b.is_none(),
    }
}

/// Whose attributes: a Short Server ID, or with `c2c` also a requesting client (values above
/// 0xffff, so the two ID namespaces never meet).
#[cfg(not(feature = "c2c"))]
pub(crate) type Owner = u16;
/// Whose attributes: a Short Server ID, or with `c2c` also a requesting client (values above
/// 0xffff, so the two ID namespaces never meet).
#[cfg(feature = "c2c")]
pub(crate) type Owner = u32;

/// The attribute owner of a caller.
pub(crate) fn owner_of(caller: Caller) -> Owner {
    match caller {
        Caller::Server(s) => Owner::from(s),
        #[cfg(feature = "c2c")]
        Caller::Client(c) => 0x1_0000 | u32::from(c),
        _ => 0,
    }
}

/// One (owner, path) with its attributes, packed: a presence bit per attribute instead of
/// seven `Option`s (56 bytes on the device instead of 96).
#[derive(Debug, Clone, Copy)]
struct Entry {
    ssid: Owner,
    path: Path,
    /// Bit i set: attribute i is present (0..4 in `ints`, 4..7 in `nums`).
    set: u8,
    /// pmin, pmax, epmin, epmax.
    ints: [u32; 4],
    /// gt, lt, st.
    nums: [f64; 3],
}

impl Entry {
    /// No attribute set by `ssid` at `path`.
    fn empty(ssid: Owner, path: Path) -> Self {
        Entry {
            ssid,
            path,
            set: 0,
            ints: [0; 4],
            nums: [0.0; 3],
        }
    }

    #[cfg(test)]
    fn new(ssid: Owner, path: Path, a: &Attributes) -> Self {
        let mut e = Entry::empty(ssid, path);
        for (i, v) in [a.pmin, a.pmax, a.epmin, a.epmax].into_iter().enumerate() {
            if let (Some(v), Some(slot)) = (v, e.ints.get_mut(i)) {
                *slot = v;
                e.set |= 1 << i;
            }
        }
        for (i, v) in [a.gt, a.lt, a.st].into_iter().enumerate() {
            if let (Some(v), Some(slot)) = (v, e.nums.get_mut(i)) {
                *slot = v;
                e.set |= 1 << (4 + i);
            }
        }
        e
    }

    fn attributes(&self) -> Attributes {
        let int = |i: usize| (self.set & (1 << i) != 0).then_some(self.ints[i]);
        let num = |i: usize| (self.set & (1 << (4 + i)) != 0).then_some(self.nums[i]);
        Attributes {
            pmin: int(0),
            pmax: int(1),
            epmin: int(2),
            epmax: int(3),
            gt: num(0),
            lt: num(1),
            st: num(2),
        }
    }
}

/// The Write-Attributes names, in the order of [`Entry`]'s presence bits: the first `INTS`
/// are the periods in `Entry::ints`, the rest the thresholds in `Entry::nums`.
const NAMES: [&str; 7] = ["pmin", "pmax", "epmin", "epmax", "gt", "lt", "st"];
/// Number of integer attributes (the periods) at the start of [`NAMES`].
const INTS: usize = 4;

/// Attributes per (server, path).
#[derive(Debug, Default)]
pub(crate) struct AttributeStore {
    entries: heapless::Vec<Entry, MAX_ATTRIBUTES>,
}

impl AttributeStore {
    /// The packed entry set exactly at `path` for `ssid` (an empty one if none is).
    fn entry(&self, ssid: Owner, path: &Path) -> Entry {
        self.entries
            .iter()
            .find(|e| e.ssid == ssid && e.path == *path)
            .copied()
            .unwrap_or_else(|| Entry::empty(ssid, *path))
    }

    /// Effective attributes for `path`: the most specific level wins, then the server
    /// defaults for pmin / pmax.
    pub fn effective(
        &self,
        ssid: Owner,
        path: &Path,
        default_pmin: u32,
        default_pmax: u32,
    ) -> Attributes {
        let mut acc = Entry::empty(ssid, *path);
        // Most specific level first: an attribute set there hides the same one further up.
        for len in (1..=path.len()).rev() {
            let Some(e) = self
                .entries
                .iter()
                .find(|e| e.ssid == ssid && e.path.len() == len && path.starts_with(&e.path))
            else {
                continue;
            };
            let new = e.set & !acc.set;
            for i in 0..4 {
                if new & (1 << i) != 0 {
                    acc.ints[i] = e.ints[i];
                }
            }
            for i in 0..3 {
                if new & (1 << (4 + i)) != 0 {
                    acc.nums[i] = e.nums[i];
                }
            }
            acc.set |= new;
        }
        let mut a = acc.attributes();
        if a.pmin.is_none() {
            a.pmin = Some(default_pmin);
        }
        if a.pmax.is_none() && default_pmax > 0 {
            a.pmax = Some(default_pmax);
        }
        a
    }

    #[cfg(test)]
    fn set(&mut self, ssid: Owner, path: &Path, attrs: Attributes) -> Result<()> {
        self.put(Entry::new(ssid, *path, &attrs))
    }

    /// Replaces what its owner set at its path with `e` (nothing left when `e` holds none).
    fn put(&mut self, e: Entry) -> Result<()> {
        self.retain(&|x| !(x.ssid == e.ssid && x.path == e.path));
        if e.set == 0 {
            return Ok(());
        }
        self.entries.push(e).map_err(|_| Error::ServiceUnavailable)
    }

    /// Forgets everything set by a server.
    pub fn remove_server(&mut self, ssid: Owner) {
        self.retain(&|e| e.ssid != ssid);
    }

    /// Forgets attributes at and below a path.
    #[cfg(feature = "write")]
    pub fn remove_under(&mut self, path: &Path) {
        self.retain(&|e| !e.path.starts_with(path));
    }

    /// One `retain` instantiation for every filter (each closure type would get its own).
    fn retain(&mut self, keep: &dyn Fn(&Entry) -> bool) {
        self.entries.retain(|e| keep(e));
    }
}

/// Parses a threshold such as `-12`, `20.5` or `1e3`: the text format's decimal parser (one
/// float parser in the firmware), restricted to finite values and exponents of at most three
/// digits.
pub(crate) fn parse_number(s: &[u8]) -> Option<f64> {
    if let Some(i) = s.iter().position(|&c| c == b'e' || c == b'E') {
        let e = s.get(i + 1..)?;
        let digits = match e {
            [b'-' | b'+', d @ ..] => d,
            d => d,
        };
        if digits.len() > 3 {
            return None;
        }
    }
    crate::codec::text::parse_f64(s).filter(|v| v.to_bits() & !(1 << 63) < f64::INFINITY.to_bits())
}

fn parse_u32(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 10 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter()
        .try_fold(0u64, |a, &c| Some(a * 10 + u64::from(c - b'0')))
        .and_then(|v| u32::try_from(v).ok())
}

impl Engine<'_> {
    /// Write-Attributes: PUT with Uri-Query only. A name without a value removes the attribute.
    pub(crate) fn write_attributes(
        &mut self,
        caller: Caller,
        op: &Request<'_>,
        req: &Message<'_>,
        resp: &mut MessageBuilder<'_>,
    ) -> Result<()> {
        let path = op.path;
        if path.is_root() {
            return Err(Error::MethodNotAllowed);
        }
        self.check_read_target(caller, &path)?;
        let ssid = owner_of(caller);
        // Edited in the packed form: the position of a name in `NAMES` is its presence bit.
        let mut e = self.attributes.entry(ssid, &path);
        for q in req.uri_query() {
            let (name, value) = match q.iter().position(|&c| c == b'=') {
                Some(i) => (&q[..i], Some(&q[i + 1..])),
                None => (q, None),
            };
            let i = NAMES
                .iter()
                .position(|n| n.as_bytes() == name)
                .ok_or(Error::BadRequest)?;
            // Thresholds (gt, lt, st) only make sense on a numeric resource.
            if i >= INTS
                && !(path.len() >= 3
                    && matches!(
                        self.type_of(&path),
                        Some(
                            crate::value::DataType::Integer
                                | crate::value::DataType::Float
                                | crate::value::DataType::Unsigned
                        )
                    ))
            {
                return Err(Error::BadRequest);
            }
            let bit = 1u8 << i;
            e.set &= !bit;
            if let Some(v) = value {
                match e.ints.get_mut(i) {
                    Some(slot) => *slot = parse_u32(v).ok_or(Error::BadRequest)?,
                    None => e.nums[i - INTS] = parse_number(v).ok_or(Error::BadRequest)?,
                }
                e.set |= bit;
            }
        }
        if !e.attributes().valid() {
            return Err(Error::BadRequest);
        }
        self.attributes.put(e)?;
        resp.set_code(code::CHANGED);
        Ok(())
    }

    /// Effective attributes of an observation by a server (or a requesting client, whose
    /// account holds its default periods).
    pub(crate) fn effective_attributes(&self, caller: Caller, path: &Path) -> Attributes {
        let (pmin, pmax) = match caller {
            Caller::Server(ssid) => self
                .server
                .by_ssid(ssid)
                .map_or((0, 0), |s| (s.pmin, s.pmax)),
            #[cfg(feature = "c2c")]
            Caller::Client(cid) => self.c2c_client(cid).map_or((0, 0), |c| (c.pmin, c.pmax)),
            _ => (0, 0),
        };
        self.attributes
            .effective(owner_of(caller), path, pmin, pmax)
    }

    /// Appends the attributes `caller` set exactly at `path` to a Discover link, in the order
    /// of [`NAMES`] (read from the packed entry: no [`Attributes`] built per link).
    #[cfg(feature = "discover")]
    pub(crate) fn push_link_attrs(
        &self,
        caller: Caller,
        path: &Path,
        list: &mut heapless::Vec<crate::codec::link::LinkAttr<'_>, 9>,
    ) {
        use crate::codec::link::LinkAttr;
        let e = self.attributes.entry(owner_of(caller), path);
        for (i, name) in NAMES.into_iter().enumerate() {
            if e.set & (1 << i) == 0 {
                continue;
            }
            let _ = list.push(match e.ints.get(i) {
                Some(&v) => LinkAttr::Uint(name, v.into()),
                None => LinkAttr::Float(name, e.nums[i - INTS]),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_comparison_matches_partial_cmp() {
        let xs = [
            f64::NEG_INFINITY,
            -1e300,
            -1.5,
            -5e-324,
            -0.0,
            0.0,
            5e-324,
            1.0,
            1.0000000000000002,
            f64::MAX,
            f64::INFINITY,
            f64::NAN,
            -f64::NAN,
        ];
        for a in xs {
            for b in xs {
                assert_eq!(compare(a, b), a.partial_cmp(&b), "{a} {b}");
            }
        }
    }

    #[test]
    fn same_is_ieee_equality() {
        let xs = [
            f64::NEG_INFINITY,
            -1.5,
            -5e-324,
            -0.0,
            0.0,
            5e-324,
            1.0,
            1.0000000000000002,
            f64::INFINITY,
            f64::NAN,
            -f64::NAN,
        ];
        for a in xs {
            for b in xs {
                assert_eq!(same(Some(a), Some(b)), a == b, "{a} {b}");
                assert_eq!(same(Some(a), Some(b)), Some(a) == Some(b), "{a} {b}");
            }
            assert!(!same(Some(a), None) && !same(None, Some(a)));
        }
        assert!(same(None, None));
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number(b"20.5"), Some(20.5));
        assert_eq!(parse_number(b"-3"), Some(-3.0));
        assert_eq!(parse_number(b"1e3"), Some(1000.0));
        assert_eq!(parse_number(b"2.5E-1"), Some(0.25));
        assert_eq!(parse_number(b"+.5"), Some(0.5));
        assert_eq!(parse_number(b"1e-3"), Some(0.001));
        for bad in [
            &b""[..],
            b"-",
            b"1.2.3",
            b"abc",
            b"1e",
            b"1e1234",
            b"1e-1234",
            b".",
            b"inf",
            b"-Infinity",
            b"NaN",
            b"1e999",
            b"1x",
        ] {
            assert_eq!(parse_number(bad), None, "{bad:?}");
        }
        assert_eq!(parse_u32(b"4294967295"), Some(u32::MAX));
        assert_eq!(parse_u32(b"4294967296"), None);
    }

    #[test]
    fn constraints() {
        let a = Attributes {
            gt: Some(10.0),
            lt: Some(5.0),
            st: Some(2.0),
            ..Default::default()
        };
        assert!(a.valid());
        let b = Attributes {
            gt: Some(10.0),
            lt: Some(5.0),
            st: Some(3.0),
            ..Default::default()
        };
        assert!(!b.valid());
        let c = Attributes {
            epmin: Some(5),
            epmax: Some(2),
            ..Default::default()
        };
        assert!(!c.valid());
    }

    #[test]
    fn thresholds() {
        let a = Attributes {
            gt: Some(25.0),
            ..Default::default()
        };
        assert!(a.numeric_trigger(Some(24.0), 26.0));
        assert!(a.numeric_trigger(Some(26.0), 24.0));
        assert!(!a.numeric_trigger(Some(26.0), 27.0));
        assert!(a.numeric_trigger(Some(26.0), 25.0));
        assert!(!a.numeric_trigger(Some(24.0), 25.0));
        let l = Attributes {
            lt: Some(20.0),
            ..Default::default()
        };
        assert!(l.numeric_trigger(Some(19.0), 20.0));
        assert!(!l.numeric_trigger(Some(21.0), 20.0));
        let s = Attributes {
            st: Some(1.0),
            ..Default::default()
        };
        assert!(!s.numeric_trigger(Some(20.0), 20.5));
        assert!(s.numeric_trigger(Some(20.0), 18.9));
        assert!(Attributes::default().numeric_trigger(Some(1.0), 1.0));
    }

    #[test]
    fn inheritance() {
        let mut st = AttributeStore::default();
        st.set(
            1,
            &Path::object(3303),
            Attributes {
                pmin: Some(5),
                pmax: Some(60),
                ..Default::default()
            },
        )
        .unwrap();
        st.set(
            1,
            &Path::resource(3303, 0, 5700),
            Attributes {
                pmin: Some(1),
                ..Default::default()
            },
        )
        .unwrap();
        let e = st.effective(1, &Path::resource(3303, 0, 5700), 0, 0);
        assert_eq!((e.pmin, e.pmax), (Some(1), Some(60)));
        let other = st.effective(2, &Path::resource(3303, 0, 5700), 7, 0);
        assert_eq!((other.pmin, other.pmax), (Some(7), None));
        // A sibling's attributes do not leak; the instance level sits between the two.
        for (path, gt) in [
            (Path::instance(3303, 1), 9.0),
            (Path::instance(3303, 0), 3.5),
        ] {
            let a = Attributes {
                gt: Some(gt),
                pmax: Some(30),
                ..Default::default()
            };
            st.set(1, &path, a).unwrap();
        }
        let e = st.effective(1, &Path::resource(3303, 0, 5700), 0, 0);
        assert_eq!(
            (e.pmin, e.pmax, e.gt, e.lt),
            (Some(1), Some(30), Some(3.5), None)
        );
        let e = st.effective(1, &Path::resource(3303, 2, 5700), 0, 0);
        assert_eq!((e.pmin, e.pmax, e.gt), (Some(5), Some(60), None));
    }
}
