//! Client object (11001, C2C extension): one instance per requesting or hosting peer client
//! account (its Short Client ID, the account lifetime, default observation periods, binding
//! and the peer's endpoint name). Built like Server (1). DM servers create, write and delete
//! instances; requesting clients never reach them. The engine keeps the account's bookkeeping
//! (when a server last refreshed the lifetime, whether it is switched off) in the instance.

use super::table::{Check, FieldMut, FieldRef, Guard, Table};
use super::{HasId, Instances, Text};
use crate::config::{ENDPOINT_LEN, MAX_CLIENTS};
use crate::dm::{Caller, Object, ObjectDef, Operations as Op, ResourceDef as R};
use crate::error::{Error, Result};
use crate::value::{DataType as T, Value};

/// Object ID.
pub const ID: u16 = crate::c2c::CLIENT;

/// Resource IDs the engine acts upon.
pub mod res {
    #![allow(missing_docs)]
    pub const SHORT_CLIENT_ID: u16 = 0;
    pub const LIFETIME: u16 = 1;
    pub const DISABLE: u16 = 4;
    pub const ENDPOINT_NAME: u16 = 9;
}

static RESOURCES: [R; 10] = [
    R::single(0, "Short Client ID", Op::RW, true, T::Integer),
    R::single(1, "Lifetime", Op::RW, true, T::Integer),
    R::single(2, "Default Minimum Period", Op::RW, false, T::Integer),
    R::single(3, "Default Maximum Period", Op::RW, false, T::Integer),
    R::single(4, "Disable", Op::E, false, T::None),
    R::single(5, "Disable Timeout", Op::RW, false, T::Integer),
    R::single(6, "Notification Storing", Op::RW, false, T::Boolean),
    R::single(7, "Binding", Op::RW, false, T::String),
    R::single(8, "Update Trigger", Op::E, false, T::None),
    R::single(9, "Endpoint Name", Op::RW, true, T::String),
];

/// Definition of object 11001.
pub static DEF: ObjectDef = ObjectDef {
    id: ID,
    name: crate::dm::name("Client"),
    version: None,
    multiple: true,
    mandatory: false,
    resources: &RESOURCES,
};

const BINDING_LEN: usize = 4;

/// One Client instance: a peer client account.
#[derive(Debug, Clone)]
pub struct ClientInstance {
    /// Instance ID.
    pub id: u16,
    /// Res 0: Short Client ID (1..=65534), unique on this node.
    pub short_id: u16,
    /// Res 1: account lifetime in seconds, counted from the last time a server wrote it or
    /// created the account (0 = forever).
    pub lifetime: u32,
    /// Res 2: default pmin in seconds.
    pub pmin: u32,
    /// Res 3: default pmax in seconds (0 = none).
    pub pmax: u32,
    /// Res 5: seconds the account stays off after Disable.
    pub disable_timeout: u32,
    /// Res 6: store notifications while offline.
    pub storing: bool,
    /// Res 7: binding.
    pub binding: Text<BINDING_LEN>,
    /// Res 9: endpoint name of the peer client.
    pub endpoint: Text<ENDPOINT_LEN>,
    /// Engine bookkeeping: time (driver milliseconds) of the last lifetime refresh.
    pub refreshed_at: u64,
    /// Engine bookkeeping: the account is off until this time (`u64::MAX`: expired).
    pub off_until: Option<u64>,
    /// Engine bookkeeping: Short Server ID of the server that last refreshed the account.
    pub server: u16,
}

impl Default for ClientInstance {
    fn default() -> Self {
        ClientInstance {
            id: 0,
            short_id: 0,
            lifetime: 0,
            pmin: 0,
            pmax: 0,
            disable_timeout: 86400,
            storing: false,
            binding: heapless::String::try_from("U").unwrap_or_default(),
            endpoint: heapless::String::new(),
            refreshed_at: 0,
            off_until: None,
            server: 0,
        }
    }
}

impl ClientInstance {
    /// When the lifetime runs out (None: never).
    pub fn expires_at(&self) -> Option<u64> {
        (self.lifetime != 0).then(|| {
            self.refreshed_at
                .saturating_add(u64::from(self.lifetime) * 1000)
        })
    }

    /// True if the account may be used at `now`: not switched off, not expired.
    pub fn active(&self, now: u64) -> bool {
        self.short_id != 0
            && self.off_until.is_none_or(|t| t != u64::MAX && now >= t)
            && self.expires_at().is_none_or(|t| now < t)
    }
}

impl HasId for ClientInstance {
    fn id(&self) -> u16 {
        self.id
    }
}

/// Object 11001.
#[derive(Debug, Default)]
pub struct Client {
    /// The instances.
    pub instances: Instances<ClientInstance, MAX_CLIENTS>,
}

impl Client {
    /// The account of a Short Client ID.
    pub fn by_short_id(&self, cid: u16) -> Option<&ClientInstance> {
        self.instances.iter().find(|c| c.short_id == cid)
    }

    /// The account of a peer endpoint name.
    pub fn by_endpoint(&self, ep: &str) -> Option<&ClientInstance> {
        self.instances.iter().find(|c| c.endpoint == ep)
    }
}

/// The table of object 11001: every change refused to requesting clients.
pub static TABLE: Table = Table {
    def: &DEF,
    checks: &[
        Check::Id,
        Check::U32(0),
        Check::U32(0),
        Check::U32(0),
        Check::Any,
        Check::U32(0),
        Check::Any,
        Check::Text(BINDING_LEN as u16),
        Check::Any,
        Check::Text(ENDPOINT_LEN as u16),
    ],
    guard: Guard::NoClients,
    local_only: 0,
    exact_ri: false,
};

/// Where resource `res` of instance `inst` lives (`None`: no such instance).
fn field(o: &Client, inst: u16, res: u16) -> Option<Option<FieldRef<'_>>> {
    let i = o.instances.get(inst)?;
    Some(Some(match res {
        0 => FieldRef::U32(i.short_id.into()),
        1 => FieldRef::U32(i.lifetime),
        2 => FieldRef::U32(i.pmin),
        3 => FieldRef::U32(i.pmax),
        5 => FieldRef::U32(i.disable_timeout),
        6 => FieldRef::Bool(i.storing),
        7 => FieldRef::Str(&i.binding),
        9 => FieldRef::Str(&i.endpoint),
        _ => return Some(None),
    }))
}

/// Where resource `res` of instance `inst` lives, for writing.
fn field_mut(o: &mut Client, inst: u16, res: u16) -> Option<Option<FieldMut<'_>>> {
    let i = o.instances.get_mut(inst)?;
    Some(Some(match res {
        0 => FieldMut::U16(&mut i.short_id),
        1 => FieldMut::U32(&mut i.lifetime),
        2 => FieldMut::U32(&mut i.pmin),
        3 => FieldMut::U32(&mut i.pmax),
        5 => FieldMut::U32(&mut i.disable_timeout),
        6 => FieldMut::Bool(&mut i.storing),
        7 => FieldMut::Str(i.binding.as_mut_view()),
        9 => FieldMut::Str(i.endpoint.as_mut_view()),
        _ => return Some(None),
    }))
}

impl Object for Client {
    fn def(&self) -> &'static ObjectDef {
        &DEF
    }

    fn next_instance(&self, after: Option<u16>) -> Option<u16> {
        self.instances.next_id(after)
    }

    fn read(&self, inst: u16, res: u16, ri: Option<u16>) -> Result<Value<'_>> {
        TABLE.read(field(self, inst, res), res, ri)
    }

    // Not inlined into `write`, which calls it too.
    #[inline(never)]
    fn check_write(
        &self,
        caller: Caller,
        inst: u16,
        res: u16,
        ri: Option<u16>,
        v: &Value<'_>,
    ) -> Result<()> {
        TABLE.check_write(caller, res, ri, v)?;
        // Short Client IDs never collide on one node (the table checked that it is one).
        if res == res::SHORT_CLIENT_ID {
            let c = v.as_i64();
            if self
                .instances
                .iter()
                .any(|i| i.id != inst && Some(i.short_id.into()) == c)
            {
                return Err(Error::BadRequest);
            }
        }
        Ok(())
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
        TABLE.write(caller, res, ri, v, field_mut(self, inst, res))
    }

    fn execute(&mut self, caller: Caller, inst: u16, res: u16, _args: &[u8]) -> Result<()> {
        // The engine performs Disable and Update Trigger after the object accepted them.
        TABLE.execute(caller, self.instances.get(inst).is_some(), res)
    }

    fn create(&mut self, caller: Caller, inst: u16) -> Result<()> {
        TABLE.allow(caller, true)?;
        self.instances.insert(ClientInstance {
            id: inst,
            ..Default::default()
        })
    }

    fn delete(&mut self, caller: Caller, inst: u16) -> Result<()> {
        TABLE.allow(caller, true)?;
        self.instances.remove(inst).map(|_| ())
    }
}
