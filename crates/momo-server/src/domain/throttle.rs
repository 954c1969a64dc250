//! Throttling of failed operator authentication, per client address.
//!
//! Each address may fail [`FailureThrottle::LIMIT`] times in a window of
//! [`FailureThrottle::WINDOW`] that starts at its first failure; after that its attempts are
//! refused without checking the token until the window has passed. An address that is not locked
//! out is never slowed down, whatever it sends, so a correct token from it is answered at once.
//! Attempts still being checked count against the limit too, so that concurrent guesses cannot
//! slip past it; an address with as many attempts in flight as it has failures left waits for one
//! of them to be decided (a burst of more than ten concurrent correct requests queues for a
//! moment, and is never refused).
//!
//! IPv6 addresses are counted per /64 (what one host is usually given), IPv4-mapped IPv6
//! addresses as their IPv4 address. The table holds at most [`FailureThrottle::CAPACITY`]
//! addresses: when it is full, windows that have passed are dropped first, then the address whose
//! window started earliest. Per-address counting cannot stop a client with many addresses; a long
//! random operator token does (the generated ones have 256 bits).
//!
//! The counts live in this instance's memory: a restart forgets them, and instances sharing a
//! database count separately.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;

use crate::domain::clock::Clock;

/// One address: its failures in the current window and its attempts being checked.
#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    /// Attempts admitted and not yet decided. They count against the limit, so that a burst of
    /// concurrent guesses cannot slip past it while the first ones are being checked.
    in_flight: u32,
    /// When the window started (ms since the epoch): the address's first failure in it.
    since_ms: i64,
}

/// Failed attempts per client address, bounded in memory.
#[derive(Debug, Default)]
pub struct FailureThrottle {
    entries: Mutex<HashMap<IpAddr, Entry>>,
    /// Woken whenever an attempt is decided, for attempts waiting for a free slot.
    decided: Notify,
}

/// What [`FailureThrottle::try_admit`] decides.
enum Admission<'a> {
    Go(Attempt<'a>),
    /// Locked out for this long more.
    Locked(Duration),
    /// As many attempts are being checked as the address has failures left: wait for one.
    Busy,
}

impl FailureThrottle {
    /// Failures an address may have in one window; the next attempt is refused.
    pub const LIMIT: u32 = 10;
    /// How long a window lasts, from the address's first failure.
    pub const WINDOW: Duration = Duration::from_secs(60);
    /// The most addresses remembered at once (about 40 bytes each), not counting those with an
    /// attempt being checked.
    pub const CAPACITY: usize = 10_000;

    const WINDOW_MS: i64 = Self::WINDOW.as_millis() as i64;

    /// Admit an attempt from `address`, or `Err(retry_after)` if the address is locked out:
    /// refuse it without checking. An address with as many attempts in flight as it has
    /// failures left waits for one of them to be decided (a burst of correct requests queues
    /// for a moment; it is never refused).
    pub async fn admit(&self, address: IpAddr, clock: &Clock) -> Result<Attempt<'_>, Duration> {
        loop {
            let decided = self.decided.notified();
            tokio::pin!(decided);
            decided.as_mut().enable();
            match self.try_admit(address, clock.now_ms()) {
                Admission::Go(attempt) => return Ok(attempt),
                Admission::Locked(wait) => return Err(wait),
                Admission::Busy => decided.await,
            }
        }
    }

    fn try_admit(&self, address: IpAddr, now_ms: i64) -> Admission<'_> {
        let mut entries = self.lock();
        let key = bucket(address);
        match entries.get_mut(&key) {
            Some(entry) => {
                let ends = entry.since_ms.saturating_add(Self::WINDOW_MS);
                if entry.failures > 0 && now_ms >= ends {
                    entry.failures = 0;
                }
                if entry.failures >= Self::LIMIT {
                    return Admission::Locked(Duration::from_millis(u64::try_from(ends - now_ms).unwrap_or(0)));
                }
                if entry.failures + entry.in_flight >= Self::LIMIT {
                    return Admission::Busy;
                }
                entry.in_flight += 1;
            }
            None => {
                make_room(&mut entries, now_ms);
                entries.insert(key, Entry { failures: 0, in_flight: 1, since_ms: now_ms });
            }
        }
        Admission::Go(Attempt { throttle: self, key, decided: false })
    }

    /// Close an attempt of `key`; `failed_at`: it failed at that time. `true` if this failure
    /// locks the address out.
    fn decide(&self, key: IpAddr, failed_at: Option<i64>) -> bool {
        let mut locked = false;
        {
            let mut entries = self.lock();
            if failed_at.is_some() && !entries.contains_key(&key) {
                // Evicted meanwhile: count the failure anew.
                make_room(&mut entries, failed_at.unwrap_or_default());
                entries.insert(key, Entry { failures: 0, in_flight: 1, since_ms: 0 });
            }
            if let Some(entry) = entries.get_mut(&key) {
                entry.in_flight = entry.in_flight.saturating_sub(1);
                if let Some(now_ms) = failed_at {
                    if entry.failures == 0 {
                        entry.since_ms = now_ms;
                    }
                    entry.failures = entry.failures.saturating_add(1);
                    locked = entry.failures == Self::LIMIT;
                }
                if entry.failures == 0 && entry.in_flight == 0 {
                    entries.remove(&key);
                }
            }
        }
        self.decided.notify_waiters();
        locked
    }

    /// How many addresses are remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Entry>> {
        // Every update is complete before the guard is dropped, so a poisoned map is consistent.
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// An admitted attempt. Dropping it without [`Attempt::failed`] (a correct token, or a request
/// that went away) leaves the address's failures as they were.
#[derive(Debug)]
pub struct Attempt<'a> {
    throttle: &'a FailureThrottle,
    key: IpAddr,
    decided: bool,
}

impl Attempt<'_> {
    /// The token was wrong: count it; `true` if this failure locks the address out.
    pub fn failed(mut self, now_ms: i64) -> bool {
        self.decided = true;
        self.throttle.decide(self.key, Some(now_ms))
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.decided {
            self.throttle.decide(self.key, None);
        }
    }
}

/// Keep the table within [`FailureThrottle::CAPACITY`] before adding an address: drop windows
/// that have passed, then the idle address whose window started earliest.
fn make_room(entries: &mut HashMap<IpAddr, Entry>, now_ms: i64) {
    if entries.len() < FailureThrottle::CAPACITY {
        return;
    }
    entries.retain(|_, e| e.in_flight > 0 || now_ms < e.since_ms.saturating_add(FailureThrottle::WINDOW_MS));
    if entries.len() >= FailureThrottle::CAPACITY {
        let oldest = entries.iter().filter(|(_, e)| e.in_flight == 0).min_by_key(|(_, e)| e.since_ms).map(|(k, _)| *k);
        if let Some(oldest) = oldest {
            entries.remove(&oldest);
        }
    }
}

/// The key an address is counted under: IPv4 as is, IPv6 by its /64.
fn bucket(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 7));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 8));

    fn go(throttle: &FailureThrottle, address: IpAddr, now_ms: i64) -> Attempt<'_> {
        match throttle.try_admit(address, now_ms) {
            Admission::Go(attempt) => attempt,
            Admission::Locked(_) => panic!("{address} is locked at {now_ms}"),
            Admission::Busy => panic!("{address} is busy at {now_ms}"),
        }
    }

    #[test]
    fn an_address_is_locked_after_the_limit_until_its_window_passes() {
        let throttle = FailureThrottle::default();
        let t0 = 1_000_000;
        for i in 1..=FailureThrottle::LIMIT {
            let locked = go(&throttle, A, t0 + i64::from(i)).failed(t0 + i64::from(i));
            assert_eq!(locked, i == FailureThrottle::LIMIT, "failure {i}");
        }
        match throttle.try_admit(A, t0 + 1_001) {
            Admission::Locked(wait) => assert_eq!(wait, FailureThrottle::WINDOW - Duration::from_secs(1)),
            _ => panic!("not locked"),
        }
        drop(go(&throttle, B, t0 + 1_001));
        let after = t0 + 1 + FailureThrottle::WINDOW_MS;
        assert!(!go(&throttle, A, after).failed(after), "the window has passed: a new one starts");
        assert_eq!(throttle.len(), 1, "B, which never failed, is not remembered");
    }

    #[test]
    fn a_correct_attempt_leaves_the_count_as_it_was() {
        let throttle = FailureThrottle::default();
        for _ in 1..FailureThrottle::LIMIT {
            go(&throttle, A, 5).failed(5);
        }
        drop(go(&throttle, A, 6));
        drop(go(&throttle, A, 7));
        assert!(go(&throttle, A, 8).failed(8), "the tenth failure locks");
    }

    #[test]
    fn concurrent_attempts_count_against_the_limit_until_decided() {
        let throttle = FailureThrottle::default();
        go(&throttle, A, 1).failed(1);
        let open: Vec<_> = (1..FailureThrottle::LIMIT).map(|_| go(&throttle, A, 2)).collect();
        assert!(matches!(throttle.try_admit(A, 2), Admission::Busy), "no eleventh guess while nine are checked");
        drop(open);
        drop(go(&throttle, A, 3));
    }

    #[tokio::test]
    async fn a_waiting_attempt_goes_once_another_is_decided() {
        let throttle = std::sync::Arc::new(FailureThrottle::default());
        let clock = Clock::manual();
        let open: Vec<_> = (0..FailureThrottle::LIMIT).map(|_| go(&throttle, A, clock.now_ms())).collect();
        let waiting = {
            let (throttle, clock) = (throttle.clone(), clock.clone());
            tokio::spawn(async move { throttle.admit(A, &clock).await.map(drop).is_ok() })
        };
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(open);
        assert!(waiting.await.unwrap());
    }

    #[test]
    fn ipv6_addresses_count_per_64_and_mapped_ipv4_as_ipv4() {
        let one: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let same_64: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let other_64: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(bucket(one), bucket(same_64));
        assert_ne!(bucket(one), bucket(other_64));
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        assert_eq!(bucket(mapped), A);
    }

    #[test]
    fn the_table_never_holds_more_than_its_capacity() {
        let throttle = FailureThrottle::default();
        let many = FailureThrottle::CAPACITY + 500;
        let address = |n: usize| IpAddr::V6(Ipv6Addr::from((n as u128) << 64));
        for n in 0..many {
            go(&throttle, address(n), 1_000 + n as i64).failed(1_000 + n as i64);
        }
        assert_eq!(throttle.len(), FailureThrottle::CAPACITY);
        // The newest addresses are kept: the last one is still counted.
        for _ in 1..FailureThrottle::LIMIT {
            go(&throttle, address(many - 1), 20_000).failed(20_000);
        }
        assert!(matches!(throttle.try_admit(address(many - 1), 20_000), Admission::Locked(_)));
    }
}
