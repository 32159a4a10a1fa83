//! The data model: object and resource definitions, and the [`Object`] trait through which the
//! engine reaches every object, built-in or defined by the firmware.

use crate::error::{Error, Result};
use crate::value::{DataType, Value};

/// Which operations a resource allows (LwM2M object definitions: R, W, RW, E, or none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Operations(u8);

impl Operations {
    /// No operation (resources of the Security object, readable only by bootstrap).
    pub const NONE: Operations = Operations(0);
    /// Read.
    pub const R: Operations = Operations(1);
    /// Write.
    pub const W: Operations = Operations(2);
    /// Read and write.
    pub const RW: Operations = Operations(3);
    /// Execute.
    pub const E: Operations = Operations(4);

    /// True if the resource may be read.
    pub const fn readable(self) -> bool {
        self.0 & 1 != 0
    }
    /// True if the resource may be written.
    pub const fn writable(self) -> bool {
        self.0 & 2 != 0
    }
    /// True if the resource may be executed.
    pub const fn executable(self) -> bool {
        self.0 & 4 != 0
    }
}

/// The static definition of a resource.
#[derive(Clone, Copy, Debug)]
pub struct ResourceDef {
    /// Resource ID.
    pub id: u16,
    /// Resource name from the object registry, for logs and tools; only with the `names`
    /// feature (enabled by `std`), so that device flash does not carry the strings.
    #[cfg(feature = "names")]
    pub name: &'static str,
    /// Allowed operations.
    pub ops: Operations,
    /// Multiple-instance resource.
    pub multiple: bool,
    /// Mandatory resource.
    pub mandatory: bool,
    /// Data type.
    pub data_type: DataType,
}

impl ResourceDef {
    /// A single-instance resource definition.
    pub const fn single(
        id: u16,
        name: &'static str,
        ops: Operations,
        mandatory: bool,
        data_type: DataType,
    ) -> Self {
        #[cfg(not(feature = "names"))]
        let _ = name;
        ResourceDef {
            id,
            #[cfg(feature = "names")]
            name,
            ops,
            multiple: false,
            mandatory,
            data_type,
        }
    }

    /// A multiple-instance resource definition.
    pub const fn multiple(
        id: u16,
        name: &'static str,
        ops: Operations,
        mandatory: bool,
        data_type: DataType,
    ) -> Self {
        #[cfg(not(feature = "names"))]
        let _ = name;
        ResourceDef {
            id,
            #[cfg(feature = "names")]
            name,
            ops,
            multiple: true,
            mandatory,
            data_type,
        }
    }
}

/// `name` with the `names` feature (enabled by `std`), else `""`: object definitions write
/// `name: dm::name("Device")` so that device flash does not carry the strings.
pub const fn name(name: &'static str) -> &'static str {
    if cfg!(feature = "names") {
        name
    } else {
        ""
    }
}

/// The static definition of an object.
#[derive(Clone, Copy, Debug)]
pub struct ObjectDef {
    /// Object ID.
    pub id: u16,
    /// Object name, for logs and tools: empty without the `names` feature when written with
    /// [`name`] (as the built-in objects are).
    pub name: &'static str,
    /// Object version when it is not 1.0 (sent as `ver=` in registration), e.g. `"1.1"`.
    pub version: Option<&'static str>,
    /// Multiple-instance object.
    pub multiple: bool,
    /// Mandatory object.
    pub mandatory: bool,
    /// Resource definitions in ascending ID order.
    pub resources: &'static [ResourceDef],
}

impl ObjectDef {
    /// Looks up a resource definition. Outlined: inlined at its dozen uses it cost 100-200 B.
    #[inline(never)]
    pub fn resource(&self, id: u16) -> Option<&'static ResourceDef> {
        self.resources.iter().find(|r| r.id == id)
    }
}

/// Who is performing an operation, as far as an object needs to know (the engine has already
/// checked access rights before calling the object).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// An LwM2M server, by Short Server ID.
    Server(u16),
    /// The bootstrap server (may write objects 0 and 21 and any read-only resource).
    Bootstrap,
    /// The local firmware or the engine itself (factory configuration, internal updates).
    Local,
    /// A requesting client, by Short Client ID (client-to-client extension).
    Client(u16),
}

/// An LwM2M object as the engine sees it: a set of instances, each holding resources.
///
/// Implementations keep their own bounded storage. IDs passed in have been checked against the
/// object definition (existing resource, allowed operation, data type coerced) unless the
/// caller is [`Caller::Bootstrap`] or [`Caller::Local`], which may write read-only resources.
pub trait Object {
    /// The object's static definition.
    fn def(&self) -> &'static ObjectDef;

    /// The smallest existing instance ID greater than `after` (or the smallest one when `after`
    /// is `None`). Iterating with it lists instances in ascending order.
    fn next_instance(&self, after: Option<u16>) -> Option<u16>;

    /// True if the (optional) resource is present in the instance. Defaults to every resource
    /// of the definition being present.
    fn has_resource(&self, inst: u16, res: u16) -> bool {
        let _ = inst;
        self.def().resource(res).is_some()
    }

    /// For a multiple-instance resource: the smallest resource-instance ID greater than `after`.
    fn next_resource_instance(&self, inst: u16, res: u16, after: Option<u16>) -> Option<u16> {
        let _ = (inst, res, after);
        None
    }

    /// Reads a single value. `ri` is `Some` exactly for multiple-instance resources.
    fn read(&self, inst: u16, res: u16, ri: Option<u16>) -> Result<Value<'_>>;

    /// Writes a single value. `ri` is `Some` exactly for multiple-instance resources.
    fn write(
        &mut self,
        caller: Caller,
        inst: u16,
        res: u16,
        ri: Option<u16>,
        value: &Value<'_>,
    ) -> Result<()> {
        let _ = (caller, inst, res, ri, value);
        Err(Error::MethodNotAllowed)
    }

    /// Checks, changing nothing, that [`Object::write`] with the same arguments would succeed
    /// (value range, string length, storage room); the instance may not exist yet (Create).
    /// The engine checks every record of a payload this way before writing any, so that a
    /// write of several values is all or nothing. The default accepts everything.
    fn check_write(
        &self,
        caller: Caller,
        inst: u16,
        res: u16,
        ri: Option<u16>,
        value: &Value<'_>,
    ) -> Result<()> {
        let _ = (caller, inst, res, ri, value);
        Ok(())
    }

    /// Removes every instance of a multiple-instance resource (before a replacing write) or
    /// resets an optional resource. The default does nothing.
    fn clear_resource(&mut self, inst: u16, res: u16) -> Result<()> {
        let _ = (inst, res);
        Ok(())
    }

    /// Executes a resource with the (already syntax-checked) argument string.
    fn execute(&mut self, caller: Caller, inst: u16, res: u16, args: &[u8]) -> Result<()> {
        let _ = (caller, inst, res, args);
        Err(Error::MethodNotAllowed)
    }

    /// Creates an empty instance with the given ID (resources are written afterwards).
    fn create(&mut self, caller: Caller, inst: u16) -> Result<()> {
        let _ = (caller, inst);
        Err(Error::MethodNotAllowed)
    }

    /// Deletes an instance.
    fn delete(&mut self, caller: Caller, inst: u16) -> Result<()> {
        let _ = (caller, inst);
        Err(Error::MethodNotAllowed)
    }
}

/// Instance bookkeeping over [`Object::next_instance`], written once for every object (as
/// default trait methods they were compiled once per object type, 7 copies each).
impl dyn Object + '_ {
    /// True if the instance exists.
    pub fn has_instance(&self, inst: u16) -> bool {
        let mut cur = None;
        while let Some(i) = self.next_instance(cur) {
            if i == inst {
                return true;
            }
            if i > inst {
                return false;
            }
            cur = Some(i);
        }
        false
    }

    /// Lowest free instance ID, used when a Create does not name one.
    pub fn free_instance_id(&self) -> Option<u16> {
        // Instances come in ascending order, so the first gap is the lowest free ID (one pass
        // instead of a `has_instance` scan per candidate).
        let mut free = 0u16;
        let mut cur = None;
        while let Some(i) = self.next_instance(cur) {
            if i != free {
                break;
            }
            free = free.checked_add(1)?;
            cur = Some(i);
        }
        (free < crate::path::ID_NONE).then_some(free)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static DEF: ObjectDef = ObjectDef {
        id: 9999,
        name: "test",
        version: None,
        multiple: true,
        mandatory: false,
        resources: &[],
    };

    /// An object with the given instance IDs and only the required methods.
    struct Ids(&'static [u16]);

    impl Object for Ids {
        fn def(&self) -> &'static ObjectDef {
            &DEF
        }
        fn next_instance(&self, after: Option<u16>) -> Option<u16> {
            self.0
                .iter()
                .copied()
                .find(|&i| after.is_none_or(|a| i > a))
        }
        fn read(&self, _: u16, _: u16, _: Option<u16>) -> Result<Value<'_>> {
            Err(Error::NotFound)
        }
    }

    #[test]
    fn free_instance_id_is_lowest_gap() {
        let free = |ids: &'static [u16]| (&Ids(ids) as &dyn Object).free_instance_id();
        assert_eq!(free(&[]), Some(0));
        assert_eq!(free(&[0, 1, 2]), Some(3));
        assert_eq!(free(&[0, 2, 3]), Some(1));
        assert_eq!(free(&[1, 2]), Some(0));
        assert_eq!(free(&[5]), Some(0));
        let has = |ids: &'static [u16], i| (&Ids(ids) as &dyn Object).has_instance(i);
        assert!(has(&[0, 1, 7], 7));
        assert!(!has(&[0, 1, 7], 2));
    }
}
