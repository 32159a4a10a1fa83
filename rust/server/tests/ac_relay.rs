//! The server-centric baseline: observed values of the host are written to the requester.

mod common;

use common::*;
use lwm2m::coap::{code, content_format as cf, option, MessageType};
use lwm2m::Path;
use lwm2m_server::values::OwnedValue;
use lwm2m_server::Event;

#[test]
fn relay_writes_every_observed_value() {
    let server = start(|c| c.http_addr = Some("127.0.0.1:0".into()));
    let api = server.http_addr().unwrap();
    let events = server.subscribe();
    let mut sensor = FakeClient::new(server.coap_addr());
    sensor.register("sensor", 300, "</3303/0>");
    let mut display = FakeClient::new(server.coap_addr());
    display.register("display", 300, "</3303/0>");
    let src = Path::resource(3303, 0, 5700);
    let dst = Path::resource(3303, 0, 5700);

    let t = std::thread::spawn(move || {
        http_json(
            api,
            "POST",
            "/api/relays",
            r#"{"host":"sensor","path":"/3303/0/5700","requester":"display","target":"/3303/0/5700"}"#,
        )
    });
    let obs = sensor.recv_request();
    assert_eq!(obs.code, code::GET);
    assert_eq!(obs.uint(option::OBSERVE), Some(0));
    sensor.respond(
        &obs,
        code::CONTENT,
        &[
            (option::OBSERVE, uint(1)),
            (option::CONTENT_FORMAT, uint(0)),
        ],
        b"21.5",
    );
    let (status, body) = t.join().unwrap();
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_u64().unwrap();

    let mut seen = Vec::new();
    for (n, value) in [(2u32, "22.25"), (3, "23")] {
        let w = display.recv_request();
        assert_eq!(w.code, code::PUT);
        assert_eq!(w.uri_path(), vec!["3303", "0", "5700"]);
        assert_eq!(
            w.uint(option::CONTENT_FORMAT),
            Some(u32::from(cf::SENML_CBOR))
        );
        seen.push(val(&request_records(&w), dst));
        display.respond(&w, code::CHANGED, &[], &[]);
        // The next notification from the sensor (CON, as the observed token).
        let mid = sensor.mid();
        sensor.send(&encode(
            MessageType::Con,
            code::CONTENT,
            mid,
            &obs.token,
            &[
                (option::OBSERVE, uint(n)),
                (option::CONTENT_FORMAT, uint(0)),
            ],
            value.as_bytes(),
        ));
        sensor.recv_where(|m| m.mtype == MessageType::Ack && m.mid == mid);
    }
    let w = display.recv_request();
    seen.push(val(&request_records(&w), dst));
    display.respond(&w, code::CHANGED, &[], &[]);
    assert_eq!(
        seen,
        vec![
            OwnedValue::Float(21.5),
            OwnedValue::Float(22.25),
            OwnedValue::Float(23.0)
        ]
    );
    let relayed = wait_event(&events, |e| matches!(e, Event::Relayed { .. }));
    assert!(
        matches!(relayed, Event::Relayed { result, target, .. } if result == "2.04" && target == dst)
    );
    // The third write's answer may still be on its way to the relay thread.
    let end = std::time::Instant::now() + WAIT;
    loop {
        let list = server.relay_list();
        if list[0].to_json()["forwarded"] == 3 || std::time::Instant::now() > end {
            assert_eq!(list[0].to_json()["forwarded"], 3);
            assert_eq!(list[0].path, src);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // A second relay of the same source is refused; stopping cancels the observation.
    assert!(server.relay("sensor", &src, "display", &dst).is_err());
    let t = std::thread::spawn(move || http_json(api, "DELETE", &format!("/api/relays/{id}"), ""));
    let cancel = sensor.recv_request();
    assert_eq!(cancel.uint(option::OBSERVE), Some(1));
    sensor.respond(
        &cancel,
        code::CONTENT,
        &[(option::CONTENT_FORMAT, uint(0))],
        b"23",
    );
    assert_eq!(t.join().unwrap().0, 200);
    assert!(server.relay_list().is_empty());
    server.shutdown();
}
