//! Client Access Control object (11002, C2C extension): the rights requesting clients hold on
//! an object instance (or, with Object Instance ID 65535, the right to create instances), and
//! the server that manages them. Built like Access Control (2), except that the ACL's
//! resource-instance IDs are Short Client IDs and that DM servers (not only the bootstrap
//! server) create and delete instances: the paper lets the server that authorizes a client
//! install the rights. The rules that use it live in `engine::c2c`.

use super::access_control::AclInstance;
use super::table::{Check, FieldRef, Guard, Table};
use super::Instances;
use crate::config::MAX_CLIENT_ACL_INSTANCES;
use crate::dm::{Caller, Object, ObjectDef, Operations as Op, ResourceDef as R};
use crate::error::Result;
use crate::path::ID_NONE;
use crate::value::{DataType as T, Value};

/// Object ID.
pub const ID: u16 = crate::c2c::CLIENT_ACCESS_CONTROL;

static RESOURCES: [R; 4] = [
    R::single(0, "Object ID", Op::RW, true, T::Integer),
    R::single(1, "Object Instance ID", Op::RW, true, T::Integer),
    R::multiple(2, "ACL", Op::RW, false, T::Integer),
    R::single(3, "Access Control Owner", Op::RW, true, T::Integer),
];

/// Definition of object 11002.
pub static DEF: ObjectDef = ObjectDef {
    id: ID,
    name: crate::dm::name("Client Access Control"),
    version: None,
    multiple: true,
    mandatory: false,
    resources: &RESOURCES,
};

/// Object 11002. Instances reuse [`AclInstance`]: `acl` maps Short Client IDs (0 = default
/// for clients without an entry) to [`crate::c2c::rights`], `owner` is a Short Server ID.
#[derive(Debug, Default)]
pub struct ClientAccessControl {
    /// The instances.
    pub instances: Instances<AclInstance, MAX_CLIENT_ACL_INSTANCES>,
}

impl ClientAccessControl {
    /// The instance that governs `/obj/inst` (inst 65535 for the object level).
    #[inline(never)] // one copy instead of one per use: smaller (`make size`)
    pub fn find(&self, obj: u16, inst: u16) -> Option<&AclInstance> {
        self.instances.iter().find(|a| a.governs(obj, inst))
    }

    /// Removes the instances governing `/obj/inst`.
    pub fn remove_for(&mut self, obj: u16, inst: u16) {
        self.instances.retain(|a| !a.governs(obj, inst));
    }
}

/// The table of object 11002: every change refused to requesting clients.
pub static TABLE: Table = Table {
    def: &DEF,
    checks: &[
        Check::Max(ID_NONE - 1),
        Check::Max(u16::MAX),
        Check::Entry(crate::c2c::rights::ALL as u16),
        Check::Min(1),
    ],
    guard: Guard::NoClients,
    local_only: 0,
    exact_ri: true,
};

impl ClientAccessControl {
    /// Where resource `res` of instance `inst` lives (`None`: no such instance).
    fn field(&self, inst: u16, res: u16) -> Option<Option<FieldRef<'_>>> {
        Some(self.instances.get(inst)?.field(res))
    }
}

impl Object for ClientAccessControl {
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
        // The creating server owns the new instance unless the payload names another owner.
        let owner = match caller {
            Caller::Server(s) => s,
            _ => ID_NONE,
        };
        self.instances.insert(AclInstance {
            id: inst,
            object_id: ID_NONE,
            instance_id: ID_NONE,
            owner,
            ..Default::default()
        })
    }

    fn delete(&mut self, caller: Caller, inst: u16) -> Result<()> {
        TABLE.allow(caller, true)?;
        self.instances.remove(inst).map(|_| ())
    }
}
