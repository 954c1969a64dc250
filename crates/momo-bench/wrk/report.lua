-- wrk: what momo-bench reads from a run, as one line of JSON after the marker `momo-bench-wrk `
-- (crates/momo-bench/src/wrk.rs parses it). Times in microseconds; `status_errors` counts answers
-- with a status above 399, as wrk's "Non-2xx or 3xx responses" does.
function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'momo-bench-wrk {"duration_us":%.0f,"requests":%.0f,"connect_errors":%.0f,"read_errors":%.0f,' ..
    '"write_errors":%.0f,"status_errors":%.0f,"timeouts":%.0f,"p50_us":%.0f,"p99_us":%.0f,"p999_us":%.0f}\n',
    summary.duration, summary.requests, errors.connect, errors.read, errors.write, errors.status,
    errors.timeout, latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
