//! Spawning the shards: one pinned OS thread per planned core, each running
//! its own runtime and its own copy of the shard's main future.

use crate::cpus::ShardPlan;
use crate::driver::{Driver, DriverChoice, run_shard_runtime};
use crate::mailbox::{Inbox, Mailbox, mailbox};
use std::future::Future;
use std::io;
use std::thread::JoinHandle;

/// What a shard's main future receives.
pub struct ShardContext<M> {
    pub index: usize,
    /// The CPU it is pinned to, if pinning succeeded.
    pub core: Option<usize>,
    pub driver: Driver,
    /// Control messages for this shard.
    pub inbox: Inbox<M>,
}

/// The controller's side of one running shard.
pub struct ShardHandle<M> {
    pub index: usize,
    pub core: Option<usize>,
    pub driver: Driver,
    pub mailbox: Mailbox<M>,
    thread: Option<JoinHandle<()>>,
}

impl<M> ShardHandle<M> {
    /// Wait for the shard thread to finish.
    pub fn join(mut self) {
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            tracing::error!(shard = self.index, "shard thread panicked");
        }
    }

    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }
}

/// Start one thread per entry of `plan`. `make` builds each shard's main
/// future on its own thread, so the future need not be `Send`. Returns once
/// every shard has built its runtime (or the first one failed to).
pub fn spawn_shards<M, F, Fut>(
    plan: &ShardPlan,
    choice: DriverChoice,
    make: F,
) -> io::Result<Vec<ShardHandle<M>>>
where
    M: Send + 'static,
    F: Fn(ShardContext<M>) -> Fut + Send + Clone + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let mut handles = Vec::with_capacity(plan.len());
    for (index, core) in plan.cores.iter().copied().enumerate() {
        let (tx, inbox) = mailbox::<M>();
        let (started_tx, started_rx) = crossbeam_channel::bounded::<io::Result<Driver>>(1);
        let make = make.clone();
        let thread = std::thread::Builder::new()
            .name(format!("shard-{index}"))
            .spawn(move || {
                let pinned =
                    core.filter(|&id| core_affinity::set_for_current(core_affinity::CoreId { id }));
                if core.is_some() && pinned.is_none() {
                    tracing::warn!(shard = index, core = ?core, "could not pin shard thread");
                }
                let report = started_tx.clone();
                let result = run_shard_runtime(choice, move |driver| {
                    let _ = report.send(Ok(driver));
                    make(ShardContext {
                        index,
                        core: pinned,
                        driver,
                        inbox,
                    })
                });
                if let Err(e) = result {
                    let _ = started_tx.send(Err(e));
                }
            })?;
        let driver = started_rx
            .recv()
            .map_err(|_| io::Error::other(format!("shard {index} exited during start-up")))??;
        tracing::info!(shard = index, core = ?core, driver = driver.as_str(), "shard started");
        handles.push(ShardHandle {
            index,
            core,
            driver,
            mailbox: tx,
            thread: Some(thread),
        });
    }
    Ok(handles)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpus::{available_cpus, plan_shards};

    #[test]
    fn shards_run_pinned_and_take_messages() {
        let avail = available_cpus();
        let plan = plan_shards(Some(2), None, &avail).expect("plan");
        let (done_tx, done_rx) = crossbeam_channel::unbounded();
        let shards = spawn_shards::<u32, _, _>(&plan, DriverChoice::Auto, move |ctx| {
            let done = done_tx.clone();
            async move {
                let mut sum = 0;
                while let Some(m) = ctx.inbox.recv().await {
                    sum += m;
                }
                let cpu = current_cpu();
                let _ = done.send((ctx.index, ctx.core, cpu, sum));
            }
        })
        .expect("spawn");
        for s in &shards {
            for i in 1..=10 {
                assert!(s.mailbox.send(i));
            }
        }
        let mut results = Vec::new();
        for s in shards {
            drop(s.mailbox.clone());
            let ShardHandle {
                mailbox, thread, ..
            } = s;
            drop(mailbox);
            if let Some(t) = thread {
                t.join().expect("join");
            }
            results.push(done_rx.recv().expect("result"));
        }
        for (_, core, cpu, sum) in results {
            assert_eq!(sum, 55);
            if let Some(core) = core {
                assert_eq!(Some(core), cpu, "shard pinned to {core} ran elsewhere");
            }
        }
    }

    fn current_cpu() -> Option<usize> {
        // SAFETY: sched_getcpu has no preconditions.
        let c = unsafe { libc::sched_getcpu() };
        usize::try_from(c).ok()
    }
}
