//! Cross-shard control messages: a crossbeam channel plus a waker, so a shard
//! task can `await` messages sent from any thread without polling.
//!
//! Requires monoio's `sync` feature, which lets a waker registered on a shard
//! be woken from another thread (the runtime is unparked through an eventfd).

use atomic_waker::AtomicWaker;
use crossbeam_channel::{Receiver, Sender, TryRecvError};
use std::future::poll_fn;
use std::sync::Arc;
use std::task::Poll;

/// Sending half; cheap to clone, usable from any thread.
pub struct Mailbox<T> {
    /// Always `Some` until the mailbox drops (see `Drop`).
    tx: Option<Sender<T>>,
    waker: Arc<AtomicWaker>,
}

impl<T> Clone for Mailbox<T> {
    fn clone(&self) -> Self {
        Mailbox {
            tx: self.tx.clone(),
            waker: self.waker.clone(),
        }
    }
}

/// Receiving half, owned by one shard.
pub struct Inbox<T> {
    rx: Receiver<T>,
    waker: Arc<AtomicWaker>,
}

/// A new unbounded mailbox.
pub fn mailbox<T>() -> (Mailbox<T>, Inbox<T>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let waker = Arc::new(AtomicWaker::new());
    (
        Mailbox {
            tx: Some(tx),
            waker: waker.clone(),
        },
        Inbox { rx, waker },
    )
}

impl<T> Drop for Mailbox<T> {
    fn drop(&mut self) {
        // The last sender going away must wake a parked receiver so that it
        // sees the disconnection: drop the sender first, then wake (waking
        // on every drop is harmless).
        drop(self.tx.take());
        self.waker.wake();
    }
}

impl<T> Mailbox<T> {
    /// Deliver `msg`; false when the shard is gone.
    pub fn send(&self, msg: T) -> bool {
        let ok = self.tx.as_ref().is_some_and(|tx| tx.send(msg).is_ok());
        self.waker.wake();
        ok
    }
}

impl<T> Inbox<T> {
    /// The next message, or `None` once every sender is dropped.
    pub async fn recv(&self) -> Option<T> {
        poll_fn(|cx| {
            match self.rx.try_recv() {
                Ok(m) => return Poll::Ready(Some(m)),
                Err(TryRecvError::Disconnected) => return Poll::Ready(None),
                Err(TryRecvError::Empty) => {}
            }
            self.waker.register(cx.waker());
            // A message sent between the first check and the registration
            // would otherwise be missed.
            match self.rx.try_recv() {
                Ok(m) => Poll::Ready(Some(m)),
                Err(TryRecvError::Disconnected) => Poll::Ready(None),
                Err(TryRecvError::Empty) => Poll::Pending,
            }
        })
        .await
    }

    /// A message if one is waiting.
    pub fn try_recv(&self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::{DriverChoice, run_shard_runtime};

    #[test]
    fn wakes_a_shard_from_another_thread() {
        for choice in [DriverChoice::Auto, DriverChoice::Epoll] {
            let (tx, rx) = mailbox::<u32>();
            let sender = std::thread::spawn(move || {
                for i in 0..1000 {
                    assert!(tx.send(i));
                    if i % 100 == 0 {
                        std::thread::yield_now();
                    }
                }
            });
            let got = run_shard_runtime(choice, |_| async move {
                let mut got = Vec::new();
                while let Some(m) = rx.recv().await {
                    got.push(m);
                }
                got
            })
            .expect("runtime");
            sender.join().expect("sender");
            assert_eq!(got, (0..1000).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_parked_receiver_sees_the_last_sender_go() {
        for choice in [DriverChoice::Auto, DriverChoice::Epoll] {
            let (tx, rx) = mailbox::<u32>();
            let dropper = std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(50));
                drop(tx);
            });
            let got =
                run_shard_runtime(choice, |_| async move { rx.recv().await }).expect("runtime");
            dropper.join().expect("dropper");
            assert_eq!(got, None);
        }
    }
}
