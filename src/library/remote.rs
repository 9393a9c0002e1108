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

use crate::sync::Locked;

/// Where some containers' children come from.
pub trait RemoteChildren: Send + Sync + 'static {
    /// Does this source fill `id`?
    fn serves(&self, id: &ObjectId) -> bool;
    /// Is what the catalog holds for `id` missing or too old?
    fn is_stale(&self, id: &ObjectId) -> bool;
    /// Fetch `id`'s children and store them in the catalog (bumping
    /// SystemUpdateID in the same write). A source that stores them in
    /// steps calls `arrived.some()` after the first, so a waiting Browse
    /// answers at once with what is there.
    fn refresh(&self, id: ObjectId, arrived: Arrived) -> BoxFuture<'static, Result<(), String>>;
}

/// Lets a refresh say that some of the children are in the catalog.
#[derive(Clone)]
pub struct Arrived(Arc<Flight>);

impl Arrived {
    /// Some children are stored: waiting Browses answer now.
    pub fn some(&self) {
        let mut state = self.0.state.locked();
        if !state.some {
            state.some = true;
            self.0.finished.notify_all();
        }
    }

    /// Every child is stored (what the refresh does next is extra):
    /// waiting Searches answer now too.
    pub fn all(&self) {
        let mut state = self.0.state.locked();
        if !state.all {
            state.some = true;
            state.all = true;
            self.0.finished.notify_all();
        }
    }
}

/// After a refresh failed, how long Browse answers from the catalog
/// without trying (or waiting) again.
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);

/// One refresh in flight.
#[derive(Default)]
struct Flight {
    state: Mutex<FlightState>,
    finished: Condvar,
}

#[derive(Default)]
struct FlightState {
    /// Some children are stored.
    some: bool,
    /// All of them are.
    all: bool,
    /// Its outcome, once it ended.
    ended: Option<bool>,
}

/// What a wait for a refresh waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// The first children stored (Browse: show what is there).
    Some,
    /// Every child (Search: every provider's answer): `Arrived::all`, or
    /// the refresh's end.
    All,
}

/// Ends a flight however its task ends (done, failed, panicked, dropped
/// with the runtime): waiters wake, and the next Browse may refresh again.
struct Landing {
    refresher: Arc<Refresher>,
    id: ObjectId,
    flight: Arc<Flight>,
    ok: bool,
}

impl Drop for Landing {
    fn drop(&mut self) {
        self.refresher.flying.locked().remove(&self.id);
        if !self.ok {
            self.refresher
                .failed
                .locked()
                .insert(self.id.clone(), Instant::now());
        }
        self.flight.state.locked().ended = Some(self.ok);
        self.flight.finished.notify_all();
    }
}

pub struct Refresher {
    source: Arc<dyn RemoteChildren>,
    changes: Arc<Changes>,
    wait: Duration,
    runtime: tokio::runtime::Handle,
    flying: Mutex<HashMap<ObjectId, Arc<Flight>>>,
    /// When each container's last refresh failed.
    failed: Mutex<HashMap<ObjectId, Instant>>,
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
            failed: Mutex::new(HashMap::new()),
        })
    }

    pub fn serves(&self, id: &ObjectId) -> bool {
        self.source.serves(id)
    }

    /// Before `id`'s children are read: when they are stale, make sure a
    /// refresh runs, and wait for it at most `wait`. Returns whether the
    /// catalog is fresh now (`false`: the answer comes from what it holds —
    /// the refresh is still running, and the container is announced when
    /// it lands, or it failed and is not tried again for
    /// `RETRY_AFTER_FAILURE`).
    pub fn before_browse(self: &Arc<Self>, id: &ObjectId) -> bool {
        self.refresh_and_wait(id, self.wait, Until::Some)
    }

    /// Like `before_browse`, waiting at most `wait` for `until`.
    pub fn refresh_and_wait(self: &Arc<Self>, id: &ObjectId, wait: Duration, until: Until) -> bool {
        if !self.source.serves(id) || !self.source.is_stale(id) {
            return true;
        }
        let recently_failed = self
            .failed
            .locked()
            .get(id)
            .is_some_and(|t| t.elapsed() < RETRY_AFTER_FAILURE);
        if recently_failed {
            return false;
        }
        let flight = {
            let mut flying = self.flying.locked();
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
        let deadline = Instant::now() + wait;
        let mut state = flight.state.locked();
        loop {
            if let Some(ok) = state.ended {
                return ok;
            }
            if state.all || (state.some && until == Until::Some) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = crate::sync::wait_timeout(&flight.finished, state, left).0;
        }
    }

    fn spawn(self: &Arc<Self>, id: ObjectId, flight: Arc<Flight>) {
        let mut landing = Landing {
            refresher: self.clone(),
            id: id.clone(),
            flight,
            ok: false,
        };
        let refresh = self
            .source
            .refresh(id.clone(), Arrived(landing.flight.clone()));
        let changes = self.changes.clone();
        self.runtime.spawn(async move {
            match refresh.await {
                Ok(()) => {
                    landing.ok = true;
                    changes.changed([id]);
                }
                Err(e) => tracing::warn!(%id, "refresh failed; the catalog's children stay: {e}"),
            }
            drop(landing);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A source that takes `delay` per refresh and counts them; it fails
    /// (`Err`) or panics when told to.
    struct Slow {
        delay: Duration,
        refreshes: AtomicUsize,
        fresh: Mutex<bool>,
        fail: Mutex<Option<&'static str>>,
    }

    impl RemoteChildren for Slow {
        fn serves(&self, id: &ObjectId) -> bool {
            *id == ObjectId::Added
        }
        fn is_stale(&self, _: &ObjectId) -> bool {
            !*self.fresh.lock().unwrap()
        }
        fn refresh(&self, _: ObjectId, _: Arrived) -> BoxFuture<'static, Result<(), String>> {
            self.refreshes.fetch_add(1, Ordering::SeqCst);
            let (delay, fail) = (self.delay, *self.fail.lock().unwrap());
            async move {
                tokio::time::sleep(delay).await;
                match fail {
                    Some("panic") => panic!("the source fell over"),
                    Some(e) => Err(e.to_owned()),
                    None => Ok(()),
                }
            }
            .boxed()
        }
    }

    fn slow(delay: Duration) -> Arc<Slow> {
        Arc::new(Slow {
            delay,
            refreshes: AtomicUsize::new(0),
            fresh: Mutex::new(false),
            fail: Mutex::new(None),
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_or_panicked_refresh_wakes_its_waiters_and_is_not_retried_at_once() {
        for how in ["network down", "panic"] {
            let source = slow(Duration::from_millis(10));
            *source.fail.lock().unwrap() = Some(how);
            let changes = Arc::new(Changes::new());
            let r = Refresher::new(source.clone(), changes.clone(), Duration::from_secs(5));
            let started = Instant::now();
            let r2 = r.clone();
            let fresh = tokio::task::spawn_blocking(move || r2.before_browse(&ObjectId::Added))
                .await
                .unwrap();
            assert!(!fresh, "{how}: not fresh");
            // ...but the waiter woke when the refresh ended, not at `wait`.
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "{how}: {:?}",
                started.elapsed()
            );
            // Within the back-off, Browse neither refreshes nor waits.
            let started = Instant::now();
            let r2 = r.clone();
            let fresh = tokio::task::spawn_blocking(move || r2.before_browse(&ObjectId::Added))
                .await
                .unwrap();
            assert!(!fresh);
            assert!(started.elapsed() < Duration::from_millis(100));
            assert_eq!(source.refreshes.load(Ordering::SeqCst), 1, "{how}");
        }
    }

    /// Stores some children at once, the rest after 300 ms.
    struct Partial;

    impl RemoteChildren for Partial {
        fn serves(&self, _: &ObjectId) -> bool {
            true
        }
        fn is_stale(&self, _: &ObjectId) -> bool {
            true
        }
        fn refresh(&self, _: ObjectId, arrived: Arrived) -> BoxFuture<'static, Result<(), String>> {
            async move {
                arrived.some();
                tokio::time::sleep(Duration::from_millis(300)).await;
                Ok(())
            }
            .boxed()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn browse_answers_at_the_first_children_and_search_waits_for_all() {
        let r = Refresher::new(
            Arc::new(Partial),
            Arc::new(Changes::new()),
            Duration::from_secs(5),
        );
        let (r1, r2) = (r.clone(), r.clone());
        let started = Instant::now();
        assert!(
            tokio::task::spawn_blocking(move || r1.before_browse(&ObjectId::Added))
                .await
                .unwrap()
        );
        assert!(started.elapsed() < Duration::from_millis(250));
        assert!(tokio::task::spawn_blocking(move || r2.refresh_and_wait(
            &ObjectId::Added,
            Duration::from_secs(5),
            Until::All
        ))
        .await
        .unwrap());
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_secs(3),
            "{took:?}"
        );
    }
}
