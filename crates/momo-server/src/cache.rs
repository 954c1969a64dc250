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
//!
//! And it keeps the claims of access tokens whose signature it has checked, so that a token seen
//! before is not decoded and its HMAC not computed again on every request (docs/performance.md,
//! "The per-request work"). A cached token says only what its signature proved, which no change
//! of credentials can make untrue: whether its API user still holds it (not revoked, the same key
//! version) is looked up in the users above on every request, as for a token not cached, so a
//! revocation takes effect exactly as fast. Its time limits are checked again on every use, so
//! an entry never outlives its token. A clear forgets the tokens with everything else.

use std::hash::Hash;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use time::OffsetDateTime;

use crate::domain::tokens::{Claims, TokenSigner};
use crate::store::{ApiUserRecord, SecretHash, Store, StoreResult, SubscriptionKeyRecord, TxKey};

/// A final transaction's owner and status body.
#[derive(Debug)]
pub struct FinalStatus {
    pub api_user: String,
    pub body: String,
}

/// At most this many entries per map; past it, lookups go to the database uncached.
const MAX_ENTRIES: usize = 100_000;

/// At most this many verified tokens; past it, the tokens are forgotten and verified again as
/// they come. An entry is the token (about 400 bytes) and its claims (about 300): some 7 MB.
const MAX_TOKENS: usize = 10_000;

#[derive(Debug, Default)]
pub struct CredentialCache {
    users: DashMap<String, Option<Arc<ApiUserRecord>>>,
    keys: DashMap<SecretHash, Option<Arc<SubscriptionKeyRecord>>>,
    finals: DashMap<TxKey, Arc<FinalStatus>>,
    tokens: VerifiedTokens,
    generation: AtomicU64,
    epoch: AtomicI64,
}

/// Access tokens whose signature was checked, by the token itself, with their claims.
///
/// Keyed by the whole token, not a digest of it: a hit compares every byte, so no other token can
/// stand for a cached one, and a cryptographic digest of each presented token would cost a good
/// part of the HMAC the cache saves. Holding tokens in memory exposes nothing new: the same
/// memory holds the key that signs them.
#[derive(Default)]
struct VerifiedTokens(DashMap<Box<str>, Arc<Claims>>);

impl std::fmt::Debug for VerifiedTokens {
    /// Never the tokens: they are bearer credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VerifiedTokens({} cached)", self.0.len())
    }
}

impl CredentialCache {
    /// The API user with this id, if any.
    pub async fn api_user(&self, store: &dyn Store, id: &str) -> StoreResult<Option<Arc<ApiUserRecord>>> {
        self.cached(&self.users, id, str::to_owned, || store.api_user(id)).await
    }

    /// The subscription key with this hash, if any.
    pub async fn subscription_key(
        &self,
        store: &dyn Store,
        hash: &SecretHash,
    ) -> StoreResult<Option<Arc<SubscriptionKeyRecord>>> {
        self.cached(&self.keys, hash, SecretHash::clone, || store.subscription_key_by_hash(hash)).await
    }

    /// Look `key` up without owning it; on a miss, `load` it and keep it under `owned(key)`. A hit
    /// allocates nothing: neither the key nor the store's (boxed) future, made only on a miss.
    async fn cached<K, Q, V, Load>(
        &self,
        map: &DashMap<K, Option<Arc<V>>>,
        key: &Q,
        owned: impl FnOnce(&Q) -> K,
        load: impl FnOnce() -> Load,
    ) -> StoreResult<Option<Arc<V>>>
    where
        Load: std::future::Future<Output = StoreResult<Option<V>>>,
        K: Eq + Hash + std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        if let Some(hit) = map.get(key) {
            return Ok(hit.clone());
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let loaded = load().await?.map(Arc::new);
        if map.len() < MAX_ENTRIES {
            map.insert(owned(key), loaded.clone());
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

    /// The claims of `token` if it is one of ours and in force at `now`: from the cache when its
    /// signature was checked before, else checked by `signer` (and kept if good). Whether its API
    /// user still holds it is the caller's to check, against [`CredentialCache::api_user`].
    pub fn verified_token(&self, signer: &TokenSigner, token: &str, now: OffsetDateTime) -> Option<Arc<Claims>> {
        let cached = self.tokens.0.get(token).map(|entry| Arc::clone(&entry));
        if let Some(claims) = cached {
            if signer.in_force(&claims, now) {
                return Some(claims);
            }
            // Expired: it will never be in force again.
            self.tokens.0.remove(token);
            return None;
        }
        let claims = Arc::new(signer.verify(token, now)?);
        if self.tokens.0.len() >= MAX_TOKENS {
            self.tokens.0.clear();
        }
        let generation = self.generation.load(Ordering::SeqCst);
        self.tokens.0.insert(token.into(), claims.clone());
        if self.generation.load(Ordering::SeqCst) != generation {
            // Cleared meanwhile: a clear forgets every token, this one too.
            self.tokens.0.remove(token);
        }
        Some(claims)
    }

    /// Forget everything (after a credential change or a reset).
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.users.clear();
        self.keys.clear();
        self.finals.clear();
        self.tokens.0.clear();
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use momo_types::Product;

    use super::*;
    use crate::domain::tokens::TokenRequest;

    const HOUR: Duration = Duration::from_secs(3600);

    fn signer() -> TokenSigner {
        TokenSigner::new(b"0123456789abcdef0123456789abcdef", HOUR)
    }

    fn token(signer: &TokenSigner, now: OffsetDateTime) -> String {
        let request = TokenRequest {
            api_user: "c72025f5-5cd1-4630-99e4-8ba4722fad56".into(),
            environment: "sandbox".into(),
            product: Product::Collection,
            key_version: 1,
            consent: None,
        };
        signer.issue(request, now, 3600).unwrap()
    }

    #[test]
    fn a_verified_token_is_kept_and_refused_from_the_cache_once_it_expires() {
        let (cache, signer, now) = (CredentialCache::default(), signer(), OffsetDateTime::now_utc());
        let token = token(&signer, now);
        let first = cache.verified_token(&signer, &token, now).unwrap();
        let again = cache.verified_token(&signer, &token, now + time::Duration::seconds(3599)).unwrap();
        assert!(Arc::ptr_eq(&first, &again), "the second use is answered from the cache");
        assert!(cache.verified_token(&signer, &token, now + time::Duration::seconds(3600)).is_none());
        assert_eq!(cache.tokens.0.len(), 0, "an expired token is dropped");
    }

    #[test]
    fn a_clear_forgets_verified_tokens_and_bad_ones_are_never_kept() {
        let (cache, signer, now) = (CredentialCache::default(), signer(), OffsetDateTime::now_utc());
        let token = token(&signer, now);
        let first = cache.verified_token(&signer, &token, now).unwrap();
        cache.clear();
        assert_eq!(cache.tokens.0.len(), 0);
        let after = cache.verified_token(&signer, &token, now).unwrap();
        assert!(!Arc::ptr_eq(&first, &after), "verified again after the clear");
        let forged = self::token(&TokenSigner::new(b"fedcba9876543210fedcba9876543210", HOUR), now);
        for bad in [forged.as_str(), "", "a.b.c", &token[..token.len() - 2]] {
            assert!(cache.verified_token(&signer, bad, now).is_none(), "{bad:?}");
        }
        assert_eq!(cache.tokens.0.len(), 1, "only the good token is kept");
    }

    #[test]
    fn the_verified_tokens_never_show_in_debug_output() {
        let (cache, signer, now) = (CredentialCache::default(), signer(), OffsetDateTime::now_utc());
        let token = token(&signer, now);
        cache.verified_token(&signer, &token, now).unwrap();
        let shown = format!("{cache:?}");
        assert!(!shown.contains(&token) && !shown.contains(&token[..20]), "{shown}");
        assert!(shown.contains("VerifiedTokens(1 cached)"), "{shown}");
    }
}
