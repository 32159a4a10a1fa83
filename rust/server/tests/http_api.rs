//! The HTTP/JSON API over loopback TCP.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;

use common::*;
use lwm2m::coap::{code, option};
use serde_json::{json, Value};

fn http(addr: SocketAddr, method: &str, target: &str, body: &str) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        s,
        "{method} {target} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status: u16 = resp.split(' ').nth(1).unwrap().parse().unwrap();
    let body = resp.split_once("\r\n\r\n").unwrap().1;
    (status, serde_json::from_str(body).unwrap())
}

#[test]
fn clients_read_and_errors() {
    let server = start(|cfg| cfg.http_addr = Some("127.0.0.1:0".into()));
    let api = server.http_addr().unwrap();
    assert_eq!(http(api, "GET", "/api/clients", ""), (200, json!([])));

    let mut c = FakeClient::new(server.coap_addr());
    c.register("web-1", 300, "");
    let (status, list) = http(api, "GET", "/api/clients", "");
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["endpoint"], "web-1");
    assert_eq!(list[0]["lifetime"], 300);
    assert_eq!(
        http(api, "GET", "/api/clients/web-1", "").1["endpoint"],
        "web-1"
    );
    assert_eq!(http(api, "GET", "/api/clients/nobody", "").0, 404);
    assert_eq!(http(api, "GET", "/api/clients/nobody/3/0", "").0, 404);
    assert_eq!(http(api, "GET", "/api/clients/web-1/3/x", "").0, 400);
    assert_eq!(http(api, "GET", "/api/nothing", "").0, 404);

    // A read through HTTP, answered by the fake client in text.
    let t = thread::spawn(move || http(api, "GET", "/api/clients/web-1/3/0/1?format=text", ""));
    let req = c.recv_request();
    assert_eq!(req.uri_path(), vec!["3", "0", "1"]);
    assert_eq!(req.uint(option::ACCEPT), Some(0));
    c.respond(
        &req,
        code::CONTENT,
        &[(option::CONTENT_FORMAT, uint(0))],
        b"Model-9",
    );
    let (status, body) = t.join().unwrap();
    assert_eq!(status, 200);
    assert_eq!(body["code"], "2.05");
    assert_eq!(
        body["values"],
        json!([{"path":"/3/0/1","value":"Model-9","type":"string"}])
    );

    // A write with a JSON body.
    let t = thread::spawn(move || {
        http(
            api,
            "PUT",
            "/api/clients/web-1/3/0/14?format=text",
            r#""+05""#,
        )
    });
    let req = c.recv_request();
    assert_eq!((req.code, req.payload.as_slice()), (code::PUT, &b"+05"[..]));
    c.respond(&req, code::CHANGED, &[], b"");
    assert_eq!(t.join().unwrap().1["code"], "2.04");
    server.shutdown();
}

#[test]
fn event_stream_reports_registration() {
    let server = start(|cfg| cfg.http_addr = Some("127.0.0.1:0".into()));
    let api = server.http_addr().unwrap();
    let mut s = TcpStream::connect(api).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(b"GET /api/events HTTP/1.1\r\nHost: test\r\n\r\n")
        .unwrap();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 200"), "{line}");
    loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
    }
    // The subscription exists once the headers are out; now register.
    let mut c = FakeClient::new(server.coap_addr());
    c.register("streamed", 300, "");
    // Chunk size line, then the JSON line.
    line.clear();
    r.read_line(&mut line).unwrap();
    assert!(usize::from_str_radix(line.trim(), 16).unwrap() > 0);
    line.clear();
    r.read_line(&mut line).unwrap();
    let ev: Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(ev["event"], "registered");
    assert_eq!(ev["endpoint"], "streamed");
    server.shutdown();
}

#[test]
fn operation_routes_map_to_coap_requests() {
    let server = start(|cfg| cfg.http_addr = Some("127.0.0.1:0".into()));
    let api = server.http_addr().unwrap();
    let mut c = FakeClient::new(server.coap_addr());
    c.register("web", 300, "</3/0>");

    // (method, target, body) -> expected CoAP (code, Uri-Path, extra check), answer code.
    type Case = (
        &'static str,
        &'static str,
        &'static str,
        u8,
        &'static [&'static str],
        fn(&Msg),
        u8,
    );
    let cases: Vec<Case> = vec![
        (
            "POST",
            "/api/clients/web/3/0/4",
            "x",
            code::POST,
            &["3", "0", "4"],
            |m| assert_eq!(m.payload, b"x"),
            code::CHANGED,
        ),
        (
            "PUT",
            "/api/clients/web/3/0/9/attributes?pmin=5&pmax=50",
            "",
            code::PUT,
            &["3", "0", "9"],
            |m| assert_eq!(m.strs(option::URI_QUERY), vec!["pmin=5", "pmax=50"]),
            code::CHANGED,
        ),
        (
            "POST",
            "/api/clients/web/3303?instance=2",
            r#"{"5700": 20.5}"#,
            code::POST,
            &["3303"],
            // A 1.1 client: SenML CBOR first, the instance ID in the names.
            |m| {
                assert_eq!(m.uint(option::CONTENT_FORMAT), Some(112));
                assert!(m.payload.windows(6).any(|w| w == b"2/5700"));
            },
            code::CREATED,
        ),
        (
            "POST",
            "/api/clients/web/3/0",
            r#"{"14": "+01"}"#,
            code::POST,
            &["3", "0"],
            |m| assert_eq!(m.uint(option::CONTENT_FORMAT), Some(112)),
            code::CHANGED,
        ),
        (
            "DELETE",
            "/api/clients/web/3303/2",
            "",
            code::DELETE,
            &["3303", "2"],
            |_| {},
            code::DELETED,
        ),
        (
            "GET",
            "/api/clients/web/discover",
            "",
            code::GET,
            &[],
            |m| assert_eq!(m.uint(option::ACCEPT), Some(40)),
            code::CONTENT,
        ),
        (
            "GET",
            "/api/clients/web/composite?paths=/3/0/1,/3/0/9",
            "",
            code::FETCH,
            &[],
            |m| assert_eq!(m.uint(option::CONTENT_FORMAT), Some(112)),
            code::CONTENT,
        ),
        (
            "POST",
            "/api/clients/web/3/0/9/observe?format=text",
            "",
            code::GET,
            &["3", "0", "9"],
            |m| assert_eq!(m.uint(option::OBSERVE), Some(0)),
            code::CONTENT,
        ),
        (
            "DELETE",
            "/api/clients/web/3/0/9/observe",
            "",
            code::GET,
            &["3", "0", "9"],
            |m| assert_eq!(m.uint(option::OBSERVE), Some(1)),
            code::CONTENT,
        ),
    ];
    for (method, target, body, want_code, want_path, check, answer) in cases {
        let t = thread::spawn(move || http(api, method, target, body));
        let req = c.recv_request();
        assert_eq!(req.code, want_code, "{method} {target}");
        assert_eq!(req.uri_path(), want_path, "{method} {target}");
        check(&req);
        let mut opts = Vec::new();
        if req.uint(option::OBSERVE) == Some(0) {
            opts.push((option::OBSERVE, uint(1)));
        }
        c.respond(&req, answer, &opts, b"");
        let (status, j) = t.join().unwrap();
        assert_eq!(status, 200, "{method} {target}: {j}");
        assert_eq!(j["code"], lwm2m_server::msg::code_string(answer));
    }
    server.shutdown();
}

#[test]
fn console_commands() {
    let server = start(|_| {});
    let mut c = FakeClient::new(server.coap_addr());
    c.register("con", 300, "");
    let mut out = Vec::new();
    let input = std::io::Cursor::new("list\nbogus\nquit\nlist\n");
    lwm2m_server::cli::repl(&server, input, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let list: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(list[0]["endpoint"], "con");
    assert!(lines[1].starts_with("error: unknown command"));
    server.shutdown();
}
