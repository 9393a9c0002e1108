//! The catalog's connections: one writer and a small pool of readers
//! (WAL lets readers run beside the writer, so a long write holds up no
//! Browse), opened, configured and migrated here; `Catalog::run` moves a
//! call to a blocking thread for async callers.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};

use rusqlite::Connection;

use super::{migrations, Catalog, CatalogError};

use crate::sync::Locked;

/// Read connections kept open.
const READERS: usize = 4;
/// How long a statement waits for SQLite's lock before failing.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// Each reader's page cache, in KiB (as SQLite takes it: negative).
const READER_CACHE_KIB: i64 = -512;

/// Read connections, lent out one at a time.
pub(super) struct Readers {
    idle: Mutex<Vec<Connection>>,
    returned: Condvar,
}

/// A read connection, back in the pool when dropped.
pub(super) struct Reader<'a> {
    conn: Option<Connection>,
    pool: &'a Readers,
}

impl std::ops::Deref for Reader<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("held until drop")
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            self.pool.idle.locked().push(c);
            self.pool.returned.notify_one();
        }
    }
}

impl Catalog {
    /// Open (creating if needed) and migrate the catalog at `path`.
    pub fn open(path: &Path) -> Result<Catalog, CatalogError> {
        let open_err = |source| CatalogError::Open {
            path: path.display().to_string(),
            source,
        };
        let mut conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        migrations::migrate(&mut conn)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let r = Connection::open(path).map_err(open_err)?;
            r.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
            r.pragma_update(None, "query_only", "ON")
                .map_err(open_err)?;
            // A reader's own page cache: a page of Browse touches a few
            // dozen pages, and the OS caches the file for all of them; at
            // SQLite's default (2 MB each) a scan of a 10 000-file torrent
            // kept 8 MB of the same pages in the four readers.
            r.pragma_update(None, "cache_size", READER_CACHE_KIB)
                .map_err(open_err)?;
            readers.push(r);
        }
        Ok(Catalog {
            writer: Mutex::new(conn),
            readers: Readers {
                idle: Mutex::new(readers),
                returned: Condvar::new(),
            },
        })
    }

    /// Run catalog calls on a blocking thread (for async callers: SQLite
    /// blocks, and must not hold a tokio worker while it does).
    pub async fn run<T, F>(self: &Arc<Self>, f: F) -> Result<T, CatalogError>
    where
        T: Send + 'static,
        F: FnOnce(&Catalog) -> Result<T, CatalogError> + Send + 'static,
    {
        let me = self.clone();
        tokio::task::spawn_blocking(move || f(&me))
            .await
            .map_err(|e| CatalogError::Interrupted(e.to_string()))?
    }

    pub(super) fn writer(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written
        // (every write is one transaction), so a poisoned lock is still usable.
        self.writer.locked()
    }

    pub(super) fn reader(&self) -> Reader<'_> {
        let mut idle = self.readers.idle.locked();
        loop {
            if let Some(conn) = idle.pop() {
                return Reader {
                    conn: Some(conn),
                    pool: &self.readers,
                };
            }
            idle = crate::sync::wait(&self.readers.returned, idle);
        }
    }

    /// The database's size in bytes (its pages; the WAL not counted).
    pub fn size_bytes(&self) -> Result<u64, CatalogError> {
        let conn = self.reader();
        let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
        let size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        Ok((pages * size) as u64)
    }

    /// Fold the WAL into the main file (at shutdown).
    pub fn checkpoint(&self) -> Result<(), CatalogError> {
        self.writer()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::info;
    use super::*;

    /// Readers are not held up by the writer: with a write transaction
    /// open (on another connection, as a long write would be), reads answer.
    #[test]
    fn reads_do_not_wait_for_a_held_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sqlite");
        let c = Catalog::open(&path).unwrap();
        let t = c.upsert_torrent(&info("Held", 5), None).unwrap();
        let other = Connection::open(&path).unwrap();
        other
            .execute_batch("BEGIN IMMEDIATE; UPDATE counters SET value = value;")
            .unwrap();
        let _writer_held = c.writer();
        let started = std::time::Instant::now();
        assert!(c.torrent(&t.info_hash).unwrap().is_some());
        assert!(c.system_update_id().unwrap() > 0);
        assert_eq!(
            c.playable_files_page(&t.info_hash, 1, None, 0, None)
                .unwrap()
                .len(),
            1
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        other.execute_batch("ROLLBACK").unwrap();
    }
}
