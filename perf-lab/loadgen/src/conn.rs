//! One generator request loop: paces requests (closed or open loop), hands
//! each to an [`Exchange`] (HTTP/1.1 in clear or over TLS, or a stream of
//! an HTTP/2 connection), and records the outcome in its shard's stats.

use crate::http::Response;
use crate::stats::{ErrorKind, ShardStats};
use monoio::time::Instant as MonoInstant;
use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// How late a timer may fire and still count as on time: the monoio timer
/// wheel ticks once a millisecond, so a paced send can fire up to one tick
/// after its schedule through no fault of the server.
const TIMER_SLACK: Duration = Duration::from_millis(1);

/// What all connections of one shard share (single thread, no locks).
pub(crate) struct ShardRun {
    pub addr: SocketAddr,
    pub new_conn: bool,
    /// A 2xx response with another body size is an error.
    pub expect_body: Option<u64>,
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

pub(crate) enum Outcome {
    Done(Response),
    /// The connection failed; it is given up.
    Failed(ErrorKind),
    /// An answer that counts as an error, on a connection that stays.
    Rejected(ErrorKind),
    /// The run ended while waiting.
    Cancelled,
}

/// One request and its response on whatever connection the implementor
/// keeps (opening one first if it has none).
pub(crate) trait Exchange {
    async fn exchange(&mut self, run: &ShardRun) -> Outcome;
    /// Give up the connection (after a failure, a timeout or a close).
    fn reset(&mut self);
}

/// Drive one request loop until the run ends or the budget is spent.
/// `phase` offsets this loop's open-loop schedule so loops do not all fire
/// on the same tick.
pub(crate) async fn request_loop(run: Rc<ShardRun>, phase: Duration, mut ex: impl Exchange) {
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
            ex.exchange(&run),
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
                    ex.reset();
                }
                let mut stats = run.stats.borrow_mut();
                if !measured {
                    stats.warmup_requests += 1;
                } else if done > run.end {
                    break;
                } else if !(200..300).contains(&resp.status) {
                    stats.record_error(ErrorKind::Status(resp.status), run.second(done));
                } else if run.expect_body.is_some_and(|n| n != resp.body_len) {
                    stats.record_error(ErrorKind::Body, run.second(done));
                } else {
                    stats.record_ok(done - scheduled, run.second(done));
                }
            }
            Outcome::Rejected(kind) => {
                if measured && done <= run.end {
                    run.stats.borrow_mut().record_error(kind, run.second(done));
                }
            }
            Outcome::Failed(kind) => {
                ex.reset();
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
