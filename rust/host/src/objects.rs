//! Host-side application objects: the Device object with a system clock and a hook for its
//! executable resources, a run-time number of simulated temperature sensors, and a slow
//! simulated signal for them.

use std::cell::Cell;
use std::rc::Rc;

use lwm2m::dm::{Caller, Object, ObjectDef};
use lwm2m::objects::device::{Device, DeviceAction};
use lwm2m::objects::temperature::Temperature;
use lwm2m::{Result, Value};

use crate::clock::Rng;

/// Most temperature sensors a host client simulates.
pub const MAX_SENSORS: usize = 16;
/// Most Light Control instances (pre-created plus created by servers).
pub const MAX_LIGHTS: usize = 16;

/// Unix time in seconds from the system clock (Device res 13).
pub fn system_time() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The Device object, reporting Reboot / Factory Reset requests through a shared cell that
/// the driver reads after each request.
pub struct HostDevice {
    /// The wrapped object.
    pub device: Device,
    actions: Rc<Cell<Option<DeviceAction>>>,
}

impl HostDevice {
    /// A Device with manufacturer "lwm2m-c2c", model "host", the given serial and the system
    /// clock; executed actions land in `actions`.
    pub fn new(serial: &'static str, actions: Rc<Cell<Option<DeviceAction>>>) -> Self {
        let mut device = Device::new("lwm2m-c2c", "host", serial);
        device.clock = Some(system_time);
        device.device_type = "host simulator";
        HostDevice { device, actions }
    }
}

impl Object for HostDevice {
    fn def(&self) -> &'static ObjectDef {
        self.device.def()
    }
    fn next_instance(&self, after: Option<u16>) -> Option<u16> {
        self.device.next_instance(after)
    }
    fn has_resource(&self, inst: u16, res: u16) -> bool {
        self.device.has_resource(inst, res)
    }
    fn next_resource_instance(&self, inst: u16, res: u16, after: Option<u16>) -> Option<u16> {
        self.device.next_resource_instance(inst, res, after)
    }
    fn read(&self, inst: u16, res: u16, ri: Option<u16>) -> Result<Value<'_>> {
        self.device.read(inst, res, ri)
    }
    fn write(
        &mut self,
        caller: Caller,
        inst: u16,
        res: u16,
        ri: Option<u16>,
        value: &Value<'_>,
    ) -> Result<()> {
        self.device.write(caller, inst, res, ri, value)
    }
    fn execute(&mut self, caller: Caller, inst: u16, res: u16, args: &[u8]) -> Result<()> {
        self.device.execute(caller, inst, res, args)?;
        if let Some(a) = self.device.take_action() {
            self.actions.set(Some(a));
        }
        Ok(())
    }
}

/// Object 3303 with a run-time number of instances (at most [`MAX_SENSORS`]).
pub struct Sensors {
    /// The wrapped object; only the first `count` sensors exist.
    pub inner: Temperature<MAX_SENSORS>,
    count: usize,
}

impl Sensors {
    /// `count` sensors (clamped to [`MAX_SENSORS`]) reading `initial` °C, range -40..85.
    pub fn new(count: usize, initial: f64) -> Self {
        Sensors {
            inner: Temperature::new(initial, (-40.0, 85.0)),
            count: count.min(MAX_SENSORS),
        }
    }

    /// Number of sensors.
    pub fn count(&self) -> usize {
        self.count
    }

    fn exists(&self, inst: u16) -> bool {
        usize::from(inst) < self.count
    }
}

impl Object for Sensors {
    fn def(&self) -> &'static ObjectDef {
        self.inner.def()
    }
    fn next_instance(&self, after: Option<u16>) -> Option<u16> {
        self.inner.next_instance(after).filter(|&i| self.exists(i))
    }
    fn read(&self, inst: u16, res: u16, ri: Option<u16>) -> Result<Value<'_>> {
        if !self.exists(inst) {
            return Err(lwm2m::Error::NotFound);
        }
        self.inner.read(inst, res, ri)
    }
    fn write(
        &mut self,
        caller: Caller,
        inst: u16,
        res: u16,
        ri: Option<u16>,
        value: &Value<'_>,
    ) -> Result<()> {
        if !self.exists(inst) {
            return Err(lwm2m::Error::NotFound);
        }
        self.inner.write(caller, inst, res, ri, value)
    }
    fn execute(&mut self, caller: Caller, inst: u16, res: u16, args: &[u8]) -> Result<()> {
        if !self.exists(inst) {
            return Err(lwm2m::Error::NotFound);
        }
        self.inner.execute(caller, inst, res, args)
    }
}

/// A slow simulated temperature: a sine of period 2 minutes around 21 °C (phase-shifted per
/// sensor) plus a little noise, rounded to 0.01 °C.
#[derive(Debug)]
pub struct Simulation {
    rng: Rng,
}

impl Simulation {
    /// A simulation with its own noise generator.
    pub fn new(rng: Rng) -> Self {
        Simulation { rng }
    }

    /// The reading of sensor `i` at `t_ms`.
    pub fn reading(&mut self, i: usize, t_ms: u64) -> f64 {
        let phase = t_ms as f64 / 120_000.0 * std::f64::consts::TAU + i as f64;
        let noise = (self.rng.next_f64() - 0.5) * 0.2;
        ((21.0 + 4.0 * phase.sin() + noise) * 100.0).round() / 100.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensors_hide_instances_beyond_count() {
        let s = Sensors::new(2, 20.0);
        assert_eq!(s.next_instance(None), Some(0));
        assert_eq!(s.next_instance(Some(0)), Some(1));
        assert_eq!(s.next_instance(Some(1)), None);
        assert!(s.read(2, 5700, None).is_err());
        assert_eq!(s.read(1, 5700, None), Ok(Value::Float(20.0)));
        assert_eq!(Sensors::new(100, 0.0).count(), MAX_SENSORS);
        assert_eq!(Sensors::new(0, 0.0).next_instance(None), None);
    }

    #[test]
    fn device_reports_reboot() {
        let cell = Rc::new(Cell::new(None));
        let mut d = HostDevice::new("ep", cell.clone());
        assert_eq!(d.read(0, 0, None), Ok(Value::String("lwm2m-c2c")));
        assert_eq!(d.read(0, 2, None), Ok(Value::String("ep")));
        assert!(matches!(d.read(0, 13, None), Ok(Value::Time(t)) if t > 1_600_000_000));
        d.execute(Caller::Server(1), 0, 4, b"").unwrap();
        assert_eq!(cell.take(), Some(DeviceAction::Reboot));
        d.execute(Caller::Server(1), 0, 12, b"").unwrap();
        assert_eq!(cell.take(), None);
    }

    #[test]
    fn simulation_stays_in_a_plausible_band_and_moves() {
        let mut s = Simulation::new(Rng::from_seed(3));
        let a = s.reading(0, 0);
        let b = s.reading(0, 30_000);
        for v in [a, b] {
            assert!((16.5..25.5).contains(&v), "{v}");
        }
        assert_ne!(a, b);
    }
}
