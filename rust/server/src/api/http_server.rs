//! The HTTP/1.1 server under the API ([`crate::api::http`]): hyper on a current-thread tokio
//! runtime in the `lwm2m-http` thread, bridged to the server's blocking [`ServerHandle`].
//!
//! Limits ([`HttpConfig`]), each reported to the client when hit:
//! - open connections: at most `max_connections`; one more gets `503` and is closed at once
//!   (connections are tasks, not threads; an event stream holds one for its lifetime);
//! - request line and headers: at most `max_head` bytes (hyper's read buffer; a line without
//!   end is not buffered further) -> `431`, and they must arrive within `header_timeout`, else
//!   the connection is closed (slow or idle clients);
//! - body: at most `max_body` bytes -> `413`, within `body_timeout` -> `408`;
//! - LwM2M operations run on at most `workers` threads at once (tokio's blocking pool); more
//!   requests wait for one.
//!
//! With a token ([`HttpConfig::token`]) every request needs `Authorization: Bearer <token>`,
//! else `401`. Without one the API may only be bound to a loopback address. Responses close
//! the connection (no keep-alive), as the API always did.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body, Bytes, Frame, Incoming};
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{json, Value as Json};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};

use crate::api::http::{route, HttpRequest};
use crate::config::HttpConfig;
use crate::event::Event;
use crate::server::ServerHandle;

/// hyper's smallest read buffer: `max_head` below this is raised to it.
const MIN_HEAD: usize = 8192;
/// How often the accept loop and idle event streams look at the stop flag.
const TICK: Duration = Duration::from_millis(100);
/// An idle event stream sends an empty line this often (detects closed connections).
const KEEPALIVE: Duration = Duration::from_secs(15);

type ApiBody = UnsyncBoxBody<Bytes, Infallible>;

struct Ctx {
    handle: ServerHandle,
    cfg: HttpConfig,
}

/// Binds `addr` and serves the API until the server stops. Refuses a non-loopback address
/// without a token.
pub(crate) fn spawn(
    addr: &str,
    handle: ServerHandle,
    cfg: &HttpConfig,
) -> io::Result<(SocketAddr, JoinHandle<()>)> {
    // Checked before binding: without a token nothing listens beyond loopback, not even
    // briefly.
    let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
    if let Some(a) = addrs.iter().find(|a| !a.ip().is_loopback()) {
        if cfg.token.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("the HTTP API on {a} (not loopback) needs a token (--api-token-file)"),
            ));
        }
    }
    let listener = std::net::TcpListener::bind(&addrs[..])?;
    let bound = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .max_blocking_threads(cfg.workers.max(1))
        .thread_name("lwm2m-http-op")
        .build()?;
    let ctx = Arc::new(Ctx {
        handle,
        cfg: cfg.clone(),
    });
    let t = thread::Builder::new()
        .name("lwm2m-http".into())
        .spawn(move || {
            rt.block_on(accept_loop(listener, ctx));
            // Operations still running end at their own timeout; do not wait for them.
            rt.shutdown_timeout(Duration::from_millis(200));
        })?;
    Ok((bound, t))
}

async fn accept_loop(listener: std::net::TcpListener, ctx: Arc<Ctx>) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    let slots = Arc::new(Semaphore::new(ctx.cfg.max_connections.max(1)));
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            r = listener.accept() => {
                let Ok((stream, _)) = r else { continue };
                match slots.clone().try_acquire_owned() {
                    Ok(permit) => {
                        let ctx = ctx.clone();
                        tokio::spawn(async move {
                            serve_connection(stream, ctx).await;
                            drop(permit);
                        });
                    }
                    // Over the cap: say so without waiting for the request, then close.
                    Err(_) => {
                        let _ = stream.try_write(
                            b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n\
                              Content-Length: 37\r\nConnection: close\r\n\r\n\
                              {\"error\":\"too many open connections\"}",
                        );
                    }
                }
            }
            _ = tick.tick() => {
                if ctx.handle.is_stopped() {
                    break;
                }
            }
        }
    }
}

async fn serve_connection(stream: tokio::net::TcpStream, ctx: Arc<Ctx>) {
    let cfg = &ctx.cfg;
    let mut b = http1::Builder::new();
    b.timer(TokioTimer::new())
        .header_read_timeout(cfg.header_timeout)
        .max_buf_size(cfg.max_head.max(MIN_HEAD))
        .keep_alive(false);
    let svc_ctx = ctx.clone();
    let svc = service_fn(move |req| {
        let ctx = svc_ctx.clone();
        async move { Ok::<_, Infallible>(handle(req, ctx).await) }
    });
    let _ = b.serve_connection(TokioIo::new(stream), svc).await;
}

fn json_response(status: u16, body: &Json) -> Response<ApiBody> {
    let mut r = Response::new(Full::new(Bytes::from(format!("{body}\n"))).boxed_unsync());
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// True if the request carries the token (compared without early exit).
fn authorized(req: &Request<Incoming>, token: &str) -> bool {
    let Some(given) = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
    else {
        return false;
    };
    let want = token.as_bytes();
    given.len() == want.len()
        && given
            .iter()
            .zip(want)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

async fn handle(req: Request<Incoming>, ctx: Arc<Ctx>) -> Response<ApiBody> {
    if let Some(token) = &ctx.cfg.token {
        if !authorized(&req, token) {
            let mut r = json_response(401, &json!({"error": "missing or wrong bearer token"}));
            r.headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return r;
        }
    }
    let method = req.method().as_str().to_owned();
    let target = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let limited = Limited::new(req.into_body(), ctx.cfg.max_body);
    let body = match tokio::time::timeout(ctx.cfg.body_timeout, limited.collect()).await {
        Ok(Ok(b)) => b.to_bytes().to_vec(),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            let msg = format!("body larger than {} bytes", ctx.cfg.max_body);
            return json_response(413, &json!({ "error": msg }));
        }
        Ok(Err(e)) => return json_response(400, &json!({"error": format!("body: {e}")})),
        Err(_) => return json_response(408, &json!({"error": "body not received in time"})),
    };
    let request = HttpRequest::new(&method, &target, body);
    if let Some(endpoint) = request.events_filter() {
        return event_stream(&ctx.handle, endpoint);
    }
    let h = ctx.handle.clone();
    match tokio::task::spawn_blocking(move || route(&h, &request)).await {
        Ok((status, body)) => json_response(status, &body),
        Err(_) => json_response(500, &json!({"error": "operation failed"})),
    }
}

fn event_stream(h: &ServerHandle, endpoint: Option<String>) -> Response<ApiBody> {
    let body = EventBody {
        rx: h.subscribe(),
        endpoint,
        handle: h.clone(),
        sleep: Box::pin(tokio::time::sleep(Duration::ZERO)),
        last_write: Instant::now(),
    };
    let mut r = Response::new(body.boxed_unsync());
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    r
}

/// Newline-delimited JSON events, sent chunked as they come (no thread per stream: the
/// subscription is polled every [`TICK`] while idle).
struct EventBody {
    rx: Receiver<Event>,
    endpoint: Option<String>,
    handle: ServerHandle,
    sleep: Pin<Box<Sleep>>,
    last_write: Instant,
}

impl Body for EventBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        loop {
            match this.rx.try_recv() {
                Ok(ev) => {
                    if this.endpoint.as_deref().is_some_and(|e| e != ev.endpoint()) {
                        continue;
                    }
                    this.last_write = Instant::now();
                    let line = format!("{}\n", ev.to_json());
                    return Poll::Ready(Some(Ok(Frame::data(Bytes::from(line)))));
                }
                Err(TryRecvError::Disconnected) => return Poll::Ready(None),
                Err(TryRecvError::Empty) => {}
            }
            if this.handle.is_stopped() {
                return Poll::Ready(None);
            }
            if this.last_write.elapsed() >= KEEPALIVE {
                this.last_write = Instant::now();
                return Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"\n")))));
            }
            this.sleep.as_mut().reset(Instant::now() + TICK);
            if this.sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }
}

impl ServerHandle {
    /// Starts the HTTP API on `addr` (see [`crate::api::http`]); returns the bound address.
    pub fn start_http(&self, addr: &str) -> std::io::Result<std::net::SocketAddr> {
        let (bound, t) = spawn(addr, self.clone(), self.http_config())?;
        self.set_http_addr(bound);
        self.push_thread(t);
        Ok(bound)
    }
}
