//! Client Security object (11000, C2C extension): the URI and credentials of a peer client,
//! with the resource IDs of Security (0): res 0 URI of the peer client, 2 Security Mode
//! (PSK or NoSec), 3 PSK identity, 5 secret key, 10 Short Client ID, 17 link to an OSCORE (21)
//! instance. Nobody remote ever reads it. Unlike object 0, which stays bootstrap-only, DM
//! servers create and write its instances: that is how the paper's server installs fresh
//! credentials for a client pair at run time.

use super::security::mode;
use super::table::{Check, FieldMut, FieldRef, Guard, Table};
use super::{Bytes, HasId, Instances, Text};
use crate::config::{KEY_LEN, MAX_CLIENTS, URI_LEN};
use crate::dm::{Caller, Object, ObjectDef, Operations as Op, ResourceDef as R};
use crate::error::Result;
use crate::value::{DataType as T, Value};

/// Object ID.
pub const ID: u16 = crate::c2c::CLIENT_SECURITY;

static RESOURCES: [R; 6] = [
    R::single(0, "Client URI", Op::W, true, T::String),
    R::single(2, "Security Mode", Op::W, true, T::Integer),
    R::single(3, "Public Key or Identity", Op::W, true, T::Opaque),
    R::single(5, "Secret Key", Op::W, true, T::Opaque),
    R::single(10, "Short Client ID", Op::W, true, T::Integer),
    R::single(17, "OSCORE Security Mode", Op::W, false, T::ObjLnk),
];

/// Definition of object 11000.
pub static DEF: ObjectDef = ObjectDef {
    id: ID,
    name: crate::dm::name("Client Security"),
    version: None,
    multiple: true,
    mandatory: false,
    resources: &RESOURCES,
};

/// One Client Security instance.
#[derive(Default, Clone)]
pub struct ClientSecurityInstance {
    /// Instance ID.
    pub id: u16,
    /// Res 0: URI of the peer client (`coap://` or `coaps://`).
    pub uri: Text<URI_LEN>,
    /// Res 2: security mode ([`mode::PSK`] or [`mode::NOSEC`]).
    pub mode: u8,
    /// Res 3: PSK identity.
    pub identity: Bytes<KEY_LEN>,
    /// Res 5: PSK. Never logged.
    pub secret_key: Bytes<KEY_LEN>,
    /// Res 10: Short Client ID of the matching Client (11001) instance.
    pub short_id: u16,
    /// Res 17: link to an OSCORE (21) instance.
    pub oscore: Option<(u16, u16)>,
}

impl core::fmt::Debug for ClientSecurityInstance {
    /// Secrets are never printed, only their length.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientSecurityInstance")
            .field("id", &self.id)
            .field("uri", &self.uri)
            .field("mode", &self.mode)
            .field("identity", &self.identity)
            .field(
                "secret_key",
                &crate::objects::Redacted(self.secret_key.len()),
            )
            .field("short_id", &self.short_id)
            .field("oscore", &self.oscore)
            .finish()
    }
}

impl HasId for ClientSecurityInstance {
    fn id(&self) -> u16 {
        self.id
    }
}

/// Object 11000.
#[derive(Debug, Default)]
pub struct ClientSecurity {
    /// The instances.
    pub instances: Instances<ClientSecurityInstance, MAX_CLIENTS>,
}

impl ClientSecurity {
    /// The instance of a Short Client ID.
    pub fn by_short_id(&self, cid: u16) -> Option<&ClientSecurityInstance> {
        self.instances.iter().find(|c| c.short_id == cid)
    }
}

/// The table of object 11000: every change refused to requesting clients.
pub static TABLE: Table = Table {
    def: &DEF,
    checks: &[
        Check::Len(URI_LEN as u16),
        Check::OneOf(1 << mode::PSK | 1 << mode::NOSEC),
        Check::Len(KEY_LEN as u16),
        Check::Len(KEY_LEN as u16),
        Check::Id,
        Check::Link(crate::c2c::OSCORE),
    ],
    guard: Guard::NoClients,
    local_only: 0,
    exact_ri: false,
};

/// Where resource `res` of instance `inst` lives (`None`: no such instance).
fn field(o: &ClientSecurity, inst: u16, res: u16) -> Option<Option<FieldRef<'_>>> {
    let i = o.instances.get(inst)?;
    Some(Some(match res {
        0 => FieldRef::Str(&i.uri),
        2 => FieldRef::U32(i.mode.into()),
        3 => FieldRef::Bytes(&i.identity),
        5 => FieldRef::Bytes(&i.secret_key),
        10 => FieldRef::U32(i.short_id.into()),
        17 => FieldRef::Link(i.oscore),
        _ => return Some(None),
    }))
}

/// Where resource `res` of instance `inst` lives, for writing.
fn field_mut(o: &mut ClientSecurity, inst: u16, res: u16) -> Option<Option<FieldMut<'_>>> {
    let i = o.instances.get_mut(inst)?;
    Some(Some(match res {
        0 => FieldMut::Str(i.uri.as_mut_view()),
        2 => FieldMut::U8(&mut i.mode),
        3 => FieldMut::Bytes(i.identity.as_mut_view()),
        5 => FieldMut::Bytes(i.secret_key.as_mut_view()),
        10 => FieldMut::U16(&mut i.short_id),
        17 => FieldMut::Link(&mut i.oscore),
        _ => return Some(None),
    }))
}

impl Object for ClientSecurity {
    fn def(&self) -> &'static ObjectDef {
        &DEF
    }

    fn next_instance(&self, after: Option<u16>) -> Option<u16> {
        self.instances.next_id(after)
    }

    fn has_resource(&self, inst: u16, res: u16) -> bool {
        match field(self, inst, res) {
            Some(f) => TABLE.has(f, res),
            // Without the instance, only the optional link is known to be absent.
            None => res != 17 && DEF.resource(res).is_some(),
        }
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

    fn create(&mut self, caller: Caller, inst: u16) -> Result<()> {
        TABLE.allow(caller, true)?;
        self.instances.insert(ClientSecurityInstance {
            id: inst,
            mode: mode::NOSEC,
            ..Default::default()
        })
    }

    fn delete(&mut self, caller: Caller, inst: u16) -> Result<()> {
        TABLE.allow(caller, true)?;
        self.instances.remove(inst).map(|_| ())
    }
}
