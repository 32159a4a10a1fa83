//! Client Security object (11000, C2C extension): the URI and credentials of a peer client,
//! with the resource IDs of Security (0): res 0 URI of the peer client, 2 Security Mode
//! (PSK or NoSec), 3 PSK identity, 5 secret key, 10 Short Client ID, 17 link to an OSCORE (21)
//! instance. Nobody remote ever reads it. Unlike object 0, which stays bootstrap-only, DM
//! servers create and write its instances: that is how the paper's server installs fresh
//! credentials for a client pair at run time.

use super::security::mode;
use super::{check_len, set_bytes, set_str, take, HasId, Instances};
use crate::config::{KEY_LEN, MAX_CLIENTS, URI_LEN};
use crate::dm::{Caller, Object, ObjectDef, Operations as Op, ResourceDef as R};
use crate::error::{Error, Result};
use crate::path::ID_NONE;
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
    pub uri: heapless::String<URI_LEN>,
    /// Res 2: security mode ([`mode::PSK`] or [`mode::NOSEC`]).
    pub mode: u8,
    /// Res 3: PSK identity.
    pub identity: heapless::Vec<u8, KEY_LEN>,
    /// Res 5: PSK. Never logged.
    pub secret_key: heapless::Vec<u8, KEY_LEN>,
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

impl Object for ClientSecurity {
    fn def(&self) -> &'static ObjectDef {
        &DEF
    }

    fn next_instance(&self, after: Option<u16>) -> Option<u16> {
        self.instances.next_id(after)
    }

    fn has_resource(&self, inst: u16, res: u16) -> bool {
        match res {
            17 => self.instances.get(inst).is_some_and(|i| i.oscore.is_some()),
            _ => DEF.resource(res).is_some(),
        }
    }

    fn read(&self, inst: u16, res: u16, _ri: Option<u16>) -> Result<Value<'_>> {
        let i = self.instances.get(inst).ok_or(Error::NotFound)?;
        Ok(match res {
            0 => Value::String(&i.uri),
            2 => Value::Integer(i.mode.into()),
            3 => Value::Opaque(&i.identity),
            5 => Value::Opaque(&i.secret_key),
            10 => Value::Integer(i.short_id.into()),
            17 => {
                let (o, n) = i.oscore.ok_or(Error::NotFound)?;
                Value::ObjLnk(o, n)
            }
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
        if matches!(caller, Caller::Client(_)) {
            return Err(Error::Unauthorized);
        }
        let ok = match res {
            0 => return check_len(take::str(v)?.len(), URI_LEN),
            2 => matches!(take::u16(v)?, 0 | 3),
            3 | 5 => return check_len(take::bytes(v)?.len(), KEY_LEN),
            10 => !matches!(take::u16(v)?, 0 | ID_NONE),
            17 => matches!(v, Value::ObjLnk(crate::c2c::OSCORE, i) if *i != ID_NONE),
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
        match (res, *v) {
            (0, _) => set_str(&mut i.uri, take::str(v)?)?,
            (2, _) => i.mode = u8::try_from(take::u16(v)?).map_err(|_| Error::BadRequest)?,
            (3, _) => set_bytes(&mut i.identity, take::bytes(v)?)?,
            (5, _) => set_bytes(&mut i.secret_key, take::bytes(v)?)?,
            (10, _) => i.short_id = take::u16(v)?,
            (17, Value::ObjLnk(o, n)) => i.oscore = Some((o, n)),
            _ => return Err(Error::BadRequest),
        }
        Ok(())
    }

    fn create(&mut self, caller: Caller, inst: u16) -> Result<()> {
        if matches!(caller, Caller::Client(_)) {
            return Err(Error::Unauthorized);
        }
        self.instances.insert(ClientSecurityInstance {
            id: inst,
            mode: mode::NOSEC,
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
