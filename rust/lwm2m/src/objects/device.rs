//! LwM2M Device object (3), single instance, filled in by the firmware.

use super::{check_len, take, Text};
use crate::dm::{Caller, Object, ObjectDef, Operations as Op, ResourceDef as R};
use crate::error::{Error, Result};
use crate::value::{DataType as T, Value};

/// Object ID.
pub const ID: u16 = 3;

static RESOURCES: [R; 16] = [
    R::single(0, "Manufacturer", Op::R, false, T::String),
    R::single(1, "Model Number", Op::R, false, T::String),
    R::single(2, "Serial Number", Op::R, false, T::String),
    R::single(3, "Firmware Version", Op::R, false, T::String),
    R::single(4, "Reboot", Op::E, true, T::None),
    R::single(5, "Factory Reset", Op::E, false, T::None),
    R::multiple(6, "Available Power Sources", Op::R, false, T::Integer),
    R::multiple(7, "Power Source Voltage", Op::R, false, T::Integer),
    R::single(9, "Battery Level", Op::R, false, T::Integer),
    R::multiple(11, "Error Code", Op::R, true, T::Integer),
    R::single(12, "Reset Error Code", Op::E, false, T::None),
    R::single(13, "Current Time", Op::RW, false, T::Time),
    R::single(14, "UTC Offset", Op::RW, false, T::String),
    R::single(15, "Timezone", Op::RW, false, T::String),
    R::single(16, "Supported Binding and Modes", Op::R, true, T::String),
    R::single(17, "Device Type", Op::R, false, T::String),
];

/// Definition of object 3.
pub static DEF: ObjectDef = ObjectDef {
    id: ID,
    name: crate::dm::name("Device"),
    version: None,
    multiple: false,
    mandatory: true,
    resources: &RESOURCES,
};

const UTC_OFFSET_LEN: usize = 8;
const TIMEZONE_LEN: usize = 32;

/// Actions the server asked for through executable resources; the firmware takes them with
/// [`Device::take_action`] and carries them out (after the response went out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceAction {
    /// Res 4 was executed.
    Reboot,
    /// Res 5 was executed.
    FactoryReset,
}

/// The Device object. Static strings come from the firmware; time is kept as an offset from
/// the engine's clock (set by writing res 13).
#[derive(Debug)]
pub struct Device {
    /// Res 0.
    pub manufacturer: &'static str,
    /// Res 1.
    pub model: &'static str,
    /// Res 2.
    pub serial: &'static str,
    /// Res 3.
    pub firmware_version: &'static str,
    /// Res 6 (multiple): power source codes (0 DC, 1 internal battery, 5 USB, ...).
    pub power_sources: &'static [i64],
    /// Res 7 (multiple): voltage of each power source in mV.
    pub power_voltages: &'static [i64],
    /// Res 9: battery level in percent (None: resource absent).
    pub battery_level: Option<u8>,
    /// Res 11 (multiple): error codes; 0 means no error.
    pub error_code: u8,
    /// Res 13: the firmware's clock (Unix seconds), if it has one.
    pub clock: Option<fn() -> i64>,
    /// Seconds added to the clock (set by writing res 13).
    pub time_offset: i64,
    /// Res 14.
    pub utc_offset: Text<UTC_OFFSET_LEN>,
    /// Res 15.
    pub timezone: Text<TIMEZONE_LEN>,
    /// Res 17.
    pub device_type: &'static str,
    action: Option<DeviceAction>,
}

impl Device {
    /// A Device object with the given identification strings.
    pub fn new(manufacturer: &'static str, model: &'static str, serial: &'static str) -> Self {
        Device {
            manufacturer,
            model,
            serial,
            firmware_version: env!("CARGO_PKG_VERSION"),
            power_sources: &[],
            power_voltages: &[],
            battery_level: None,
            error_code: 0,
            clock: None,
            time_offset: 0,
            utc_offset: heapless::String::new(),
            timezone: heapless::String::new(),
            device_type: "",
            action: None,
        }
    }

    /// Current time as the device reports it (res 13).
    pub fn now(&self) -> i64 {
        self.clock.map_or(0, |c| c()).wrapping_add(self.time_offset)
    }

    /// Takes the pending action requested by the server, if any.
    pub fn take_action(&mut self) -> Option<DeviceAction> {
        self.action.take()
    }
}

impl Object for Device {
    fn def(&self) -> &'static ObjectDef {
        &DEF
    }

    fn next_instance(&self, after: Option<u16>) -> Option<u16> {
        after.is_none().then_some(0)
    }

    fn has_resource(&self, inst: u16, res: u16) -> bool {
        inst == 0
            && match res {
                6 => !self.power_sources.is_empty(),
                7 => !self.power_voltages.is_empty(),
                9 => self.battery_level.is_some(),
                17 => !self.device_type.is_empty(),
                _ => DEF.resource(res).is_some(),
            }
    }

    fn next_resource_instance(&self, inst: u16, res: u16, after: Option<u16>) -> Option<u16> {
        let n = match (inst, res) {
            (0, 6) => self.power_sources.len(),
            (0, 7) => self.power_voltages.len(),
            (0, 11) => 1,
            _ => 0,
        };
        let next = after.map_or(0, |a| usize::from(a) + 1);
        (next < n).then_some(next as u16)
    }

    fn read(&self, inst: u16, res: u16, ri: Option<u16>) -> Result<Value<'_>> {
        if inst != 0 {
            return Err(Error::NotFound);
        }
        let idx = usize::from(ri.unwrap_or(0));
        let nf = Error::NotFound;
        Ok(match res {
            0 => Value::String(self.manufacturer),
            1 => Value::String(self.model),
            2 => Value::String(self.serial),
            3 => Value::String(self.firmware_version),
            6 => Value::Integer(*self.power_sources.get(idx).ok_or(nf)?),
            7 => Value::Integer(*self.power_voltages.get(idx).ok_or(nf)?),
            9 => Value::Integer(self.battery_level.ok_or(nf)?.into()),
            11 if idx == 0 => Value::Integer(self.error_code.into()),
            13 => Value::Time(self.now()),
            14 => Value::String(&self.utc_offset),
            15 => Value::String(&self.timezone),
            16 => Value::String("U"),
            17 if !self.device_type.is_empty() => Value::String(self.device_type),
            4 | 5 | 12 => return Err(Error::MethodNotAllowed),
            _ => return Err(nf),
        })
    }

    fn check_write(
        &self,
        _caller: Caller,
        _inst: u16,
        res: u16,
        _ri: Option<u16>,
        v: &Value<'_>,
    ) -> Result<()> {
        match res {
            13 => take::i64(v).map(drop),
            14 => check_len(take::str(v)?.len(), UTC_OFFSET_LEN),
            15 => check_len(take::str(v)?.len(), TIMEZONE_LEN),
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
        if inst != 0 {
            return Err(Error::NotFound);
        }
        self.check_write(caller, inst, res, ri, v)?;
        match res {
            13 => {
                self.time_offset = take::i64(v)?.wrapping_sub(self.clock.map_or(0, |c| c()));
                Ok(())
            }
            14 => super::set_str(&mut self.utc_offset, take::str(v)?),
            _ => super::set_str(&mut self.timezone, take::str(v)?),
        }
    }

    fn execute(&mut self, _caller: Caller, inst: u16, res: u16, _args: &[u8]) -> Result<()> {
        if inst != 0 {
            return Err(Error::NotFound);
        }
        match res {
            4 => self.action = Some(DeviceAction::Reboot),
            5 => self.action = Some(DeviceAction::FactoryReset),
            12 => self.error_code = 0,
            _ => return Err(Error::MethodNotAllowed),
        }
        Ok(())
    }
}
