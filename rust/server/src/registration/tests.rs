use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use lwm2m::coap::{code, content_format as cf};
use lwm2m::Path;

use super::*;
use crate::transport::layer::Rng;
use crate::transport::msg::IncomingRequest;
use crate::transport::PeerSecurity;

fn q(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn req(c: u8, path: &[&str], query: &[&str], payload: &[u8]) -> IncomingRequest {
    IncomingRequest {
        peer: SocketAddr::from(([127, 0, 0, 1], 5683)),
        code: c,
        path: q(path),
        query: q(query),
        content_format: (!payload.is_empty()).then_some(cf::LINK_FORMAT),
        payload: payload.to_vec(),
        security: PeerSecurity::NoSec,
        block2: None,
    }
}

/// A registration made over DTLS answers only to that PSK identity: Updates and
/// De-registers in clear or from another identity get 4.03 and change nothing.
#[test]
fn secure_registration_is_bound_to_its_identity() {
    let mut reg = Registry::new();
    let mut rng = Rng::from_seed(3);
    let now = Instant::now();
    let dtls = |id: &[u8]| PeerSecurity::Dtls {
        identity: id.to_vec(),
    };
    let mut r = req(code::POST, &["rd"], &["ep=a", "lt=60"], b"</3/0>");
    r.security = dtls(b"id-a");
    let (reply, _) = handle(&mut reg, &r, now, &mut rng);
    assert_eq!(reply.code, code::CREATED);
    let id = reply.location[1].clone();
    assert_eq!(reg.by_id(&id).unwrap().security, dtls(b"id-a"));
    for sec in [PeerSecurity::NoSec, dtls(b"id-b")] {
        for (c, q) in [(code::POST, vec!["lt=5"]), (code::DELETE, vec![])] {
            let mut u = req(c, &["rd", &id], &q, b"");
            u.security = sec.clone();
            let (reply, outcome) = handle(&mut reg, &u, now, &mut rng);
            assert_eq!((reply.code, outcome), (code::FORBIDDEN, Outcome::Nothing));
        }
    }
    assert_eq!(reg.by_id(&id).unwrap().lifetime, 60);
    let mut u = req(code::DELETE, &["rd", &id], &[], b"");
    u.security = dtls(b"id-a");
    assert_eq!(handle(&mut reg, &u, now, &mut rng).0.code, code::DELETED);
}

#[test]
fn register_query_defaults_and_values() {
    let p = parse_register_query(&q(&["ep=node1"])).unwrap();
    assert_eq!(p.endpoint, "node1");
    assert_eq!(p.lifetime, DEFAULT_LIFETIME);
    assert_eq!(p.version, "1.0");
    assert_eq!(p.binding, "U");
    assert!(!p.queue_mode);
    let p = parse_register_query(&q(&[
        "ep=n",
        "lt=300",
        "lwm2m=1.1",
        "b=U",
        "Q",
        "sms=123",
        "x=y",
    ]))
    .unwrap();
    assert_eq!(
        p,
        RegisterParams {
            endpoint: "n".into(),
            lifetime: 300,
            version: "1.1".into(),
            binding: "U".into(),
            queue_mode: true,
            sms: Some("123".into()),
        }
    );
    assert!(
        parse_register_query(&q(&["ep=n", "b=UQ"]))
            .unwrap()
            .queue_mode
    );
}

#[test]
fn register_query_rejects_bad_input() {
    for bad in [
        &["lt=60"][..],
        &["ep="],
        &["ep"],
        &["ep=a", "lt=x"],
        &["ep=a", "lt=0"],
        &["ep=a", "lt=-1"],
        &["ep=a", "ep=b"],
        &["ep=a", "b=Z"],
        &["ep=a", "Q=1"],
        &["ep=a", "=x"],
    ] {
        assert!(parse_register_query(&q(bad)).is_err(), "{bad:?}");
    }
}

#[test]
fn update_query() {
    assert_eq!(parse_update_query(&[]).unwrap(), UpdateParams::default());
    let u = parse_update_query(&q(&["lt=20", "b=U"])).unwrap();
    assert_eq!(u.lifetime, Some(20));
    assert_eq!(u.binding.as_deref(), Some("U"));
    assert!(parse_update_query(&q(&["lt=abc"])).is_err());
}

#[test]
fn object_links_with_versions_and_instances() {
    let l = parse_object_links(
        br#"</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>,</3303>;ver=1.1,</3303/1>,</3303/0>"#,
    )
    .unwrap();
    assert_eq!(l.root_path, "/");
    assert_eq!(
        l.objects,
        vec![
            ObjectLink {
                object: 1,
                version: None,
                instances: vec![0]
            },
            ObjectLink {
                object: 3,
                version: None,
                instances: vec![0]
            },
            ObjectLink {
                object: 3303,
                version: Some("1.1".into()),
                instances: vec![0, 1]
            },
        ]
    );
}

#[test]
fn object_links_with_alternate_path() {
    let l =
        parse_object_links(br#"</lwm2m>;rt="oma.lwm2m",</lwm2m/1/0>,</lwm2m/3/0>,</x/5>"#).unwrap();
    assert_eq!(l.root_path, "/lwm2m");
    let ids: Vec<u16> = l.objects.iter().map(|o| o.object).collect();
    assert_eq!(ids, vec![1, 3]);
    let reg_path = Registration {
        id: "i".into(),
        endpoint: "e".into(),
        addr: SocketAddr::from(([127, 0, 0, 1], 1)),
        lifetime: 1,
        version: "1.1".into(),
        binding: "U".into(),
        queue_mode: false,
        sms: None,
        links: l,
        registered_at: SystemTime::now(),
        last_update: Instant::now(),
        security: PeerSecurity::NoSec,
        format: None,
        awake_until: None,
    }
    .uri_path(&Path::resource(3, 0, 1));
    assert_eq!(reg_path, vec!["lwm2m", "3", "0", "1"]);
    assert!(parse_object_links(&[0xff]).is_err());
}

#[test]
fn register_update_deregister_flow() {
    let mut reg = Registry::new();
    let mut rng = Rng::from_seed(1);
    let t0 = Instant::now();
    let (r, out) = handle(
        &mut reg,
        &req(code::POST, &["rd"], &["ep=a", "lt=10"], b""),
        t0,
        &mut rng,
    );
    assert_eq!(r.code, code::CREATED);
    assert_eq!(r.location.len(), 2);
    assert_eq!(r.location[0], "rd");
    let id = r.location[1].clone();
    assert!(matches!(out, Outcome::Registered { replaced: None, .. }));
    assert_eq!(reg.get("a").unwrap().lifetime, 10);

    let (r, out) = handle(
        &mut reg,
        &req(code::POST, &["rd", &id], &["lt=20"], b""),
        t0,
        &mut rng,
    );
    assert_eq!(r.code, code::CHANGED);
    assert!(
        matches!(out, Outcome::Updated { registration: ref g, lifetime_requested: None } if g.lifetime == 20)
    );

    let (r, _) = handle(
        &mut reg,
        &req(code::POST, &["rd", "nope"], &[], b""),
        t0,
        &mut rng,
    );
    assert_eq!(r.code, code::NOT_FOUND);
    let (r, _) = handle(
        &mut reg,
        &req(code::POST, &["rd"], &["lt=5"], b""),
        t0,
        &mut rng,
    );
    assert_eq!(r.code, code::BAD_REQUEST);

    let (r, out) = handle(
        &mut reg,
        &req(code::DELETE, &["rd", &id], &[], b""),
        t0,
        &mut rng,
    );
    assert_eq!(r.code, code::DELETED);
    assert!(matches!(out, Outcome::Deregistered(_)));
    assert!(reg.is_empty());
    let (r, _) = handle(
        &mut reg,
        &req(code::DELETE, &["rd", &id], &[], b""),
        t0,
        &mut rng,
    );
    assert_eq!(r.code, code::NOT_FOUND);
}

#[test]
fn reregistration_replaces_and_lifetime_expires() {
    let mut reg = Registry::new();
    let mut rng = Rng::from_seed(2);
    let t0 = Instant::now();
    let (r1, _) = handle(
        &mut reg,
        &req(code::POST, &["rd"], &["ep=a", "lt=10"], b""),
        t0,
        &mut rng,
    );
    let (r2, out) = handle(
        &mut reg,
        &req(code::POST, &["rd"], &["ep=a", "lt=30"], b""),
        t0,
        &mut rng,
    );
    assert!(
        matches!(out, Outcome::Registered { replaced: Some(ref o), .. } if o.id == r1.location[1])
    );
    assert_eq!(reg.len(), 1);
    assert!(reg.get_by_id(&r1.location[1]).is_none());
    assert!(reg.get_by_id(&r2.location[1]).is_some());
    assert!(reg.expire(t0 + Duration::from_secs(29)).is_empty());
    let gone = reg.expire(t0 + Duration::from_secs(30));
    assert_eq!(gone.len(), 1);
    assert!(reg.is_empty());
}
