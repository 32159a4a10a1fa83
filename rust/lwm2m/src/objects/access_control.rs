//! LwM2M Access Control object (2): per-instance ACLs and their owner. The rules that use it
//! live in `engine::access`.

use super::table::{Check, FieldMut, FieldRef, Guard, Table};
use super::{HasId, Instances};
use crate::config::{MAX_ACL_ENTRIES, MAX_ACL_INSTANCES};
use crate::dm::{Caller, Object, ObjectDef, Operations as Op, ResourceDef as R};
use crate::error::{Error, Result};
use crate::value::{DataType as T, Value};

/// Object ID.
pub const ID: u16 = 2;

/// Access right bits of an ACL value.
pub mod rights {
    /// Read, Observe, Discover, Write-Attributes.
    pub const READ: u16 = 0x01;
    /// Write.
    pub const WRITE: u16 = 0x02;
    /// Execute.
    pub const EXECUTE: u16 = 0x04;
    /// Delete.
    pub const DELETE: u16 = 0x08;
    /// Create (on the object-level instance).
    pub const CREATE: u16 = 0x10;
    /// Everything an owner gets by default (all but Create).
    pub const OWNER: u16 = READ | WRITE | EXECUTE | DELETE;
}

static RESOURCES: [R; 4] = [
    R::single(0, "Object ID", Op::R, true, T::Integer),
    R::single(1, "Object Instance ID", Op::R, true, T::Integer),
    R::multiple(2, "ACL", Op::RW, false, T::Integer),
    R::single(3, "Access Control Owner", Op::RW, true, T::Integer),
];

/// Definition of object 2.
pub static DEF: ObjectDef = ObjectDef {
    id: ID,
    name: crate::dm::name("LwM2M Access Control"),
    version: None,
    multiple: true,
    mandatory: false,
    resources: &RESOURCES,
};

/// One Access Control instance.
#[derive(Debug, Clone, Default)]
pub struct AclInstance {
    /// Instance ID.
    pub id: u16,
    /// Res 0: object ID.
    pub object_id: u16,
    /// Res 1: object instance ID (65535 = object level, for Create).
    pub instance_id: u16,
    /// Res 2: (Short Server ID, rights); ID 0 holds the default rights.
    pub acl: heapless::Vec<(u16, u16), MAX_ACL_ENTRIES, super::Len>,
    /// Res 3: Short Server ID of the owner (65535 when managed by bootstrap only).
    pub owner: u16,
}

impl AclInstance {
    /// The rights stored for `ssid`, if there is an entry.
    pub fn entry(&self, ssid: u16) -> Option<u16> {
        self.acl.iter().find(|e| e.0 == ssid).map(|e| e.1)
    }

    /// True if this instance governs `/obj/inst`.
    pub fn governs(&self, obj: u16, inst: u16) -> bool {
        self.object_id == obj && self.instance_id == inst
    }

    /// The next ACL entry ID after `after`, for resource `res` (only 2 has entries). Shared
    /// by Access Control (2) and Client Access Control (11002), which have the same layout.
    pub fn next_entry(&self, res: u16, after: Option<u16>) -> Option<u16> {
        if res != 2 {
            return None;
        }
        self.acl
            .iter()
            .map(|e| e.0)
            .find(|&id| after.is_none_or(|a| id > a))
    }

    /// Reads resource `res` (resource instance `ri` of the ACL).
    pub fn read(&self, res: u16, ri: Option<u16>) -> Result<Value<'static>> {
        Ok(match (res, ri) {
            (0, _) => Value::Integer(self.object_id.into()),
            (1, _) => Value::Integer(self.instance_id.into()),
            (2, Some(ri)) => Value::Integer(self.entry(ri).ok_or(Error::NotFound)?.into()),
            (3, _) => Value::Integer(self.owner.into()),
            _ => return Err(Error::NotFound),
        })
    }

    /// Sets an entry (replacing an existing one).
    pub fn set_entry(&mut self, ssid: u16, rights: u16) -> Result<()> {
        super::table::set_entry(self.acl.as_mut_view(), ssid, rights)
    }
}

impl AclInstance {
    /// Where each resource lives (the layout Access Control and Client Access Control share).
    pub(crate) fn field(&self, res: u16) -> Option<FieldRef<'_>> {
        Some(match res {
            0 => FieldRef::U32(self.object_id.into()),
            1 => FieldRef::U32(self.instance_id.into()),
            2 => FieldRef::Entries(&self.acl),
            3 => FieldRef::U32(self.owner.into()),
            _ => return None,
        })
    }

    /// Where each resource lives, for writing.
    pub(crate) fn field_mut(&mut self, res: u16) -> Option<FieldMut<'_>> {
        Some(match res {
            0 => FieldMut::U16(&mut self.object_id),
            1 => FieldMut::U16(&mut self.instance_id),
            2 => FieldMut::Entries(self.acl.as_mut_view()),
            3 => FieldMut::U16(&mut self.owner),
            _ => return None,
        })
    }
}

impl HasId for AclInstance {
    fn id(&self) -> u16 {
        self.id
    }
}

/// Object 2.
#[derive(Debug, Default)]
pub struct AccessControl {
    /// The instances.
    pub instances: Instances<AclInstance, MAX_ACL_INSTANCES>,
}

impl AccessControl {
    /// The ACL instance that governs `/obj/inst` (inst 65535 for the object level).
    pub fn find(&self, obj: u16, inst: u16) -> Option<&AclInstance> {
        self.instances.iter().find(|a| a.governs(obj, inst))
    }

    /// Removes the ACL instances governing `/obj/inst`.
    pub fn remove_for(&mut self, obj: u16, inst: u16) {
        self.instances.retain(|a| !a.governs(obj, inst));
    }

    /// Adds an ACL instance for `/obj/inst` owned by `owner`, with `owner_rights` for the owner
    /// (none when 0). Used when a server creates an instance.
    pub fn add(&mut self, obj: u16, inst: u16, owner: u16, owner_rights: u16) -> Result<u16> {
        let id = self.instances.free_id().ok_or(Error::ServiceUnavailable)?;
        let mut a = AclInstance {
            id,
            object_id: obj,
            instance_id: inst,
            acl: heapless::Vec::new(),
            owner,
        };
        if owner_rights != 0 {
            a.set_entry(owner, owner_rights)?;
        }
        self.instances.insert(a)?;
        Ok(id)
    }
}

/// The table of object 2: servers write ACLs and owners; only the bootstrap server and the
/// local firmware create and delete instances or set what an instance governs.
pub static TABLE: Table = Table {
    def: &DEF,
    checks: &[
        Check::Max(u16::MAX),
        Check::Max(u16::MAX),
        Check::Max(0x1f),
        Check::Max(u16::MAX),
    ],
    guard: Guard::InstancesBootstrapOnly,
    local_only: 0b11,
    exact_ri: true,
};

impl AccessControl {
    /// Where resource `res` of instance `inst` lives (`None`: no such instance).
    fn field(&self, inst: u16, res: u16) -> Option<Option<FieldRef<'_>>> {
        Some(self.instances.get(inst)?.field(res))
    }
}

impl Object for AccessControl {
    fn def(&self) -> &'static ObjectDef {
        &DEF
    }

    fn next_instance(&self, after: Option<u16>) -> Option<u16> {
        self.instances.next_id(after)
    }

    fn next_resource_instance(&self, inst: u16, res: u16, after: Option<u16>) -> Option<u16> {
        Table::next_entry(self.field(inst, res)?, after)
    }

    fn read(&self, inst: u16, res: u16, ri: Option<u16>) -> Result<Value<'_>> {
        TABLE.read(self.field(inst, res), res, ri)
    }

    fn check_write(
        &self,
        caller: Caller,
        _inst: u16,
        res: u16,
        ri: Option<u16>,
        v: &Value<'_>,
    ) -> Result<()> {
        TABLE.check_write(caller, res, ri, v)
    }

    fn write(
        &mut self,
        caller: Caller,
        inst: u16,
        res: u16,
        ri: Option<u16>,
        v: &Value<'_>,
    ) -> Result<()> {
        TABLE.write(
            caller,
            res,
            ri,
            v,
            self.instances.get_mut(inst).map(|i| i.field_mut(res)),
        )
    }

    fn clear_resource(&mut self, inst: u16, res: u16) -> Result<()> {
        Table::clear(self.instances.get_mut(inst).map(|i| i.field_mut(res)))
    }

    fn create(&mut self, caller: Caller, inst: u16) -> Result<()> {
        TABLE.allow(caller, true)?;
        self.instances.insert(AclInstance {
            id: inst,
            owner: crate::path::ID_NONE,
            ..Default::default()
        })
    }

    fn delete(&mut self, caller: Caller, inst: u16) -> Result<()> {
        TABLE.allow(caller, true)?;
        self.instances.remove(inst).map(|_| ())
    }
}
