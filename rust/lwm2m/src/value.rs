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
            Value::Float(f) => match exact_integer(f)? {
                (false, m) if m <= I64_LIMIT => i64::try_from(m).ok(),
                (true, m) if m <= I64_LIMIT => 0i64.checked_sub_unsigned(m),
                _ => None,
            },
            _ => None,
        }
    }

    /// The value as an unsigned integer when it fits, without loss.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::Unsigned(v) => Some(v),
            Value::Integer(v) | Value::Time(v) => u64::try_from(v).ok(),
            Value::Float(f) => match exact_integer(f)? {
                (neg, m) if (!neg || m == 0) && m <= U64_LIMIT => Some(m),
                _ => None,
            },
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

/// Largest magnitude of a float that converts to `i64` (9.2e18, exact in binary64).
const I64_LIMIT: u64 = 9_200_000_000_000_000_000;
/// Largest float that converts to `u64` (1.8e19, exact in binary64).
const U64_LIMIT: u64 = 18_000_000_000_000_000_000;

/// A float that is an integer of magnitude below 2^64, as (negative, magnitude); `None` for
/// fractions, infinities and NaN. Works on the bits, so that no soft-float comparison or
/// conversion routine is needed on FPU-less targets.
fn exact_integer(f: f64) -> Option<(bool, u64)> {
    let bits = f.to_bits();
    let neg = bits >> 63 != 0;
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1 << 52) - 1);
    if exp == 0 {
        // Zero, or a subnormal (never an integer).
        return (frac == 0).then_some((neg, 0));
    }
    // The value is (frac | 2^52) * 2^(exp - 1075); exponent 0x7ff (inf / NaN) fails below.
    let m = frac | 1 << 52;
    let shift = exp - 1075;
    let mag = if shift >= 0 {
        // m < 2^53: a shift of up to 10 keeps it below 2^63 and 11 below 2^64.
        if shift > 11 {
            return None;
        }
        m << shift
    } else {
        let s = shift.unsigned_abs();
        if s > 52 || m & ((1 << s) - 1) != 0 {
            return None;
        }
        m >> s
    };
    Some((neg, mag))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The float conversions as they were written with float comparisons and casts.
    fn reference(f: f64) -> (Option<i64>, Option<u64>) {
        let i = ((-9.2e18..=9.2e18).contains(&f) && (f as i64) as f64 == f).then_some(f as i64);
        let u = ((0.0..=1.8e19).contains(&f) && (f as u64) as f64 == f).then_some(f as u64);
        (i, u)
    }

    fn converted(f: f64) -> (Option<i64>, Option<u64>) {
        (Value::Float(f).as_i64(), Value::Float(f).as_u64())
    }

    #[test]
    fn float_to_integer_edges() {
        for f in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            -0.5,
            1.5,
            2.0f64.powi(52),
            2.0f64.powi(53),
            2.0f64.powi(63),
            -(2.0f64.powi(63)),
            2.0f64.powi(64),
            9.2e18,
            -9.2e18,
            9.2e18 + 2048.0,
            1.8e19,
            1.8e19 + 4096.0,
            f64::MIN_POSITIVE,
            5e-324,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::MAX,
        ] {
            assert_eq!(converted(f), reference(f), "{f:e}");
        }
        assert_eq!(converted(-0.0), (Some(0), Some(0)));
        assert_eq!(converted(1.8e19), (None, Some(18_000_000_000_000_000_000)));
    }

    proptest! {
        #[test]
        fn float_to_integer_matches_casts(bits in any::<u64>(), i in any::<i64>(), u in any::<u64>()) {
            for f in [f64::from_bits(bits), i as f64, u as f64, (i >> 11) as f64 + 0.5] {
                prop_assert_eq!(converted(f), reference(f), "{:e}", f);
            }
        }
    }

    #[test]
    fn coercions() {
        assert_eq!(
            Value::Integer(5).coerce(DataType::Unsigned),
            Some(Value::Unsigned(5))
        );
        assert_eq!(Value::Integer(-5).coerce(DataType::Unsigned), None);
        assert_eq!(Value::Unsigned(u64::MAX).coerce(DataType::Integer), None);
        assert_eq!(
            Value::Integer(1).coerce(DataType::Boolean),
            Some(Value::Boolean(true))
        );
        assert_eq!(Value::Integer(2).coerce(DataType::Boolean), None);
        assert_eq!(Value::Float(2.5).coerce(DataType::Integer), None);
        assert_eq!(
            Value::Float(2.0).coerce(DataType::Integer),
            Some(Value::Integer(2))
        );
        assert_eq!(
            Value::Opaque(b"ab").coerce(DataType::String),
            Some(Value::String("ab"))
        );
        assert_eq!(Value::Opaque(&[0xff]).coerce(DataType::String), None);
        assert_eq!(
            Value::Integer(3).coerce(DataType::Float),
            Some(Value::Float(3.0))
        );
    }
}
