//! momo-bench's own load driver: a task per connection, through reqwest's keep-alive pool, one
//! request at a time each. Slower than wrk (docs/performance.md, "Which driver measured what"),
//! but it can do what wrk cannot: pace requests (`--rate`), follow a create with a poll of the same
//! transaction, spread requests over several instances and keep what each answered.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::figures::{Figures, Load};

/// Load with `load.connections` workers, for `load.warmup` (connections opened, buffers and
/// caches warm: not measured, as with wrk2's and oha's warm-up), then for `load.duration`,
/// measured. `request(i)` sends the i-th request of the run and says whether its answer was the
/// expected one.
pub(crate) async fn drive<F, Fut>(load: Load, request: F) -> Figures
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let Load { connections, warmup, duration, rate } = load;
    let request = Arc::new(request);
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let measured_from = started + warmup;
    let deadline = measured_from + duration;
    // Open loop: connection c sends at started + (c + k * connections) / rate.
    let interval = rate.filter(|r| *r > 0.0).map(|r| Duration::from_secs_f64(connections as f64 / r));
    let mut workers = tokio::task::JoinSet::new();
    for c in 0..connections {
        let (request, counter) = (request.clone(), counter.clone());
        workers.spawn(async move {
            let mut latencies = Vec::new();
            let (mut errors, mut sent, mut sent_errors) = (0u64, 0u64, 0u64);
            let mut due = interval.map(|every| started + every.mul_f64(c as f64 / connections as f64));
            while Instant::now() < deadline {
                let i = counter.fetch_add(1, Ordering::Relaxed);
                let at = match (due, interval) {
                    (Some(when), Some(every)) => {
                        tokio::time::sleep_until(when.into()).await;
                        due = Some(when + every);
                        when
                    }
                    _ => Instant::now(),
                };
                let ok = request(i).await;
                sent += 1;
                sent_errors += u64::from(!ok);
                if at >= measured_from {
                    latencies.push(u32::try_from(at.elapsed().as_micros()).unwrap_or(u32::MAX));
                    errors += u64::from(!ok);
                }
            }
            (latencies, errors, sent, sent_errors)
        });
    }
    let mut all = Vec::new();
    let (mut errors, mut sent, mut sent_errors) = (0, 0, 0);
    while let Some(Ok((latencies, e, s, se))) = workers.join_next().await {
        all.extend(latencies);
        errors += e;
        sent += s;
        sent_errors += se;
    }
    let elapsed = (Instant::now() - measured_from).as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        if all.is_empty() {
            return 0.0;
        }
        let index = ((all.len() as f64 * p).ceil() as usize).clamp(1, all.len()) - 1;
        f64::from(all[index]) / 1000.0
    };
    Figures {
        requests: all.len() as u64,
        errors,
        sent,
        sent_errors,
        requests_per_second: all.len() as f64 / elapsed,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        p999_ms: pct(0.999),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::drive;
    use crate::figures::Load;

    #[tokio::test]
    async fn the_driver_counts_only_what_follows_the_warmup() {
        let url = format!("{}/collection/v1_0/requesttopay/x", crate::baseline::spawn(10, 10).await);
        let http = reqwest::Client::new();
        let load = Load {
            connections: 2,
            warmup: Duration::from_millis(100),
            duration: Duration::from_millis(200),
            rate: None,
        };
        let figures = drive(load, move |_| {
            let (http, url) = (http.clone(), url.clone());
            async move { http.get(url).send().await.is_ok_and(|r| r.status() == 200) }
        })
        .await;
        assert!(figures.requests > 0);
        assert!(figures.sent > figures.requests, "the warm-up's requests are sent but not measured");
        assert_eq!((figures.errors, figures.sent_errors), (0, 0));
        assert!(figures.p50_ms <= figures.p99_ms && figures.p99_ms <= figures.p999_ms);
    }
}
