//! Application objects defined in C: a table of resource definitions plus read / write /
//! execute callbacks (`lwm2m_c2c_object_t`), served to the engine through [`Object`].
//!
//! The C side owns the values; this adapter only translates between [`Value`] and the C value
//! struct and maps the callbacks' errno-style results onto LwM2M errors. The definitions are
//! copied into Rust types once, when the engine is created, so the engine can keep its
//! `&'static` view of every object definition.

use core::ffi::{c_int, c_void};

use lwm2m::dm::{Object, ObjectDef, Operations, ResourceDef};
use lwm2m::{DataType, Error, Result, Value};

/// Application objects the driver takes (`lwm2m_c2c_add_object`).
pub const LWM2M_C2C_MAX_APP_OBJECTS: usize = 4;
/// Resource definitions summed over all application objects.
pub const LWM2M_C2C_MAX_APP_RESOURCES: usize = 32;

/// Resource may be read.
pub const LWM2M_C2C_OP_R: u8 = 1;
/// Resource may be written.
pub const LWM2M_C2C_OP_W: u8 = 2;
/// Resource may be executed.
pub const LWM2M_C2C_OP_E: u8 = 4;

/// Data type: none (executable resources).
pub const LWM2M_C2C_TYPE_NONE: u8 = 0;
/// Data type: UTF-8 string (`value.bytes`).
pub const LWM2M_C2C_TYPE_STRING: u8 = 1;
/// Data type: signed integer (`value.i`).
pub const LWM2M_C2C_TYPE_INTEGER: u8 = 2;
/// Data type: unsigned integer (`value.u`).
pub const LWM2M_C2C_TYPE_UNSIGNED: u8 = 3;
/// Data type: float (`value.f`).
pub const LWM2M_C2C_TYPE_FLOAT: u8 = 4;
/// Data type: boolean (`value.b`, 0 or 1).
pub const LWM2M_C2C_TYPE_BOOLEAN: u8 = 5;
/// Data type: opaque bytes (`value.bytes`).
pub const LWM2M_C2C_TYPE_OPAQUE: u8 = 6;
/// Data type: time, seconds since the Unix epoch (`value.i`).
pub const LWM2M_C2C_TYPE_TIME: u8 = 7;
/// Data type: object link (`value.objlnk`).
pub const LWM2M_C2C_TYPE_OBJLNK: u8 = 8;
/// Data type: CoRE link string (`value.bytes`).
pub const LWM2M_C2C_TYPE_CORELNK: u8 = 9;

/// One resource of an application object (single-instance resources only).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct CResource {
    /// Resource ID; a table lists them in strictly ascending order.
    pub id: u16,
    /// `LWM2M_C2C_OP_*` bits.
    pub ops: u8,
    /// `LWM2M_C2C_TYPE_*`.
    pub data_type: u8,
}

/// Bytes of a string, opaque or CoRE link value (not NUL-terminated).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct CBytes {
    /// First byte (may be NULL when `len` is 0).
    pub ptr: *const u8,
    /// Number of bytes.
    pub len: usize,
}

/// An object link value.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct CObjLnk {
    /// Object ID.
    pub obj: u16,
    /// Instance ID.
    pub inst: u16,
}

/// The value itself; which member counts follows from the resource's data type.
#[repr(C)]
#[derive(Clone, Copy)]
pub union CValueData {
    /// Integer and time.
    pub i: i64,
    /// Unsigned integer.
    pub u: u64,
    /// Float.
    pub f: f64,
    /// Boolean: 0 false, anything else true.
    pub b: u8,
    /// String, opaque and CoRE link.
    pub bytes: CBytes,
    /// Object link.
    pub objlnk: CObjLnk,
}

/// A resource value passed to and from the callbacks.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct CValue {
    /// The resource's `LWM2M_C2C_TYPE_*`, always set by the driver (read callbacks need not
    /// touch it; changing it has no effect).
    pub data_type: u8,
    /// The value.
    pub value: CValueData,
}

/// Read callback: fills `out->value` for resource `res` of instance `inst`. String and opaque
/// bytes must stay valid until the engine lock is released (static or object-owned storage,
/// never the callback's stack). Returns 0 or a negative errno (see `lwm2m_c2c_object_t`).
pub type CReadFn =
    Option<unsafe extern "C" fn(arg: *mut c_void, inst: u16, res: u16, out: *mut CValue) -> c_int>;
/// Write callback: stores `value` (bytes valid during the call only). With `check_only` it
/// only checks that the write would succeed and changes nothing: the engine checks every value
/// of a request before writing any.
pub type CWriteFn = Option<
    unsafe extern "C" fn(
        arg: *mut c_void,
        inst: u16,
        res: u16,
        value: *const CValue,
        check_only: bool,
    ) -> c_int,
>;
/// Execute callback, with the request's argument string (not NUL-terminated).
pub type CExecuteFn = Option<
    unsafe extern "C" fn(
        arg: *mut c_void,
        inst: u16,
        res: u16,
        args: *const u8,
        args_len: usize,
    ) -> c_int,
>;

/// An application object defined in C.
///
/// Instances are numbered `0 .. instances - 1` and fixed (no Create / Delete from servers).
/// The engine checks access rights, resource existence and allowed operations before calling
/// a callback, and coerces written values to the declared type. Callbacks run on gcoap's or
/// the engine's thread with the engine locked: they must be short and must not call any
/// `lwm2m_c2c_*` function (those return `-EDEADLK` there).
///
/// Callback results: 0 success; `-ENOENT` 4.04; `-EINVAL` / `-ERANGE` 4.00; `-EPERM` /
/// `-ENOTSUP` 4.05; `-ENOSPC` 4.13; anything else 5.00.
#[repr(C)]
pub struct CObject {
    /// Object ID (not 0..3: Security, Server, Access Control and Device are the engine's; an
    /// application object replaces a built-in one of the same ID, e.g. Temperature 3303).
    pub id: u16,
    /// Number of instances.
    pub instances: u16,
    /// Multiple-instance object (as in its registry definition).
    pub multiple: bool,
    /// Number of entries in `resources`.
    pub resources_len: u8,
    /// Resource table (static storage).
    pub resources: *const CResource,
    /// Read callback (NULL: reads fail with 4.05).
    pub read: CReadFn,
    /// Write callback (NULL: writes fail with 4.05).
    pub write: CWriteFn,
    /// Execute callback (NULL: executes fail with 4.05).
    pub execute: CExecuteFn,
    /// Passed to every callback.
    pub arg: *mut c_void,
}

fn data_type(t: u8) -> Option<DataType> {
    Some(match t {
        LWM2M_C2C_TYPE_NONE => DataType::None,
        LWM2M_C2C_TYPE_STRING => DataType::String,
        LWM2M_C2C_TYPE_INTEGER => DataType::Integer,
        LWM2M_C2C_TYPE_UNSIGNED => DataType::Unsigned,
        LWM2M_C2C_TYPE_FLOAT => DataType::Float,
        LWM2M_C2C_TYPE_BOOLEAN => DataType::Boolean,
        LWM2M_C2C_TYPE_OPAQUE => DataType::Opaque,
        LWM2M_C2C_TYPE_TIME => DataType::Time,
        LWM2M_C2C_TYPE_OBJLNK => DataType::ObjLnk,
        LWM2M_C2C_TYPE_CORELNK => DataType::CoreLnk,
        _ => return None,
    })
}

fn type_code(t: DataType) -> u8 {
    match t {
        DataType::None => LWM2M_C2C_TYPE_NONE,
        DataType::String => LWM2M_C2C_TYPE_STRING,
        DataType::Integer => LWM2M_C2C_TYPE_INTEGER,
        DataType::Unsigned => LWM2M_C2C_TYPE_UNSIGNED,
        DataType::Float => LWM2M_C2C_TYPE_FLOAT,
        DataType::Boolean => LWM2M_C2C_TYPE_BOOLEAN,
        DataType::Opaque => LWM2M_C2C_TYPE_OPAQUE,
        DataType::Time => LWM2M_C2C_TYPE_TIME,
        DataType::ObjLnk => LWM2M_C2C_TYPE_OBJLNK,
        DataType::CoreLnk => LWM2M_C2C_TYPE_CORELNK,
    }
}

fn result(rc: c_int) -> Result<()> {
    const fn e(v: u32) -> c_int {
        -(v as c_int)
    }
    const ENOENT: c_int = e(riot_sys::ENOENT);
    const EINVAL: c_int = e(riot_sys::EINVAL);
    const ERANGE: c_int = e(riot_sys::ERANGE);
    const EPERM: c_int = e(riot_sys::EPERM);
    const ENOTSUP: c_int = e(riot_sys::ENOTSUP);
    const ENOSPC: c_int = e(riot_sys::ENOSPC);
    match rc {
        0 => Ok(()),
        ENOENT => Err(Error::NotFound),
        EINVAL | ERANGE => Err(Error::BadRequest),
        EPERM | ENOTSUP => Err(Error::MethodNotAllowed),
        ENOSPC => Err(Error::RequestEntityTooLarge),
        _ => Err(Error::InternalServerError),
    }
}

/// Converts one entry of a C resource table, checking it (ascending IDs after `last`, known
/// type and operation bits, executable exactly when it carries no value).
pub fn convert(r: &CResource, last: Option<u16>) -> Option<ResourceDef> {
    if last.is_some_and(|l| l >= r.id) || r.id == lwm2m::path::ID_NONE || r.ops > 7 {
        return None;
    }
    let dt = data_type(r.data_type)?;
    let exec = r.ops & LWM2M_C2C_OP_E != 0;
    if exec != (dt == DataType::None) || (exec && r.ops != LWM2M_C2C_OP_E) {
        return None;
    }
    let ops = match r.ops {
        LWM2M_C2C_OP_R => Operations::R,
        LWM2M_C2C_OP_W => Operations::W,
        3 => Operations::RW,
        LWM2M_C2C_OP_E => Operations::E,
        _ => Operations::NONE,
    };
    Some(ResourceDef::single(r.id, "", ops, false, dt))
}

/// The resource table of a C object, if its object ID and pointer are usable.
///
/// # Safety
/// `obj.resources` must be valid for reads of `obj.resources_len` entries for `'a`.
pub unsafe fn table<'a>(obj: &CObject) -> Option<&'a [CResource]> {
    if obj.id <= 3 || obj.id == lwm2m::path::ID_NONE {
        return None;
    }
    let n = usize::from(obj.resources_len);
    if n == 0 {
        return Some(&[]);
    }
    if obj.resources.is_null() {
        return None;
    }
    // SAFETY: the caller promises `n` readable entries.
    Some(unsafe { core::slice::from_raw_parts(obj.resources, n) })
}

/// The engine's view of a C object.
pub struct AppObject {
    c: &'static CObject,
    def: &'static ObjectDef,
}

// SAFETY: the C object is only used through the engine, which only runs under the driver's
// mutex; the firmware promised (lwm2m_c2c_add_object) that its callbacks may be called from
// the engine's and gcoap's threads.
unsafe impl Send for AppObject {}

impl AppObject {
    /// Binds a C object to its copied definition.
    pub fn new(c: &'static CObject, def: &'static ObjectDef) -> Self {
        AppObject { c, def }
    }

    fn res(&self, inst: u16, res: u16) -> Result<&'static ResourceDef> {
        if inst >= self.c.instances {
            return Err(Error::NotFound);
        }
        self.def.resource(res).ok_or(Error::NotFound)
    }

    fn write_cb(&self, inst: u16, res: u16, v: &Value<'_>, check_only: bool) -> Result<()> {
        let def = self.res(inst, res)?;
        let f = self.c.write.ok_or(Error::MethodNotAllowed)?;
        let v = v.coerce(def.data_type).ok_or(Error::BadRequest)?;
        let data = match v {
            Value::Integer(i) | Value::Time(i) => CValueData { i },
            Value::Unsigned(u) => CValueData { u },
            Value::Float(f) => CValueData { f },
            Value::Boolean(b) => CValueData { b: u8::from(b) },
            Value::String(s) | Value::CoreLnk(s) => CValueData {
                bytes: CBytes {
                    ptr: s.as_ptr(),
                    len: s.len(),
                },
            },
            Value::Opaque(b) => CValueData {
                bytes: CBytes {
                    ptr: b.as_ptr(),
                    len: b.len(),
                },
            },
            Value::ObjLnk(obj, inst) => CValueData {
                objlnk: CObjLnk { obj, inst },
            },
        };
        let cv = CValue {
            data_type: type_code(def.data_type),
            value: data,
        };
        // SAFETY: the value and the bytes it points to outlive the call.
        result(unsafe { f(self.c.arg, inst, res, &cv, check_only) })
    }
}

impl Object for AppObject {
    fn def(&self) -> &'static ObjectDef {
        self.def
    }

    fn next_instance(&self, after: Option<u16>) -> Option<u16> {
        let next = after.map_or(Some(0), |a| a.checked_add(1))?;
        (next < self.c.instances).then_some(next)
    }

    fn read(&self, inst: u16, res: u16, _ri: Option<u16>) -> Result<Value<'_>> {
        let def = self.res(inst, res)?;
        let f = self.c.read.ok_or(Error::MethodNotAllowed)?;
        let mut out = CValue {
            data_type: type_code(def.data_type),
            value: CValueData { u: 0 },
        };
        // SAFETY: `out` is valid for writes during the call.
        result(unsafe { f(self.c.arg, inst, res, &mut out) })?;
        // SAFETY (all union reads below): every member is plain data for which any bit pattern
        // is valid, and the union was fully initialized before the callback. The bytes of
        // strings stay valid while the engine holds its lock (callback contract), which spans
        // every use of the value returned here.
        let bytes = || unsafe { c_bytes(out.value.bytes) };
        let utf8 = |b| core::str::from_utf8(b).map_err(|_| Error::InternalServerError);
        Ok(match def.data_type {
            DataType::Integer => Value::Integer(unsafe { out.value.i }),
            DataType::Time => Value::Time(unsafe { out.value.i }),
            DataType::Unsigned => Value::Unsigned(unsafe { out.value.u }),
            DataType::Float => Value::Float(unsafe { out.value.f }),
            DataType::Boolean => Value::Boolean(unsafe { out.value.b } != 0),
            DataType::ObjLnk => {
                let l = unsafe { out.value.objlnk };
                Value::ObjLnk(l.obj, l.inst)
            }
            DataType::Opaque => Value::Opaque(bytes()?),
            DataType::String => Value::String(utf8(bytes()?)?),
            DataType::CoreLnk => Value::CoreLnk(utf8(bytes()?)?),
            DataType::None => return Err(Error::MethodNotAllowed),
        })
    }

    fn check_write(
        &self,
        _caller: lwm2m::dm::Caller,
        inst: u16,
        res: u16,
        _ri: Option<u16>,
        value: &Value<'_>,
    ) -> Result<()> {
        self.write_cb(inst, res, value, true)
    }

    fn write(
        &mut self,
        _caller: lwm2m::dm::Caller,
        inst: u16,
        res: u16,
        _ri: Option<u16>,
        value: &Value<'_>,
    ) -> Result<()> {
        self.write_cb(inst, res, value, false)
    }

    fn execute(
        &mut self,
        _caller: lwm2m::dm::Caller,
        inst: u16,
        res: u16,
        args: &[u8],
    ) -> Result<()> {
        self.res(inst, res)?;
        let f = self.c.execute.ok_or(Error::MethodNotAllowed)?;
        // SAFETY: `args` outlives the call.
        result(unsafe { f(self.c.arg, inst, res, args.as_ptr(), args.len()) })
    }
}

/// The bytes a C value points to, with a lifetime the caller vouches for.
///
/// # Safety
/// `b.ptr` must be valid for reads of `b.len` bytes for `'a`.
unsafe fn c_bytes<'a>(b: CBytes) -> Result<&'a [u8]> {
    if b.len == 0 {
        return Ok(&[]);
    }
    if b.ptr.is_null() {
        return Err(Error::InternalServerError);
    }
    // SAFETY: see above.
    Ok(unsafe { core::slice::from_raw_parts(b.ptr, b.len) })
}
