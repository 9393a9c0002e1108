//! Containers whose children come from elsewhere — a torrent search, a
//! subtitle lookup — rather than from what the user added. The seam is
//! `RemoteChildren`: it says which containers it fills, whether what the
//! catalog holds for one is stale, and fetches fresh children into the
//! catalog. `Refresher` is the policy around it: Browse answers from what
//! the catalog holds and waits on the network at most `wait`; a refresh
//! runs in the background (one per container at a time, however many TVs
//! ask), and when it lands the container is announced through the change
//! hub (GENA ContainerUpdateIDs; the source's catalog write bumps
//! SystemUpdateID). Blocking waits only: Browse runs on a blocking thread.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use super::{Changes, ObjectId};

/// Where some containers' children come from.
pub trait RemoteChildren: Send + Sync + 'static {
    /// Does this source fill `id`?
    fn serves(&self, id: &ObjectId) -> bool;
    /// Is what the catalog holds for `id` missing or too old?
    fn is_stale(&self, id: &ObjectId) -> bool;
    /// Fetch `id`'s children and store them in the catalog (bumping
    /// SystemUpdateID in the same write).
    fn refresh(&self, id: ObjectId) -> BoxFuture<'static, Result<(), String>>;
}

/// One refresh in flight.
#[derive(Default)]
struct Flight {
    done: Mutex<bool>,
    finished: Condvar,
}

pub struct Refresher {
    source: Arc<dyn RemoteChildren>,
    changes: Arc<Changes>,
    wait: Duration,
    runtime: tokio::runtime::Handle,
    flying: Mutex<HashMap<ObjectId, Arc<Flight>>>,
}

impl Refresher {
    /// `wait`: how long a Browse may wait for the network (then it answers
    /// from the catalog). Call from within the runtime that runs refreshes.
    pub fn new(
        source: Arc<dyn RemoteChildren>,
        changes: Arc<Changes>,
        wait: Duration,
    ) -> Arc<Self> {
        Arc::new(Refresher {
            source,
            changes,
            wait,
            runtime: tokio::runtime::Handle::current(),
            flying: Mutex::new(HashMap::new()),
        })
    }

    pub fn serves(&self, id: &ObjectId) -> bool {
        self.source.serves(id)
    }

    /// Before `id`'s children are read: when they are stale, make sure a
    /// refresh runs, and wait for it at most `wait`. Returns whether the
    /// catalog is fresh now (`false`: the answer comes from what it holds,
    /// and the container is announced when the refresh lands).
    pub fn before_browse(self: &Arc<Self>, id: &ObjectId) -> bool {
        if !self.source.serves(id) || !self.source.is_stale(id) {
            return true;
        }
        let flight = {
            let mut flying = self.flying.lock().unwrap_or_else(|p| p.into_inner());
            match flying.get(id) {
                Some(f) => f.clone(),
                None => {
                    let f = Arc::new(Flight::default());
                    flying.insert(id.clone(), f.clone());
                    self.spawn(id.clone(), f.clone());
                    f
                }
            }
        };
        let deadline = Instant::now() + self.wait;
        let mut done = flight.done.lock().unwrap_or_else(|p| p.into_inner());
        while !*done {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            done = flight
                .finished
                .wait_timeout(done, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        true
    }

    fn spawn(self: &Arc<Self>, id: ObjectId, flight: Arc<Flight>) {
        let this = self.clone();
        self.runtime.spawn(async move {
            let result = this.source.refresh(id.clone()).await;
            this.flying
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
            match result {
                Ok(()) => this.changes.changed([id]),
                Err(e) => tracing::warn!(%id, "refresh failed; the catalog's children stay: {e}"),
            }
            *flight.done.lock().unwrap_or_else(|p| p.into_inner()) = true;
            flight.finished.notify_all();
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A source that takes `delay` per refresh and counts them.
    struct Slow {
        delay: Duration,
        refreshes: AtomicUsize,
        fresh: Mutex<bool>,
    }

    impl RemoteChildren for Slow {
        fn serves(&self, id: &ObjectId) -> bool {
            *id == ObjectId::Added
        }
        fn is_stale(&self, _: &ObjectId) -> bool {
            !*self.fresh.lock().unwrap()
        }
        fn refresh(&self, _: ObjectId) -> BoxFuture<'static, Result<(), String>> {
            self.refreshes.fetch_add(1, Ordering::SeqCst);
            let delay = self.delay;
            async move {
                tokio::time::sleep(delay).await;
                Ok(())
            }
            .boxed()
        }
    }

    fn slow(delay: Duration) -> Arc<Slow> {
        Arc::new(Slow {
            delay,
            refreshes: AtomicUsize::new(0),
            fresh: Mutex::new(false),
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_quick_refresh_is_waited_for() {
        let source = slow(Duration::from_millis(20));
        let changes = Arc::new(Changes::new());
        let r = Refresher::new(source.clone(), changes.clone(), Duration::from_secs(2));
        let fresh = tokio::task::spawn_blocking({
            let r = r.clone();
            move || r.before_browse(&ObjectId::Added)
        })
        .await
        .unwrap();
        assert!(fresh);
        assert_eq!(changes.next().await, vec![ObjectId::Added]);
        // Containers the source does not fill are never waited on.
        assert!(r.before_browse(&ObjectId::Root));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_slow_refresh_is_not_waited_for_and_runs_once_for_many_tvs() {
        let source = slow(Duration::from_millis(600));
        let changes = Arc::new(Changes::new());
        let r = Refresher::new(source.clone(), changes.clone(), Duration::from_millis(50));
        let started = Instant::now();
        let browses: Vec<_> = (0..5)
            .map(|_| {
                let r = r.clone();
                tokio::task::spawn_blocking(move || r.before_browse(&ObjectId::Added))
            })
            .collect();
        for b in browses {
            assert!(!b.await.unwrap(), "answered from the catalog");
        }
        assert!(started.elapsed() < Duration::from_millis(500));
        assert_eq!(
            source.refreshes.load(Ordering::SeqCst),
            1,
            "one refresh for five TVs"
        );
        // It lands later and announces the container.
        let changed = tokio::time::timeout(Duration::from_secs(5), changes.next())
            .await
            .unwrap();
        assert_eq!(changed, vec![ObjectId::Added]);
        *source.fresh.lock().unwrap() = true;
        let r2 = r.clone();
        assert!(
            tokio::task::spawn_blocking(move || r2.before_browse(&ObjectId::Added))
                .await
                .unwrap()
        );
        assert_eq!(source.refreshes.load(Ordering::SeqCst), 1);
    }
}
