//! Client Access Control object (11002, C2C extension): the rights requesting clients hold on
//! an object instance (or, with Object Instance ID 65535, the right to create instances), and
//! the server that manages them. Built like Access Control (2), except that the ACL's
//! resource-instance IDs are Short Client IDs and that DM servers (not only the bootstrap
//! server) create and delete instances: the paper lets the server that authorizes a client
//! install the rights. The rules that use it live in `engine::c2c`.

use super::access_control::AclInstance;
use super::{take, Instances};
use crate::config::MAX_CLIENT_ACL_INSTANCES;
use crate::dm::{Caller, Object, ObjectDef, Operations as Op, ResourceDef as R};
use crate::error::{Error, Result};
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
    pub fn find(&self, obj: u16, inst: u16) -> Option<&AclInstance> {
        self.instances.iter().find(|a| a.governs(obj, inst))
    }

    /// Removes the instances governing `/obj/inst`.
    pub fn remove_for(&mut self, obj: u16, inst: u16) {
        self.instances.retain(|a| !a.governs(obj, inst));
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
        self.instances.get(inst)?.next_entry(res, after)
    }

    fn read(&self, inst: u16, res: u16, ri: Option<u16>) -> Result<Value<'_>> {
        self.instances
            .get(inst)
            .ok_or(Error::NotFound)?
            .read(res, ri)
    }

    fn check_write(
        &self,
        caller: Caller,
        _inst: u16,
        res: u16,
        ri: Option<u16>,
        v: &Value<'_>,
    ) -> Result<()> {
        if matches!(caller, Caller::Client(_)) {
            return Err(Error::Unauthorized);
        }
        let x = take::u16(v)?;
        let ok = match (res, ri) {
            (0, None) => x != ID_NONE,
            (1, None) => true,
            (2, Some(c)) => c != ID_NONE && x <= u16::from(crate::c2c::rights::ALL),
            (3, None) => x != 0,
            _ => return Err(Error::NotFound),
        };
        if ok {
            Ok(())
        } else {
            Err(Error::BadRequest)
        }
    }

    fn write(
        &mut self,
        caller: Caller,
        inst: u16,
        res: u16,
        ri: Option<u16>,
        v: &Value<'_>,
    ) -> Result<()> {
        self.check_write(caller, inst, res, ri, v)?;
        let i = self.instances.get_mut(inst).ok_or(Error::NotFound)?;
        let x = take::u16(v)?;
        match (res, ri) {
            (0, _) => i.object_id = x,
            (1, _) => i.instance_id = x,
            (2, Some(ri)) => i.set_entry(ri, x)?,
            _ => i.owner = x,
        }
        Ok(())
    }

    fn clear_resource(&mut self, inst: u16, res: u16) -> Result<()> {
        let i = self.instances.get_mut(inst).ok_or(Error::NotFound)?;
        if res == 2 {
            i.acl.clear();
        }
        Ok(())
    }

    fn create(&mut self, caller: Caller, inst: u16) -> Result<()> {
        // The creating server owns the new instance unless the payload names another owner.
        let owner = match caller {
            Caller::Server(s) => s,
            Caller::Client(_) => return Err(Error::Unauthorized),
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
        if matches!(caller, Caller::Client(_)) {
            return Err(Error::Unauthorized);
        }
        self.instances.remove(inst).map(|_| ())
    }
}
