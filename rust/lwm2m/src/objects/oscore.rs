//! OSCORE object (21): security contexts (RFC 8613) for peer clients, linked from Client
//! Security (11000) res 17. Nobody remote ever reads it. DM servers may create and write
//! instances that no Security (0) instance links to (the paper's choice for C2C contexts; the
//! contexts of server accounts stay bootstrap-only, which the engine's access rules enforce).

use super::{check_len, set_bytes, take, HasId, Instances};
use crate::config::{KEY_LEN, MAX_CLIENTS};
use crate::dm::{Caller, Object, ObjectDef, Operations as Op, ResourceDef as R};
use crate::error::{Error, Result};
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
    pub master_secret: heapless::Vec<u8, KEY_LEN>,
    /// Res 1: sender ID.
    pub sender_id: heapless::Vec<u8, ID_LEN>,
    /// Res 2: recipient ID (the `kid` the peer sends).
    pub recipient_id: heapless::Vec<u8, ID_LEN>,
    /// Res 3: AEAD algorithm (COSE; 10 = AES-CCM-16-64-128).
    pub aead: i32,
    /// Res 4: HKDF algorithm (COSE; -10 = HKDF-SHA256; the LwM2M text's 5 is accepted too).
    pub hmac: i32,
    /// Res 5: master salt.
    pub master_salt: heapless::Vec<u8, SALT_LEN>,
    /// Res 6: ID context.
    pub id_context: heapless::Vec<u8, SALT_LEN>,
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

impl Object for Oscore {
    fn def(&self) -> &'static ObjectDef {
        &DEF
    }

    fn next_instance(&self, after: Option<u16>) -> Option<u16> {
        self.instances.next_id(after)
    }

    fn read(&self, inst: u16, res: u16, _ri: Option<u16>) -> Result<Value<'_>> {
        let i = self.instances.get(inst).ok_or(Error::NotFound)?;
        Ok(match res {
            0 => Value::Opaque(&i.master_secret),
            1 => Value::Opaque(&i.sender_id),
            2 => Value::Opaque(&i.recipient_id),
            3 => Value::Integer(i.aead.into()),
            4 => Value::Integer(i.hmac.into()),
            5 => Value::Opaque(&i.master_salt),
            6 => Value::Opaque(&i.id_context),
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
        match res {
            0 => check_len(take::bytes(v)?.len(), KEY_LEN),
            1 | 2 => check_len(take::bytes(v)?.len(), ID_LEN),
            5 | 6 => check_len(take::bytes(v)?.len(), SALT_LEN),
            3 | 4 => take::i64(v)
                .ok()
                .and_then(|x| i32::try_from(x).ok())
                .map(drop)
                .ok_or(Error::BadRequest),
            _ => Err(Error::NotFound),
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
            0 => set_bytes(&mut i.master_secret, take::bytes(v)?)?,
            1 => set_bytes(&mut i.sender_id, take::bytes(v)?)?,
            2 => set_bytes(&mut i.recipient_id, take::bytes(v)?)?,
            3 => i.aead = take::i64(v)? as i32,
            4 => i.hmac = take::i64(v)? as i32,
            5 => set_bytes(&mut i.master_salt, take::bytes(v)?)?,
            _ => set_bytes(&mut i.id_context, take::bytes(v)?)?,
        }
        Ok(())
    }

    fn create(&mut self, caller: Caller, inst: u16) -> Result<()> {
        if matches!(caller, Caller::Client(_)) {
            return Err(Error::Unauthorized);
        }
        self.instances.insert(OscoreInstance {
            id: inst,
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
