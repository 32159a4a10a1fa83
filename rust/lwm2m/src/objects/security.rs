//! LwM2M Security object (0): server URIs and credentials. Only the bootstrap server and the
//! local firmware may read or change it; DM servers never see it.

use super::table::{Check, FieldMut, FieldRef, Guard, Table};
use super::{Bytes, HasId, Instances, Text};
use crate::config::{KEY_LEN, MAX_SERVERS, URI_LEN};
use crate::dm::{Caller, Object, ObjectDef, Operations as Op, ResourceDef as R};
use crate::error::Result;
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
    pub uri: Text<URI_LEN>,
    /// Res 1: this instance is the bootstrap server's.
    pub bootstrap: bool,
    /// Res 2: security mode ([`mode`]).
    pub mode: u8,
    /// Res 3: PSK identity (or public key).
    pub identity: Bytes<KEY_LEN>,
    /// Res 4: server public key (unused in PSK / NoSec).
    pub server_public_key: Bytes<KEY_LEN>,
    /// Res 5: secret key (PSK). Never logged.
    pub secret_key: Bytes<KEY_LEN>,
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
    #[inline(never)] // one copy instead of one per use: smaller (`make size`)
    pub fn bootstrap(&self) -> Option<&SecurityInstance> {
        self.instances.iter().find(|s| s.bootstrap)
    }
}

/// The table of object 0: only the bootstrap server and the local firmware change it.
pub static TABLE: Table = Table {
    def: &DEF,
    checks: &[
        Check::Len(URI_LEN as u16),
        Check::Any,
        Check::Max(mode::EST as u16),
        Check::Len(KEY_LEN as u16),
        Check::Len(KEY_LEN as u16),
        Check::Len(KEY_LEN as u16),
        Check::Id,
        Check::U32(0),
        Check::U32(0),
        Check::Any,
    ],
    guard: Guard::BootstrapOnly,
    local_only: 0,
    exact_ri: false,
};

/// Where resource `res` of instance `inst` lives (`None`: no such instance).
fn field(o: &Security, inst: u16, res: u16) -> Option<Option<FieldRef<'_>>> {
    let i = o.instances.get(inst)?;
    Some(Some(match res {
        0 => FieldRef::Str(&i.uri),
        1 => FieldRef::Bool(i.bootstrap),
        2 => FieldRef::U32(i.mode.into()),
        3 => FieldRef::Bytes(&i.identity),
        4 => FieldRef::Bytes(&i.server_public_key),
        5 => FieldRef::Bytes(&i.secret_key),
        10 => FieldRef::U32(i.ssid.into()),
        11 => FieldRef::U32(i.hold_off),
        12 => FieldRef::U32(i.bs_timeout),
        17 => FieldRef::Link(i.oscore),
        _ => return Some(None),
    }))
}

/// Where resource `res` of instance `inst` lives, for writing.
fn field_mut(o: &mut Security, inst: u16, res: u16) -> Option<Option<FieldMut<'_>>> {
    let i = o.instances.get_mut(inst)?;
    Some(Some(match res {
        0 => FieldMut::Str(i.uri.as_mut_view()),
        1 => FieldMut::Bool(&mut i.bootstrap),
        2 => FieldMut::U8(&mut i.mode),
        3 => FieldMut::Bytes(i.identity.as_mut_view()),
        4 => FieldMut::Bytes(i.server_public_key.as_mut_view()),
        5 => FieldMut::Bytes(i.secret_key.as_mut_view()),
        10 => FieldMut::U16(&mut i.ssid),
        11 => FieldMut::U32(&mut i.hold_off),
        12 => FieldMut::U32(&mut i.bs_timeout),
        17 => FieldMut::Link(&mut i.oscore),
        _ => return Some(None),
    }))
}

impl Object for Security {
    fn def(&self) -> &'static ObjectDef {
        &DEF
    }

    fn next_instance(&self, after: Option<u16>) -> Option<u16> {
        self.instances.next_id(after)
    }

    fn has_resource(&self, inst: u16, res: u16) -> bool {
        field(self, inst, res).is_some_and(|f| TABLE.has(f, res))
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
        self.instances.insert(SecurityInstance {
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
