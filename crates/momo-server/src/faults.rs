//! Fault injection: operator-defined rules that make matching requests fail, slow down, or fail
//! with a probability, for N requests or until removed. Enough to reproduce the sandbox's 500 on
//! `POST /v1_0/apiuser` and its 503 on request to pay.
//!
//! Rules live in the database, so that every instance sharing it applies them. Each instance
//! keeps a copy of the rules in force, refreshed with its credential cache (every
//! `Settings::cache_refresh_interval`), so that with no rules (the usual case) a request costs no
//! database round trip. A request that matches the copy asks the database before it is affected
//! ([`Store::use_fault`]): a rule removed or used up on another instance never fires, and a
//! counted rule's count goes down atomically, shared by all instances. The middleware that
//! applies them is [`crate::gateway::inject_faults`].

use std::sync::{Arc, RwLock};

// The operator API's wire types, named as this module has always named them.
pub(crate) use momo_types::admin::{Fault as FaultView, FaultSpec};

use crate::store::{FaultRecord, Store, StoreResult};

/// A rule in force, as this instance's copy holds it.
#[derive(Debug)]
pub(crate) struct FaultRule {
    pub id: String,
    pub spec: FaultSpec,
}

/// The fault rules: the service behind `/_momo/admin/faults`, and this instance's copy of the
/// rules in force.
#[derive(Debug, Default)]
pub struct Faults {
    rules: RwLock<Vec<Arc<FaultRule>>>,
}

impl Faults {
    /// Add a rule ([`FaultSpec::check`] it first); it applies here at once, elsewhere on their
    /// next refresh.
    pub async fn add(&self, store: &dyn Store, spec: FaultSpec, now: i64) -> StoreResult<FaultView> {
        let record = FaultRecord {
            // Time-ordered, so that rules added in the same millisecond list in order.
            id: uuid::Uuid::now_v7().to_string(),
            spec: serde_json::to_string(&spec).unwrap_or_default(),
            remaining: spec.count,
            created_at: now,
        };
        store.insert_fault(&record).await?;
        self.write().push(Arc::new(FaultRule { id: record.id.clone(), spec: spec.clone() }));
        Ok(FaultView { id: record.id, spec, remaining: record.remaining })
    }

    /// Every rule, those used up included, with what is left of its count.
    pub async fn list(&self, store: &dyn Store) -> StoreResult<Vec<FaultView>> {
        Ok(store
            .faults()
            .await?
            .into_iter()
            .filter_map(|record| {
                let spec = parse(&record)?;
                Some(FaultView { id: record.id, spec, remaining: record.remaining })
            })
            .collect())
    }

    /// Remove a rule, on every instance at once; `false` if there is none with that id.
    pub async fn remove(&self, store: &dyn Store, id: &str) -> StoreResult<bool> {
        let removed = store.delete_fault(id).await?;
        self.forget(id);
        Ok(removed)
    }

    /// Remove every rule.
    pub async fn clear(&self, store: &dyn Store) -> StoreResult<()> {
        store.delete_faults().await?;
        self.write().clear();
        Ok(())
    }

    /// Take the rules in force from the database (those added or removed by other instances).
    pub async fn refresh(&self, store: &dyn Store) -> StoreResult<()> {
        let rules: Vec<Arc<FaultRule>> = store
            .faults()
            .await?
            .into_iter()
            .filter(|record| record.remaining.is_none_or(|left| left > 0))
            .filter_map(|record| Some(Arc::new(FaultRule { spec: parse(&record)?, id: record.id })))
            .collect();
        *self.write() = rules;
        Ok(())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<Arc<FaultRule>>> {
        self.rules.write().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn forget(&self, id: &str) {
        self.write().retain(|r| r.id != id);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rules.read().unwrap_or_else(|e| e.into_inner()).is_empty()
    }

    pub(crate) fn matching(&self, method: &str, path: &str, api_user: Option<&str>) -> Option<Arc<FaultRule>> {
        let rules = self.rules.read().unwrap_or_else(|e| e.into_inner());
        rules
            .iter()
            .find(|r| {
                r.spec.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method))
                    && glob(&r.spec.path, path)
                    && r.spec.api_user.as_deref().is_none_or(|u| Some(u) == api_user)
            })
            .cloned()
    }
}

/// The rule a record holds; `None` (and a warning) if it cannot be read.
fn parse(record: &FaultRecord) -> Option<FaultSpec> {
    serde_json::from_str(&record.spec)
        .map_err(|e| tracing::warn!(fault = %record.id, error = %e, "unreadable fault rule ignored"))
        .ok()
}

/// `*` matches any run of characters; everything else literally.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) || text.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn glob_matches_stars_and_literals() {
        assert!(glob("/v1_0/apiuser", "/v1_0/apiuser"));
        assert!(!glob("/v1_0/apiuser", "/v1_0/apiuser/x/apikey"));
        assert!(glob("/v1_0/apiuser*", "/v1_0/apiuser/x/apikey"));
        assert!(glob("/*/v1_0/requesttopay", "/collection/v1_0/requesttopay"));
        assert!(glob("*", "/anything"));
        assert!(!glob("/a*b", "/a"));
        assert!(glob("/a*b*c", "/a-b-c"));
    }
}
