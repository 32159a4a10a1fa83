//! LwM2M Security object (0): server URIs and credentials. Only the bootstrap server and the
//! local firmware may read or change it; DM servers never see it.

use super::{check_len, set_bytes, set_str, take, HasId, Instances};
use crate::config::{KEY_LEN, MAX_SERVERS, URI_LEN};
use crate::dm::{Caller, Object, ObjectDef, Operations as Op, ResourceDef as R};
use crate::error::{Error, Result};
use crate::value::{DataType as T, Value};

/// Object ID.
pub const ID: u16 = 0;

/// Security Mode values (resource 2).
pub mod mode {
    /// Pre-Shared Key.
    pub const PSK: u8 = 0;
    /// Raw Public Key (not implemented).
    pub const RPK: u8 = 1;
    /// Certificate (not implemented).
    pub const CERTIFICATE: u8 = 2;
    /// No security.
    pub const NOSEC: u8 = 3;
    /// Certificate with EST (not implemented).
    pub const EST: u8 = 4;
}

static RESOURCES: [R; 10] = [
    R::single(0, "LwM2M Server URI", Op::NONE, true, T::String),
    R::single(1, "Bootstrap-Server", Op::NONE, true, T::Boolean),
    R::single(2, "Security Mode", Op::NONE, true, T::Integer),
    R::single(3, "Public Key or Identity", Op::NONE, true, T::Opaque),
    R::single(4, "Server Public Key", Op::NONE, true, T::Opaque),
    R::single(5, "Secret Key", Op::NONE, true, T::Opaque),
    R::single(10, "Short Server ID", Op::NONE, false, T::Integer),
    R::single(11, "Client Hold Off Time", Op::NONE, false, T::Integer),
    R::single(
        12,
        "Bootstrap-Server Account Timeout",
        Op::NONE,
        false,
        T::Integer,
    ),
    R::single(17, "OSCORE Security Mode", Op::NONE, false, T::ObjLnk),
];

/// Definition of object 0.
pub static DEF: ObjectDef = ObjectDef {
    id: ID,
    name: crate::dm::name("LwM2M Security"),
    version: None,
    multiple: true,
    mandatory: true,
    resources: &RESOURCES,
};

/// One Security instance (one server account's credentials).
#[derive(Default, Clone)]
pub struct SecurityInstance {
    /// Instance ID.
    pub id: u16,
    /// Res 0: server URI, e.g. `coap://[2001:db8::1]:5683`.
    pub uri: heapless::String<URI_LEN>,
    /// Res 1: this instance is the bootstrap server's.
    pub bootstrap: bool,
    /// Res 2: security mode ([`mode`]).
    pub mode: u8,
    /// Res 3: PSK identity (or public key).
    pub identity: heapless::Vec<u8, KEY_LEN>,
    /// Res 4: server public key (unused in PSK / NoSec).
    pub server_public_key: heapless::Vec<u8, KEY_LEN>,
    /// Res 5: secret key (PSK). Never logged.
    pub secret_key: heapless::Vec<u8, KEY_LEN>,
    /// Res 10: Short Server ID of the matching Server instance.
    pub ssid: u16,
    /// Res 11: seconds to wait before the client-initiated bootstrap.
    pub hold_off: u32,
    /// Res 12: bootstrap-server account timeout.
    pub bs_timeout: u32,
    /// Res 17: link to an OSCORE (21) instance.
    pub oscore: Option<(u16, u16)>,
}

impl core::fmt::Debug for SecurityInstance {
    /// Secrets are never printed, only their length.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SecurityInstance")
            .field("id", &self.id)
            .field("uri", &self.uri)
            .field("bootstrap", &self.bootstrap)
            .field("mode", &self.mode)
            .field("identity", &self.identity)
            .field("server_public_key", &self.server_public_key)
            .field(
                "secret_key",
                &crate::objects::Redacted(self.secret_key.len()),
            )
            .field("ssid", &self.ssid)
            .field("hold_off", &self.hold_off)
            .field("bs_timeout", &self.bs_timeout)
            .field("oscore", &self.oscore)
            .finish()
    }
}

impl HasId for SecurityInstance {
    fn id(&self) -> u16 {
        self.id
    }
}

/// Object 0 with room for the DM servers plus one bootstrap server.
#[derive(Debug, Default)]
pub struct Security {
    /// The instances.
    pub instances: Instances<SecurityInstance, { MAX_SERVERS + 1 }>,
}

impl Security {
    /// The instance for a Short Server ID (DM servers only).
    pub fn by_ssid(&self, ssid: u16) -> Option<&SecurityInstance> {
        self.instances
            .iter()
            .find(|s| !s.bootstrap && s.ssid == ssid)
    }

    /// The bootstrap server's instance.
    pub fn bootstrap(&self) -> Option<&SecurityInstance> {
        self.instances.iter().find(|s| s.bootstrap)
    }
}

impl Object for Security {
    fn def(&self) -> &'static ObjectDef {
        &DEF
    }

    fn next_instance(&self, after: Option<u16>) -> Option<u16> {
        self.instances.next_id(after)
    }

    fn has_resource(&self, inst: u16, res: u16) -> bool {
        let Some(i) = self.instances.get(inst) else {
            return false;
        };
        match res {
            17 => i.oscore.is_some(),
            _ => DEF.resource(res).is_some(),
        }
    }

    fn read(&self, inst: u16, res: u16, _ri: Option<u16>) -> Result<Value<'_>> {
        let i = self.instances.get(inst).ok_or(Error::NotFound)?;
        Ok(match res {
            0 => Value::String(&i.uri),
            1 => Value::Boolean(i.bootstrap),
            2 => Value::Integer(i.mode.into()),
            3 => Value::Opaque(&i.identity),
            4 => Value::Opaque(&i.server_public_key),
            5 => Value::Opaque(&i.secret_key),
            10 => Value::Integer(i.ssid.into()),
            11 => Value::Integer(i.hold_off.into()),
            12 => Value::Integer(i.bs_timeout.into()),
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
        if !matches!(caller, Caller::Bootstrap | Caller::Local) {
            return Err(Error::Unauthorized);
        }
        let ok = match res {
            0 => return check_len(take::str(v)?.len(), URI_LEN),
            1 => take::bool(v).is_ok(),
            2 => take::u16(v)? <= 4,
            3..=5 => return check_len(take::bytes(v)?.len(), KEY_LEN),
            10 => !matches!(take::u16(v)?, 0 | crate::path::ID_NONE),
            11 | 12 => take::u32(v).is_ok(),
            17 => matches!(v, Value::ObjLnk(..)),
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
            (1, _) => i.bootstrap = take::bool(v)?,
            (2, _) => i.mode = u8::try_from(take::u16(v)?).map_err(|_| Error::BadRequest)?,
            (3, _) => set_bytes(&mut i.identity, take::bytes(v)?)?,
            (4, _) => set_bytes(&mut i.server_public_key, take::bytes(v)?)?,
            (5, _) => set_bytes(&mut i.secret_key, take::bytes(v)?)?,
            (10, _) => i.ssid = take::u16(v)?,
            (11, _) => i.hold_off = take::u32(v)?,
            (12, _) => i.bs_timeout = take::u32(v)?,
            (17, Value::ObjLnk(o, n)) => i.oscore = Some((o, n)),
            _ => return Err(Error::BadRequest),
        }
        Ok(())
    }

    fn create(&mut self, caller: Caller, inst: u16) -> Result<()> {
        if !matches!(caller, Caller::Bootstrap | Caller::Local) {
            return Err(Error::Unauthorized);
        }
        self.instances.insert(SecurityInstance {
            id: inst,
            mode: mode::NOSEC,
            ..Default::default()
        })
    }

    fn delete(&mut self, caller: Caller, inst: u16) -> Result<()> {
        if !matches!(caller, Caller::Bootstrap | Caller::Local) {
            return Err(Error::Unauthorized);
        }
        self.instances.remove(inst).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_secret_key() {
        let mut s = SecurityInstance::default();
        crate::objects::set_bytes(&mut s.secret_key, &[0xA5, 0x5A, 0xC3, 0x3C]).unwrap();
        crate::objects::set_bytes(&mut s.identity, b"node-1").unwrap();
        let text = std::format!("{s:?} {s:#?}");
        assert!(text.contains("<4 bytes redacted>"), "{text}");
        for needle in ["165", "90, 195", "a5", "A5", "pVrDPA"] {
            assert!(!text.contains(needle), "{needle} in {text}");
        }
        assert!(
            text.contains("110, 111, 100, 101"),
            "identity is not secret: {text}"
        );
    }
}
