//! Resource types the server knows without object definition files: Security (0), Server (1),
//! Access Control (2), Firmware Update (5, from the engine's definition), Device (3), OSCORE (21), the C2C objects (11000-11002), Temperature (3303) and Light Control (3311). Formats that do
//! not carry types (TLV, text) need them to decode; unknown resources decode as opaque (TLV) or
//! string (text).

use lwm2m::{DataType, Path};

use DataType::{Boolean as B, Float as F, Integer as I, None as X, ObjLnk as O};
use DataType::{Opaque as Op, String as S, Time as T, Unsigned as U};

const SECURITY: &[DataType] = &[S, B, I, Op, Op, Op, I, Op, Op, S, I, I, I, U, S, U, U, O];
const SERVER: &[DataType] = &[
    I, I, I, I, X, I, B, S, X, X, O, U, T, U, U, B, B, U, U, U, U, B, S, B,
];
const ACCESS_CONTROL: &[DataType] = &[I, I, I, I];
/// Client (11001): like Server up to res 8, res 9 the peer's endpoint name.
const C2C_CLIENT: &[DataType] = &[I, I, I, I, X, I, B, S, X, S];
const OSCORE: &[DataType] = &[Op, Op, Op, I, I, Op, Op];
const DEVICE: &[DataType] = &[
    S, S, S, S, X, X, I, I, I, I, I, I, X, T, S, S, S, S, S, S, I, I, O,
];
const TEMPERATURE: &[(u16, DataType)] = &[
    (5601, F),
    (5602, F),
    (5603, F),
    (5604, F),
    (5605, X),
    (5700, F),
    (5701, S),
    (5750, S),
];
const LIGHT_CONTROL: &[(u16, DataType)] = &[
    (5701, S),
    (5706, S),
    (5750, S),
    (5805, F),
    (5820, F),
    (5850, B),
    (5851, I),
    (5852, I),
];

/// The declared type of resource `res` of object `obj`, if the built-in table has it.
pub fn resource_type(obj: u16, res: u16) -> Option<DataType> {
    let dense = |t: &[DataType]| t.get(usize::from(res)).copied();
    let sparse = |t: &[(u16, DataType)]| t.iter().find(|e| e.0 == res).map(|e| e.1);
    match obj {
        0 => dense(SECURITY),
        1 => dense(SERVER),
        2 | 11002 => dense(ACCESS_CONTROL),
        // Client Security is built like Security (res 17: the OSCORE link).
        11000 => dense(SECURITY),
        11001 => dense(C2C_CLIENT),
        21 => dense(OSCORE),
        3 => dense(DEVICE),
        lwm2m::firmware::ID => lwm2m::firmware::DEF.resource(res).map(|r| r.data_type),
        3303 => sparse(TEMPERATURE),
        3311 => sparse(LIGHT_CONTROL),
        _ => None,
    }
}

/// The declared type of the resource a path points at (resource or resource instance level).
pub fn type_of(path: &Path) -> Option<DataType> {
    resource_type(path.object_id()?, path.resource_id()?)
}

/// The type a decoder should assume for `path` in a payload of `format`: the table's type,
/// else string for text/plain and opaque for everything else.
pub fn type_for_decoding(format: u16, path: &Path) -> Option<DataType> {
    path.resource_id()?;
    Some(match type_of(path) {
        Some(DataType::None) | None if format == lwm2m::coap::content_format::TEXT => {
            DataType::String
        }
        Some(DataType::None) | None => DataType::Opaque,
        Some(t) => t,
    })
}

/// Lower-case name of a data type as used in the JSON API.
pub fn type_name(t: DataType) -> &'static str {
    match t {
        DataType::None => "none",
        DataType::String => "string",
        DataType::Integer => "integer",
        DataType::Unsigned => "unsigned",
        DataType::Float => "float",
        DataType::Boolean => "boolean",
        DataType::Opaque => "opaque",
        DataType::Time => "time",
        DataType::ObjLnk => "objlnk",
        DataType::CoreLnk => "corelnk",
    }
}

/// Parses a type name of the JSON API (also a few common aliases).
pub fn parse_type_name(s: &str) -> Option<DataType> {
    Some(match s.to_ascii_lowercase().as_str() {
        "string" | "str" => DataType::String,
        "integer" | "int" => DataType::Integer,
        "unsigned" | "uint" | "unsigned integer" => DataType::Unsigned,
        "float" | "double" => DataType::Float,
        "boolean" | "bool" => DataType::Boolean,
        "opaque" | "bytes" => DataType::Opaque,
        "time" => DataType::Time,
        "objlnk" | "objectlink" => DataType::ObjLnk,
        "corelnk" | "corelink" => DataType::CoreLnk,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lookups() {
        assert_eq!(type_of(&Path::resource(3, 0, 0)), Some(DataType::String));
        assert_eq!(type_of(&Path::resource(3, 0, 9)), Some(DataType::Integer));
        assert_eq!(type_of(&Path::resource(3, 0, 13)), Some(DataType::Time));
        assert_eq!(
            type_of(&Path::resource_instance(3, 0, 6, 1)),
            Some(DataType::Integer)
        );
        assert_eq!(type_of(&Path::resource(1, 0, 7)), Some(DataType::String));
        assert_eq!(type_of(&Path::resource(1, 0, 1)), Some(DataType::Integer));
        assert_eq!(type_of(&Path::resource(0, 0, 1)), Some(DataType::Boolean));
        assert_eq!(type_of(&Path::resource(0, 0, 10)), Some(DataType::Integer));
        assert_eq!(
            type_of(&Path::resource(3303, 0, 5700)),
            Some(DataType::Float)
        );
        assert_eq!(
            type_of(&Path::resource(3311, 0, 5850)),
            Some(DataType::Boolean)
        );
        assert_eq!(type_of(&Path::resource(3, 0, 99)), None);
        assert_eq!(type_of(&Path::instance(3, 0)), None);
        assert_eq!(type_of(&Path::resource(9999, 0, 1)), None);
    }

    #[test]
    fn decoding_fallbacks() {
        let unknown = Path::resource(9999, 0, 1);
        assert_eq!(type_for_decoding(0, &unknown), Some(DataType::String));
        assert_eq!(type_for_decoding(11542, &unknown), Some(DataType::Opaque));
        assert_eq!(type_for_decoding(11542, &Path::instance(3, 0)), None);
        assert_eq!(
            type_for_decoding(11542, &Path::resource(3, 0, 1)),
            Some(DataType::String)
        );
    }

    #[test]
    fn type_names_roundtrip() {
        for t in [
            DataType::String,
            DataType::Integer,
            DataType::Unsigned,
            DataType::Float,
            DataType::Boolean,
            DataType::Opaque,
            DataType::Time,
            DataType::ObjLnk,
            DataType::CoreLnk,
        ] {
            assert_eq!(parse_type_name(type_name(t)), Some(t));
        }
        assert_eq!(parse_type_name("nope"), None);
    }
}
