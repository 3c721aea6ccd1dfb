//! One generator connection: paces requests (closed or open loop), sends
//! them on a monoio `TcpStream` with owned buffers, reads each response to
//! its end, and records the outcome in its shard's stats.

use crate::http::{Response, ResponseReader};
use crate::stats::{ErrorKind, ShardStats};
use monoio::buf::IoBufMut;
use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::TcpStream;
use monoio::time::Instant as MonoInstant;
use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Read buffer per connection; grows for long heads.
const READ_BUF: usize = 16 * 1024;

/// How late a timer may fire and still count as on time: the monoio timer
/// wheel ticks once a millisecond, so a paced send can fire up to one tick
/// after its schedule through no fault of the server.
const TIMER_SLACK: Duration = Duration::from_millis(1);

/// What all connections of one shard share (single thread, no locks).
pub(crate) struct ShardRun {
    pub addr: SocketAddr,
    pub request: Vec<u8>,
    pub new_conn: bool,
    pub timeout: Duration,
    /// Open loop: the send interval of each connection.
    pub interval: Option<Duration>,
    pub start: Instant,
    pub measure_start: Instant,
    pub end: Instant,
    /// Measured requests this shard may still send (`None`: unbounded).
    pub budget: Cell<Option<u64>>,
    pub stats: RefCell<ShardStats>,
}

impl ShardRun {
    fn take_ticket(&self) -> bool {
        match self.budget.get() {
            None => true,
            Some(0) => false,
            Some(n) => {
                self.budget.set(Some(n - 1));
                true
            }
        }
    }

    fn second(&self, at: Instant) -> usize {
        at.saturating_duration_since(self.measure_start).as_secs() as usize
    }
}

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    request: Vec<u8>,
    reader: ResponseReader,
}

enum Outcome {
    Done(Response),
    Failed(ErrorKind),
    /// The run ended while waiting.
    Cancelled,
}

/// Drive one connection until the run ends or the budget is spent.
/// `phase` offsets this connection's open-loop schedule so connections do
/// not all fire on the same tick.
pub(crate) async fn connection(run: Rc<ShardRun>, phase: Duration) {
    let mut slot: Option<Conn> = None;
    let mut next = run.start + phase;
    loop {
        let now = Instant::now();
        let scheduled = match run.interval {
            None => now,
            Some(iv) => {
                let at = next;
                next += iv;
                if at >= run.end {
                    break;
                }
                if at > now {
                    monoio::time::sleep_until(MonoInstant::from_std(at)).await;
                    // Waited for the timer: a late tick is not the server's doing.
                    let woke = Instant::now();
                    if woke.saturating_duration_since(at) <= TIMER_SLACK {
                        woke
                    } else {
                        at
                    }
                } else {
                    // Behind schedule: latency counts from when the request
                    // should have gone out (coordinated-omission correction).
                    at
                }
            }
        };
        if scheduled >= run.end {
            break;
        }
        let measured = scheduled >= run.measure_start;
        if measured && !run.take_ticket() {
            break;
        }
        // `scheduled` is at least `now` unless behind schedule.
        let deadline = (scheduled.max(now) + run.timeout).min(run.end);
        let outcome = match monoio::time::timeout_at(
            MonoInstant::from_std(deadline),
            exchange(&mut slot, &run),
        )
        .await
        {
            Ok(o) => o,
            Err(_) if deadline >= run.end => Outcome::Cancelled,
            Err(_) => Outcome::Failed(ErrorKind::Timeout),
        };
        let done = Instant::now();
        match outcome {
            Outcome::Cancelled => break,
            Outcome::Done(resp) => {
                if resp.close || run.new_conn {
                    slot = None;
                }
                let mut stats = run.stats.borrow_mut();
                if !measured {
                    stats.warmup_requests += 1;
                } else if done > run.end {
                    break;
                } else if (200..300).contains(&resp.status) {
                    stats.record_ok(done - scheduled, run.second(done));
                } else {
                    stats.record_error(ErrorKind::Status(resp.status), run.second(done));
                }
            }
            Outcome::Failed(kind) => {
                slot = None;
                if measured && done <= run.end {
                    run.stats.borrow_mut().record_error(kind, run.second(done));
                }
                if kind == ErrorKind::Connect && run.interval.is_none() {
                    // A refused connect fails at once: do not spin.
                    monoio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        }
    }
}

/// Send one request and read one response, connecting first if needed.
async fn exchange(slot: &mut Option<Conn>, run: &ShardRun) -> Outcome {
    if slot.is_none() {
        let stream = match TcpStream::connect_addr(run.addr).await {
            Ok(s) => s,
            Err(_) => return Outcome::Failed(ErrorKind::Connect),
        };
        let _ = stream.set_nodelay(true);
        run.stats.borrow_mut().connections_opened += 1;
        *slot = Some(Conn {
            stream,
            buf: Vec::with_capacity(READ_BUF),
            request: run.request.clone(),
            reader: ResponseReader::new(),
        });
    }
    let Some(conn) = slot.as_mut() else {
        return Outcome::Failed(ErrorKind::Connect);
    };
    let req = std::mem::take(&mut conn.request);
    let (res, req) = conn.stream.write_all(req).await;
    conn.request = req;
    if res.is_err() {
        return Outcome::Failed(ErrorKind::Write);
    }
    loop {
        match conn.reader.advance(&conn.buf) {
            Err(_) => return Outcome::Failed(ErrorKind::Parse),
            Ok((used, done)) => {
                if used == conn.buf.len() {
                    conn.buf.clear();
                } else if used > 0 {
                    conn.buf.drain(..used);
                }
                if let Some(resp) = done {
                    return Outcome::Done(resp);
                }
            }
        }
        if conn.buf.len() == conn.buf.capacity() {
            conn.buf.reserve(conn.buf.capacity());
        }
        let mut buf = std::mem::take(&mut conn.buf);
        let len = buf.len();
        let total = buf.bytes_total();
        let (res, slice) = conn.stream.read(buf.slice_mut(len..total)).await;
        conn.buf = slice.into_inner();
        match res {
            Err(_) => return Outcome::Failed(ErrorKind::Read),
            Ok(0) => {
                return match conn.reader.eof() {
                    Some(resp) => Outcome::Done(resp),
                    None => Outcome::Failed(ErrorKind::Closed),
                };
            }
            Ok(_) => {}
        }
    }
}
