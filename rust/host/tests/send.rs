//! Send (`POST /dp`) end to end: the host client (periodic `--send` and the handle's `send`)
//! against the project's server on loopback, Mute Send written by the server. Every wait is
//! bounded.

use std::sync::mpsc::Receiver;
use std::time::Duration;

use lwm2m::coap::{code, content_format as cf};
use lwm2m::engine::SendError;
use lwm2m::Path;
use lwm2m_host::client::{self, wait_for_event, ClientConfig, ClientError};
use lwm2m_server::{Config, Event, OwnedRecord, OwnedValue, Server};

const WAIT: Duration = Duration::from_secs(10);

fn wait_server(rx: &Receiver<Event>, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
    wait_for_event(rx, WAIT, pred).unwrap_or_else(|| panic!("server event {what} within {WAIT:?}"))
}

fn client_event(
    rx: &Receiver<client::Event>,
    what: &str,
    pred: impl FnMut(&client::Event) -> bool,
) {
    assert!(
        wait_for_event(rx, WAIT, pred).is_some(),
        "client event {what}"
    );
}

#[test]
fn periodic_and_on_demand_send_with_mute_send() {
    let server = Server::start(Config {
        coap_addr: "127.0.0.1:0".into(),
        request_timeout: Duration::from_secs(8),
        ..Default::default()
    })
    .expect("server starts");
    let events = server.subscribe();
    let ep = "it-send";
    let mut cfg = ClientConfig::new(ep).server(&format!("coap://{}", server.coap_addr()));
    cfg.temperatures = 1;
    cfg.seed = Some(11);
    cfg.send_paths = vec![Path::resource(3303, 0, 5700)];
    cfg.send_period = Some(Duration::from_millis(200));
    let (c, cev) = client::spawn_with_events(cfg).expect("client starts");

    // Periodic: the value arrives as the event `send` and in the API; the client says so.
    let ev = wait_server(&events, "send", |e| matches!(e, Event::Send { .. }));
    let Event::Send {
        endpoint,
        format,
        values,
        ..
    } = ev
    else {
        unreachable!()
    };
    assert_eq!((endpoint.as_str(), format), (ep, cf::SENML_CBOR));
    assert_eq!(values.len(), 1);
    assert_eq!(values[0].path, Path::resource(3303, 0, 5700));
    assert!(
        matches!(values[0].value, OwnedValue::Float(_)),
        "{values:?}"
    );
    client_event(&cev, "send sent", |e| {
        matches!(e, client::Event::DataSent { ssid: 1 })
    });
    let kept = server.sent_values(ep).unwrap().expect("values kept");
    assert!(kept.sends >= 1);
    assert!(kept.values.contains_key(&Path::resource(3303, 0, 5700)));

    // Mute Send from the server: the periodic Send is refused with the reason, and so is one
    // asked for through the handle.
    let mute = |on: bool| {
        let r = server
            .write(
                ep,
                &Path::resource(1, 0, 23),
                &[OwnedRecord {
                    path: Path::resource(1, 0, 23),
                    value: OwnedValue::Boolean(on),
                }],
                Some(cf::TEXT),
                true,
            )
            .unwrap();
        assert_eq!(r.code, code::CHANGED);
    };
    mute(true);
    client_event(
        &cev,
        "send failed (muted)",
        |e| matches!(e, client::Event::DataSendFailed { ssid: 1, reason } if reason.contains("Mute Send")),
    );
    let device = [Path::resource(3, 0, 0)];
    assert!(matches!(
        c.send(1, &device, cf::LWM2M_CBOR),
        Err(ClientError::Send(SendError::Muted))
    ));

    // Unmuted, an on-demand Send in LwM2M CBOR goes through too.
    mute(false);
    let mut sent = false;
    for _ in 0..50 {
        match c.send(1, &device, cf::LWM2M_CBOR) {
            Ok(()) => {
                sent = true;
                break;
            }
            // The periodic Send of the same moment is still unanswered.
            Err(ClientError::Send(SendError::Busy)) => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(sent, "the handle's Send was taken");
    let ev = wait_server(
        &events,
        "send of /3/0/0",
        |e| matches!(e, Event::Send { format, .. } if *format == cf::LWM2M_CBOR),
    );
    let Event::Send { values, .. } = ev else {
        unreachable!()
    };
    assert_eq!(values[0].path, Path::resource(3, 0, 0));
    assert_eq!(values[0].value, OwnedValue::String("lwm2m-c2c".into()));
    c.stop();
    server.shutdown();
}
