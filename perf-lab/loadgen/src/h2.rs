//! HTTP/2 (h2c, prior knowledge) and gRPC unary exchanges with the `h2`
//! crate, run on monoio through [`crate::compat::Compat`]. Several request
//! loops share one connection, each loop one stream at a time, so a
//! connection carries as many concurrent streams as it has loops.

use crate::compat::Compat;
use crate::conn::{Exchange, Outcome, ShardRun};
use crate::http::Response;
use crate::stats::ErrorKind;
use bytes::Bytes;
use h2::client::SendRequest;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};
use monoio::net::TcpStream;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

/// What every request of a run looks like, built once per shard.
pub(crate) struct H2Request {
    uri: Uri,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
    grpc: bool,
}

impl H2Request {
    /// `body` is the request body, or over gRPC the message (sent with its
    /// 5-byte length prefix).
    pub fn new(
        host: &str,
        path: &str,
        headers: &[(String, String)],
        body: usize,
        grpc: bool,
    ) -> Result<H2Request, String> {
        let uri: Uri = format!("http://{host}{path}")
            .parse()
            .map_err(|e| format!("request URI http://{host}{path}: {e}"))?;
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            let n = HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
                .map_err(|e| format!("header name {name:?}: {e}"))?;
            let v = HeaderValue::from_str(value)
                .map_err(|e| format!("header {name:?} value {value:?}: {e}"))?;
            map.append(n, v);
        }
        let body = if grpc {
            map.insert("content-type", HeaderValue::from_static("application/grpc"));
            map.insert("te", HeaderValue::from_static("trailers"));
            Bytes::from(grpc_frame(body))
        } else {
            Bytes::from(crate::http::body(body).collect::<Vec<u8>>())
        };
        Ok(H2Request {
            uri,
            method: if grpc || !body.is_empty() {
                Method::POST
            } else {
                Method::GET
            },
            headers: map,
            body,
            grpc,
        })
    }

    fn build(&self) -> Result<Request<()>, http::Error> {
        let mut b = Request::builder()
            .method(self.method.clone())
            .uri(self.uri.clone());
        if let Some(h) = b.headers_mut() {
            h.extend(self.headers.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        b.body(())
    }
}

/// A gRPC length-prefixed message: not compressed, `len` bytes of filler.
pub fn grpc_frame(len: usize) -> Vec<u8> {
    let mut f = Vec::with_capacity(5 + len);
    f.push(0);
    f.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
    f.extend(crate::http::body(len));
    f
}

/// One HTTP/2 connection shared by several request loops.
#[derive(Default)]
pub(crate) struct H2Conn {
    send: RefCell<Option<SendRequest<Bytes>>>,
    connecting: Cell<bool>,
}

/// Clears the `connecting` flag even when the connect is cancelled.
struct Connecting<'a>(&'a Cell<bool>);

impl Drop for Connecting<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

/// One request loop's view: a stream at a time on the shared connection.
pub(crate) struct H2Stream {
    pub conn: Rc<H2Conn>,
    pub request: Rc<H2Request>,
}

impl H2Stream {
    async fn sender(&self, run: &ShardRun) -> Result<SendRequest<Bytes>, ErrorKind> {
        loop {
            if let Some(s) = self.conn.send.borrow().as_ref() {
                return Ok(s.clone());
            }
            if !self.conn.connecting.get() {
                break;
            }
            // Another loop of this connection is connecting.
            monoio::time::sleep(Duration::from_millis(1)).await;
        }
        self.conn.connecting.set(true);
        let _guard = Connecting(&self.conn.connecting);
        let tcp = TcpStream::connect_addr(run.addr)
            .await
            .map_err(|_| ErrorKind::Connect)?;
        let _ = tcp.set_nodelay(true);
        let (send, connection) = h2::client::Builder::new()
            .initial_window_size(1 << 20)
            .initial_connection_window_size(1 << 22)
            .handshake::<_, Bytes>(Compat::new(tcp, Vec::new()))
            .await
            .map_err(|_| ErrorKind::Connect)?;
        monoio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "h2 connection ended");
            }
        });
        run.stats.borrow_mut().connections_opened += 1;
        *self.conn.send.borrow_mut() = Some(send.clone());
        Ok(send)
    }
}

impl Exchange for H2Stream {
    fn reset(&mut self) {
        self.conn.send.borrow_mut().take();
    }

    async fn exchange(&mut self, run: &ShardRun) -> Outcome {
        let send = match self.sender(run).await {
            Ok(s) => s,
            Err(kind) => return Outcome::Failed(kind),
        };
        let Ok(mut send) = send.ready().await else {
            return Outcome::Failed(ErrorKind::Write);
        };
        let Ok(req) = self.request.build() else {
            return Outcome::Failed(ErrorKind::Write);
        };
        let body = &self.request.body;
        let Ok((response, mut tx)) = send.send_request(req, body.is_empty()) else {
            return Outcome::Failed(ErrorKind::Write);
        };
        if !body.is_empty() && tx.send_data(body.clone(), true).is_err() {
            return Outcome::Failed(ErrorKind::Write);
        }
        let Ok(response) = response.await else {
            return Outcome::Failed(ErrorKind::Read);
        };
        let status = response.status().as_u16();
        let grpc_in_headers = grpc_ok(response.headers());
        let mut body = response.into_body();
        let mut len = 0u64;
        while let Some(chunk) = body.data().await {
            let Ok(chunk) = chunk else {
                return Outcome::Failed(ErrorKind::Read);
            };
            len += chunk.len() as u64;
            let _ = body.flow_control().release_capacity(chunk.len());
        }
        if self.request.grpc && (200..300).contains(&status) {
            let ok = match body.trailers().await {
                Ok(Some(t)) => grpc_ok(&t) == Some(true),
                // A trailers-only answer carries grpc-status in its headers.
                Ok(None) => grpc_in_headers == Some(true),
                Err(_) => return Outcome::Failed(ErrorKind::Read),
            };
            if !ok {
                return Outcome::Rejected(ErrorKind::Grpc);
            }
        }
        Outcome::Done(Response {
            status,
            close: false,
            body_len: len,
        })
    }
}

/// `Some(true)` when `grpc-status` is `0`, `None` when absent.
fn grpc_ok(h: &HeaderMap) -> Option<bool> {
    h.get("grpc-status").map(|v| v.as_bytes() == b"0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_messages_are_length_prefixed() {
        assert_eq!(grpc_frame(3), vec![0, 0, 0, 0, 3, b'a', b'b', b'c']);
        assert_eq!(grpc_frame(300).len(), 305);
        let r = H2Request::new("h:1", "/svc/M", &[("X-A".into(), "b".into())], 10, true)
            .expect("request");
        assert_eq!(r.method, Method::POST);
        assert_eq!(r.body.len(), 15);
        assert_eq!(r.headers["content-type"], "application/grpc");
        assert_eq!(r.headers["x-a"], "b");
        let req = r.build().expect("builds");
        assert_eq!(req.uri().authority().map(|a| a.as_str()), Some("h:1"));
        let mut trailers = HeaderMap::new();
        assert_eq!(grpc_ok(&trailers), None);
        trailers.insert("grpc-status", HeaderValue::from_static("14"));
        assert_eq!(grpc_ok(&trailers), Some(false));
    }
}
