//! Shared helpers for the engine's black-box tests: an engine with a few objects, request
//! building, response parsing and payload encoding / decoding through the public API.
#![allow(dead_code)]

use lwm2m::coap::{self, code, content_format as cf, option, Message, MessageBuilder, MessageType};
use lwm2m::codec::{self, Record, Writer};
use lwm2m::dm::Object;
use lwm2m::engine::{Destination, Engine, Identity, Outgoing, Peer, ServerConfig};
use lwm2m::objects::{
    access_control, device::Device, light_control::LightControl, security, server,
    temperature::Temperature,
};
use lwm2m::{DataType, Path, Value};

/// Response buffer size used unless a test asks for another.
pub const RESP_BUF: usize = 1200;

/// Objects every test engine holds besides 0, 1 and 2.
pub struct Objects {
    pub device: &'static mut Device,
    pub temp: &'static mut Temperature<2>,
    pub light: &'static mut LightControl<4>,
}

/// A leaked engine with Device (3), Temperature (3303, instances 0 and 1) and Light Control
/// (3311, empty), and one DM server account per `ssids` entry.
pub fn engine(ssids: &[u16]) -> Engine<'static> {
    let device: &'static mut Device = Box::leak(Box::new(Device::new("ACME", "M1", "SN42")));
    let temp: &'static mut Temperature<2> =
        Box::leak(Box::new(Temperature::new(21.5, (-40.0, 85.0))));
    let light: &'static mut LightControl<4> = Box::leak(Box::new(LightControl::new()));
    let objs: Vec<&'static mut dyn Object> = vec![device, temp, light];
    let objs: &'static mut [&'static mut dyn Object] = Box::leak(objs.into_boxed_slice());
    let mut e = Engine::new("node-1", objs, 0x1234_5678).unwrap();
    for &s in ssids {
        add_server(&mut e, s, 300);
    }
    e
}

/// Adds a NoSec DM server account.
pub fn add_server(e: &mut Engine<'_>, ssid: u16, lifetime: u32) {
    e.add_server(&ServerConfig {
        ssid,
        uri: "coap://[2001:db8::1]:5683",
        lifetime,
        mode: security::mode::NOSEC,
        identity: b"",
        secret_key: b"",
    })
    .unwrap();
}

pub fn server(ssid: u16) -> Peer {
    Peer {
        identity: Identity::Server(ssid),
        endpoint: u32::from(ssid),
        source: u32::from(ssid),
    }
}

pub fn bootstrap() -> Peer {
    Peer {
        identity: Identity::Bootstrap,
        endpoint: 1000,
        source: 1000,
    }
}

pub fn unauth() -> Peer {
    Peer {
        identity: Identity::Unauthenticated,
        endpoint: 2000,
        source: 2000,
    }
}

/// A request under construction. Options are sorted by number when built.
#[derive(Clone, Debug)]
pub struct Req {
    pub code: u8,
    pub token: Vec<u8>,
    pub opts: Vec<(u16, Vec<u8>)>,
    pub payload: Vec<u8>,
}

/// A request with the Uri-Path of `path` (`"/3/0/1"`; `"/"` for none).
pub fn req(c: u8, path: &str) -> Req {
    let mut r = Req {
        code: c,
        token: vec![0x7a, 0x01],
        opts: vec![],
        payload: vec![],
    };
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        r.opts.push((option::URI_PATH, seg.as_bytes().to_vec()));
    }
    r
}

pub fn get(path: &str) -> Req {
    req(code::GET, path)
}

impl Req {
    pub fn opt(mut self, n: u16, v: &[u8]) -> Self {
        self.opts.push((n, v.to_vec()));
        self
    }
    pub fn uint(self, n: u16, v: u32) -> Self {
        let mut b = [0; 4];
        let e = coap::encode_uint(v, &mut b).to_vec();
        self.opt(n, &e)
    }
    pub fn accept(self, f: u16) -> Self {
        self.uint(option::ACCEPT, f.into())
    }
    pub fn cf(self, f: u16) -> Self {
        self.uint(option::CONTENT_FORMAT, f.into())
    }
    pub fn query(self, q: &str) -> Self {
        self.opt(option::URI_QUERY, q.as_bytes())
    }
    pub fn observe(self, v: u32) -> Self {
        self.uint(option::OBSERVE, v)
    }
    pub fn body(mut self, p: &[u8]) -> Self {
        self.payload = p.to_vec();
        self
    }
    pub fn token(mut self, t: &[u8]) -> Self {
        self.token = t.to_vec();
        self
    }
    /// The CoAP bytes (CON, message ID 0x1234).
    pub fn bytes(&self) -> Vec<u8> {
        let mut opts = self.opts.clone();
        opts.sort_by_key(|o| o.0);
        let mut buf = vec![0u8; 4096];
        let mut b = MessageBuilder::new(&mut buf, MessageType::Con, self.code, 0x1234, &self.token)
            .unwrap();
        for (n, v) in &opts {
            b.option(*n, v).unwrap();
        }
        b.payload(&self.payload).unwrap();
        let n = b.finish();
        buf.truncate(n);
        buf
    }
}

/// A parsed message, owned.
#[derive(Clone, Debug, PartialEq)]
pub struct Resp {
    pub mtype: MessageType,
    pub code: u8,
    pub token: Vec<u8>,
    pub opts: Vec<(u16, Vec<u8>)>,
    pub payload: Vec<u8>,
}

impl Resp {
    pub fn parse(bytes: &[u8]) -> Resp {
        let m = Message::parse(bytes).expect("engine output must parse as CoAP");
        Resp {
            mtype: m.mtype,
            code: m.code,
            token: m.token.to_vec(),
            opts: m.options().map(|o| (o.number, o.value.to_vec())).collect(),
            payload: m.payload.to_vec(),
        }
    }
    pub fn opt(&self, n: u16) -> Option<&[u8]> {
        self.opts.iter().find(|o| o.0 == n).map(|o| &o.1[..])
    }
    pub fn all(&self, n: u16) -> Vec<&[u8]> {
        self.opts
            .iter()
            .filter(|o| o.0 == n)
            .map(|o| &o.1[..])
            .collect()
    }
    pub fn uint(&self, n: u16) -> Option<u32> {
        self.opt(n).map(|v| coap::decode_uint(v).unwrap())
    }
    pub fn text(&self) -> String {
        String::from_utf8(self.payload.clone()).unwrap()
    }
    /// Uri-Path or Location-Path segments joined with `/`.
    pub fn path_of(&self, n: u16) -> String {
        self.all(n)
            .iter()
            .map(|s| format!("/{}", std::str::from_utf8(s).unwrap()))
            .collect()
    }
    pub fn queries(&self) -> Vec<String> {
        self.all(option::URI_QUERY)
            .iter()
            .map(|s| String::from_utf8(s.to_vec()).unwrap())
            .collect()
    }
}

/// Sends `r` from `peer` at `now` and returns the response (response buffer `RESP_BUF`).
pub fn send(e: &mut Engine<'_>, peer: Peer, r: &Req, now: u64) -> Resp {
    send_with(e, peer, r, now, RESP_BUF)
}

/// Like [`send`] with a response buffer of `size` bytes.
pub fn send_with(e: &mut Engine<'_>, peer: Peer, r: &Req, now: u64, size: usize) -> Resp {
    let bytes = r.bytes();
    send_raw(e, peer, &bytes, now, size).expect("request must parse")
}

/// Feeds raw bytes (if they parse as CoAP) and returns the parsed response.
pub fn send_raw(
    e: &mut Engine<'_>,
    peer: Peer,
    bytes: &[u8],
    now: u64,
    size: usize,
) -> Option<Resp> {
    let m = Message::parse(bytes).ok()?;
    let mut buf = vec![0u8; size];
    let mut b = MessageBuilder::new(&mut buf, MessageType::Ack, 0, m.message_id, m.token).ok()?;
    e.handle_request(&peer, &m, now, &mut b);
    let n = b.finish();
    let r = Resp::parse(&buf[..n]);
    assert!(
        coap::code::is_response(r.code),
        "not a response code: {:#x}",
        r.code
    );
    assert_eq!(r.token, m.token, "response token");
    Some(r)
}

/// Polls once; returns the outgoing message parsed.
pub fn poll(e: &mut Engine<'_>, now: u64) -> Option<(Outgoing, Resp)> {
    let mut buf = vec![0u8; 1500];
    let o = e.poll(now, &mut buf)?;
    Some((o, Resp::parse(&buf[..o.len])))
}

/// Polls until nothing more is due at `now`, collecting everything.
pub fn poll_all(e: &mut Engine<'_>, now: u64) -> Vec<(Outgoing, Resp)> {
    let mut v = vec![];
    while let Some(x) = poll(e, now) {
        v.push(x);
        assert!(v.len() < 100, "poll keeps producing messages");
    }
    v
}

/// Answers an outgoing request with `c` (and Location-Path segments).
pub fn answer(e: &mut Engine<'_>, to: &Resp, c: u8, location: &[&str], now: u64) {
    let mut buf = vec![0u8; 256];
    let mut b = MessageBuilder::new(&mut buf, MessageType::Ack, c, 1, &to.token).unwrap();
    for s in location {
        b.option(option::LOCATION_PATH, s.as_bytes()).unwrap();
    }
    let n = b.finish();
    let m = Message::parse(&buf[..n]).unwrap();
    e.handle_response(&m, now);
}

/// Registers every configured server at `now` (Register answered with 2.01 /rd/<ssid>).
pub fn register_all(e: &mut Engine<'_>, now: u64) {
    e.start(now);
    for (o, r) in poll_all(e, now) {
        if let Destination::Server(s) = o.dest {
            let loc = format!("{s}");
            answer(e, &r, code::CREATED, &["rd", &loc], now);
        }
    }
}

/// An owned value for comparisons.
#[derive(Clone, Debug, PartialEq)]
pub enum V {
    I(i64),
    U(u64),
    F(f64),
    B(bool),
    S(String),
    O(Vec<u8>),
    T(i64),
    L(u16, u16),
}

impl From<&Value<'_>> for V {
    fn from(v: &Value<'_>) -> V {
        match *v {
            Value::Integer(x) => V::I(x),
            Value::Unsigned(x) => V::U(x),
            Value::Float(x) => V::F(x),
            Value::Boolean(x) => V::B(x),
            Value::String(s) | Value::CoreLnk(s) => V::S(s.into()),
            Value::Opaque(b) => V::O(b.into()),
            Value::Time(t) => V::T(t),
            Value::ObjLnk(o, i) => V::L(o, i),
        }
    }
}

/// Declared types of the test engine's objects.
pub fn type_of(p: &Path) -> Option<DataType> {
    let defs = [
        &security::DEF,
        &server::DEF,
        &access_control::DEF,
        &lwm2m::objects::device::DEF,
        &lwm2m::objects::temperature::DEF,
        &lwm2m::objects::light_control::DEF,
        #[cfg(feature = "fota")]
        &lwm2m::firmware::DEF,
    ];
    let d = defs.iter().find(|d| Some(d.id) == p.object_id())?;
    let r = d.resource(p.resource_id()?)?;
    match (r.multiple, p.len()) {
        (_, 3) | (true, 4) => Some(r.data_type),
        _ => None,
    }
}

/// Decodes a payload into (path, value) pairs.
pub fn decode(format: u16, base: &str, payload: &[u8]) -> Vec<(Path, V)> {
    let base = Path::parse_str(base).unwrap();
    let t = |p: &Path| type_of(p);
    codec::Decoder::new(format, &base, payload, &t)
        .unwrap()
        .map(|r| {
            let r = r.expect("payload decodes");
            (r.path, V::from(&r.value))
        })
        .collect()
}

/// Decodes a response payload by its Content-Format.
pub fn values(r: &Resp, base: &str) -> Vec<(Path, V)> {
    let f = r.uint(option::CONTENT_FORMAT).expect("Content-Format") as u16;
    decode(f, base, &r.payload)
}

/// The one value of a response.
pub fn value(r: &Resp, base: &str) -> V {
    let v = values(r, base);
    assert_eq!(v.len(), 1, "{v:?}");
    v[0].1.clone()
}

/// Encodes records (sorted by path) in `format` relative to `base`.
pub fn encode(format: u16, base: &str, recs: &[(&str, Value<'_>)]) -> Vec<u8> {
    let base = Path::parse_str(base).unwrap();
    let mut rs: Vec<Record<'_>> = recs
        .iter()
        .map(|(p, v)| Record {
            path: Path::parse_str(p).unwrap(),
            value: *v,
        })
        .collect();
    rs.sort_by_key(|r| r.path);
    let mut buf = vec![0u8; 2048];
    let mut w = Writer::new(&mut buf);
    codec::encode(format, &base, &&rs[..], &mut w).unwrap();
    let n = w.total();
    buf.truncate(n);
    buf
}

pub fn tlv(base: &str, recs: &[(&str, Value<'_>)]) -> Vec<u8> {
    encode(cf::LWM2M_TLV, base, recs)
}

pub fn senml(base: &str, recs: &[(&str, Value<'_>)]) -> Vec<u8> {
    encode(cf::SENML_CBOR, base, recs)
}

/// A SenML CBOR list of names (Read-Composite request body).
pub fn senml_paths(paths: &[&str]) -> Vec<u8> {
    assert!(paths.len() < 24);
    let mut v = vec![0x80 | paths.len() as u8];
    for p in paths {
        assert!(p.len() < 24);
        v.extend([0xa1, 0x00, 0x60 | p.len() as u8]);
        v.extend(p.as_bytes());
    }
    v
}

/// Reads one resource as `peer` (text/plain unless opaque) and returns its value, or the
/// error code.
pub fn read_value(e: &mut Engine<'_>, peer: Peer, path: &str, now: u64) -> Result<V, u8> {
    let r = send(e, peer, &get(path).accept(cf::LWM2M_TLV), now);
    if r.code != code::CONTENT {
        return Err(r.code);
    }
    Ok(value(&r, path))
}

/// Reads a value with full rights (the engine's own view), for snapshots.
pub fn peek(e: &Engine<'_>, path: &str) -> Option<V> {
    let p = Path::parse_str(path).unwrap();
    let o = e.object(p.object_id()?)?;
    o.read(p.instance_id()?, p.resource_id()?, p.resource_instance_id())
        .ok()
        .map(|v| V::from(&v))
}

/// Writes text/plain to a resource.
pub fn put_text(e: &mut Engine<'_>, peer: Peer, path: &str, text: &str, now: u64) -> Resp {
    send(
        e,
        peer,
        &req(code::PUT, path).cf(cf::TEXT).body(text.as_bytes()),
        now,
    )
}

/// Creates a Light Control instance as `peer` (empty payload) and returns the response.
pub fn create_light(e: &mut Engine<'_>, peer: Peer, now: u64) -> Resp {
    send(e, peer, &req(code::POST, "/3311"), now)
}

/// Adds an ACL instance through the bootstrap interface: `/2/<id>` governing `/obj/inst` with
/// `entries` (ssid, rights) and `owner`.
pub fn bs_acl(
    e: &mut Engine<'_>,
    id: u16,
    obj: u16,
    inst: u16,
    entries: &[(u16, u16)],
    owner: u16,
) {
    let base = format!("/2/{id}");
    let mut recs: Vec<(String, Value<'_>)> = vec![
        (format!("{base}/0"), Value::Integer(obj.into())),
        (format!("{base}/1"), Value::Integer(inst.into())),
        (format!("{base}/3"), Value::Integer(owner.into())),
    ];
    for (s, r) in entries {
        recs.push((format!("{base}/2/{s}"), Value::Integer((*r).into())));
    }
    let refs: Vec<(&str, Value<'_>)> = recs.iter().map(|(p, v)| (p.as_str(), *v)).collect();
    let body = tlv(&base, &refs);
    let r = send(
        e,
        bootstrap(),
        &req(code::PUT, &base).cf(cf::LWM2M_TLV).body(&body),
        0,
    );
    assert_eq!(r.code, code::CHANGED, "bootstrap ACL write");
}
