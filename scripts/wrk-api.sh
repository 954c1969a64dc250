#!/bin/bash
# wrk-api.sh BINARY PORT LABEL: a fresh `momo serve` (SQLite, in a temporary directory), a
# sandbox user, then wrk (Debian's `wrk`; one thread, 64 connections, 5 s each) on
# POST request to pay with a fresh reference id per request (momo-bench's wrk scripts,
# crates/momo-bench/wrk/reference-id.lua and request-to-pay.lua) and on GET of one request's
# status, with the server's CPU time per GET. WATCH=1 keeps three console live pages' event
# streams open meanwhile.
# SERVER_LOG=default runs the server with its default log settings (no RUST_LOG); otherwise
# RUST_LOG=${SERVER_LOG:-warn}. Extra `momo serve` flags may follow LABEL (e.g. --access-log info).
# docs/performance.md, "What the console cost the API" and "The per-request work".
set -e
bin=$1; port=$2; label=$3; shift 3
dir=$(mktemp -d); chmod 700 "$dir"
if [ "${SERVER_LOG:-warn}" = default ]; then unset RUST_LOG; else export RUST_LOG=${SERVER_LOG:-warn}; fi
"$bin" serve --data-dir "$dir" --bind 127.0.0.1:$port --subscription-key benchkey --admin-token benchtoken "$@" > "$dir/log" 2>&1 &
pid=$!
token=$("$(dirname "$0")/sandbox-token.sh" $port)
body='{"amount":"5","currency":"EUR","externalId":"1","payer":{"partyIdType":"MSISDN","partyId":"46733123454"},"payerMessage":"m","payeeNote":"n"}'
echo "$body" > "$dir/body.json"
cat > "$dir/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
$(cat "$(dirname "$0")/../crates/momo-bench/wrk/reference-id.lua" "$(dirname "$0")/../crates/momo-bench/wrk/request-to-pay.lua")
LUA
H=(-H "Authorization: Bearer $token" -H 'Ocp-Apim-Subscription-Key: benchkey' -H 'X-Target-Environment: sandbox')
if [ -n "$WATCH" ]; then
  jar="$dir/jar"
  csrf=$(curl -s -c "$jar" "http://127.0.0.1:$port/_momo/console/sign-in" | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' | head -1)
  curl -s -b "$jar" -c "$jar" -o /dev/null --data-urlencode "token=benchtoken" --data-urlencode "csrf=$csrf" "http://127.0.0.1:$port/_momo/console/sign-in"
  session=$(awk '$6=="momo_console"{print $7}' "$jar")
  for t in transactions callbacks counts; do curl -sN -H "Cookie: momo_console=$session" "http://127.0.0.1:$port/_momo/console/events?topic=$t" > "$dir/events-$t" & done
  sleep 0.3
fi
echo "== $label POST"; wrk -t1 -c64 -d5s "${H[@]}" -s "$dir/post.lua" http://127.0.0.1:$port | grep -E "Requests/sec|Latency|Non-2xx"
ref=$(cat /proc/sys/kernel/random/uuid)
curl -sf -X POST 127.0.0.1:$port/collection/v1_0/requesttopay "${H[@]}" -H "X-Reference-Id: $ref" -H 'Content-Type: application/json' -d "$body"
sleep 0.5
# The server's CPU time (user + system, clock ticks) around the GET run: CPU per request moves
# less than throughput when other work shares the machine.
cpu() { awk '{print $14 + $15}' /proc/$pid/stat; }
before=$(cpu)
# PERF=1: also the server's user-space instructions per GET (perf stat), which other work on the
# machine moves far less than time.
if [ -n "$PERF" ]; then perf stat -e instructions:u -x, -o "$dir/perf" -p $pid & counting=$!; sleep 0.2; fi
echo "== $label GET"; wrk -t1 -c64 -d5s "${H[@]}" http://127.0.0.1:$port/collection/v1_0/requesttopay/$ref > "$dir/get"
grep -E "Requests/sec|Non-2xx" "$dir/get"
requests=$(awk '/requests in/ {print $1}' "$dir/get")
if [ -n "$PERF" ]; then
  kill -INT $counting; wait $counting || true
  awk -F, -v n=$requests '/instructions/ { printf "server instructions per GET: %.0f\n", $1 / n }' "$dir/perf"
fi
awk -v ticks=$(( $(cpu) - before )) -v hz=$(getconf CLK_TCK) -v n=$requests \
  'BEGIN { printf "server CPU per GET: %.2f us\n", ticks * 1e6 / hz / n }'
[ -n "$WATCH" ] && echo "hints: $(cat $dir/events-* | grep -c 'event: change')"
kill $pid; wait $pid 2>/dev/null || true
rm -rf "$dir"
