//! The fixed server's HTTP/2 side (h2c with prior knowledge), for gRPC
//! backends and h2 experiments: every stream's request body is read and
//! dropped; gRPC requests get one message of the configured size and
//! `grpc-status: 0`, others a plain `200` with that many body bytes. The
//! header checks apply here too (a `400`, or for gRPC `grpc-status: 3`).

use super::FixedConfig;
use crate::compat::Compat;
use bytes::Bytes;
use h2::server::SendResponse;
use http::{HeaderMap, HeaderValue, Request, Response};
use monoio::net::TcpStream;
use std::rc::Rc;

pub(super) async fn serve_h2(stream: TcpStream, already_read: Vec<u8>, config: FixedConfig) {
    let io = Compat::new(stream, already_read);
    // No SETTINGS_MAX_CONCURRENT_STREAMS: haproxy 2.6 spends an advertised
    // limit as a lifetime budget of its backend connection and then stalls
    // (seen at 1,025 streams with a limit of 1,024) instead of opening another.
    let mut conn = match h2::server::Builder::new()
        .initial_window_size(1 << 20)
        .initial_connection_window_size(1 << 22)
        .handshake::<_, Bytes>(io)
        .await
    {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!(error = %e, "fixed-server: h2 handshake failed");
            return;
        }
    };
    let answers = Rc::new(Answers::new(&config));
    while let Some(next) = conn.accept().await {
        match next {
            Ok((req, respond)) => {
                monoio::spawn(answer(req, respond, answers.clone(), config.clone()));
            }
            Err(e) => {
                tracing::debug!(error = %e, "fixed-server: h2 connection ended");
                return;
            }
        }
    }
}

struct Answers {
    plain: Bytes,
    grpc: Bytes,
}

impl Answers {
    fn new(config: &FixedConfig) -> Self {
        Answers {
            plain: Bytes::from(crate::http::body(config.body).collect::<Vec<u8>>()),
            grpc: Bytes::from(crate::h2::grpc_frame(config.body)),
        }
    }
}

fn headers_ok(config: &FixedConfig, h: &HeaderMap) -> bool {
    let e = &config.expect;
    e.present.iter().all(|(n, v)| {
        h.get_all(n.as_str())
            .iter()
            .any(|got| got.as_bytes() == v.as_bytes())
    }) && !e.absent.iter().any(|n| h.contains_key(n.as_str()))
}

async fn answer(
    req: Request<h2::RecvStream>,
    mut respond: SendResponse<Bytes>,
    answers: Rc<Answers>,
    config: FixedConfig,
) {
    let grpc = req
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
    let ok = headers_ok(&config, req.headers());
    let mut body = req.into_body();
    while let Some(chunk) = body.data().await {
        let Ok(chunk) = chunk else { return };
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    let status = if ok || grpc { 200 } else { 400 };
    let mut head = Response::builder().status(status);
    if grpc {
        head = head.header("content-type", "application/grpc");
    } else {
        head = head.header("content-type", "text/plain");
    }
    let Ok(head) = head.body(()) else { return };
    let data = if !ok {
        Bytes::new()
    } else if grpc {
        answers.grpc.clone()
    } else {
        answers.plain.clone()
    };
    let Ok(mut tx) = respond.send_response(head, data.is_empty() && !grpc) else {
        return;
    };
    if !data.is_empty() && tx.send_data(data, !grpc).is_err() {
        return;
    }
    if grpc {
        let mut trailers = HeaderMap::new();
        let code = if ok { "0" } else { "3" };
        trailers.insert("grpc-status", HeaderValue::from_static(code));
        let _ = tx.send_trailers(trailers);
    }
}
