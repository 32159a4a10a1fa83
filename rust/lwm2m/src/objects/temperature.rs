//! IPSO Temperature object (3303), with `N` sensor instances.

use super::{check_len, set_str, take, Text};
use crate::dm::{Caller, Object, ObjectDef, Operations as Op, ResourceDef as R};
use crate::error::{Error, Result};
use crate::value::{DataType as T, Value};

/// Object ID.
pub const ID: u16 = 3303;
/// Sensor Value resource.
pub const SENSOR_VALUE: u16 = 5700;

static RESOURCES: [R; 8] = [
    R::single(5601, "Min Measured Value", Op::R, false, T::Float),
    R::single(5602, "Max Measured Value", Op::R, false, T::Float),
    R::single(5603, "Min Range Value", Op::R, false, T::Float),
    R::single(5604, "Max Range Value", Op::R, false, T::Float),
    R::single(
        5605,
        "Reset Min and Max Measured Values",
        Op::E,
        false,
        T::None,
    ),
    R::single(5700, "Sensor Value", Op::R, true, T::Float),
    R::single(5701, "Sensor Units", Op::R, false, T::String),
    R::single(5750, "Application Type", Op::RW, false, T::String),
];

/// Definition of object 3303.
pub static DEF: ObjectDef = ObjectDef {
    id: ID,
    name: crate::dm::name("Temperature"),
    version: None,
    multiple: true,
    mandatory: false,
    resources: &RESOURCES,
};

const APP_TYPE_LEN: usize = 24;

/// One temperature sensor.
#[derive(Debug, Clone, Default)]
pub struct Sensor {
    /// Res 5700, degrees Celsius.
    pub value: f64,
    /// Res 5601.
    pub min: f64,
    /// Res 5602.
    pub max: f64,
    /// Res 5750.
    pub application_type: Text<APP_TYPE_LEN>,
}

/// Object 3303 with `N` instances numbered 0..N.
#[derive(Debug)]
pub struct Temperature<const N: usize> {
    /// The sensors.
    pub sensors: [Sensor; N],
    /// Res 5603 / 5604: range of the sensor.
    pub range: (f64, f64),
}

impl<const N: usize> Temperature<N> {
    /// Sensors reading `initial`, with a measurement range.
    pub fn new(initial: f64, range: (f64, f64)) -> Self {
        Temperature {
            sensors: core::array::from_fn(|_| Sensor {
                value: initial,
                min: initial,
                max: initial,
                application_type: heapless::String::new(),
            }),
            range,
        }
    }

    fn sensor(&self, inst: u16) -> Result<&Sensor> {
        self.sensors.get(usize::from(inst)).ok_or(Error::NotFound)
    }
}

impl<const N: usize> Object for Temperature<N> {
    fn def(&self) -> &'static ObjectDef {
        &DEF
    }

    fn next_instance(&self, after: Option<u16>) -> Option<u16> {
        let next = after.map_or(0, |a| usize::from(a) + 1);
        (next < N).then_some(next as u16)
    }

    fn read(&self, inst: u16, res: u16, _ri: Option<u16>) -> Result<Value<'_>> {
        let s = self.sensor(inst)?;
        Ok(match res {
            5601 => Value::Float(s.min),
            5602 => Value::Float(s.max),
            5603 => Value::Float(self.range.0),
            5604 => Value::Float(self.range.1),
            5700 => Value::Float(s.value),
            5701 => Value::String("Cel"),
            5750 => Value::String(&s.application_type),
            5605 => return Err(Error::MethodNotAllowed),
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
            5700 if caller == Caller::Local => take::f64(v).map(drop),
            5750 => check_len(take::str(v)?.len(), APP_TYPE_LEN),
            _ => Err(Error::MethodNotAllowed),
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
        let s = self
            .sensors
            .get_mut(usize::from(inst))
            .ok_or(Error::NotFound)?;
        if res == 5750 {
            return set_str(&mut s.application_type, take::str(v)?);
        }
        let x = take::f64(v)?;
        s.value = x;
        s.min = s.min.min(x);
        s.max = s.max.max(x);
        Ok(())
    }

    fn execute(&mut self, _caller: Caller, inst: u16, res: u16, _args: &[u8]) -> Result<()> {
        let s = self
            .sensors
            .get_mut(usize::from(inst))
            .ok_or(Error::NotFound)?;
        if res != 5605 {
            return Err(Error::MethodNotAllowed);
        }
        s.min = s.value;
        s.max = s.value;
        Ok(())
    }
}
