//! The echo backend over real sockets, driven by a plain std client.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

use shardgate_echo::{EchoConfig, EchoServer, Shutdown};
use shardgate_http1::{ChunkedDecoder, Limits, Method, ParseStatus, ResponseBody, ResponseHead};

struct Server {
    addr: SocketAddr,
    shutdown: Shutdown,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start() -> Server {
        let cfg = EchoConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            pod: "infra-backend-v1-7d9f".into(),
            namespace: "gateway-conformance-infra".into(),
            service: Some("infra-backend-v1".into()),
        };
        let server = EchoServer::bind(cfg).expect("bind");
        let addr = server.local_addr();
        let shutdown = Shutdown::new();
        let s = shutdown.clone();
        let thread = std::thread::spawn(move || server.run(s).expect("echo runs"));
        Server {
            addr,
            shutdown,
            thread: Some(thread),
        }
    }

    fn client(&self) -> Client {
        let stream = TcpStream::connect(self.addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        Client {
            stream,
            buf: Vec::new(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.trigger();
        if let Some(t) = self.thread.take() {
            t.join().expect("echo thread joins");
        }
    }
}

struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("echo JSON")
    }
}

impl Client {
    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Read more; false at end of stream.
    fn fill(&mut self) -> bool {
        let mut tmp = [0u8; 65536];
        let n = self.stream.read(&mut tmp).expect("read");
        self.buf.extend_from_slice(&tmp[..n]);
        n > 0
    }

    fn response(&mut self, method: Method) -> Resp {
        let mut head = ResponseHead::new();
        loop {
            match head
                .parse(&self.buf, method, &Limits::default())
                .expect("valid response head")
            {
                ParseStatus::Complete => break,
                ParseStatus::Partial => assert!(self.fill(), "closed before a response"),
            }
        }
        let headers = head
            .headers()
            .iter()
            .map(|h| {
                (
                    String::from_utf8_lossy(h.name.get(&self.buf)).into_owned(),
                    String::from_utf8_lossy(h.value.get(&self.buf)).into_owned(),
                )
            })
            .collect();
        let status = head.status();
        let kind = head.body();
        self.buf.drain(..head.head_len());
        let mut body = Vec::new();
        match kind {
            ResponseBody::None => {}
            ResponseBody::Length(n) => {
                let n = usize::try_from(n).expect("fits");
                while self.buf.len() < n {
                    assert!(self.fill(), "closed inside a body");
                }
                body = self.buf.drain(..n).collect();
            }
            ResponseBody::Chunked => {
                let mut dec = ChunkedDecoder::new();
                loop {
                    let p = dec.decode(&self.buf).expect("valid chunked");
                    body.extend_from_slice(&self.buf[p.data.clone()]);
                    self.buf.drain(..p.consumed);
                    if p.done {
                        break;
                    }
                    if p.consumed == 0 || self.buf.is_empty() {
                        assert!(self.fill(), "closed inside a chunked body");
                    }
                }
            }
            ResponseBody::UntilClose => while self.fill() {},
        }
        if matches!(kind, ResponseBody::UntilClose) {
            body = std::mem::take(&mut self.buf);
        }
        Resp {
            status,
            headers,
            body,
        }
    }

    fn is_closed(&mut self) -> bool {
        self.buf.is_empty() && !self.fill()
    }
}

#[test]
fn json_shape_matches_the_conformance_echo() {
    let server = Server::start();
    let mut c = server.client();
    c.send(b"GET /app/x?y=1 HTTP/1.1\r\nHost: h1.test\r\nx-custom: a\r\nX-CUSTOM: b\r\nX-Echo-Set-Header: \r\nUser-Agent: t\r\n\r\n");
    let r = c.response(Method::Get);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("x-echo-body-length"), Some("0"));
    let v = r.json();
    assert_eq!(v["path"], "/app/x?y=1");
    assert_eq!(v["host"], "h1.test");
    assert_eq!(v["method"], "GET");
    assert_eq!(v["proto"], "HTTP/1.1");
    assert_eq!(v["headers"]["X-Custom"], serde_json::json!(["a", "b"]));
    assert_eq!(v["headers"]["User-Agent"], serde_json::json!(["t"]));
    assert_eq!(v["headers"]["X-Echo-Set-Header"], serde_json::json!([""]));
    assert!(v["headers"].get("Host").is_none());
    assert_eq!(v["namespace"], "gateway-conformance-infra");
    assert_eq!(v["pod"], "infra-backend-v1-7d9f");
    assert_eq!(v["service"], "infra-backend-v1");
    assert_eq!(v["ingress"], "");
    assert_eq!(v["httpPort"], server.addr.port().to_string());
}

#[test]
fn keep_alive_serves_sequential_requests() {
    let server = Server::start();
    let mut c = server.client();
    for i in 0..5 {
        c.send(format!("GET /seq/{i} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes());
        let r = c.response(Method::Get);
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["path"], format!("/seq/{i}"));
    }
    c.send(b"GET /last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    let r = c.response(Method::Get);
    assert_eq!(r.header("connection"), Some("close"));
    assert!(c.is_closed());
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = Server::start();
    let mut c = server.client();
    c.send(
        b"GET /p/1 HTTP/1.1\r\nHost: a\r\n\r\n\
POST /p/2 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello\
POST /p/3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\
HEAD /p/4 HTTP/1.1\r\nHost: a\r\n\r\n\
GET /p/5 HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    let lengths = ["0", "5", "3"];
    for (i, want) in lengths.iter().enumerate() {
        let r = c.response(if i == 3 { Method::Head } else { Method::Get });
        assert_eq!(r.json()["path"], format!("/p/{}", i + 1));
        assert_eq!(r.header("x-echo-body-length"), Some(*want));
    }
    let head = c.response(Method::Head);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert!(head.header("content-length").is_some());
    let r = c.response(Method::Get);
    assert_eq!(r.json()["path"], "/p/5");
}

#[test]
fn chunked_request_body_is_consumed_in_pieces() {
    let server = Server::start();
    let mut c = server.client();
    c.send(b"POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    // Send 1 MiB in 4 KiB chunks, in several writes, with an extension and a trailer.
    let chunk = vec![b'z'; 4096];
    for i in 0..256 {
        let mut piece = format!("1000;n={i}\r\n").into_bytes();
        piece.extend_from_slice(&chunk);
        piece.extend_from_slice(b"\r\n");
        c.send(&piece);
    }
    c.send(b"0\r\nX-Checksum: none\r\n\r\nGET /after HTTP/1.1\r\nHost: a\r\n\r\n");
    let r = c.response(Method::Post);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-echo-body-length"), Some("1048576"));
    assert_eq!(r.json()["path"], "/upload");
    assert!(r.json()["headers"].get("Transfer-Encoding").is_none());
    let r = c.response(Method::Get);
    assert_eq!(r.json()["path"], "/after");
}

#[test]
fn large_content_length_body_is_streamed() {
    let server = Server::start();
    let mut c = server.client();
    let n = 8 * 1024 * 1024;
    c.send(format!("PUT /big HTTP/1.1\r\nHost: a\r\nContent-Length: {n}\r\n\r\n").as_bytes());
    let block = vec![b'q'; 65536];
    for _ in 0..n / block.len() {
        c.send(&block);
    }
    let r = c.response(Method::Put);
    assert_eq!(r.header("x-echo-body-length"), Some(n.to_string().as_str()));
}

#[test]
fn expect_continue_gets_100_before_the_body() {
    let server = Server::start();
    let mut c = server.client();
    c.send(b"POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
    let interim = c.response(Method::Post);
    assert_eq!(interim.status, 100);
    c.send(b"data");
    let r = c.response(Method::Post);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-echo-body-length"), Some("4"));
}

#[test]
fn test_hooks_bytes_chunked_status_health() {
    let server = Server::start();
    let mut c = server.client();
    c.send(b"GET /bytes/200000 HTTP/1.1\r\nHost: a\r\n\r\n");
    let r = c.response(Method::Get);
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), 200_000);
    assert!(
        r.body
            .iter()
            .enumerate()
            .all(|(i, &b)| b == b"0123456789abcdef"[i % 16])
    );

    c.send(b"GET /chunked/40000 HTTP/1.1\r\nHost: a\r\n\r\n");
    let r = c.response(Method::Get);
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert_eq!(r.body.len(), 40_000);
    assert!(
        r.body
            .iter()
            .enumerate()
            .all(|(i, &b)| b == b"0123456789abcdef"[i % 16])
    );

    c.send(b"GET /status/503 HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(c.response(Method::Get).status, 503);
    c.send(b"GET /status/204 HTTP/1.1\r\nHost: a\r\n\r\n");
    let r = c.response(Method::Get);
    assert_eq!(r.status, 204);
    assert!(r.header("content-length").is_none());
    c.send(b"GET /health HTTP/1.1\r\nHost: a\r\n\r\n");
    let r = c.response(Method::Get);
    assert_eq!((r.status, r.body.as_slice()), (200, &b"OK"[..]));

    c.send(b"GET /delay/20 HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(c.response(Method::Get).json()["path"], "/delay/20");
}

#[test]
fn echo_set_header_sets_response_headers() {
    let server = Server::start();
    let mut c = server.client();
    c.send(b"GET /set HTTP/1.1\r\nHost: a\r\nX-Echo-Set-Header: Some-Other-Header:val,X-Header-Add:some-other-value\r\n\r\n");
    let r = c.response(Method::Get);
    assert_eq!(r.header("some-other-header"), Some("val"));
    assert_eq!(r.header("x-header-add"), Some("some-other-value"));
}

#[test]
fn http10_keep_alive_and_close() {
    let server = Server::start();
    let mut c = server.client();
    c.send(b"GET /one HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let r = c.response(Method::Get);
    assert_eq!(r.header("connection"), Some("keep-alive"));
    assert_eq!(r.json()["proto"], "HTTP/1.0");
    assert_eq!(r.json()["host"], "");
    c.send(b"GET /chunked/10 HTTP/1.0\r\n\r\n");
    let r = c.response(Method::Get);
    assert_eq!(r.header("content-length"), Some("10"));
    assert!(c.is_closed());
}

#[test]
fn malformed_requests_get_an_error_and_a_close() {
    let server = Server::start();
    for (raw, status) in [
        (&b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"[..], 400),
        (b"GET / HTTP/1.1\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    ] {
        let mut c = server.client();
        c.send(raw);
        c.send(b"GET /never HTTP/1.1\r\nHost: a\r\n\r\n");
        let r = c.response(Method::Get);
        assert_eq!(r.status, status, "{}", String::from_utf8_lossy(raw));
        assert_eq!(r.header("connection"), Some("close"));
        assert!(c.is_closed(), "nothing after the error is answered");
    }
}

#[test]
fn retry_without_code_closes_without_response() {
    let server = Server::start();
    let mut c = server.client();
    c.send(b"GET /retry/x?uuid=t1&succeedAfter=1 HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(c.is_closed());
    let mut c = server.client();
    c.send(b"GET /retry/x?uuid=t1&succeedAfter=1 HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(c.response(Method::Get).status, 200);
}

fn masked_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x11u8, 0x22, 0x33, 0x44];
    let mut v = vec![
        0x80 | opcode,
        0x80 | u8::try_from(payload.len()).expect("small"),
    ];
    v.extend_from_slice(&mask);
    v.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    v
}

#[test]
fn websocket_echo() {
    let server = Server::start();
    let mut c = server.client();
    c.send(b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: ws://gateway/t\r\n\r\n");
    let r = c.response(Method::Get);
    assert_eq!(r.status, 101);
    assert_eq!(
        r.header("sec-websocket-accept"),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    );
    let mut frames = masked_frame(1, b"Websocket Support!");
    frames.extend(masked_frame(2, &[1, 2, 3, 4, 5, 6, 7]));
    frames.extend(masked_frame(9, b"p"));
    c.send(&frames);
    let mut want = vec![0x81, 18];
    want.extend_from_slice(b"Websocket Support!");
    want.extend_from_slice(&[0x82, 7, 1, 2, 3, 4, 5, 6, 7]);
    want.extend_from_slice(&[0x8A, 1, b'p']);
    while c.buf.len() < want.len() {
        assert!(c.fill(), "closed during websocket echo");
    }
    assert_eq!(c.buf, want);
    c.buf.clear();
    c.send(&masked_frame(8, &1000u16.to_be_bytes()));
    while c.buf.len() < 4 {
        assert!(c.fill(), "no close frame");
    }
    assert_eq!(c.buf, [0x88, 2, 0x03, 0xE8]);
    c.buf.clear();
    assert!(c.is_closed());
}
