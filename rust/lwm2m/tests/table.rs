//! The resource-table layer (`objects::table`): the generic checks, stores and reads on a small
//! table of its own, then every object built on it, through the `Object` trait, with the error
//! codes the objects gave when they were hand-written.

use lwm2m::dm::{Caller, Object, ObjectDef, Operations as Op, ResourceDef as R};
use lwm2m::objects::table::{Check, FieldMut, FieldRef, Guard, Table};
use lwm2m::objects::{Bytes, Len, Text};
use lwm2m::value::DataType as T;
use lwm2m::{Error, Value};

const BS: Caller = Caller::Bootstrap;
const LOCAL: Caller = Caller::Local;
const SRV: Caller = Caller::Server(1);
const CLI: Caller = Caller::Client(7);

fn int(x: i64) -> Value<'static> {
    Value::Integer(x)
}
fn text(s: &str) -> Value<'_> {
    Value::String(s)
}
const BAD: Result<(), Error> = Err(Error::BadRequest);
const NOT_FOUND: Result<(), Error> = Err(Error::NotFound);
const NOT_ALLOWED: Result<(), Error> = Err(Error::MethodNotAllowed);
const UNAUTHORIZED: Result<(), Error> = Err(Error::Unauthorized);
const TOO_LARGE: Result<(), Error> = Err(Error::RequestEntityTooLarge);

// ---------------------------------------------------------------- the layer on its own table

static RESOURCES: [R; 12] = [
    R::single(0, "len", Op::RW, true, T::String),
    R::single(1, "text", Op::RW, true, T::String),
    R::single(2, "binding", Op::RW, true, T::String),
    R::single(3, "int", Op::RW, true, T::Integer),
    R::single(4, "one of", Op::RW, true, T::Integer),
    R::single(5, "u32", Op::RW, true, T::Integer),
    R::single(6, "i32", Op::RW, true, T::Integer),
    R::single(7, "link", Op::RW, false, T::ObjLnk),
    R::multiple(8, "entries", Op::RW, false, T::Integer),
    R::single(9, "exec", Op::E, false, T::None),
    R::single(10, "bool", Op::RW, false, T::Boolean),
    R::single(11, "bytes", Op::RW, false, T::Opaque),
];

static DEF: ObjectDef = ObjectDef {
    id: 30000,
    name: "table test",
    version: None,
    multiple: true,
    mandatory: false,
    resources: &RESOURCES,
};

const CHECKS: [Check; 12] = [
    Check::Len(4),
    Check::Text(3),
    Check::Binding(2),
    Check::Max(10),
    Check::OneOf(0b1001),
    Check::U32(1),
    Check::I32,
    Check::Link(21),
    Check::Entry(0x1f),
    Check::Any,
    Check::Any,
    Check::Len(2),
];

fn table(guard: Guard, local_only: u32, exact_ri: bool) -> Table {
    Table {
        def: &DEF,
        checks: &CHECKS,
        guard,
        local_only,
        exact_ri,
    }
}

/// One instance of the test table.
#[derive(Default)]
struct Inst {
    len: Text<4>,
    text: Text<3>,
    binding: Text<2>,
    int: u8,
    one_of: u16,
    u32: u32,
    i32: i32,
    link: Option<(u16, u16)>,
    entries: heapless::Vec<(u16, u16), 2, Len>,
    bool: bool,
    bytes: Bytes<2>,
}

fn field(i: &Inst, res: u16) -> Option<FieldRef<'_>> {
    Some(match res {
        0 => FieldRef::Str(&i.len),
        1 => FieldRef::Str(&i.text),
        2 => FieldRef::Str(&i.binding),
        3 => FieldRef::U32(i.int.into()),
        4 => FieldRef::U32(i.one_of.into()),
        5 => FieldRef::U32(i.u32),
        6 => FieldRef::I32(i.i32),
        7 => FieldRef::Link(i.link),
        8 => FieldRef::Entries(&i.entries),
        10 => FieldRef::Bool(i.bool),
        11 => FieldRef::Bytes(&i.bytes),
        _ => return None,
    })
}

fn field_mut(i: &mut Inst, res: u16) -> Option<FieldMut<'_>> {
    Some(match res {
        0 => FieldMut::Str(i.len.as_mut_view()),
        1 => FieldMut::Str(i.text.as_mut_view()),
        2 => FieldMut::Str(i.binding.as_mut_view()),
        3 => FieldMut::U8(&mut i.int),
        4 => FieldMut::U16(&mut i.one_of),
        5 => FieldMut::U32(&mut i.u32),
        6 => FieldMut::I32(&mut i.i32),
        7 => FieldMut::Link(&mut i.link),
        8 => FieldMut::Entries(i.entries.as_mut_view()),
        10 => FieldMut::Bool(&mut i.bool),
        11 => FieldMut::Bytes(i.bytes.as_mut_view()),
        _ => return None,
    })
}

#[test]
fn checks_give_the_documented_errors() {
    let t = table(Guard::NoClients, 0, false);
    let c = |res, ri, v: Value<'_>| t.check_write(LOCAL, res, ri, &v);
    // Length: too long is 4.13, not 4.00; a wrong type is 4.00.
    assert_eq!(c(0, None, text("abcd")), Ok(()));
    assert_eq!(c(0, None, text("")), Ok(()));
    assert_eq!(c(0, None, text("abcde")), TOO_LARGE);
    assert_eq!(c(0, None, int(1)), BAD);
    assert_eq!(c(11, None, Value::Opaque(&[1, 2, 3])), TOO_LARGE);
    assert_eq!(c(11, None, text("ab")), Ok(()), "opaque takes a string");
    // Text: 1..=n bytes, both sides 4.00.
    assert_eq!(c(1, None, text("abc")), Ok(()));
    assert_eq!(c(1, None, text("")), BAD);
    assert_eq!(c(1, None, text("abcd")), BAD);
    // Binding letters.
    assert_eq!(c(2, None, text("UQ")), Ok(()));
    assert_eq!(c(2, None, text("UX")), BAD);
    assert_eq!(c(2, None, text("UQS")), BAD);
    assert_eq!(c(2, None, text("")), BAD);
    // Integer ranges, from any numeric value that is an exact integer.
    assert_eq!(c(3, None, int(0)), Ok(()));
    assert_eq!(c(3, None, Value::Unsigned(10)), Ok(()));
    assert_eq!(c(3, None, Value::Float(7.0)), Ok(()));
    assert_eq!(c(3, None, Value::Float(7.5)), BAD);
    assert_eq!(c(3, None, int(-1)), BAD);
    assert_eq!(c(3, None, int(11)), BAD);
    assert_eq!(c(3, None, text("5")), BAD);
    assert_eq!(c(4, None, int(0)), Ok(()));
    assert_eq!(c(4, None, int(3)), Ok(()));
    for x in [1, 2, 4, 16, 35, -1] {
        assert_eq!(c(4, None, int(x)), BAD, "{x}");
    }
    assert_eq!(c(5, None, int(u32::MAX.into())), Ok(()));
    assert_eq!(c(5, None, int(0)), BAD);
    assert_eq!(c(5, None, int(i64::from(u32::MAX) + 1)), BAD);
    assert_eq!(c(6, None, int(i32::MIN.into())), Ok(()));
    assert_eq!(c(6, None, int(i64::from(i32::MAX) + 1)), BAD);
    // Object links to one object, never to instance 65535.
    assert_eq!(c(7, None, Value::ObjLnk(21, 0)), Ok(()));
    assert_eq!(c(7, None, Value::ObjLnk(21, 65535)), BAD);
    assert_eq!(c(7, None, Value::ObjLnk(0, 0)), BAD);
    assert_eq!(c(7, None, int(0)), BAD);
    // Entries: a resource instance ID, not 65535, and a bounded value.
    assert_eq!(c(8, Some(3), int(0x1f)), Ok(()));
    assert_eq!(c(8, Some(3), int(0x20)), BAD);
    assert_eq!(c(8, Some(65535), int(1)), BAD);
    assert_eq!(c(8, None, int(1)), NOT_FOUND);
    // Booleans, executables, unknown resources.
    assert_eq!(c(10, None, Value::Boolean(true)), Ok(()));
    assert_eq!(c(10, None, int(1)), BAD);
    assert_eq!(c(9, None, int(1)), NOT_ALLOWED);
    assert_eq!(c(12, None, int(1)), NOT_FOUND);
    // A resource-instance ID on a single resource is ignored unless the table says otherwise.
    assert_eq!(c(3, Some(0), int(1)), Ok(()));
    let strict = table(Guard::NoClients, 0, true);
    assert_eq!(strict.check_write(LOCAL, 3, Some(0), &int(1)), NOT_FOUND);
}

#[test]
fn guards_and_local_only_resources() {
    let v = int(5);
    let t = table(Guard::NoClients, 0, false);
    assert_eq!(t.check_write(CLI, 3, None, &v), UNAUTHORIZED);
    assert_eq!(
        t.check_write(CLI, 99, None, &v),
        UNAUTHORIZED,
        "before the lookup"
    );
    assert_eq!(t.check_write(SRV, 3, None, &v), Ok(()));
    assert_eq!(t.allow(CLI, true), UNAUTHORIZED);
    assert_eq!(t.allow(SRV, true), Ok(()));
    let t = table(Guard::BootstrapOnly, 0, false);
    for c in [SRV, CLI] {
        assert_eq!(t.check_write(c, 3, None, &v), UNAUTHORIZED);
        assert_eq!(t.allow(c, true), UNAUTHORIZED);
    }
    assert_eq!(t.check_write(BS, 3, None, &v), Ok(()));
    let t = table(Guard::InstancesBootstrapOnly, 1 << 3, false);
    assert_eq!(t.check_write(SRV, 5, None, &v), Ok(()));
    assert_eq!(t.check_write(SRV, 3, None, &v), NOT_ALLOWED);
    assert_eq!(t.check_write(BS, 3, None, &v), Ok(()));
    assert_eq!(t.check_write(LOCAL, 3, None, &v), Ok(()));
    assert_eq!(t.allow(SRV, false), Ok(()));
    assert_eq!(t.allow(SRV, true), NOT_ALLOWED);
    assert_eq!(t.allow(BS, true), Ok(()));
    assert_eq!(t.execute(SRV, true, 9), Ok(()));
    assert_eq!(t.execute(SRV, false, 9), NOT_FOUND);
    assert_eq!(t.execute(SRV, true, 3), NOT_ALLOWED);
    assert_eq!(
        table(Guard::NoClients, 0, false).execute(CLI, true, 9),
        UNAUTHORIZED
    );
}

#[test]
fn writes_store_and_reads_return() {
    let t = table(Guard::NoClients, 0, false);
    let mut i = Inst::default();
    let mut w = |res, ri, v: Value<'_>| t.write(LOCAL, res, ri, &v, Some(field_mut(&mut i, res)));
    w(0, None, text("abcd")).unwrap();
    w(0, None, text("xy")).unwrap();
    w(3, None, Value::Float(9.0)).unwrap();
    w(4, None, int(3)).unwrap();
    w(5, None, Value::Unsigned(u32::MAX.into())).unwrap();
    w(6, None, int(-10)).unwrap();
    w(7, None, Value::ObjLnk(21, 4)).unwrap();
    w(8, Some(5), int(1)).unwrap();
    w(8, Some(2), int(3)).unwrap();
    w(8, Some(5), int(7)).unwrap();
    w(10, None, Value::Boolean(true)).unwrap();
    w(11, None, Value::Opaque(&[9, 8])).unwrap();
    // A failed check stores nothing.
    assert_eq!(w(0, None, text("toolong")), TOO_LARGE);
    assert_eq!(w(3, None, int(11)), BAD);
    // A full entry list is 5.03.
    assert_eq!(w(8, Some(9), int(1)), Err(Error::ServiceUnavailable));
    // No instance: the check runs first, then 4.04.
    assert_eq!(t.write(CLI, 3, None, &int(5), None), UNAUTHORIZED);
    assert_eq!(t.write(LOCAL, 3, None, &int(11), None), BAD);
    assert_eq!(t.write(LOCAL, 3, None, &int(5), None), NOT_FOUND);

    let r = |res, ri| t.read(Some(field(&i, res)), res, ri);
    assert_eq!(r(0, None), Ok(text("xy")));
    assert_eq!(r(3, None), Ok(int(9)));
    assert_eq!(r(4, None), Ok(int(3)));
    assert_eq!(r(5, None), Ok(int(u32::MAX.into())));
    assert_eq!(r(6, None), Ok(int(-10)));
    assert_eq!(r(7, None), Ok(Value::ObjLnk(21, 4)));
    assert_eq!(r(8, Some(5)), Ok(int(7)));
    assert_eq!(r(8, Some(2)), Ok(int(3)));
    assert_eq!(r(8, Some(3)), Err(Error::NotFound));
    assert_eq!(r(8, None), Err(Error::NotFound));
    assert_eq!(r(10, None), Ok(Value::Boolean(true)));
    assert_eq!(r(11, None), Ok(Value::Opaque(&[9, 8])));
    assert_eq!(r(9, None), Err(Error::MethodNotAllowed));
    assert_eq!(r(12, None), Err(Error::NotFound));
    assert_eq!(t.read(None, 0, None), Err(Error::NotFound));

    // Entries in ascending order, cleared by `clear`.
    let next = |i: &Inst, after| Table::next_entry(field(i, 8), after);
    assert_eq!(next(&i, None), Some(2));
    assert_eq!(next(&i, Some(2)), Some(5));
    assert_eq!(next(&i, Some(5)), None);
    assert_eq!(Table::next_entry(field(&i, 3), None), None);
    Table::clear(Some(field_mut(&mut i, 3))).unwrap();
    assert_eq!(i.int, 9, "clearing a single resource keeps it");
    Table::clear(Some(field_mut(&mut i, 8))).unwrap();
    assert_eq!(next(&i, None), None);
    assert_eq!(Table::clear(None), NOT_FOUND);

    // An unset optional link is an absent resource.
    assert!(t.has(field(&i, 7), 7));
    i.link = None;
    assert!(!t.has(field(&i, 7), 7));
    assert_eq!(t.read(Some(field(&i, 7)), 7, None), Err(Error::NotFound));
    assert!(t.has(field(&i, 9), 9));
    assert!(!t.has(field(&i, 12), 12));
}

// ---------------------------------------------------------------- the objects on the layer

#[test]
fn every_table_has_one_check_per_resource() {
    use lwm2m::objects::{access_control, security, server};
    #[allow(unused_mut)] // extended with the C2C tables
    let mut tables = vec![&security::TABLE, &server::TABLE, &access_control::TABLE];
    #[cfg(feature = "c2c")]
    {
        use lwm2m::objects::{client, client_access_control, client_security, oscore};
        tables.extend([
            &client_security::TABLE,
            &client::TABLE,
            &client_access_control::TABLE,
            &oscore::TABLE,
        ]);
    }
    for t in tables {
        assert_eq!(t.checks.len(), t.def.resources.len(), "object {}", t.def.id);
        for r in t.def.resources {
            let (_, check) = t.row(r.id).unwrap();
            let ok = match r.data_type {
                T::String | T::Opaque => {
                    matches!(check, Check::Len(_) | Check::Text(_) | Check::Binding(_))
                }
                T::Integer => !matches!(check, Check::Any | Check::Link(_) | Check::Len(_)),
                _ => matches!(check, Check::Any | Check::Link(_)),
            };
            assert!(ok, "/{}/x/{} has {check:?}", t.def.id, r.id);
        }
    }
}

/// `check_write` and `write` agree, and a failed write changes nothing readable.
fn write(
    o: &mut dyn Object,
    caller: Caller,
    inst: u16,
    res: u16,
    v: Value<'_>,
) -> Result<(), Error> {
    let checked = o.check_write(caller, inst, res, None, &v);
    let before = o.read(inst, res, None).map(|v| format!("{v:?}"));
    let written = o.write(caller, inst, res, None, &v);
    assert_eq!(checked, written, "check and write of {res} = {v:?}");
    if written.is_err() {
        assert_eq!(before, o.read(inst, res, None).map(|v| format!("{v:?}")));
    }
    written
}

#[test]
fn security_object() {
    use lwm2m::objects::security::Security;
    let mut s = Security::default();
    assert_eq!(s.create(SRV, 0), UNAUTHORIZED);
    s.create(BS, 0).unwrap();
    assert_eq!(s.read(0, 2, None), Ok(int(3)), "created in NoSec");
    assert_eq!(write(&mut s, SRV, 0, 0, text("coap://x")), UNAUTHORIZED);
    assert_eq!(write(&mut s, BS, 0, 0, text("coap://[::1]")), Ok(()));
    assert_eq!(write(&mut s, BS, 0, 0, text(&"u".repeat(200))), TOO_LARGE);
    assert_eq!(write(&mut s, BS, 0, 2, int(4)), Ok(()));
    assert_eq!(write(&mut s, BS, 0, 2, int(5)), BAD);
    assert_eq!(write(&mut s, BS, 0, 10, int(0)), BAD);
    assert_eq!(write(&mut s, BS, 0, 10, int(65535)), BAD);
    assert_eq!(write(&mut s, BS, 0, 10, int(101)), Ok(()));
    assert_eq!(write(&mut s, BS, 0, 11, int(-1)), BAD);
    assert_eq!(write(&mut s, BS, 0, 1, int(1)), BAD);
    assert_eq!(write(&mut s, BS, 0, 5, Value::Opaque(&[1; 200])), TOO_LARGE);
    assert_eq!(write(&mut s, LOCAL, 0, 5, Value::Opaque(&[1, 2])), Ok(()));
    assert_eq!(write(&mut s, BS, 0, 6, int(1)), NOT_FOUND);
    assert!(!s.has_resource(0, 17));
    assert_eq!(write(&mut s, BS, 0, 17, Value::ObjLnk(21, 0)), Ok(()));
    assert!(s.has_resource(0, 17));
    assert!(!s.has_resource(1, 0), "no instance, no resource");
    assert_eq!(s.read(0, 10, None), Ok(int(101)));
    assert_eq!(s.read(1, 10, None), Err(Error::NotFound));
    assert_eq!(s.instances.get(0).unwrap().secret_key.as_slice(), &[1, 2]);
    assert_eq!(s.delete(SRV, 0), UNAUTHORIZED);
    s.delete(BS, 0).unwrap();
}

#[test]
fn server_object() {
    use lwm2m::objects::server::Server;
    let mut s = Server::default();
    assert_eq!(s.create(SRV, 0), NOT_ALLOWED);
    s.create(LOCAL, 0).unwrap();
    assert_eq!(write(&mut s, SRV, 0, 0, int(5)), NOT_ALLOWED);
    assert_eq!(write(&mut s, BS, 0, 0, int(5)), Ok(()));
    assert_eq!(write(&mut s, BS, 0, 0, int(0)), BAD);
    assert_eq!(write(&mut s, SRV, 0, 1, int(0)), BAD);
    assert_eq!(write(&mut s, SRV, 0, 1, int(60)), Ok(()));
    assert_eq!(write(&mut s, SRV, 0, 7, text("UQ")), Ok(()));
    assert_eq!(write(&mut s, SRV, 0, 7, text("UX")), BAD);
    assert_eq!(write(&mut s, SRV, 0, 7, text("UQSNT")), BAD);
    assert_eq!(write(&mut s, SRV, 0, 23, Value::Boolean(true)), Ok(()));
    assert_eq!(write(&mut s, SRV, 0, 4, int(1)), NOT_ALLOWED);
    assert_eq!(s.read(0, 8, None), Err(Error::MethodNotAllowed));
    assert_eq!(s.read(0, 0, None), Ok(int(5)));
    assert_eq!(s.read(0, 7, None), Ok(text("UQ")));
    let i = s.by_ssid(5).unwrap();
    assert!(i.mute_send && i.lifetime == 60);
    assert_eq!(s.execute(SRV, 0, 8, b""), Ok(()));
    assert_eq!(s.execute(SRV, 0, 1, b""), NOT_ALLOWED);
    assert_eq!(s.execute(SRV, 1, 8, b""), NOT_FOUND);
    assert_eq!(s.delete(SRV, 0), NOT_ALLOWED);
    s.delete(BS, 0).unwrap();
}

#[test]
fn access_control_object() {
    use lwm2m::objects::access_control::AccessControl;
    let mut a = AccessControl::default();
    assert_eq!(a.create(SRV, 0), NOT_ALLOWED);
    a.create(BS, 0).unwrap();
    assert_eq!(a.read(0, 3, None), Ok(int(65535)));
    assert_eq!(write(&mut a, SRV, 0, 0, int(3)), NOT_ALLOWED);
    assert_eq!(write(&mut a, BS, 0, 0, int(3)), Ok(()));
    assert_eq!(write(&mut a, SRV, 0, 3, int(1)), Ok(()));
    assert_eq!(a.check_write(SRV, 0, 3, Some(0), &int(1)), NOT_FOUND);
    assert_eq!(a.check_write(SRV, 0, 2, None, &int(1)), NOT_FOUND);
    assert_eq!(a.check_write(SRV, 0, 2, Some(1), &int(0x20)), BAD);
    a.write(SRV, 0, 2, Some(4), &int(0x1f)).unwrap();
    a.write(SRV, 0, 2, Some(1), &int(1)).unwrap();
    assert_eq!(a.next_resource_instance(0, 2, None), Some(1));
    assert_eq!(a.next_resource_instance(0, 2, Some(1)), Some(4));
    assert_eq!(a.read(0, 2, Some(4)), Ok(int(0x1f)));
    assert_eq!(a.find(3, 0).unwrap().entry(1), Some(1));
    a.clear_resource(0, 2).unwrap();
    assert_eq!(a.next_resource_instance(0, 2, None), None);
}

#[cfg(feature = "c2c")]
mod c2c {
    use super::*;
    use lwm2m::objects::client::Client;
    use lwm2m::objects::client_access_control::ClientAccessControl;
    use lwm2m::objects::client_security::ClientSecurity;
    use lwm2m::objects::oscore::Oscore;

    #[test]
    fn client_security_object() {
        let mut s = ClientSecurity::default();
        assert_eq!(s.create(CLI, 0), UNAUTHORIZED);
        s.create(SRV, 0).unwrap();
        assert_eq!(write(&mut s, CLI, 0, 0, text("coap://p")), UNAUTHORIZED);
        assert_eq!(write(&mut s, SRV, 0, 0, text("coaps://[::1]")), Ok(()));
        assert_eq!(write(&mut s, SRV, 0, 2, int(0)), Ok(()));
        assert_eq!(write(&mut s, SRV, 0, 2, int(1)), BAD);
        assert_eq!(write(&mut s, SRV, 0, 3, Value::Opaque(b"id")), Ok(()));
        assert_eq!(
            write(&mut s, SRV, 0, 5, Value::Opaque(&[7; 200])),
            TOO_LARGE
        );
        assert_eq!(write(&mut s, SRV, 0, 10, int(65535)), BAD);
        assert_eq!(write(&mut s, SRV, 0, 10, int(9)), Ok(()));
        assert_eq!(write(&mut s, SRV, 0, 17, Value::ObjLnk(0, 1)), BAD);
        assert_eq!(write(&mut s, SRV, 0, 17, Value::ObjLnk(21, 65535)), BAD);
        assert!(!s.has_resource(0, 17));
        assert!(
            s.has_resource(5, 0) && !s.has_resource(5, 17),
            "no instance"
        );
        assert_eq!(write(&mut s, SRV, 0, 17, Value::ObjLnk(21, 2)), Ok(()));
        assert!(s.has_resource(0, 17));
        assert_eq!(s.by_short_id(9).unwrap().oscore, Some((21, 2)));
        assert_eq!(s.read(0, 3, None), Ok(Value::Opaque(b"id")));
        assert_eq!(s.delete(CLI, 0), UNAUTHORIZED);
        s.delete(SRV, 0).unwrap();
    }

    #[test]
    fn client_object() {
        let mut c = Client::default();
        assert_eq!(c.create(CLI, 0), UNAUTHORIZED);
        c.create(SRV, 0).unwrap();
        c.create(SRV, 1).unwrap();
        assert_eq!(write(&mut c, SRV, 0, 0, int(7)), Ok(()));
        assert_eq!(
            write(&mut c, SRV, 1, 0, int(7)),
            BAD,
            "Short Client IDs are unique"
        );
        assert_eq!(write(&mut c, SRV, 0, 0, int(7)), Ok(()), "its own ID again");
        assert_eq!(write(&mut c, CLI, 1, 0, int(7)), UNAUTHORIZED);
        assert_eq!(write(&mut c, SRV, 1, 0, int(0)), BAD);
        assert_eq!(write(&mut c, SRV, 0, 1, int(-1)), BAD);
        assert_eq!(write(&mut c, SRV, 0, 1, int(300)), Ok(()));
        assert_eq!(write(&mut c, SRV, 0, 7, text("")), BAD);
        assert_eq!(
            write(&mut c, SRV, 0, 7, text("UQSNT")),
            BAD,
            "4.00, not 4.13"
        );
        assert_eq!(
            write(&mut c, SRV, 0, 7, text("X")),
            Ok(()),
            "no letter rule"
        );
        assert_eq!(write(&mut c, SRV, 0, 9, text(&"e".repeat(100))), BAD);
        assert_eq!(write(&mut c, SRV, 0, 9, text("peer")), Ok(()));
        assert_eq!(write(&mut c, SRV, 0, 4, int(1)), NOT_ALLOWED);
        assert_eq!(c.read(0, 8, None), Err(Error::MethodNotAllowed));
        assert_eq!(c.read(0, 5, None), Ok(int(86400)));
        let i = c.by_endpoint("peer").unwrap();
        assert_eq!((i.short_id, i.lifetime, i.binding.as_str()), (7, 300, "X"));
        assert_eq!(c.execute(CLI, 0, 4, b""), UNAUTHORIZED);
        assert_eq!(c.execute(SRV, 0, 4, b""), Ok(()));
        assert_eq!(c.execute(SRV, 0, 1, b""), NOT_ALLOWED);
        assert_eq!(c.execute(SRV, 3, 4, b""), NOT_FOUND);
        assert_eq!(c.delete(CLI, 0), UNAUTHORIZED);
        c.delete(SRV, 0).unwrap();
    }

    #[test]
    fn client_access_control_object() {
        let mut a = ClientAccessControl::default();
        assert_eq!(a.create(CLI, 0), UNAUTHORIZED);
        a.create(Caller::Server(4), 0).unwrap();
        a.create(BS, 1).unwrap();
        assert_eq!(
            a.read(0, 3, None),
            Ok(int(4)),
            "the creating server owns it"
        );
        assert_eq!(a.read(1, 3, None), Ok(int(65535)));
        assert_eq!(write(&mut a, CLI, 0, 0, int(3)), UNAUTHORIZED);
        assert_eq!(write(&mut a, SRV, 0, 0, int(65535)), BAD);
        assert_eq!(write(&mut a, SRV, 0, 0, int(3)), Ok(()));
        assert_eq!(write(&mut a, SRV, 0, 1, int(65535)), Ok(()));
        assert_eq!(write(&mut a, SRV, 0, 3, int(0)), BAD);
        assert_eq!(a.check_write(SRV, 0, 2, Some(65535), &int(1)), BAD);
        assert_eq!(a.check_write(SRV, 0, 2, Some(7), &int(0x40)), BAD);
        assert_eq!(a.check_write(SRV, 0, 1, Some(7), &int(1)), NOT_FOUND);
        a.write(SRV, 0, 2, Some(7), &int(0x3f)).unwrap();
        assert_eq!(a.find(3, 65535).unwrap().entry(7), Some(0x3f));
        assert_eq!(a.next_resource_instance(0, 2, None), Some(7));
        a.clear_resource(0, 2).unwrap();
        assert_eq!(a.read(0, 2, Some(7)), Err(Error::NotFound));
        assert_eq!(a.delete(CLI, 0), UNAUTHORIZED);
        a.delete(SRV, 0).unwrap();
    }

    #[test]
    fn oscore_object() {
        let mut o = Oscore::default();
        assert_eq!(o.create(CLI, 0), UNAUTHORIZED);
        o.create(SRV, 0).unwrap();
        assert_eq!(o.read(0, 3, None), Ok(int(10)));
        assert_eq!(o.read(0, 4, None), Ok(int(-10)));
        assert_eq!(write(&mut o, CLI, 0, 0, Value::Opaque(b"k")), UNAUTHORIZED);
        assert_eq!(write(&mut o, SRV, 0, 0, Value::Opaque(&[1; 16])), Ok(()));
        assert_eq!(write(&mut o, SRV, 0, 1, Value::Opaque(&[1; 8])), TOO_LARGE);
        assert_eq!(write(&mut o, SRV, 0, 1, Value::Opaque(&[1; 7])), Ok(()));
        assert_eq!(write(&mut o, SRV, 0, 5, Value::Opaque(&[1; 17])), TOO_LARGE);
        assert_eq!(write(&mut o, SRV, 0, 4, int(5)), Ok(()));
        assert_eq!(write(&mut o, SRV, 0, 3, int(1 << 40)), BAD);
        assert_eq!(write(&mut o, SRV, 0, 7, int(1)), NOT_FOUND);
        let i = o.instances.get(0).unwrap();
        assert_eq!((i.hmac, i.sender_id.len()), (5, 7));
        let text = format!("{i:?}");
        assert!(text.contains("<16 bytes redacted>"), "{text}");
        assert_eq!(o.delete(CLI, 0), UNAUTHORIZED);
        o.delete(SRV, 0).unwrap();
    }
}
