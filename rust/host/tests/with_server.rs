//! The host client against the project's LwM2M server (library API), both on loopback.
//! Every wait is bounded.

use std::net::{SocketAddr, UdpSocket};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use lwm2m::coap::{code, content_format as cf, option, Message, MessageBuilder, MessageType};
use lwm2m::engine::RegistrationState;
use lwm2m::objects::device::DeviceAction;
use lwm2m::Path;
use lwm2m_host::client::{self, wait_for_event, ClientConfig, ClientHandle, OwnedValue};
use lwm2m_server::registration::RegistryLimits;
use lwm2m_server::{Attributes, Config, Event, OwnedRecord, Server, ServerHandle};

const WAIT: Duration = Duration::from_secs(10);

fn wait_server(rx: &Receiver<Event>, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
    let end = Instant::now() + WAIT;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(e) if pred(&e) => return e,
            Ok(_) => {}
            Err(_) => panic!("server event {what} did not arrive within {WAIT:?}"),
        }
    }
}

struct Setup {
    server: ServerHandle,
    events: Receiver<Event>,
    client: Option<ClientHandle>,
    client_events: Receiver<client::Event>,
    ep: String,
}

impl Setup {
    fn client(&self) -> &ClientHandle {
        self.client.as_ref().expect("client running")
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        if let Some(c) = self.client.take() {
            c.stop();
        }
        self.server.shutdown();
    }
}

/// A server on `bind` and a registered client with one sensor and one light.
fn setup_on(ep: &str, bind: &str, modify: impl FnOnce(&mut ClientConfig)) -> Setup {
    let config = Config {
        coap_addr: bind.into(),
        ..Default::default()
    };
    setup_with(ep, config, modify)
}

/// [`setup_on`] with the server's configuration.
fn setup_with(ep: &str, config: Config, modify: impl FnOnce(&mut ClientConfig)) -> Setup {
    let server = Server::start(Config {
        request_timeout: Duration::from_secs(8),
        ..config
    })
    .expect("server starts");
    let events = server.subscribe();
    let addr = server.coap_addr();
    let mut cfg = ClientConfig::new(ep).server(&format!("coap://{addr}"));
    cfg.temperatures = 1;
    cfg.lights = 1;
    cfg.lifetime = 120;
    cfg.seed = Some(7);
    modify(&mut cfg);
    let (client, client_events) = client::spawn_with_events(cfg).expect("client starts");
    let s = Setup {
        server,
        events,
        client: Some(client),
        client_events,
        ep: ep.into(),
    };
    wait_server(
        &s.events,
        "registered",
        |e| matches!(e, Event::Registered { registration, .. } if registration.endpoint == ep),
    );
    // The server reports the registration when it answers; the client knows once the answer
    // arrived.
    assert!(
        wait_for_event(&s.client_events, Duration::from_secs(10), |e| {
            matches!(e, client::Event::Registered { .. })
        })
        .is_some(),
        "client saw no 2.01"
    );
    s
}

fn setup(ep: &str) -> Setup {
    setup_on(ep, "127.0.0.1:0", |_| {})
}

fn value(records: &[OwnedRecord], path: &str) -> Option<lwm2m_server::OwnedValue> {
    let p = Path::parse_str(path).ok()?;
    records
        .iter()
        .find(|r| r.path == p)
        .map(|r| r.value.clone())
}

#[test]
fn register_read_write_execute_deregister() {
    let mut s = setup("it-basic");
    assert_eq!(
        s.client().registration_state(1).unwrap(),
        RegistrationState::Registered
    );
    let reg = s.server.client(&s.ep).expect("registered");
    assert_eq!(reg.lifetime, 120);
    assert!(reg.addr.ip().is_loopback());

    for format in [cf::LWM2M_TLV, cf::SENML_CBOR] {
        let r = s
            .server
            .read(&s.ep, &Path::instance(3, 0), Some(format))
            .unwrap();
        assert_eq!(r.code, code::CONTENT, "format {format}");
        assert_eq!(r.content_format, Some(format));
        let v = r.values().unwrap();
        use lwm2m_server::OwnedValue as V;
        assert_eq!(value(&v, "/3/0/0"), Some(V::String("lwm2m-c2c".into())));
        assert_eq!(value(&v, "/3/0/1"), Some(V::String("host".into())));
        assert_eq!(value(&v, "/3/0/2"), Some(V::String("it-basic".into())));
        assert!(
            matches!(value(&v, "/3/0/13"), Some(V::Time(t) | V::Integer(t)) if t > 1_600_000_000),
            "{v:?}"
        );
    }
    let r = s
        .server
        .read(&s.ep, &Path::resource(3303, 0, 5700), None)
        .unwrap();
    assert!(matches!(
        value(&r.values().unwrap(), "/3303/0/5700"),
        Some(lwm2m_server::OwnedValue::Float(_))
    ));

    // Write the light on, in SenML CBOR and in TLV, and read it back.
    let on = Path::resource(3311, 0, 5850);
    for (format, v) in [(cf::SENML_CBOR, true), (cf::LWM2M_TLV, false)] {
        let rec = OwnedRecord {
            path: on,
            value: lwm2m_server::OwnedValue::Boolean(v),
        };
        let w = s
            .server
            .write(&s.ep, &on, &[rec], Some(format), true)
            .unwrap();
        assert_eq!(w.code, code::CHANGED);
        let r = s.server.read(&s.ep, &on, Some(cf::TEXT)).unwrap();
        assert_eq!(r.payload, if v { b"1" } else { b"0" });
    }
    // A read-only resource refuses.
    let model = Path::resource(3, 0, 1);
    let rec = OwnedRecord {
        path: model,
        value: lwm2m_server::OwnedValue::String("x".into()),
    };
    let w = s.server.write(&s.ep, &model, &[rec], None, true).unwrap();
    assert_eq!(w.code, code::METHOD_NOT_ALLOWED);

    // Execute: reset min/max of the sensor, and reboot (reported, simulated).
    let r = s
        .server
        .execute(&s.ep, &Path::resource(3303, 0, 5605), None)
        .unwrap();
    assert_eq!(r.code, code::CHANGED);
    let r = s
        .server
        .execute(&s.ep, &Path::resource(3, 0, 4), None)
        .unwrap();
    assert_eq!(r.code, code::CHANGED);
    // Every request was logged with its code.
    let served = wait_for_event(&s.client_events, WAIT, |e| {
        matches!(e, client::Event::RequestServed { method: code::POST, path, .. } if path == "/3/0/4")
    })
    .expect("request event");
    assert!(served.to_string().contains("-> 2.04"), "{served}");

    // The reboot is reported after the response went out.
    assert!(wait_for_event(&s.client_events, WAIT, |e| {
        *e == client::Event::DeviceAction(DeviceAction::Reboot)
    })
    .is_some());

    // Stop: the client de-registers first.
    s.client.take().unwrap().stop();
    wait_server(
        &s.events,
        "deregistered",
        |e| matches!(e, Event::Deregistered { registration } if registration.endpoint == "it-basic"),
    );
    assert!(s.server.client("it-basic").is_none());
}

#[test]
fn create_and_delete_light() {
    let s = setup("it-create");
    let rec = OwnedRecord {
        path: Path::resource(3311, 5, 5851),
        value: lwm2m_server::OwnedValue::Integer(40),
    };
    let r = s
        .server
        .create(&s.ep, 3311, Some(5), &[rec], Some(cf::LWM2M_TLV))
        .unwrap();
    assert_eq!(r.code, code::CREATED);
    let r = s
        .server
        .read(&s.ep, &Path::resource(3311, 5, 5851), Some(cf::TEXT))
        .unwrap();
    assert_eq!(r.payload, b"40");
    // The registration is updated with the new instance.
    wait_server(
        &s.events,
        "updated",
        |e| matches!(e, Event::Updated { registration } if registration.endpoint == "it-create"),
    );
    let d = s.server.delete(&s.ep, &Path::instance(3311, 5)).unwrap();
    assert_eq!(d.code, code::DELETED);
    let r = s
        .server
        .read(&s.ep, &Path::instance(3311, 5), None)
        .unwrap();
    assert_eq!(r.code, code::NOT_FOUND);
}

#[test]
fn observe_notifications_attributes_and_discover() {
    let s = setup("it-observe");
    let path = Path::resource(3303, 0, 5700);
    let r = s.server.observe(&s.ep, &path, None).unwrap();
    assert_eq!(r.code, code::CONTENT);
    assert!(r.observe.is_some());
    assert_eq!(s.client().observation_count().unwrap(), 1);

    let mut last_seq = r.observe;
    for v in [30.5, 31.25] {
        s.client()
            .set_value(path, OwnedValue::Float(v))
            .expect("set_value");
        let n = wait_server(
            &s.events,
            "notification",
            |e| matches!(e, Event::Notification { path: p, .. } if *p == path),
        );
        let Event::Notification { response, .. } = n else {
            unreachable!()
        };
        assert_eq!(
            value(&response.values().unwrap(), "/3303/0/5700"),
            Some(lwm2m_server::OwnedValue::Float(v))
        );
        assert!(response.observe > last_seq, "{response:?}");
        last_seq = response.observe;
    }
    assert!(wait_for_event(&s.client_events, WAIT, |e| matches!(
        e,
        client::Event::NotificationSent { path, .. } if path == "/3303/0/5700"
    ))
    .is_some());

    // Write-Attributes pmin / pmax, visible in Discover.
    let attrs = Attributes {
        pmin: Some(0),
        pmax: Some(1),
        ..Default::default()
    };
    let w = s.server.write_attributes(&s.ep, &path, &attrs).unwrap();
    assert_eq!(w.code, code::CHANGED);
    let d = s.server.discover(&s.ep, &path).unwrap();
    assert_eq!(d.code, code::CONTENT);
    assert_eq!(d.content_format, Some(cf::LINK_FORMAT));
    let links = String::from_utf8(d.payload).unwrap();
    assert!(links.contains("</3303/0/5700>"), "{links}");
    assert!(links.contains("pmax=1"), "{links}");
    // pmax: a notification comes without any change.
    wait_server(
        &s.events,
        "pmax notification",
        |e| matches!(e, Event::Notification { path: p, .. } if *p == path),
    );

    // Discover on the object lists its instance and resources.
    let d = s.server.discover(&s.ep, &Path::object(3303)).unwrap();
    let links = String::from_utf8(d.payload).unwrap();
    assert!(links.contains("</3303/0>"), "{links}");

    // Active cancel ends the observation on the client.
    let c = s.server.cancel_observe(&s.ep, &path).unwrap();
    assert_eq!(c.code, code::CONTENT);
    assert_eq!(s.client().observation_count().unwrap(), 0);
}

#[test]
fn ipv6_loopback() {
    let Ok(probe) = UdpSocket::bind("[::1]:0") else {
        eprintln!("no IPv6 loopback here; skipped");
        return;
    };
    drop(probe);
    let s = setup_on("it-v6", "[::1]:0", |_| {});
    let reg = s.server.client("it-v6").unwrap();
    assert!(reg.addr.is_ipv6());
    let r = s
        .server
        .read(&s.ep, &Path::resource(3, 0, 0), Some(cf::TEXT))
        .unwrap();
    assert_eq!(r.payload, b"lwm2m-c2c");
}

/// A raw CON GET from a socket that is not the server.
fn raw_get(sock: &UdpSocket, to: SocketAddr, mid: u16, path: &[&str]) -> Vec<u8> {
    let mut buf = [0u8; 64];
    let mut b = MessageBuilder::new(&mut buf, MessageType::Con, code::GET, mid, &[1, 2]).unwrap();
    for seg in path {
        b.option(option::URI_PATH, seg.as_bytes()).unwrap();
    }
    let n = b.finish();
    sock.send_to(&buf[..n], to).unwrap();
    recv(sock)
}

fn recv(sock: &UdpSocket) -> Vec<u8> {
    let mut buf = [0u8; 1500];
    sock.set_read_timeout(Some(WAIT)).unwrap();
    let (n, _) = sock.recv_from(&mut buf).expect("client answers");
    buf[..n].to_vec()
}

#[test]
fn unknown_peers_get_401_unless_accepted() {
    let s = setup("it-auth");
    let to = s.client().local_addr();
    let to = SocketAddr::new("127.0.0.1".parse().unwrap(), to.port());
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let resp = raw_get(&sock, to, 0x100, &["3", "0", "0"]);
    let m = Message::parse(&resp).unwrap();
    assert_eq!(
        (m.mtype, m.code, m.message_id),
        (MessageType::Ack, code::UNAUTHORIZED, 0x100)
    );
    assert_eq!(m.token, [1, 2]);

    let open = setup_on("it-open", "127.0.0.1:0", |c| c.accept_any_peer_as = Some(1));
    let to = SocketAddr::new(
        "127.0.0.1".parse().unwrap(),
        open.client().local_addr().port(),
    );
    let resp = raw_get(&sock, to, 0x200, &["3", "0", "0"]);
    let m = Message::parse(&resp).unwrap();
    assert_eq!((m.code, m.payload), (code::CONTENT, &b"lwm2m-c2c"[..]));
    // The duplicate gets the identical answer (replayed, not re-executed).
    let again = raw_get(&sock, to, 0x200, &["3", "0", "0"]);
    assert_eq!(again, resp);
    // A malformed CON gets RST; the client keeps working.
    sock.send_to(&[0x40, 0x01, 0x03, 0x00, 0xfd], to).unwrap();
    assert_eq!(recv(&sock), [0x70, 0x00, 0x03, 0x00]);
    let m2 = raw_get(&sock, to, 0x201, &["3", "0", "1"]);
    assert_eq!(Message::parse(&m2).unwrap().payload, b"host");
}

/// Issue 13: a lifetime above `--max-lifetime` is shortened, the server writes the shortened
/// one to the client's Server object, and the client updates by it.
#[test]
fn shortened_lifetime_is_written_and_the_client_updates_by_it() {
    const MAX: u32 = 4;
    let config = Config {
        coap_addr: "127.0.0.1:0".into(),
        registrations: RegistryLimits {
            max_lifetime: MAX,
            ..RegistryLimits::default()
        },
        ..Default::default()
    };
    // The client asks for 120 s (its first periodic Update would come after 60 s); the
    // event of the shortening comes before `Registered` (see registration_limits.rs).
    let s = setup_with("it-lifetime", config, |_| {});
    // Then the Write's answer, the Write's Update (lt=4) and periodic Updates at half the
    // shortened lifetime; the registration never expires and is not shortened again.
    let (mut written, mut updates) = (Vec::new(), 0);
    let end = Instant::now() + WAIT;
    while written.is_empty() || updates < 3 {
        let left = end.saturating_duration_since(Instant::now());
        match s.events.recv_timeout(left) {
            Ok(Event::Updated { registration }) => {
                assert_eq!(registration.lifetime, MAX);
                updates += 1;
            }
            Ok(Event::RegistrationLimited { reason, .. }) => written.push(reason),
            Ok(e @ Event::Expired { .. }) => panic!("{e:?}"),
            Ok(_) => {}
            Err(_) => panic!("{written:?} and {updates} Updates within {WAIT:?}"),
        }
    }
    assert_eq!(written, ["lifetime 4 s written to /1/0/1: 2.04"]);
    let lifetime = s
        .client()
        .with_engine(|e, _| e.servers().by_ssid(1).map(|x| x.lifetime))
        .unwrap();
    assert_eq!(lifetime, Some(MAX));
    assert_eq!(s.server.client("it-lifetime").unwrap().lifetime, MAX);
}
