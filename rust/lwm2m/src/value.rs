//! Typed LwM2M resource values (LwM2M 1.1 Core, Appendix C data types).

/// The data type of a resource, as declared in its object definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataType {
    /// Executable resources carry no value.
    None,
    /// UTF-8 string.
    String,
    /// Signed integer (up to 64 bits).
    Integer,
    /// Unsigned integer (up to 64 bits).
    Unsigned,
    /// IEEE 754 float (32 or 64 bits on the wire).
    Float,
    /// Boolean.
    Boolean,
    /// Opaque bytes.
    Opaque,
    /// Seconds since the Unix epoch, signed.
    Time,
    /// Object link: (object ID, instance ID).
    ObjLnk,
    /// CoRE link (RFC 6690), as a string.
    CoreLnk,
}

/// An LwM2M value, borrowing strings and bytes from the object or the payload it came from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    /// Signed integer.
    Integer(i64),
    /// Unsigned integer.
    Unsigned(u64),
    /// Float.
    Float(f64),
    /// Boolean.
    Boolean(bool),
    /// UTF-8 string.
    String(&'a str),
    /// Opaque bytes.
    Opaque(&'a [u8]),
    /// Time (seconds since the Unix epoch).
    Time(i64),
    /// Object link (object ID, instance ID).
    ObjLnk(u16, u16),
    /// CoRE link.
    CoreLnk(&'a str),
}

impl<'a> Value<'a> {
    /// The data type of this value.
    pub fn data_type(&self) -> DataType {
        match self {
            Value::Integer(_) => DataType::Integer,
            Value::Unsigned(_) => DataType::Unsigned,
            Value::Float(_) => DataType::Float,
            Value::Boolean(_) => DataType::Boolean,
            Value::String(_) => DataType::String,
            Value::Opaque(_) => DataType::Opaque,
            Value::Time(_) => DataType::Time,
            Value::ObjLnk(..) => DataType::ObjLnk,
            Value::CoreLnk(_) => DataType::CoreLnk,
        }
    }

    /// The value as a float, for numeric values (used by the gt / lt / st attributes).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Integer(v) | Value::Time(v) => Some(v as f64),
            Value::Unsigned(v) => Some(v as f64),
            Value::Float(v) => Some(v),
            _ => None,
        }
    }

    /// The value as a signed integer when it fits, without loss.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Integer(v) | Value::Time(v) => Some(v),
            Value::Unsigned(v) => i64::try_from(v).ok(),
            Value::Float(f) if (-9.2e18..=9.2e18).contains(&f) && (f as i64) as f64 == f => {
                Some(f as i64)
            }
            _ => None,
        }
    }

    /// The value as an unsigned integer when it fits, without loss.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::Unsigned(v) => Some(v),
            Value::Integer(v) | Value::Time(v) => u64::try_from(v).ok(),
            Value::Float(f) if (0.0..=1.8e19).contains(&f) && (f as u64) as f64 == f => {
                Some(f as u64)
            }
            _ => None,
        }
    }

    /// Converts a value decoded from a format that does not carry the exact type (TLV, text,
    /// CBOR integers) into the type the resource declares. Returns `None` when the value cannot
    /// represent that type (e.g. a negative number for an unsigned resource).
    pub fn coerce(&self, to: DataType) -> Option<Value<'a>> {
        Some(match to {
            DataType::None => return None,
            DataType::Integer => Value::Integer(self.as_i64()?),
            DataType::Time => Value::Time(self.as_i64()?),
            DataType::Unsigned => Value::Unsigned(self.as_u64()?),
            DataType::Float => Value::Float(self.as_f64()?),
            DataType::Boolean => match *self {
                Value::Boolean(b) => Value::Boolean(b),
                Value::Integer(0) | Value::Unsigned(0) => Value::Boolean(false),
                Value::Integer(1) | Value::Unsigned(1) => Value::Boolean(true),
                _ => return None,
            },
            DataType::String => match *self {
                Value::String(s) | Value::CoreLnk(s) => Value::String(s),
                Value::Opaque(b) => Value::String(core::str::from_utf8(b).ok()?),
                _ => return None,
            },
            DataType::CoreLnk => match *self {
                Value::String(s) | Value::CoreLnk(s) => Value::CoreLnk(s),
                Value::Opaque(b) => Value::CoreLnk(core::str::from_utf8(b).ok()?),
                _ => return None,
            },
            DataType::Opaque => match *self {
                Value::Opaque(b) => Value::Opaque(b),
                _ => return None,
            },
            DataType::ObjLnk => match *self {
                Value::ObjLnk(o, i) => Value::ObjLnk(o, i),
                _ => return None,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coercions() {
        assert_eq!(Value::Integer(5).coerce(DataType::Unsigned), Some(Value::Unsigned(5)));
        assert_eq!(Value::Integer(-5).coerce(DataType::Unsigned), None);
        assert_eq!(Value::Unsigned(u64::MAX).coerce(DataType::Integer), None);
        assert_eq!(Value::Integer(1).coerce(DataType::Boolean), Some(Value::Boolean(true)));
        assert_eq!(Value::Integer(2).coerce(DataType::Boolean), None);
        assert_eq!(Value::Float(2.5).coerce(DataType::Integer), None);
        assert_eq!(Value::Float(2.0).coerce(DataType::Integer), Some(Value::Integer(2)));
        assert_eq!(Value::Opaque(b"ab").coerce(DataType::String), Some(Value::String("ab")));
        assert_eq!(Value::Opaque(&[0xff]).coerce(DataType::String), None);
        assert_eq!(Value::Integer(3).coerce(DataType::Float), Some(Value::Float(3.0)));
    }
}
