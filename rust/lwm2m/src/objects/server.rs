//! LwM2M Server object (1): one instance per DM server account (lifetime, default periods,
//! binding, and the Disable / Registration Update / Bootstrap-Request triggers, which the engine
//! acts upon).

use super::{set_str, take, HasId, Instances};
use crate::config::MAX_SERVERS;
use crate::dm::{Caller, Object, ObjectDef, Operations as Op, ResourceDef as R};
use crate::error::{Error, Result};
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
    pub binding: heapless::String<BINDING_LEN>,
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

fn valid_binding(b: &str) -> bool {
    !b.is_empty()
        && b.bytes()
            .all(|c| matches!(c, b'U' | b'T' | b'S' | b'N' | b'Q'))
}

impl Object for Server {
    fn def(&self) -> &'static ObjectDef {
        &DEF
    }

    fn next_instance(&self, after: Option<u16>) -> Option<u16> {
        self.instances.next_id(after)
    }

    fn read(&self, inst: u16, res: u16, _ri: Option<u16>) -> Result<Value<'_>> {
        let i = self.instances.get(inst).ok_or(Error::NotFound)?;
        Ok(match res {
            0 => Value::Integer(i.ssid.into()),
            1 => Value::Integer(i.lifetime.into()),
            2 => Value::Integer(i.pmin.into()),
            3 => Value::Integer(i.pmax.into()),
            5 => Value::Integer(i.disable_timeout.into()),
            6 => Value::Boolean(i.storing),
            7 => Value::String(&i.binding),
            23 => Value::Boolean(i.mute_send),
            4 | 8 | 9 => return Err(Error::MethodNotAllowed),
            _ => return Err(Error::NotFound),
        })
    }

    fn check_write(
        &self,
        caller: Caller,
        _inst: u16,
        res: u16,
        _ri: Option<u16>,
        v: &Value<'_>,
    ) -> Result<()> {
        let ok = match res {
            0 if matches!(caller, Caller::Bootstrap | Caller::Local) => {
                !matches!(take::u16(v)?, 0 | crate::path::ID_NONE)
            }
            1 => take::u32(v)? != 0,
            2 | 3 | 5 => take::u32(v).is_ok(),
            6 | 23 => take::bool(v).is_ok(),
            7 => {
                let b = take::str(v)?;
                valid_binding(b) && b.len() <= BINDING_LEN
            }
            0 | 4 | 8 | 9 => return Err(Error::MethodNotAllowed),
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
        match res {
            0 => i.ssid = take::u16(v)?,
            1 => i.lifetime = take::u32(v)?,
            2 => i.pmin = take::u32(v)?,
            3 => i.pmax = take::u32(v)?,
            5 => i.disable_timeout = take::u32(v)?,
            6 => i.storing = take::bool(v)?,
            23 => i.mute_send = take::bool(v)?,
            _ => set_str(&mut i.binding, take::str(v)?)?,
        }
        Ok(())
    }

    fn execute(&mut self, _caller: Caller, inst: u16, res: u16, _args: &[u8]) -> Result<()> {
        self.instances.get(inst).ok_or(Error::NotFound)?;
        match res {
            // The engine performs these after the object accepted them.
            4 | 8 | 9 => Ok(()),
            _ => Err(Error::MethodNotAllowed),
        }
    }

    fn create(&mut self, caller: Caller, inst: u16) -> Result<()> {
        if !matches!(caller, Caller::Bootstrap | Caller::Local) {
            return Err(Error::MethodNotAllowed);
        }
        self.instances.insert(ServerInstance {
            id: inst,
            ..Default::default()
        })
    }

    fn delete(&mut self, caller: Caller, inst: u16) -> Result<()> {
        if !matches!(caller, Caller::Bootstrap | Caller::Local) {
            return Err(Error::MethodNotAllowed);
        }
        self.instances.remove(inst).map(|_| ())
    }
}
