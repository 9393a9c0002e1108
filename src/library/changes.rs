//! Which containers of the tree changed: the change hub behind GENA's
//! ContainerUpdateIDs. Whoever changes the tree in the catalog (the
//! torrents service, a background refresh) records the containers here,
//! by `ObjectId`; `http::events` takes them for delivery, as often as its
//! moderation allows. No I/O here.

use std::collections::BTreeSet;
use std::sync::Mutex;

use tokio::sync::Notify;

use super::ObjectId;

use crate::sync::Locked;

#[derive(Default)]
pub struct Changes {
    pending: Mutex<BTreeSet<ObjectId>>,
    notify: Notify,
}

impl Changes {
    pub fn new() -> Self {
        Self::default()
    }

    /// These containers changed (the catalog bumped SystemUpdateID).
    pub fn changed(&self, ids: impl IntoIterator<Item = ObjectId>) {
        self.pending.locked().extend(ids);
        self.notify.notify_one();
    }

    /// Wait until something changed, and take what did (in id order).
    pub async fn next(&self) -> Vec<ObjectId> {
        loop {
            let taken = std::mem::take(&mut *self.pending.locked());
            if !taken.is_empty() {
                return taken.into_iter().collect();
            }
            self.notify.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn changes_are_merged_until_taken() {
        let c = Changes::new();
        c.changed([ObjectId::Added]);
        c.changed([ObjectId::Added, ObjectId::Root]);
        assert_eq!(c.next().await, vec![ObjectId::Root, ObjectId::Added]);
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(50), c.next()).await;
        assert!(waiting.is_err(), "nothing more changed");
    }
}
