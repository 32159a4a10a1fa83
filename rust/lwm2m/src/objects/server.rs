//! LwM2M Server object (1): one instance per DM server account (lifetime, default periods,
//! binding, and the Disable / Registration Update / Bootstrap-Request triggers, which the engine
//! acts upon).

use super::table::{Check, FieldMut, FieldRef, Guard, Table};
use super::{HasId, Instances, Text};
use crate::config::MAX_SERVERS;
use crate::dm::{Caller, Object, ObjectDef, Operations as Op, ResourceDef as R};
use crate::error::Result;
use crate::value::{DataType as T, Value};

/// Object ID.
pub const ID: u16 = 1;

/// Resource IDs the engine acts upon.
pub mod res {
    #![allow(missing_docs)]
    pub const SHORT_SERVER_ID: u16 = 0;
    pub const LIFETIME: u16 = 1;
    pub const DEFAULT_PMIN: u16 = 2;
    pub const DEFAULT_PMAX: u16 = 3;
    pub const DISABLE: u16 = 4;
    pub const DISABLE_TIMEOUT: u16 = 5;
    pub const NOTIFICATION_STORING: u16 = 6;
    pub const BINDING: u16 = 7;
    pub const REGISTRATION_UPDATE_TRIGGER: u16 = 8;
    pub const BOOTSTRAP_REQUEST_TRIGGER: u16 = 9;
    pub const MUTE_SEND: u16 = 23;
}

static RESOURCES: [R; 11] = [
    R::single(0, "Short Server ID", Op::R, true, T::Integer),
    R::single(1, "Lifetime", Op::RW, true, T::Integer),
    R::single(2, "Default Minimum Period", Op::RW, false, T::Integer),
    R::single(3, "Default Maximum Period", Op::RW, false, T::Integer),
    R::single(4, "Disable", Op::E, false, T::None),
    R::single(5, "Disable Timeout", Op::RW, false, T::Integer),
    R::single(
        6,
        "Notification Storing When Disabled or Offline",
        Op::RW,
        true,
        T::Boolean,
    ),
    R::single(7, "Binding", Op::RW, true, T::String),
    R::single(8, "Registration Update Trigger", Op::E, true, T::None),
    R::single(9, "Bootstrap-Request Trigger", Op::E, false, T::None),
    // Always defined (one table row); only the `send` feature acts on it.
    R::single(23, "Mute Send", Op::RW, false, T::Boolean),
];

/// Definition of object 1 (version 1.1).
pub static DEF: ObjectDef = ObjectDef {
    id: ID,
    name: crate::dm::name("LwM2M Server"),
    version: Some("1.1"),
    multiple: true,
    mandatory: true,
    resources: &RESOURCES,
};

const BINDING_LEN: usize = 4;

/// One Server instance.
#[derive(Debug, Clone)]
pub struct ServerInstance {
    /// Instance ID.
    pub id: u16,
    /// Res 0: Short Server ID (1..=65534).
    pub ssid: u16,
    /// Res 1: registration lifetime in seconds.
    pub lifetime: u32,
    /// Res 2: default pmin in seconds.
    pub pmin: u32,
    /// Res 3: default pmax in seconds (0 = none).
    pub pmax: u32,
    /// Res 5: seconds the server stays disabled after Disable.
    pub disable_timeout: u32,
    /// Res 6: store notifications while offline.
    pub storing: bool,
    /// Res 7: binding, e.g. "U".
    pub binding: Text<BINDING_LEN>,
    /// Res 23: Mute Send (LwM2M 1.1): while true the client sends no Send (`POST /dp`) to
    /// this server ([`Engine::send`](crate::engine::Engine) refuses).
    pub mute_send: bool,
}

impl Default for ServerInstance {
    fn default() -> Self {
        ServerInstance {
            id: 0,
            ssid: 0,
            lifetime: 86400,
            pmin: 0,
            pmax: 0,
            disable_timeout: 86400,
            storing: false,
            binding: heapless::String::try_from("U").unwrap_or_default(),
            mute_send: false,
        }
    }
}

impl HasId for ServerInstance {
    fn id(&self) -> u16 {
        self.id
    }
}

/// Object 1.
#[derive(Debug, Default)]
pub struct Server {
    /// The instances.
    pub instances: Instances<ServerInstance, MAX_SERVERS>,
}

impl Server {
    /// The instance for a Short Server ID.
    pub fn by_ssid(&self, ssid: u16) -> Option<&ServerInstance> {
        self.instances.iter().find(|s| s.ssid == ssid)
    }
}

/// The table of object 1: servers write and execute; only the bootstrap server and the local
/// firmware create and delete instances or set the Short Server ID.
pub static TABLE: Table = Table {
    def: &DEF,
    checks: &[
        Check::Id,
        Check::U32(1),
        Check::U32(0),
        Check::U32(0),
        Check::Any,
        Check::U32(0),
        Check::Any,
        Check::Binding(BINDING_LEN as u16),
        Check::Any,
        Check::Any,
        Check::Any,
    ],
    guard: Guard::InstancesBootstrapOnly,
    local_only: 1 << res::SHORT_SERVER_ID,
    exact_ri: false,
};

/// Where resource `res` of instance `inst` lives (`None`: no such instance).
fn field(o: &Server, inst: u16, res: u16) -> Option<Option<FieldRef<'_>>> {
    let i = o.instances.get(inst)?;
    Some(Some(match res {
        0 => FieldRef::U32(i.ssid.into()),
        1 => FieldRef::U32(i.lifetime),
        2 => FieldRef::U32(i.pmin),
        3 => FieldRef::U32(i.pmax),
        5 => FieldRef::U32(i.disable_timeout),
        6 => FieldRef::Bool(i.storing),
        7 => FieldRef::Str(&i.binding),
        23 => FieldRef::Bool(i.mute_send),
        _ => return Some(None),
    }))
}

/// Where resource `res` of instance `inst` lives, for writing.
fn field_mut(o: &mut Server, inst: u16, res: u16) -> Option<Option<FieldMut<'_>>> {
    let i = o.instances.get_mut(inst)?;
    Some(Some(match res {
        0 => FieldMut::U16(&mut i.ssid),
        1 => FieldMut::U32(&mut i.lifetime),
        2 => FieldMut::U32(&mut i.pmin),
        3 => FieldMut::U32(&mut i.pmax),
        5 => FieldMut::U32(&mut i.disable_timeout),
        6 => FieldMut::Bool(&mut i.storing),
        7 => FieldMut::Str(i.binding.as_mut_view()),
        23 => FieldMut::Bool(&mut i.mute_send),
        _ => return Some(None),
    }))
}

impl Object for Server {
    fn def(&self) -> &'static ObjectDef {
        &DEF
    }

    fn next_instance(&self, after: Option<u16>) -> Option<u16> {
        self.instances.next_id(after)
    }

    fn read(&self, inst: u16, res: u16, ri: Option<u16>) -> Result<Value<'_>> {
        TABLE.read(field(self, inst, res), res, ri)
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
        TABLE.write(caller, res, ri, v, field_mut(self, inst, res))
    }

    fn execute(&mut self, caller: Caller, inst: u16, res: u16, _args: &[u8]) -> Result<()> {
        // The engine performs Disable and the triggers after the object accepted them.
        TABLE.execute(caller, self.instances.get(inst).is_some(), res)
    }

    fn create(&mut self, caller: Caller, inst: u16) -> Result<()> {
        TABLE.allow(caller, true)?;
        self.instances.insert(ServerInstance {
            id: inst,
            ..Default::default()
        })
    }

    fn delete(&mut self, caller: Caller, inst: u16) -> Result<()> {
        TABLE.allow(caller, true)?;
        self.instances.remove(inst).map(|_| ())
    }
}
