//! OSCORE object (21): security contexts (RFC 8613) for peer clients, linked from Client
//! Security (11000) res 17. Nobody remote ever reads it. DM servers may create and write
//! instances that no Security (0) instance links to (the paper's choice for C2C contexts; the
//! contexts of server accounts stay bootstrap-only, which the engine's access rules enforce).

use super::table::{Check, FieldMut, FieldRef, Guard, Table};
use super::{Bytes, HasId, Instances};
use crate::config::{KEY_LEN, MAX_CLIENTS};
use crate::dm::{Caller, Object, ObjectDef, Operations as Op, ResourceDef as R};
use crate::error::Result;
use crate::value::{DataType as T, Value};

/// Object ID.
pub const ID: u16 = crate::c2c::OSCORE;
/// Bytes of a Sender / Recipient ID (RFC 8613 allows up to nonce length - 6 = 7).
pub const ID_LEN: usize = 7;
/// Bytes of a Master Salt or ID Context.
pub const SALT_LEN: usize = 16;

static RESOURCES: [R; 7] = [
    R::single(0, "OSCORE Master Secret", Op::W, true, T::Opaque),
    R::single(1, "OSCORE Sender ID", Op::W, true, T::Opaque),
    R::single(2, "OSCORE Recipient ID", Op::W, true, T::Opaque),
    R::single(3, "OSCORE AEAD Algorithm", Op::W, false, T::Integer),
    R::single(4, "OSCORE HMAC Algorithm", Op::W, false, T::Integer),
    R::single(5, "OSCORE Master Salt", Op::W, false, T::Opaque),
    R::single(6, "OSCORE ID Context", Op::W, false, T::Opaque),
];

/// Definition of object 21.
pub static DEF: ObjectDef = ObjectDef {
    id: ID,
    name: crate::dm::name("OSCORE"),
    version: None,
    multiple: true,
    mandatory: false,
    resources: &RESOURCES,
};

/// One OSCORE security context.
#[derive(Clone)]
pub struct OscoreInstance {
    /// Instance ID.
    pub id: u16,
    /// Res 0: master secret. Never logged.
    pub master_secret: Bytes<KEY_LEN>,
    /// Res 1: sender ID.
    pub sender_id: Bytes<ID_LEN>,
    /// Res 2: recipient ID (the `kid` the peer sends).
    pub recipient_id: Bytes<ID_LEN>,
    /// Res 3: AEAD algorithm (COSE; 10 = AES-CCM-16-64-128).
    pub aead: i32,
    /// Res 4: HKDF algorithm (COSE; -10 = HKDF-SHA256; the LwM2M text's 5 is accepted too).
    pub hmac: i32,
    /// Res 5: master salt.
    pub master_salt: Bytes<SALT_LEN>,
    /// Res 6: ID context.
    pub id_context: Bytes<SALT_LEN>,
}

impl core::fmt::Debug for OscoreInstance {
    /// Secrets are never printed, only their length.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OscoreInstance")
            .field("id", &self.id)
            .field(
                "master_secret",
                &crate::objects::Redacted(self.master_secret.len()),
            )
            .field("sender_id", &self.sender_id)
            .field("recipient_id", &self.recipient_id)
            .field("aead", &self.aead)
            .field("hmac", &self.hmac)
            .field(
                "master_salt",
                &crate::objects::Redacted(self.master_salt.len()),
            )
            .field("id_context", &self.id_context)
            .finish()
    }
}

impl Default for OscoreInstance {
    fn default() -> Self {
        OscoreInstance {
            id: 0,
            master_secret: heapless::Vec::new(),
            sender_id: heapless::Vec::new(),
            recipient_id: heapless::Vec::new(),
            aead: 10,
            hmac: -10,
            master_salt: heapless::Vec::new(),
            id_context: heapless::Vec::new(),
        }
    }
}

impl HasId for OscoreInstance {
    fn id(&self) -> u16 {
        self.id
    }
}

/// Object 21.
#[derive(Debug, Default)]
pub struct Oscore {
    /// The instances.
    pub instances: Instances<OscoreInstance, MAX_CLIENTS>,
}

/// The table of object 21: every change refused to requesting clients.
pub static TABLE: Table = Table {
    def: &DEF,
    checks: &[
        Check::Len(KEY_LEN as u16),
        Check::Len(ID_LEN as u16),
        Check::Len(ID_LEN as u16),
        Check::I32,
        Check::I32,
        Check::Len(SALT_LEN as u16),
        Check::Len(SALT_LEN as u16),
    ],
    guard: Guard::NoClients,
    local_only: 0,
    exact_ri: false,
};

/// Where resource `res` of instance `inst` lives (`None`: no such instance).
fn field(o: &Oscore, inst: u16, res: u16) -> Option<Option<FieldRef<'_>>> {
    let i = o.instances.get(inst)?;
    Some(Some(match res {
        0 => FieldRef::Bytes(&i.master_secret),
        1 => FieldRef::Bytes(&i.sender_id),
        2 => FieldRef::Bytes(&i.recipient_id),
        3 => FieldRef::I32(i.aead),
        4 => FieldRef::I32(i.hmac),
        5 => FieldRef::Bytes(&i.master_salt),
        6 => FieldRef::Bytes(&i.id_context),
        _ => return Some(None),
    }))
}

/// Where resource `res` of instance `inst` lives, for writing.
fn field_mut(o: &mut Oscore, inst: u16, res: u16) -> Option<Option<FieldMut<'_>>> {
    let i = o.instances.get_mut(inst)?;
    Some(Some(match res {
        0 => FieldMut::Bytes(i.master_secret.as_mut_view()),
        1 => FieldMut::Bytes(i.sender_id.as_mut_view()),
        2 => FieldMut::Bytes(i.recipient_id.as_mut_view()),
        3 => FieldMut::I32(&mut i.aead),
        4 => FieldMut::I32(&mut i.hmac),
        5 => FieldMut::Bytes(i.master_salt.as_mut_view()),
        6 => FieldMut::Bytes(i.id_context.as_mut_view()),
        _ => return Some(None),
    }))
}

impl Object for Oscore {
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

    fn create(&mut self, caller: Caller, inst: u16) -> Result<()> {
        TABLE.allow(caller, true)?;
        self.instances.insert(OscoreInstance {
            id: inst,
            ..Default::default()
        })
    }

    fn delete(&mut self, caller: Caller, inst: u16) -> Result<()> {
        TABLE.allow(caller, true)?;
        self.instances.remove(inst).map(|_| ())
    }
}
