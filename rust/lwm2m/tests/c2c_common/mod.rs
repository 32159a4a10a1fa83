//! Helpers of the C2C tests: servers with distinct URIs, peers for requesting clients, and the
//! one-message installs a server performs (Write-Composite extension).
#![allow(dead_code)]

use crate::common::*;
use lwm2m::coap::{code, content_format as cf};
use lwm2m::engine::{Engine, Identity, Peer, ServerConfig};
use lwm2m::objects::security;
use lwm2m::Value;

/// The URI of server `ssid` in these tests.
pub fn srv_uri(ssid: u16) -> String {
    format!("coap://s{ssid}.example:5683")
}

/// An engine like `common::engine` whose servers have distinct URIs.
pub fn host(ssids: &[u16]) -> Engine<'static> {
    let mut e = engine(&[]);
    for &s in ssids {
        let uri: &'static str = Box::leak(srv_uri(s).into_boxed_str());
        e.add_server(&ServerConfig {
            ssid: s,
            uri,
            lifetime: 300,
            mode: security::mode::NOSEC,
            identity: b"",
            secret_key: b"",
        })
        .unwrap();
    }
    e
}

/// A requesting client authenticated by the transport as Short Client ID `cid`.
pub fn client(cid: u16) -> Peer {
    Peer {
        identity: Identity::Client(cid),
        endpoint: 5000 + u32::from(cid),
        source: 5000 + u32::from(cid),
    }
}

/// An owned SenML record list for [`ipatch`].
pub type Recs = Vec<(String, Value<'static>)>;

/// Records of an account: 11001/`inst` and 11000/`inst` for Short Client ID `cid`, peer
/// endpoint `ep`, `lifetime` seconds, PSK identity `psk-<cid>`.
pub fn account_recs(inst: u16, cid: u16, ep: &str, lifetime: u32) -> Recs {
    let ep: &'static str = Box::leak(ep.to_string().into_boxed_str());
    let ident: &'static [u8] = Box::leak(format!("psk-{cid}").into_bytes().into_boxed_slice());
    let uri: &'static str = Box::leak(format!("coaps://{ep}.example").into_boxed_str());
    vec![
        (format!("/11001/{inst}/0"), Value::Integer(cid.into())),
        (format!("/11001/{inst}/1"), Value::Integer(lifetime.into())),
        (format!("/11001/{inst}/9"), Value::String(ep)),
        (format!("/11000/{inst}/0"), Value::String(uri)),
        (format!("/11000/{inst}/2"), Value::Integer(0)),
        (format!("/11000/{inst}/3"), Value::Opaque(ident)),
        (format!("/11000/{inst}/5"), Value::Opaque(&[0x5a; 16])),
        (format!("/11000/{inst}/10"), Value::Integer(cid.into())),
    ]
}

/// Records of an 11002 instance `id` governing `/obj/inst` with `entries` (cid, rights)
/// and `owner`.
pub fn acl_recs(id: u16, obj: u16, inst: u16, entries: &[(u16, u8)], owner: u16) -> Recs {
    let mut v = vec![
        (format!("/11002/{id}/0"), Value::Integer(obj.into())),
        (format!("/11002/{id}/1"), Value::Integer(inst.into())),
        (format!("/11002/{id}/3"), Value::Integer(owner.into())),
    ];
    for (c, r) in entries {
        v.push((format!("/11002/{id}/2/{c}"), Value::Integer((*r).into())));
    }
    v
}

/// The Write-Composite (iPATCH on `/`, SenML CBOR) of `recs` from server `ssid`.
pub fn ipatch(e: &mut Engine<'_>, ssid: u16, recs: &Recs, now: u64) -> Resp {
    let refs: Vec<(&str, Value<'_>)> = recs.iter().map(|(p, v)| (p.as_str(), *v)).collect();
    let body = senml("/", &refs);
    send(
        e,
        server(ssid),
        &req(code::IPATCH, "/").cf(cf::SENML_CBOR).body(&body),
        now,
    )
}

/// Installs an account and grants in one message from server `ssid`; asserts 2.04.
pub fn install(e: &mut Engine<'_>, ssid: u16, recs: &Recs, now: u64) {
    let r = ipatch(e, ssid, recs, now);
    assert_eq!(r.code, code::CHANGED, "install {recs:?}");
}

/// Number of instances of an object.
pub fn count(e: &Engine<'_>, oid: u16) -> usize {
    let o = e.object(oid).unwrap();
    let mut n = 0;
    let mut cur = None;
    while let Some(i) = o.next_instance(cur) {
        cur = Some(i);
        n += 1;
    }
    n
}
