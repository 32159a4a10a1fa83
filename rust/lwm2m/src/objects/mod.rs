//! Objects: the engine-owned Security (0), Server (1) and Access Control (2) objects, and
//! ready-made application objects (Device 3, IPSO Temperature 3303, IPSO Light Control 3311)
//! that firmware instantiates and hands to the engine. With the `c2c` feature the engine also
//! owns the client-to-client objects: Client Security (11000), Client (11001), Client Access
//! Control (11002) and OSCORE (21).
//!
//! Those seven engine-owned objects are tables ([`table`]): each declares its resources, one
//! [`table::Check`] per resource and who may change it, plus two small projections saying where
//! each value lives; reading, checking and storing values is written once, in [`table`].

pub mod access_control;
#[cfg(feature = "c2c")]
pub mod client;
#[cfg(feature = "c2c")]
pub mod client_access_control;
#[cfg(feature = "c2c")]
pub mod client_security;
pub mod device;
pub mod light_control;
#[cfg(feature = "c2c")]
pub mod oscore;
pub mod security;
pub mod server;
pub mod table;
pub mod temperature;

use crate::error::{Error, Result};

/// Length type of the bounded strings, byte buffers and instance tables of object state:
/// `u16` rather than `usize` takes 2 bytes less per buffer and table on a 32-bit device (engine
/// state on thumbv7m in `make size`: c2c-auth 4,848 -> 4,656 B, baseline 2,128 -> 2,072 B), so
/// the length and pool knobs that size them stay at most 65,535 (`build.rs` stops with a message
/// naming the knob when one is larger: `knobs.rs`).
pub type Len = u16;
/// A bounded string of object state.
pub type Text<const N: usize> = heapless::String<N, Len>;
/// Bounded opaque bytes of object state.
pub type Bytes<const N: usize> = heapless::Vec<u8, N, Len>;

/// An instance stored in a fixed-capacity table.
pub trait HasId {
    /// The instance ID.
    fn id(&self) -> u16;
}

/// A fixed-capacity table of object instances kept in ascending ID order.
#[derive(Debug)]
pub struct Instances<T, const N: usize>(heapless::Vec<T, N, Len>);

impl<T: HasId, const N: usize> Default for Instances<T, N> {
    fn default() -> Self {
        Instances(heapless::Vec::new())
    }
}

impl<T: HasId, const N: usize> Instances<T, N> {
    /// An empty table.
    pub const fn new() -> Self {
        Instances(heapless::Vec::new())
    }

    /// The instance with this ID. Outlined (one copy per instance type instead of one per use:
    /// 40-200 B less, `make size`).
    #[inline(never)]
    pub fn get(&self, id: u16) -> Option<&T> {
        self.0.iter().find(|i| i.id() == id)
    }

    /// The instance with this ID, mutably.
    pub fn get_mut(&mut self, id: u16) -> Option<&mut T> {
        self.0.iter_mut().find(|i| i.id() == id)
    }

    /// Smallest ID greater than `after`.
    pub fn next_id(&self, after: Option<u16>) -> Option<u16> {
        self.0
            .iter()
            .map(HasId::id)
            .find(|&id| after.is_none_or(|a| id > a))
    }

    /// Inserts keeping ID order; [`Error::ServiceUnavailable`] when full, [`Error::BadRequest`]
    /// when the ID exists.
    pub fn insert(&mut self, item: T) -> Result<()> {
        if self.get(item.id()).is_some() {
            return Err(Error::BadRequest);
        }
        let pos = self
            .0
            .iter()
            .position(|i| i.id() > item.id())
            .unwrap_or(self.0.len());
        self.0
            .insert(pos, item)
            .map_err(|_| Error::ServiceUnavailable)
    }

    /// Removes an instance; [`Error::NotFound`] if absent.
    pub fn remove(&mut self, id: u16) -> Result<T> {
        let pos = self
            .0
            .iter()
            .position(|i| i.id() == id)
            .ok_or(Error::NotFound)?;
        Ok(self.0.remove(pos))
    }

    /// Iterates instances in ID order.
    pub fn iter(&self) -> core::slice::Iter<'_, T> {
        self.0.iter()
    }

    /// Iterates instances mutably in ID order.
    pub fn iter_mut(&mut self) -> core::slice::IterMut<'_, T> {
        self.0.iter_mut()
    }

    /// Number of instances.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no instances.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Removes every instance.
    pub fn clear(&mut self) {
        self.0.clear()
    }

    /// Keeps only the instances for which `f` is true.
    pub fn retain(&mut self, f: impl FnMut(&T) -> bool) {
        self.0.retain(f)
    }

    /// Lowest unused ID.
    pub fn free_id(&self) -> Option<u16> {
        (0..crate::path::ID_NONE).find(|&i| self.get(i).is_none())
    }
}

/// [`Error::RequestEntityTooLarge`] when `len` bytes do not fit a buffer of `cap` bytes (the
/// check half of [`set_str`] / [`set_bytes`]).
pub(crate) fn check_len(len: usize, cap: usize) -> Result<()> {
    if len > cap {
        Err(Error::RequestEntityTooLarge)
    } else {
        Ok(())
    }
}

/// Stands in for a secret in `Debug` output: prints only its length.
pub struct Redacted(pub usize);

impl core::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "<{} bytes redacted>", self.0)
    }
}

/// Replaces the content of a bounded string.
pub fn set_str<const N: usize>(s: &mut Text<N>, v: &str) -> Result<()> {
    s.clear();
    s.push_str(v).map_err(|_| Error::RequestEntityTooLarge)
}

/// Replaces the content of a bounded byte vector.
pub fn set_bytes<const N: usize>(s: &mut Bytes<N>, v: &[u8]) -> Result<()> {
    s.clear();
    s.extend_from_slice(v)
        .map_err(|_| Error::RequestEntityTooLarge)
}

/// Extracts a typed value for a write, or [`Error::BadRequest`].
pub(crate) mod take {
    use crate::error::{Error, Result};
    use crate::value::Value;

    pub fn str<'a>(v: &Value<'a>) -> Result<&'a str> {
        match *v {
            Value::String(s) | Value::CoreLnk(s) => Ok(s),
            _ => Err(Error::BadRequest),
        }
    }
    pub fn bytes<'a>(v: &Value<'a>) -> Result<&'a [u8]> {
        match *v {
            Value::Opaque(b) => Ok(b),
            Value::String(s) => Ok(s.as_bytes()),
            _ => Err(Error::BadRequest),
        }
    }
    pub fn u16(v: &Value<'_>) -> Result<u16> {
        v.as_u64()
            .and_then(|x| u16::try_from(x).ok())
            .ok_or(Error::BadRequest)
    }
    pub fn bool(v: &Value<'_>) -> Result<bool> {
        match *v {
            Value::Boolean(b) => Ok(b),
            _ => Err(Error::BadRequest),
        }
    }
    pub fn f64(v: &Value<'_>) -> Result<f64> {
        v.as_f64().ok_or(Error::BadRequest)
    }
    pub fn i64(v: &Value<'_>) -> Result<i64> {
        v.as_i64().ok_or(Error::BadRequest)
    }
}
