//! The resource-table layer: an object described as a table of resources instead of
//! hand-written `match`es. Each resource row of an [`ObjectDef`] gets a [`Check`] (the value
//! constraint a write must meet) and the [`Table`] a [`Guard`] (which callers may change the
//! object). The object supplies one small projection per direction that says where each
//! value lives: `field(&Object, inst, res) -> Option<Option<FieldRef>>` and `field_mut`
//! returning [`FieldMut`] (`None`: no such instance; `Some(None)`: no stored value, e.g. an
//! executable resource). Reading, checking and storing values, Execute acknowledgements and
//! entry lists (the ACLs) are then done once, here, by functions that are not generic over the
//! instance type (bounded buffers are reached through heapless' `VecView` / `StringView`), so
//! an object costs its table plus its projections, not a copy of this logic.
//!
//! The functions follow the [`Object`](crate::dm::Object) methods: an object's trait
//! implementation projects the field and hands it to them. Anything an object does beyond its
//! table (a uniqueness rule, a default owner, an instance's initial values) stays in its file.
//!
//! A write is refused, in this order: by the guard (4.01 or nothing, see [`Guard`]); for an
//! unknown resource (4.04); for an executable or local-only resource (4.05); for a missing
//! resource-instance ID on a multiple resource, or one given on a single resource when the
//! table has `exact_ri` (4.04); by the check (4.00, or 4.13 for a too long value); only then
//! for a missing instance (4.04).

use super::take;
use super::Len;
use crate::dm::{Caller, ObjectDef, ResourceDef};
use crate::error::{Error, Result};
use crate::path::ID_NONE;
use crate::value::{DataType, Value};
use heapless::string::StringView;
use heapless::vec::VecView;

/// The constraint a written value must meet, beyond having the resource's data type. Every
/// violation is [`Error::BadRequest`] except a too long value under [`Check::Len`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Any value of the data type (Boolean, Object Link, executable resources).
    Any,
    /// String or Opaque of at most this many bytes; longer is
    /// [`Error::RequestEntityTooLarge`].
    Len(u16),
    /// String of 1 to this many bytes.
    Text(u16),
    /// Binding string (letters `U`, `T`, `S`, `N`, `Q`) of 1 to this many bytes.
    Binding(u16),
    /// Integer from 0 up to this value.
    Max(u16),
    /// Integer from this value up to 65535.
    Min(u16),
    /// A Short Server or Client ID: integer from 1 to 65534.
    Id,
    /// Integer below 16 whose bit is set in this mask (e.g. `0b1001`: 0 or 3).
    OneOf(u16),
    /// Integer from this value up to `u32::MAX`.
    U32(u16),
    /// Integer within `i32`.
    I32,
    /// Object Link to this object, with an instance ID other than 65535.
    Link(u16),
    /// Multiple-instance resource of entries: the resource-instance ID is not 65535, the
    /// value is at most this (an ACL: Short Client ID -> rights).
    Entry(u16),
}

/// Which callers may change an object (check writes, create, delete, execute).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guard {
    /// Everyone but requesting clients, who get [`Error::Unauthorized`] for every change
    /// (the C2C objects).
    NoClients,
    /// Only the bootstrap server and the local firmware; others get [`Error::Unauthorized`]
    /// (Security, 0).
    BootstrapOnly,
    /// Anyone may write and execute; only the bootstrap server and the local firmware may
    /// create and delete instances, others get [`Error::MethodNotAllowed`] (Server, Access
    /// Control).
    InstancesBootstrapOnly,
}

/// An object's table: its definition, one [`Check`] per resource row (same order), who may
/// change it, and which resources only local or bootstrap callers may write.
#[derive(Debug)]
pub struct Table {
    /// The object definition.
    pub def: &'static ObjectDef,
    /// The constraint of `def.resources[i]` is `checks[i]`.
    pub checks: &'static [Check],
    /// Who may change the object.
    pub guard: Guard,
    /// Bit `r` set: resource `r` (< 32) is written only by [`Caller::Bootstrap`] or
    /// [`Caller::Local`]; remote callers get [`Error::MethodNotAllowed`].
    pub local_only: u32,
    /// A resource-instance ID given for a single-instance resource is [`Error::NotFound`] on
    /// write (the ACL objects); otherwise it is ignored.
    pub exact_ri: bool,
}

/// Where a value lives, for reading.
#[derive(Clone, Copy, Debug)]
pub enum FieldRef<'a> {
    /// A string.
    Str(&'a str),
    /// Opaque bytes.
    Bytes(&'a [u8]),
    /// An unsigned integer (`u8`, `u16` or `u32` storage).
    U32(u32),
    /// A signed integer.
    I32(i32),
    /// A boolean.
    Bool(bool),
    /// An optional Object Link: `None` means the (optional) resource is absent.
    Link(Option<(u16, u16)>),
    /// Entries of a multiple-instance resource: (resource-instance ID, value), ascending IDs.
    Entries(&'a [(u16, u16)]),
}

/// Where a value lives, for writing.
#[derive(Debug)]
pub enum FieldMut<'a> {
    /// A bounded string.
    Str(&'a mut StringView<Len>),
    /// Bounded opaque bytes.
    Bytes(&'a mut VecView<u8, Len>),
    /// A `u8` (range-checked on store).
    U8(&'a mut u8),
    /// A `u16`.
    U16(&'a mut u16),
    /// A `u32`.
    U32(&'a mut u32),
    /// An `i32` (its range is the table's [`Check::I32`]).
    I32(&'a mut i32),
    /// A boolean.
    Bool(&'a mut bool),
    /// An optional Object Link.
    Link(&'a mut Option<(u16, u16)>),
    /// Entries of a multiple-instance resource, kept in ascending ID order.
    Entries(&'a mut VecView<(u16, u16), Len>),
}

fn local(caller: Caller) -> bool {
    matches!(caller, Caller::Bootstrap | Caller::Local)
}

impl Table {
    /// The definition and constraint of resource `res`.
    pub fn row(&self, res: u16) -> Option<(&'static ResourceDef, Check)> {
        let i = self.def.resources.iter().position(|r| r.id == res)?;
        Some((&self.def.resources[i], *self.checks.get(i)?))
    }

    fn executable(&self, res: u16) -> bool {
        self.def.resource(res).is_some_and(|r| r.ops.executable())
    }

    /// May `caller` change instances (write, execute)? `instances`: create or delete.
    pub fn allow(&self, caller: Caller, instances: bool) -> Result<()> {
        match self.guard {
            Guard::NoClients if matches!(caller, Caller::Client(_)) => Err(Error::Unauthorized),
            Guard::BootstrapOnly if !local(caller) => Err(Error::Unauthorized),
            Guard::InstancesBootstrapOnly if instances && !local(caller) => {
                Err(Error::MethodNotAllowed)
            }
            _ => Ok(()),
        }
    }

    /// [`Object::read`](crate::dm::Object::read): `field` is `None` when the instance does not
    /// exist, `Some(None)` when it has no stored value for `res`.
    pub fn read<'a>(
        &self,
        field: Option<Option<FieldRef<'a>>>,
        res: u16,
        ri: Option<u16>,
    ) -> Result<Value<'a>> {
        let field = field.ok_or(Error::NotFound)?;
        Ok(match field {
            Some(FieldRef::Str(s)) => Value::String(s),
            Some(FieldRef::Bytes(b)) => Value::Opaque(b),
            Some(FieldRef::U32(x)) => Value::Integer(x.into()),
            Some(FieldRef::I32(x)) => Value::Integer(x.into()),
            Some(FieldRef::Bool(b)) => Value::Boolean(b),
            Some(FieldRef::Link(Some((o, i)))) => Value::ObjLnk(o, i),
            Some(FieldRef::Entries(e)) => {
                let ri = ri.ok_or(Error::NotFound)?;
                let x = e.iter().find(|e| e.0 == ri).ok_or(Error::NotFound)?;
                Value::Integer(x.1.into())
            }
            Some(FieldRef::Link(None)) => return Err(Error::NotFound),
            None if self.executable(res) => return Err(Error::MethodNotAllowed),
            None => return Err(Error::NotFound),
        })
    }

    /// [`Object::has_resource`](crate::dm::Object::has_resource) of an existing instance: the
    /// resource is defined and, if an optional link, set.
    pub fn has(&self, field: Option<FieldRef<'_>>, res: u16) -> bool {
        !matches!(field, Some(FieldRef::Link(None))) && self.def.resource(res).is_some()
    }

    /// [`Object::next_resource_instance`](crate::dm::Object::next_resource_instance).
    pub fn next_entry(field: Option<FieldRef<'_>>, after: Option<u16>) -> Option<u16> {
        match field? {
            FieldRef::Entries(e) => e
                .iter()
                .map(|e| e.0)
                .find(|&id| after.is_none_or(|a| id > a)),
            _ => None,
        }
    }

    /// [`Object::check_write`](crate::dm::Object::check_write): caller, resource and the
    /// table's constraint.
    pub fn check_write(
        &self,
        caller: Caller,
        res: u16,
        ri: Option<u16>,
        v: &Value<'_>,
    ) -> Result<()> {
        self.put(caller, res, ri, v, None)
    }

    /// [`Object::write`](crate::dm::Object::write): [`Table::check_write`], then stores the
    /// value into `field`, which is `None` when the instance does not exist.
    pub fn write(
        &self,
        caller: Caller,
        res: u16,
        ri: Option<u16>,
        v: &Value<'_>,
        field: Option<Option<FieldMut<'_>>>,
    ) -> Result<()> {
        self.put(caller, res, ri, v, Some(field))
    }

    /// Checks and, with `store`, stores: one pass, so that the value is converted once.
    fn put(
        &self,
        caller: Caller,
        res: u16,
        ri: Option<u16>,
        v: &Value<'_>,
        store: Option<Option<Option<FieldMut<'_>>>>,
    ) -> Result<()> {
        self.allow(caller, false)?;
        let (def, check) = self.row(res).ok_or(Error::NotFound)?;
        if def.ops.executable() || res < 32 && self.local_only & (1 << res) != 0 && !local(caller) {
            return Err(Error::MethodNotAllowed);
        }
        if def.multiple && ri.is_none() || self.exact_ri && !def.multiple && ri.is_some() {
            return Err(Error::NotFound);
        }
        // The integer of an integer check, kept for the store.
        let mut int = None;
        let ok = match check {
            Check::Any => match def.data_type {
                DataType::Boolean => matches!(v, Value::Boolean(_)),
                DataType::ObjLnk => matches!(v, Value::ObjLnk(..)),
                _ => true,
            },
            Check::Len(n) | Check::Text(n) | Check::Binding(n) => {
                let b = match def.data_type {
                    DataType::String => take::str(v)?.as_bytes(),
                    _ => take::bytes(v)?,
                };
                let fits = b.len() <= n.into();
                match check {
                    Check::Len(_) if !fits => return Err(Error::RequestEntityTooLarge),
                    Check::Len(_) => true,
                    Check::Text(_) => fits && !b.is_empty(),
                    _ => {
                        fits && !b.is_empty()
                            && b.iter()
                                .all(|c| matches!(c, b'U' | b'T' | b'S' | b'N' | b'Q'))
                    }
                }
            }
            Check::Link(obj) => matches!(*v, Value::ObjLnk(o, i) if o == obj && i != ID_NONE),
            // Integers: one conversion, then a range (and for two checks one more rule).
            _ => {
                let x = v.as_i64().ok_or(Error::BadRequest)?;
                int = Some(x);
                let (lo, hi) = match check {
                    Check::Max(hi) => (0, hi.into()),
                    Check::Min(lo) => (lo.into(), u16::MAX.into()),
                    Check::Id => (1, (ID_NONE - 1).into()),
                    Check::OneOf(_) => (0, 15),
                    Check::U32(lo) => (lo.into(), u32::MAX.into()),
                    Check::Entry(max) => (0, max.into()),
                    _ => (i32::MIN.into(), i32::MAX.into()),
                };
                (lo..=hi).contains(&x)
                    && match check {
                        Check::OneOf(mask) => mask >> x & 1 != 0,
                        Check::Entry(_) => ri != Some(ID_NONE),
                        _ => true,
                    }
            }
        };
        if !ok {
            return Err(Error::BadRequest);
        }
        let Some(field) = store else {
            return Ok(());
        };
        let field = field.ok_or(Error::NotFound)?.ok_or(Error::NotFound)?;
        // A field whose kind does not match its check gets no integer: 4.00, never truncation.
        let int = || int.ok_or(Error::BadRequest);
        let bad = |_| Error::BadRequest;
        match field {
            FieldMut::Str(s) => {
                s.clear();
                s.push_str(take::str(v)?)
                    .map_err(|_| Error::RequestEntityTooLarge)?
            }
            FieldMut::Bytes(b) => {
                b.clear();
                b.extend_from_slice(take::bytes(v)?)
                    .map_err(|_| Error::RequestEntityTooLarge)?
            }
            FieldMut::Bool(x) => *x = take::bool(v)?,
            FieldMut::Link(x) => match *v {
                Value::ObjLnk(o, n) => *x = Some((o, n)),
                _ => return Err(Error::BadRequest),
            },
            FieldMut::U8(x) => *x = int()?.try_into().map_err(bad)?,
            FieldMut::U16(x) => *x = int()?.try_into().map_err(bad)?,
            FieldMut::U32(x) => *x = int()?.try_into().map_err(bad)?,
            FieldMut::I32(x) => *x = int()?.try_into().map_err(bad)?,
            FieldMut::Entries(e) => {
                let x = int()?.try_into().map_err(bad)?;
                set_entry(e, ri.ok_or(Error::NotFound)?, x)?
            }
        }
        Ok(())
    }

    /// [`Object::clear_resource`](crate::dm::Object::clear_resource): empties an entry list.
    pub fn clear(field: Option<Option<FieldMut<'_>>>) -> Result<()> {
        if let Some(FieldMut::Entries(e)) = field.ok_or(Error::NotFound)? {
            e.clear();
        }
        Ok(())
    }

    /// [`Object::execute`](crate::dm::Object::execute): accepts an executable resource of an
    /// existing instance (the engine performs the action afterwards).
    pub fn execute(&self, caller: Caller, exists: bool, res: u16) -> Result<()> {
        self.allow(caller, false)?;
        if !exists {
            return Err(Error::NotFound);
        }
        if self.executable(res) {
            Ok(())
        } else {
            Err(Error::MethodNotAllowed)
        }
    }
}

/// Sets entry `id` of an ascending entry list to `value`, replacing an existing one;
/// [`Error::ServiceUnavailable`] when the list is full.
pub fn set_entry(list: &mut VecView<(u16, u16), Len>, id: u16, value: u16) -> Result<()> {
    if let Some(e) = list.iter_mut().find(|e| e.0 == id) {
        e.1 = value;
        return Ok(());
    }
    let pos = list.iter().position(|e| e.0 > id).unwrap_or(list.len());
    list.insert(pos, (id, value))
        .map_err(|_| Error::ServiceUnavailable)
}
