#!/bin/bash
# instructions-per-get.sh BINARY PORT LABEL [N]: a fresh `momo serve` (SQLite, in a temporary
# directory) under valgrind's callgrind, a sandbox user and one request to pay, waited for until
# final, 200 status reads to warm up, then N (default 2000) more on one kept-alive connection
# (curl), counted: the instructions the server executed per GET request-to-pay status, its
# background workers included. Unlike throughput, the count does not move with other work on the
# machine, so it shows a change of a few percent that a shared machine's run-to-run spread hides.
# SERVER_LOG=default runs the server with its default log settings (no RUST_LOG); otherwise
# RUST_LOG=${SERVER_LOG:-warn}. Extra `momo serve` flags may follow N (e.g. --access-log info).
# docs/performance.md, "What the metrics cost" and "The per-request work".
set -e
bin=$1; port=$2; label=$3; n=${4:-2000}; shift $(( $# < 4 ? $# : 4 ))
dir=$(mktemp -d); chmod 700 "$dir"
if [ "${SERVER_LOG:-warn}" = default ]; then unset RUST_LOG; else export RUST_LOG=${SERVER_LOG:-warn}; fi
valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out" \
  "$bin" serve --data-dir "$dir" --bind 127.0.0.1:$port --subscription-key benchkey --admin-token benchtoken "$@" > "$dir/log" 2>&1 &
pid=$!
token=$("$(dirname "$0")/sandbox-token.sh" $port)
body='{"amount":"5","currency":"EUR","externalId":"1","payer":{"partyIdType":"MSISDN","partyId":"46733123454"},"payerMessage":"m","payeeNote":"n"}'
H=(-H "Authorization: Bearer $token" -H 'Ocp-Apim-Subscription-Key: benchkey' -H 'X-Target-Environment: sandbox')
ref=$(cat /proc/sys/kernel/random/uuid)
curl -sf -X POST 127.0.0.1:$port/collection/v1_0/requesttopay "${H[@]}" -H "X-Reference-Id: $ref" -H 'Content-Type: application/json' -d "$body"
# Count reads of a final transaction only: a read of a pending one goes to the database, and the
# read that finds it past its pending delay (3 s, longer than it seems under valgrind) settles it,
# so reads counted before then are a mix that varies from run to run.
for i in $(seq 600); do
  curl -sf "${H[@]}" 127.0.0.1:$port/collection/v1_0/requesttopay/$ref | grep -q '"status":"PENDING"' || break
  sleep 0.1
done
# One curl, one connection: each URL of its config is a request on it.
reads() { for i in $(seq "$1"); do printf 'url = "http://127.0.0.1:%s/collection/v1_0/requesttopay/%s"\noutput = "/dev/null"\n' $port $ref; done > "$dir/urls"; curl -sf "${H[@]}" -K "$dir/urls"; }
reads 200
callgrind_control -z $pid > /dev/null
reads "$n"
callgrind_control -d $pid > /dev/null
# The whole process, and the connections' tasks alone (the request path, without the workers,
# whose share grows with the time valgrind takes, and so with the machine's load).
total=$(cat "$dir"/callgrind.out*.1 | awk '/^summary:/ { sum += $2 } END { print sum }')
serving=$(callgrind_annotate --inclusive=yes "$dir"/callgrind.out*.1 2>/dev/null \
  | awk '/momo_server::net::serve::\{\{closure\}\}::\{\{closure\}\} / { gsub(",", "", $1); print $1; exit }')
awk -v t="$total" -v s="$serving" -v n="$n" -v label="$label" \
  'BEGIN { printf "== %s: %.0f instructions per GET serving it, %.0f in all (%d GETs)\n", label, s / n, t / n, n }'
kill $pid; wait $pid 2>/dev/null || true
# KEEP=FILE keeps the profile, for callgrind_annotate.
[ -n "$KEEP" ] && cp "$dir"/callgrind.out*.1 "$KEEP"
rm -rf "$dir"
