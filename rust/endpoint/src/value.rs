//! [`OwnedValue`]: an LwM2M value that owns its strings and bytes, for values that outlive the
//! datagram or buffer they were decoded from (commands into a client's loop thread, values a
//! server keeps or shows).

use lwm2m::{DataType, Value};

/// An LwM2M value that owns its strings and bytes.
#[derive(Clone, Debug, PartialEq)]
pub enum OwnedValue {
    /// Signed integer.
    Integer(i64),
    /// Unsigned integer.
    Unsigned(u64),
    /// Float.
    Float(f64),
    /// Boolean.
    Boolean(bool),
    /// UTF-8 string.
    String(String),
    /// Opaque bytes.
    Opaque(Vec<u8>),
    /// Seconds since the Unix epoch.
    Time(i64),
    /// Object link (object ID, instance ID).
    ObjLnk(u16, u16),
    /// CoRE link.
    CoreLnk(String),
}

impl OwnedValue {
    /// Copies a borrowed engine value.
    pub fn from_value(v: &Value<'_>) -> Self {
        match *v {
            Value::Integer(i) => OwnedValue::Integer(i),
            Value::Unsigned(u) => OwnedValue::Unsigned(u),
            Value::Float(f) => OwnedValue::Float(f),
            Value::Boolean(b) => OwnedValue::Boolean(b),
            Value::String(s) => OwnedValue::String(s.to_owned()),
            Value::Opaque(b) => OwnedValue::Opaque(b.to_vec()),
            Value::Time(t) => OwnedValue::Time(t),
            Value::ObjLnk(o, i) => OwnedValue::ObjLnk(o, i),
            Value::CoreLnk(s) => OwnedValue::CoreLnk(s.to_owned()),
        }
    }

    /// Borrows it as an engine value (for the encoders and the engine's objects).
    pub fn as_value(&self) -> Value<'_> {
        match self {
            OwnedValue::Integer(i) => Value::Integer(*i),
            OwnedValue::Unsigned(u) => Value::Unsigned(*u),
            OwnedValue::Float(f) => Value::Float(*f),
            OwnedValue::Boolean(b) => Value::Boolean(*b),
            OwnedValue::String(s) => Value::String(s),
            OwnedValue::Opaque(b) => Value::Opaque(b),
            OwnedValue::Time(t) => Value::Time(*t),
            OwnedValue::ObjLnk(o, i) => Value::ObjLnk(*o, *i),
            OwnedValue::CoreLnk(s) => Value::CoreLnk(s),
        }
    }

    /// The data type.
    pub fn data_type(&self) -> DataType {
        self.as_value().data_type()
    }
}

impl From<&Value<'_>> for OwnedValue {
    fn from(v: &Value<'_>) -> Self {
        OwnedValue::from_value(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_through_the_engine_value() {
        let all = [
            OwnedValue::Integer(-3),
            OwnedValue::Unsigned(7),
            OwnedValue::Float(1.5),
            OwnedValue::Boolean(true),
            OwnedValue::String("x".into()),
            OwnedValue::Opaque(vec![1, 2]),
            OwnedValue::Time(1_700_000_000),
            OwnedValue::ObjLnk(3, 0),
            OwnedValue::CoreLnk("</3>".into()),
        ];
        for v in all {
            assert_eq!(OwnedValue::from_value(&v.as_value()), v);
            assert_eq!(v.data_type(), v.as_value().data_type());
        }
    }
}
