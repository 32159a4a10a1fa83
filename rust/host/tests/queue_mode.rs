//! Queue Mode end to end on loopback: a host client with `--queue-mode` semantics against the
//! project's server. The client registers with `Q`; a read issued while it sleeps waits in the
//! server's queue and is delivered when the client next talks (its lifetime Update); a sleeping
//! client answers nothing; notifications falling due while it sleeps are stored and arrive on
//! wake. Small awake times and lifetimes keep each test to a few seconds; every wait is
//! bounded, and no test asserts how long anything took.

use std::net::UdpSocket;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use lwm2m::coap::{code, MessageBuilder, MessageType};
use lwm2m::Path;
use lwm2m_host::client::{self, wait_for_event, ClientConfig, ClientHandle};
use lwm2m_server::server::QueueConfig;
use lwm2m_server::{Config, Event, Server, ServerHandle};

const WAIT: Duration = Duration::from_secs(15);
/// The client's awake time; the server assumes less, so it never sends to a sleeping client.
const CLIENT_AWAKE_MS: u32 = 800;
const SERVER_AWAKE: Duration = Duration::from_millis(400);
/// Seconds: the client sends its Update at half the lifetime, every 3 s.
const LIFETIME: u32 = 6;

struct Setup {
    server: ServerHandle,
    events: Receiver<Event>,
    client: Option<ClientHandle>,
    client_events: Receiver<client::Event>,
    ep: String,
}

impl Drop for Setup {
    fn drop(&mut self) {
        if let Some(c) = self.client.take() {
            c.stop();
        }
        self.server.shutdown();
    }
}

fn next_server(rx: &Receiver<Event>, what: &str, pred: impl FnMut(&Event) -> bool) -> Event {
    wait_for_event(rx, WAIT, pred)
        .unwrap_or_else(|| panic!("server event {what} did not arrive within {WAIT:?}"))
}

/// A server and a registered Queue Mode client with one temperature sensor updated every
/// `period` (none: no sensor).
fn setup(ep: &str, period: Option<Duration>) -> Setup {
    let server = Server::start(Config {
        coap_addr: "127.0.0.1:0".into(),
        request_timeout: Duration::from_secs(20),
        queue: QueueConfig {
            awake: SERVER_AWAKE,
            max_requests: 2,
        },
        ..Default::default()
    })
    .expect("server starts");
    let events = server.subscribe();
    let mut cfg = ClientConfig::new(ep).server(&format!("coap://{}", server.coap_addr()));
    cfg.lifetime = LIFETIME;
    cfg.seed = Some(11);
    cfg.queue_awake_ms = Some(CLIENT_AWAKE_MS);
    if let Some(p) = period {
        cfg.temperatures = 1;
        cfg.period = Some(p);
    }
    let (client, client_events) = client::spawn_with_events(cfg).expect("client starts");
    let reg = next_server(
        &events,
        "registered",
        |e| matches!(e, Event::Registered { registration, .. } if registration.endpoint == ep),
    );
    let Event::Registered { registration, .. } = reg else {
        unreachable!()
    };
    assert!(registration.queue_mode, "registered without Q");
    Setup {
        server,
        events,
        client: Some(client),
        client_events,
        ep: ep.into(),
    }
}

fn is_ep<'a>(e: &'a Event, ep: &str) -> Option<&'a Event> {
    (e.endpoint() == ep).then_some(e)
}

#[test]
fn a_read_while_asleep_is_queued_and_delivered_on_the_next_update() {
    let s = setup("q-read", None);
    next_server(&s.events, "sleeping", |e| {
        matches!(is_ep(e, &s.ep), Some(Event::Sleeping { queued: 0, .. }))
    });
    assert_eq!(
        s.server.client(&s.ep).unwrap().to_json(Instant::now())["awake"],
        false
    );
    let server = s.server.clone();
    let ep = s.ep.clone();
    let reader = std::thread::spawn(move || server.read(&ep, &Path::resource(3, 0, 0), None));
    next_server(&s.events, "request-queued", |e| {
        matches!(
            is_ep(e, &s.ep),
            Some(Event::RequestQueued { queued: 1, .. })
        )
    });
    // The client's next Update wakes it for the server, which sends the read then.
    let mut seen = Vec::new();
    let awake = next_server(&s.events, "awake", |e| {
        if e.endpoint() == s.ep {
            seen.push(e.kind());
        }
        matches!(is_ep(e, &s.ep), Some(Event::Awake { .. }))
    });
    assert_eq!(
        awake,
        Event::Awake {
            endpoint: s.ep.clone(),
            queued: 1
        }
    );
    assert!(seen.contains(&"updated"), "{seen:?}");
    let r = reader.join().unwrap().expect("read answered");
    assert!(r.is_success(), "{r:?}");
    assert!(!r.payload.is_empty(), "{r:?}");
    // A second sleep / wake cycle: the events are counted per cycle, not once.
    let mut awake = 0;
    let mut sleeping = 0;
    next_server(&s.events, "a second awake", |e| {
        match is_ep(e, &s.ep) {
            Some(Event::Awake { .. }) => awake += 1,
            Some(Event::Sleeping { .. }) => sleeping += 1,
            _ => {}
        }
        awake == 1 && sleeping >= 1
    });
    assert!(s.server.client(&s.ep).unwrap().is_awake(Instant::now()));
}

#[test]
fn the_queue_of_a_sleeping_client_is_bounded() {
    let s = setup("q-full", None);
    next_server(&s.events, "sleeping", |e| {
        matches!(is_ep(e, &s.ep), Some(Event::Sleeping { .. }))
    });
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let server = s.server.clone();
            let ep = s.ep.clone();
            std::thread::spawn(move || server.read(&ep, &Path::resource(3, 0, 0), None))
        })
        .collect();
    next_server(&s.events, "two queued", |e| {
        matches!(
            is_ep(e, &s.ep),
            Some(Event::RequestQueued { queued: 2, .. })
        )
    });
    // max_requests is 2: a third is refused at once (unless the client woke meanwhile).
    if !s.server.client(&s.ep).unwrap().is_awake(Instant::now()) {
        let e = s.server.read(&s.ep, &Path::resource(3, 0, 0), None);
        assert!(
            matches!(e, Err(lwm2m_server::ServerError::QueueFull(2)) | Ok(_)),
            "{e:?}"
        );
    }
    for r in readers {
        assert!(r.join().unwrap().expect("answered on wake").is_success());
    }
}

#[test]
fn a_sleeping_client_answers_nothing() {
    let s = setup("q-quiet", None);
    assert!(
        wait_for_event(&s.client_events, WAIT, |e| matches!(
            e,
            client::Event::QueueSleeping { .. }
        ))
        .is_some(),
        "client never slept"
    );
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 64];
    let mut b = MessageBuilder::new(&mut buf, MessageType::Con, code::GET, 0x4242, b"qq").unwrap();
    b.option(lwm2m::coap::option::URI_PATH, b"3").unwrap();
    let n = b.finish();
    let to = s.client.as_ref().unwrap().local_addr();
    sock.send_to(&buf[..n], to).unwrap();
    let dropped = wait_for_event(&s.client_events, WAIT, |e| {
        matches!(e, client::Event::QueueDropped { .. })
    });
    assert!(
        matches!(dropped, Some(client::Event::QueueDropped { count: 1, .. })),
        "{dropped:?}"
    );
    let mut rx = [0u8; 256];
    assert!(
        sock.recv_from(&mut rx).is_err(),
        "a sleeping client answered"
    );
}

#[test]
fn notifications_while_asleep_arrive_on_wake() {
    // A reading every 1.7 s, longer than the awake time: most fall due while the client
    // sleeps (a notification is a message sent, so faster readings would keep it awake).
    let s = setup("q-notify", Some(Duration::from_millis(1700)));
    // Sent while the client is awake right after registering, or queued until its Update.
    let path = Path::resource(3303, 0, 5700);
    let first = s.server.observe(&s.ep, &path, None).expect("observed");
    let mut last = first.observe.unwrap();
    let client = s.client.as_ref().unwrap();
    let mut received = 0u32;
    let end = Instant::now() + Duration::from_secs(30);
    let counters = loop {
        let c = client.with_engine(|e, _| e.queue_counters()).unwrap();
        if c.flushed >= 2 {
            break c;
        }
        assert!(
            Instant::now() < end,
            "fewer than 2 stored notifications sent: {c:?}"
        );
        while let Ok(e) = s.events.recv_timeout(Duration::from_millis(300)) {
            if let Some(Event::Notification { response, .. }) = is_ep(&e, &s.ep) {
                let o = response.observe.unwrap();
                assert!(o > last, "observe {o} after {last}: out of order");
                last = o;
                received += 1;
            }
        }
    };
    // Everything stored was sent (the store did not overflow), and the server got them.
    assert_eq!(counters.dropped, 0, "{counters:?}");
    assert!(counters.stored_total >= counters.flushed, "{counters:?}");
    let end = Instant::now() + WAIT;
    while received < 2 && Instant::now() < end {
        if let Ok(e) = s.events.recv_timeout(Duration::from_millis(300)) {
            if let Some(Event::Notification { response, .. }) = is_ep(&e, &s.ep) {
                assert!(response.observe.unwrap() > last, "out of order");
                last = response.observe.unwrap();
                received += 1;
            }
        }
    }
    assert!(received >= 2, "the server got {received} notification(s)");
}

/// Client-to-client with a hosting client in Queue Mode. The requester's request in clear
/// meets a sleeping host and gets no answer (no owner server hint), so the requester asks its
/// own server; the server queues the account install for the sleeping host, sends it when the
/// host next wakes (its Update), and answers the access request only then, while the host is
/// awake; the requester's secure read right after the 2.01 reaches the awake host.
#[test]
fn c2c_with_a_sleeping_host() {
    use lwm2m::coap::content_format as cf;
    use lwm2m_host::client::{C2cRequest, C2cStep};
    use lwm2m_server::config::C2cConfig;
    use lwm2m_server::policy::Policy;

    let server = Server::start(Config {
        coap_addr: "127.0.0.1:0".into(),
        request_timeout: Duration::from_secs(20),
        queue: QueueConfig {
            awake: SERVER_AWAKE,
            max_requests: 4,
        },
        c2c: C2cConfig {
            policy: Policy::parse("allow requester=req host=qhost path=/3303 rights=read").unwrap(),
            ..Default::default()
        },
        ..Default::default()
    })
    .expect("server starts");
    let events = server.subscribe();
    let uri = format!("coap://{}", server.coap_addr());
    let mut hc = ClientConfig::new("qhost").server(&uri);
    hc.lifetime = LIFETIME;
    hc.temperatures = 1;
    hc.queue_awake_ms = Some(CLIENT_AWAKE_MS);
    hc.bind = Some("127.0.0.1:0".parse().unwrap());
    let (host, host_rx) = client::spawn_with_events(hc).expect("host starts");
    let mut rc = ClientConfig::new("req").server(&uri);
    rc.lifetime = 120;
    rc.bind = Some("127.0.0.1:0".parse().unwrap());
    // Small retransmission times: the request in clear to the sleeping host gives up fast.
    rc.tx.ack_timeout = Duration::from_millis(200);
    rc.tx.max_retransmit = 1;
    let (req, req_rx) = client::spawn_with_events(rc).expect("requester starts");
    // Both register, in either order.
    let mut registered = Vec::new();
    next_server(&events, "both registered", |e| {
        if let Event::Registered { registration, .. } = e {
            registered.push(registration.endpoint.clone());
        }
        registered.len() == 2
    });
    assert!(
        wait_for_event(&host_rx, WAIT, |e| matches!(
            e,
            client::Event::QueueSleeping { .. }
        ))
        .is_some(),
        "host never slept"
    );
    let mut r = C2cRequest::read(
        "qhost",
        &format!("coap://{}", host.local_addr()),
        Path::resource(3303, 0, 5700),
    );
    r.accept = Some(cf::TEXT);
    let read = r;
    let steps_of = |op: u32| {
        let mut steps = Vec::new();
        let end = Instant::now() + Duration::from_secs(30);
        while !matches!(
            steps.last(),
            Some(C2cStep::Response { .. } | C2cStep::Failed { .. })
        ) {
            let left = end.saturating_duration_since(Instant::now());
            match req_rx.recv_timeout(left) {
                Ok(client::Event::C2c { op: o, step }) if o == op => steps.push(step),
                Ok(_) => {}
                Err(_) => panic!("steps so far: {steps:?}"),
            }
        }
        steps
    };
    let op = req.c2c(read.clone()).unwrap();
    let steps = steps_of(op);
    let asked = steps.iter().any(
        |s| matches!(s, C2cStep::HintIgnored { reason } if reason.contains("asking server 1")),
    );
    assert!(asked, "{steps:?}");
    assert!(
        steps.iter().any(|s| matches!(
            s,
            C2cStep::AccessGranted {
                ssid: 1,
                queue_mode: true
            }
        )),
        "{steps:?}"
    );
    assert_read_over_dtls(&steps);
    // The install waited in the server's queue for the host, and went out when it woke.
    let mut queued = false;
    let mut woke_with_it = false;
    while let Ok(e) = events.try_recv() {
        match e {
            Event::RequestQueued { endpoint, .. } if endpoint == "qhost" => queued = true,
            Event::Awake {
                endpoint,
                queued: n,
            } if endpoint == "qhost" && n > 0 => woke_with_it = queued,
            _ => {}
        }
    }
    assert!(
        queued && woke_with_it,
        "queued={queued} woke_with_it={woke_with_it}"
    );
    // With the account, once the host sleeps again: the secure read gets no answer, and as
    // the server said the host is in Queue Mode the requester asks it again (no new
    // credentials); the grant goes to the host when it wakes, the 2.01 then, the read after.
    assert!(
        wait_for_event(&host_rx, WAIT, |e| matches!(
            e,
            client::Event::QueueSleeping { .. }
        ))
        .is_some(),
        "host never slept again"
    );
    let op = req.c2c(read.clone()).unwrap();
    let steps = steps_of(op);
    let again = C2cStep::AccessRequested {
        ssid: 1,
        credentials: false,
    };
    assert!(steps.contains(&again), "{steps:?}");
    assert_read_over_dtls(&steps);
    req.stop();
    host.stop();
    server.shutdown();
}

/// The C2C steps end with the read's 2.05 over the DTLS session.
fn assert_read_over_dtls(steps: &[lwm2m_host::client::C2cStep]) {
    use lwm2m_host::client::{C2cChannel, C2cStep};
    assert!(
        matches!(
            steps.last(),
            Some(C2cStep::Response {
                code: code::CONTENT,
                channel: C2cChannel::Dtls,
                ..
            })
        ),
        "{steps:?}"
    );
}
