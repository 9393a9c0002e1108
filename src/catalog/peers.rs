//! The catalog's peers: for each torrent, the peer addresses it had (its
//! magnet's hints, the peers seen live), newest first and at most
//! `PEERS_KEPT`, so a restart can give them back to the engine.

use std::collections::HashMap;
use std::net::SocketAddr;

use rusqlite::params;

use super::{now, Catalog, CatalogError};
use crate::torrent::InfoHash;

/// Peers kept per torrent (the most recently seen).
pub const PEERS_KEPT: usize = 32;

impl Catalog {
    /// Remember that `peers` were seen now for a torrent in the catalog
    /// (one that is not is skipped); only the `PEERS_KEPT` most recent are
    /// kept.
    pub fn remember_peers(
        &self,
        info_hash: &InfoHash,
        peers: &[SocketAddr],
    ) -> Result<(), CatalogError> {
        if peers.is_empty() {
            return Ok(());
        }
        let ih = info_hash.to_string();
        let at = now();
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        let known: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM torrents WHERE info_hash = ?1)",
            params![ih],
            |r| r.get(0),
        )?;
        if !known {
            return Ok(());
        }
        for p in peers.iter().take(PEERS_KEPT) {
            tx.execute(
                "INSERT INTO torrent_peers (info_hash, addr, seen_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (info_hash, addr) DO UPDATE SET seen_at = excluded.seen_at",
                params![ih, p.to_string(), at],
            )?;
        }
        tx.execute(
            "DELETE FROM torrent_peers WHERE info_hash = ?1 AND addr NOT IN
               (SELECT addr FROM torrent_peers WHERE info_hash = ?1
                ORDER BY seen_at DESC, addr LIMIT ?2)",
            params![ih, PEERS_KEPT as i64],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Every torrent's remembered peers, newest first.
    pub fn all_peers(&self) -> Result<HashMap<InfoHash, Vec<SocketAddr>>, CatalogError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT info_hash, addr FROM torrent_peers ORDER BY info_hash, seen_at DESC, addr",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out: HashMap<InfoHash, Vec<SocketAddr>> = HashMap::new();
        for row in rows {
            let (ih, addr) = row?;
            // A row this version did not write is skipped, never fatal.
            if let (Some(ih), Ok(addr)) = (InfoHash::parse(&ih), addr.parse()) {
                out.entry(ih).or_default().push(addr);
            }
        }
        Ok(out)
    }

    /// One torrent's remembered peers, newest first.
    #[cfg(test)]
    pub fn peers(&self, info_hash: &InfoHash) -> Result<Vec<SocketAddr>, CatalogError> {
        Ok(self.all_peers()?.remove(info_hash).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use crate::catalog::Catalog;
    use crate::torrent::fake::torrent;

    #[test]
    fn peers_are_kept_newest_first_bounded_and_go_with_their_torrent() {
        let dir = tempfile::tempdir().unwrap();
        let c = Catalog::open(&dir.path().join("c.sqlite")).unwrap();
        let (t, _) = torrent(7, "a", &[("a.mkv", b"0123456789")]);
        let (unknown, _) = torrent(8, "b", &[("b.mkv", b"0123456789")]);
        c.record_torrent(&t, None).unwrap();
        let addrs: Vec<std::net::SocketAddr> = (0..40u16)
            .map(|i| format!("10.0.0.1:{}", 1000 + i).parse().unwrap())
            .collect();
        c.remember_peers(&t.info_hash, &addrs[..2]).unwrap();
        c.remember_peers(&unknown.info_hash, &addrs[..2]).unwrap();
        assert_eq!(c.peers(&t.info_hash).unwrap().len(), 2);
        assert!(
            c.peers(&unknown.info_hash).unwrap().is_empty(),
            "no such torrent"
        );
        // Seen again: not twice.
        c.remember_peers(&t.info_hash, &addrs[..1]).unwrap();
        assert_eq!(c.peers(&t.info_hash).unwrap().len(), 2);
        c.remember_peers(&t.info_hash, &addrs).unwrap();
        assert_eq!(c.peers(&t.info_hash).unwrap().len(), super::PEERS_KEPT);
        assert_eq!(c.all_peers().unwrap().len(), 1);
        c.remove_torrent(&t.info_hash).unwrap();
        assert!(
            c.all_peers().unwrap().is_empty(),
            "removed with its torrent"
        );
    }
}
