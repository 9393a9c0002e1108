//! Locks that outlive a panic. A thread that panics while it holds a lock
//! poisons it. Every lock in swarmcast guards plain data changed in single
//! steps (a map entry, a counter, a list of waiters), so what a poisoned
//! lock holds is still whole, and refusing it would turn one panic into a
//! server that fails every later request. These take the lock (or wait on
//! a condition) whatever happened before: the one place that choice is
//! made.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};
use std::sync::{RwLockWriteGuard, WaitTimeoutResult};
use std::time::Duration;

/// `Mutex::lock`, a poisoned lock taken all the same.
pub trait Locked<T: ?Sized> {
    fn locked(&self) -> MutexGuard<'_, T>;
}

impl<T: ?Sized> Locked<T> for Mutex<T> {
    fn locked(&self) -> MutexGuard<'_, T> {
        self.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `RwLock::read` and `write`, a poisoned lock taken all the same.
pub trait ReadWrite<T: ?Sized> {
    fn read_locked(&self) -> RwLockReadGuard<'_, T>;
    fn write_locked(&self) -> RwLockWriteGuard<'_, T>;
}

impl<T: ?Sized> ReadWrite<T> for RwLock<T> {
    fn read_locked(&self) -> RwLockReadGuard<'_, T> {
        self.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_locked(&self) -> RwLockWriteGuard<'_, T> {
        self.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `Condvar::wait`, a poisoned lock taken back all the same.
pub fn wait<'a, T>(cv: &Condvar, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
    cv.wait(guard).unwrap_or_else(PoisonError::into_inner)
}

/// `Condvar::wait_timeout`, a poisoned lock taken back all the same.
pub fn wait_timeout<'a, T>(
    cv: &Condvar,
    guard: MutexGuard<'a, T>,
    timeout: Duration,
) -> (MutexGuard<'a, T>, WaitTimeoutResult) {
    cv.wait_timeout(guard, timeout)
        .unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_lock_poisoned_by_a_panic_is_still_taken_with_what_it_held() {
        let m = Arc::new(Mutex::new(vec![1]));
        let rw = Arc::new(RwLock::new(7));
        let (m2, rw2) = (m.clone(), rw.clone());
        let panicked = std::thread::spawn(move || {
            let mut v = m2.lock().unwrap();
            v.push(2);
            let _w = rw2.write().unwrap();
            panic!("poison both");
        })
        .join();
        assert!(panicked.is_err());
        assert!(m.is_poisoned() && rw.is_poisoned());
        assert_eq!(*m.locked(), vec![1, 2]);
        assert_eq!(*rw.read_locked(), 7);
        *rw.write_locked() = 8;
        assert_eq!(*rw.read_locked(), 8);
        let cv = Condvar::new();
        let (g, timed_out) = wait_timeout(&cv, m.locked(), Duration::from_millis(1));
        assert!(timed_out.timed_out());
        assert_eq!(g.len(), 2);
    }
}
