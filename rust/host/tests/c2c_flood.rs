//! A flood of unauthenticated requests at a hosting client does not lock a newcomer out
//! (issue 13, item 1): while three loopback addresses (127.0.0.2-4) flood the host with
//! plain GETs, a requesting client from a fresh address (127.0.0.9) gets the owner server hint
//! with its first 4.01, completes its access request and observes the host. The flood is
//! bounded in count (at most [`MAX_FLOOD`] datagrams) and stops with the test; every wait is
//! bounded; nothing asserts on elapsed time. Linux routes all of 127.0.0.0/8 to `lo`.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lwm2m::coap::{code, content_format as cf, MessageBuilder, MessageType};
use lwm2m::Path;
use lwm2m_host::client::{self, C2cRequest, C2cStep, ClientConfig, ClientHandle, Event as CEvent};
use lwm2m_server::config::C2cConfig;
use lwm2m_server::policy::Policy;
use lwm2m_server::{Config, Server, ServerHandle};

const WAIT: Duration = Duration::from_secs(20);
const TEMP: Path = Path::resource(3303, 0, 5700);
/// Most flood datagrams sent in all.
const MAX_FLOOD: usize = 60_000;
/// Flood datagrams sent before the newcomer starts.
const FLOOD_BEFORE: usize = 10_000;
const FLOODERS: [&str; 3] = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];

fn client(s: &ServerHandle, ep: &str, ip: &str) -> (ClientHandle, Receiver<CEvent>) {
    let mut cfg = ClientConfig::new(ep).server(&format!("coap://{}", s.coap_addr()));
    cfg.temperatures = 1;
    cfg.lifetime = 120;
    cfg.bind = Some(format!("{ip}:0").parse().unwrap());
    let (h, rx) = client::spawn_with_events(cfg).expect("client starts");
    client::wait_for_event(&rx, WAIT, |e| matches!(e, CEvent::Registered { .. }))
        .unwrap_or_else(|| panic!("{ep} not registered within {WAIT:?}"));
    (h, rx)
}

/// Floods `to` with NON GETs of /3303/0/5700 from one socket per flooder address until
/// `stop` (or [`MAX_FLOOD`] datagrams); counts them in `sent`.
fn flood(to: SocketAddr, stop: Arc<AtomicBool>, sent: Arc<AtomicUsize>) {
    let socks: Vec<UdpSocket> = FLOODERS
        .iter()
        .map(|ip| UdpSocket::bind(format!("{ip}:0")).expect("bind 127.0.0.x"))
        .collect();
    let mut mid: u16 = 0;
    while !stop.load(Ordering::Relaxed) && sent.load(Ordering::Relaxed) < MAX_FLOOD {
        for s in &socks {
            mid = mid.wrapping_add(1);
            let mut buf = [0u8; 64];
            let mut b =
                MessageBuilder::new(&mut buf, MessageType::Non, code::GET, mid, &[1]).unwrap();
            for seg in ["3303", "0", "5700"] {
                b.option(lwm2m::coap::option::URI_PATH, seg.as_bytes())
                    .unwrap();
            }
            let n = b.finish();
            let _ = s.send_to(&buf[..n], to);
            sent.fetch_add(1, Ordering::Relaxed);
        }
        // About 3 datagrams per 0.2 ms: far beyond every hint bucket.
        std::thread::sleep(Duration::from_micros(200));
    }
}

#[test]
fn a_newcomer_gets_its_hint_and_observes_during_a_flood() {
    let s = Server::start(Config {
        coap_addr: "127.0.0.1:0".into(),
        request_timeout: Duration::from_secs(5),
        c2c: C2cConfig {
            policy: Policy::parse("allow requester=req host=host path=/3303 rights=read").unwrap(),
            ..Default::default()
        },
        ..Default::default()
    })
    .expect("server starts");
    let (host, host_rx) = client(&s, "host", "127.0.0.1");
    let (req, req_rx) = client(&s, "req", "127.0.0.9");
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let flooder = {
        let (stop, sent) = (stop.clone(), sent.clone());
        let to = host.local_addr();
        std::thread::spawn(move || flood(to, stop, sent))
    };
    // The flooders have emptied their buckets once the host reports their hints limited.
    let limited = client::wait_for_event(&host_rx, WAIT, |e| {
        matches!(
            e,
            CEvent::HintLimited {
                limit: "source",
                ..
            }
        )
    });
    assert!(limited.is_some(), "no flooder was limited");
    // The newcomer comes after a real flood, which goes on while it works.
    let end = Instant::now() + WAIT;
    while sent.load(Ordering::Relaxed) < FLOOD_BEFORE && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(10));
    }

    let mut r = C2cRequest::observe("host", &format!("coap://{}", host.local_addr()), TEMP);
    r.accept = Some(cf::TEXT);
    let op = req.c2c(r).unwrap();
    let mut steps = Vec::new();
    let end = Instant::now() + WAIT;
    let mut first_hint = None;
    while Instant::now() < end {
        match req_rx.recv_timeout(end.saturating_duration_since(Instant::now())) {
            Ok(CEvent::C2c { op: o, step }) if o == op => {
                if let (None, C2cStep::Unauthorized { hint }) = (&first_hint, &step) {
                    first_hint = Some(hint.clone());
                }
                let done = matches!(step, C2cStep::Response { .. } | C2cStep::Failed { .. });
                steps.push(step);
                if done {
                    break;
                }
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    stop.store(true, Ordering::Relaxed);
    flooder.join().unwrap();
    let flood_sent = sent.load(Ordering::Relaxed);
    assert_eq!(
        first_hint,
        Some(vec![format!("coap://{}", s.coap_addr())]),
        "the newcomer's first 4.01 had no hint; steps {steps:?}"
    );
    assert!(
        steps
            .iter()
            .any(|s| matches!(s, C2cStep::AccessGranted { .. })),
        "{steps:?}"
    );
    assert!(
        matches!(
            steps.last(),
            Some(C2cStep::Response {
                code: code::CONTENT,
                ..
            })
        ),
        "{steps:?}"
    );
    // The flood was limited per source: the host reported it, for the flooders only.
    let events: Vec<CEvent> = host_rx.try_iter().collect();
    let flooders_limited = events
        .iter()
        .filter_map(|e| match e {
            CEvent::HintLimited { peer, .. } => Some(peer.ip().to_string()),
            _ => None,
        })
        .collect::<std::collections::BTreeSet<_>>();
    assert!(
        flooders_limited
            .iter()
            .all(|ip| FLOODERS.contains(&ip.as_str())),
        "{flooders_limited:?}"
    );
    let counters = host.with_engine(|e, _| e.hint_counters()).unwrap();
    assert!(counters.source_limited > 0, "{counters:?}");
    eprintln!("flood: {flood_sent} datagrams; hint counters {counters:?}");
    req.stop();
    host.stop();
    s.shutdown();
}
