//! IPSO Light Control object (3311), multiple instances created and deleted at run time (the
//! paper's Figure 2 example creates one from a requesting client).

use super::{check_len, set_str, take, HasId, Instances, Text};
use crate::dm::{Caller, Object, ObjectDef, Operations as Op, ResourceDef as R};
use crate::error::{Error, Result};
use crate::value::{DataType as T, Value};

/// Object ID.
pub const ID: u16 = 3311;
/// On/Off resource.
pub const ON_OFF: u16 = 5850;
/// Dimmer resource.
pub const DIMMER: u16 = 5851;

static RESOURCES: [R; 7] = [
    R::single(5701, "Sensor Units", Op::R, false, T::String),
    R::single(5706, "Colour", Op::RW, false, T::String),
    R::single(5750, "Application Type", Op::RW, false, T::String),
    R::single(5805, "Cumulative active power", Op::R, false, T::Float),
    R::single(5850, "On/Off", Op::RW, true, T::Boolean),
    R::single(5851, "Dimmer", Op::RW, false, T::Integer),
    R::single(5852, "On time", Op::RW, false, T::Integer),
];

/// Definition of object 3311.
pub static DEF: ObjectDef = ObjectDef {
    id: ID,
    name: crate::dm::name("Light Control"),
    version: None,
    multiple: true,
    mandatory: false,
    resources: &RESOURCES,
};

const COLOUR_LEN: usize = 16;
const APP_TYPE_LEN: usize = 24;

/// One light.
#[derive(Debug, Clone, Default)]
pub struct Light {
    /// Instance ID.
    pub id: u16,
    /// Res 5850.
    pub on: bool,
    /// Res 5851, percent.
    pub dimmer: u8,
    /// Res 5852: seconds since switched on (reset by writing 0).
    pub on_time: i64,
    /// Res 5706.
    pub colour: Text<COLOUR_LEN>,
    /// Res 5750.
    pub application_type: Text<APP_TYPE_LEN>,
    /// Res 5805, Wh.
    pub cumulative_power: f64,
}

impl HasId for Light {
    fn id(&self) -> u16 {
        self.id
    }
}

/// Object 3311 with room for `N` lights.
#[derive(Debug, Default)]
pub struct LightControl<const N: usize> {
    /// The lights.
    pub lights: Instances<Light, N>,
}

impl<const N: usize> LightControl<N> {
    /// No lights yet.
    pub const fn new() -> Self {
        LightControl {
            lights: Instances::new(),
        }
    }
}

impl<const N: usize> Object for LightControl<N> {
    fn def(&self) -> &'static ObjectDef {
        &DEF
    }

    fn next_instance(&self, after: Option<u16>) -> Option<u16> {
        self.lights.next_id(after)
    }

    fn read(&self, inst: u16, res: u16, _ri: Option<u16>) -> Result<Value<'_>> {
        let l = self.lights.get(inst).ok_or(Error::NotFound)?;
        Ok(match res {
            5701 => Value::String("Wh"),
            5706 => Value::String(&l.colour),
            5750 => Value::String(&l.application_type),
            5805 => Value::Float(l.cumulative_power),
            5850 => Value::Boolean(l.on),
            5851 => Value::Integer(l.dimmer.into()),
            5852 => Value::Integer(l.on_time),
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
        match res {
            5706 => check_len(take::str(v)?.len(), COLOUR_LEN),
            5750 => check_len(take::str(v)?.len(), APP_TYPE_LEN),
            5850 => take::bool(v).map(drop),
            5851 if take::u16(v)? > 100 => Err(Error::BadRequest),
            5851 => Ok(()),
            // Only a reset to 0 is meaningful from outside.
            5852 if take::i64(v)? != 0 && caller != Caller::Local => Err(Error::BadRequest),
            5852 => Ok(()),
            5701 | 5805 => Err(Error::MethodNotAllowed),
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
        let l = self.lights.get_mut(inst).ok_or(Error::NotFound)?;
        match res {
            5706 => set_str(&mut l.colour, take::str(v)?)?,
            5750 => set_str(&mut l.application_type, take::str(v)?)?,
            5850 => l.on = take::bool(v)?,
            5851 => l.dimmer = u8::try_from(take::u16(v)?).map_err(|_| Error::BadRequest)?,
            5852 => l.on_time = take::i64(v)?,
            _ => return Err(Error::NotFound),
        }
        Ok(())
    }

    fn create(&mut self, _caller: Caller, inst: u16) -> Result<()> {
        self.lights.insert(Light {
            id: inst,
            dimmer: 100,
            ..Default::default()
        })
    }

    fn delete(&mut self, _caller: Caller, inst: u16) -> Result<()> {
        self.lights.remove(inst).map(|_| ())
    }
}
