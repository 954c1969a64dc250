//! In-memory cache of API users and subscription keys, so the hot path (gateway check, token
//! check) makes no database round trip.
//!
//! Correct invalidation:
//! - a change made through this instance clears the cache right after it commits, so it takes
//!   effect on the next request;
//! - a change made by another instance bumps the database's credentials epoch, which every
//!   instance polls (`Settings::cache_refresh_interval`, 250 ms by default) and clears its cache on;
//! - a lookup that raced with a clear (it read the database before the clear and would insert
//!   afterwards) is dropped, using a generation counter.
//!
//! Misses are cached too (so random keys cannot make every request query the database), up to
//! a bound on the number of entries.
//!
//! The same cache keeps the status bodies of final transactions: a SUCCESSFUL or FAILED
//! transaction never changes, so its status needs no database read. Resetting payment state bumps
//! the epoch, which clears these too.

use std::hash::Hash;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use dashmap::DashMap;

use crate::store::{ApiUserRecord, SecretHash, Store, StoreResult, SubscriptionKeyRecord, TxKey};

/// A final transaction's owner and status body.
#[derive(Debug)]
pub struct FinalStatus {
    pub api_user: String,
    pub body: String,
}

/// At most this many entries per map; past it, lookups go to the database uncached.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Default)]
pub struct CredentialCache {
    users: DashMap<String, Option<Arc<ApiUserRecord>>>,
    keys: DashMap<SecretHash, Option<Arc<SubscriptionKeyRecord>>>,
    finals: DashMap<TxKey, Arc<FinalStatus>>,
    generation: AtomicU64,
    epoch: AtomicI64,
}

impl CredentialCache {
    /// The API user with this id, if any.
    pub async fn api_user(&self, store: &dyn Store, id: &str) -> StoreResult<Option<Arc<ApiUserRecord>>> {
        self.cached(&self.users, id.to_owned(), store.api_user(id)).await
    }

    /// The subscription key with this hash, if any.
    pub async fn subscription_key(
        &self,
        store: &dyn Store,
        hash: &SecretHash,
    ) -> StoreResult<Option<Arc<SubscriptionKeyRecord>>> {
        self.cached(&self.keys, hash.clone(), store.subscription_key_by_hash(hash)).await
    }

    async fn cached<K: Eq + Hash, V>(
        &self,
        map: &DashMap<K, Option<Arc<V>>>,
        key: K,
        load: impl std::future::Future<Output = StoreResult<Option<V>>>,
    ) -> StoreResult<Option<Arc<V>>> {
        if let Some(hit) = map.get(&key) {
            return Ok(hit.clone());
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let loaded = load.await?.map(Arc::new);
        if map.len() < MAX_ENTRIES {
            map.insert(key, loaded.clone());
            if self.generation.load(Ordering::SeqCst) != generation {
                // Cleared while we were loading: what we read may be stale.
                map.clear();
            }
        }
        Ok(loaded)
    }

    /// The status body of a final transaction, if known.
    pub fn final_status(&self, key: &TxKey) -> Option<Arc<FinalStatus>> {
        self.finals.get(key).map(|entry| entry.clone())
    }

    /// Remember a final transaction's status body (only ever call it for a final one).
    pub fn remember_final(&self, key: TxKey, api_user: &str, body: &str) {
        if self.finals.len() >= MAX_ENTRIES {
            self.finals.clear();
        }
        let generation = self.generation.load(Ordering::SeqCst);
        self.finals.insert(key.clone(), Arc::new(FinalStatus { api_user: api_user.to_owned(), body: body.to_owned() }));
        if self.generation.load(Ordering::SeqCst) != generation {
            self.finals.remove(&key);
        }
    }

    /// Forget everything (after a credential change or a reset).
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.users.clear();
        self.keys.clear();
        self.finals.clear();
    }

    /// Clear if another instance changed credentials since the last look.
    pub async fn refresh(&self, store: &dyn Store) -> StoreResult<()> {
        let epoch = store.credentials_epoch().await?;
        if self.epoch.swap(epoch, Ordering::SeqCst) != epoch {
            self.clear();
        }
        Ok(())
    }
}
