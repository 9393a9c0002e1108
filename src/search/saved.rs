//! Saved searches: the queries a user keeps (the folders a TV will browse),
//! stored in the catalog. Created, listed and deleted through the API and
//! `swarmcast search QUERY --save`. Catalog calls run on blocking threads.

use std::sync::Arc;

use crate::catalog::{Catalog, CatalogError, SavedSearch};
use crate::library::{Changes, ObjectId};

#[derive(Debug, thiserror::Error)]
pub enum SavedError {
    #[error("{0}")]
    BadQuery(String),
    #[error("no saved search with id {0}")]
    NotFound(i64),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
}

pub struct SavedSearches {
    catalog: Arc<Catalog>,
    changes: Arc<Changes>,
}

/// A query as it is kept (`library::normalize_query`).
pub fn normalize(query: &str) -> Result<String, SavedError> {
    crate::library::normalize_query(query).map_err(SavedError::BadQuery)
}

impl SavedSearches {
    pub fn new(catalog: Arc<Catalog>, changes: Arc<Changes>) -> Self {
        SavedSearches { catalog, changes }
    }

    /// Save a query with its own filters (replacing those it had); `(id,
    /// true)` when it is new (the Search folder changed).
    pub async fn save(
        &self,
        query: &str,
        filter: &super::SearchFilter,
    ) -> Result<(i64, bool), SavedError> {
        let q = normalize(query)?;
        let stored = filter.to_stored();
        let saved = self
            .catalog
            .run(move |c| {
                let saved = c.save_search(&q)?;
                c.set_search_filter(saved.0, &stored)?;
                Ok::<_, CatalogError>(saved)
            })
            .await?;
        if saved.1 {
            // A recent search saved leaves Recent searches.
            self.changes.changed([ObjectId::Search, ObjectId::Recent]);
        }
        Ok(saved)
    }

    pub async fn list(&self) -> Result<Vec<SavedSearch>, SavedError> {
        Ok(self.catalog.run(|c| c.saved_searches()).await?)
    }

    /// How many results each of these saved searches has cached.
    pub async fn result_counts(&self, ids: Vec<i64>) -> Result<Vec<usize>, SavedError> {
        Ok(self
            .catalog
            .run(move |c| ids.iter().map(|id| c.result_count(*id)).collect())
            .await?)
    }

    pub async fn delete(&self, id: i64) -> Result<(), SavedError> {
        if self.catalog.run(move |c| c.delete_saved_search(id)).await? {
            self.changes.changed([ObjectId::Search, ObjectId::Recent]);
            Ok(())
        } else {
            Err(SavedError::NotFound(id))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_kept_tidy_and_bounded() {
        assert_eq!(
            normalize("  big \t buck\nbunny ").unwrap(),
            "big buck bunny"
        );
        assert!(matches!(normalize("   "), Err(SavedError::BadQuery(_))));
        assert!(matches!(
            normalize(&"x".repeat(201)),
            Err(SavedError::BadQuery(_))
        ));
        assert!(matches!(normalize("a\u{7}b"), Err(SavedError::BadQuery(_))));
    }
}
