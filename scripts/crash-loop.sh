#!/usr/bin/env bash
# The long crash test (docs/reliability.md): SIGKILL `momo serve` at random moments under write
# load, ROUNDS times in a row. After each restart every request to pay that got a 202 must exist
# with a consistent status and the ledger must balance; at the end every callback must have
# arrived. Needs a release build (cargo build --release --bin momo), curl and python3.
#
#   scripts/crash-loop.sh [ROUNDS]        (20 by default)
#   PENDING_DELAY=0 scripts/crash-loop.sh (settled in the accepting commit; default 0.2 s)
#   DATABASE_URL=postgres://… scripts/crash-loop.sh (on PostgreSQL: an empty database, which the
#                                                   server migrates; the server is killed, not it)
set -euo pipefail
ROUNDS=${1:-20}
MOMO=${MOMO:-$(pwd)/target/release/momo}
PORT=${PORT:-18950}
LISTEN_PORT=$((PORT + 1))
BASE=http://127.0.0.1:$PORT
KEY=crash-loop-subscription-key-0001
ADMIN=crash-loop-operator-token-0001
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

start_server() {
  "$MOMO" serve --bind 127.0.0.1:$PORT --data-dir "$WORK/data" --subscription-key $KEY \
    --admin-token $ADMIN --pending-delay "${PENDING_DELAY:-0.2}" ${DATABASE_URL:+--database-url "$DATABASE_URL"} \
    >>"$WORK/server.out" 2>>"$WORK/server.err" &
  SERVER=$!
  for _ in $(seq 1 200); do curl -sf $BASE/_momo/health >/dev/null && return; sleep 0.05; done
  echo "the server did not start" >&2; exit 1
}

start_server
(cd "$WORK" && "$MOMO" sandbox provision --base-url $BASE --subscription-key $KEY --callback-host 127.0.0.1 >/dev/null)
"$MOMO" callbacks listen --port $LISTEN_PORT --json >"$WORK/callbacks.jsonl" 2>/dev/null &
TOKEN=$(cd "$WORK" && "$MOMO" token)
: >"$WORK/accepted"

writer() {
  while true; do
    id=$(cat /proc/sys/kernel/random/uuid)
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST $BASE/collection/v1_0/requesttopay \
      -H "Ocp-Apim-Subscription-Key: $KEY" -H "Authorization: Bearer $TOKEN" \
      -H "X-Target-Environment: sandbox" -H "X-Reference-Id: $id" \
      -H "X-Callback-Url: http://127.0.0.1:$LISTEN_PORT/cb" -H "Content-Type: application/json" \
      -d '{"amount":"1","currency":"EUR","payer":{"partyIdType":"MSISDN","partyId":"56733123453"}}' || true)
    [ "$code" = 202 ] && echo "$id" >>"$WORK/accepted"
  done
}

for round in $(seq 1 "$ROUNDS"); do
  writers=()
  for _ in 1 2 3 4 5 6; do writer & writers+=($!); done
  sleep "$(python3 -c 'import random; print(round(random.uniform(0.3, 1.5), 2))')"
  kill -9 $SERVER; wait $SERVER 2>/dev/null || true
  kill "${writers[@]}" 2>/dev/null || true; wait "${writers[@]}" 2>/dev/null || true
  start_server
  sleep 0.3
  # Every id acknowledged so far, in one process: it must exist with a known status.
  missing=$(python3 - "$WORK/accepted" "$BASE" "$KEY" "$TOKEN" <<'PY'
import json, sys, urllib.request
path, base, key, token = sys.argv[1:]
missing = 0
for ref in sorted({line.strip() for line in open(path) if line.strip()}):
    request = urllib.request.Request(f"{base}/collection/v1_0/requesttopay/{ref}", headers={
        "Ocp-Apim-Subscription-Key": key, "Authorization": f"Bearer {token}", "X-Target-Environment": "sandbox"})
    try:
        status = json.load(urllib.request.urlopen(request, timeout=10)).get("status")
    except Exception as error:
        status = f"error {error}"
    if status not in ("PENDING", "SUCCESSFUL", "FAILED"):
        missing += 1
        print(f"lost: {ref} ({status})", file=sys.stderr)
print(missing)
PY
)
  balanced=$(curl -s $BASE/_momo/admin/accounts -H "Authorization: Bearer $ADMIN" |
    python3 -c 'import json,sys; print("yes" if abs(sum(float(a["balance"]) for a in json.load(sys.stdin))) < 1e-9 else "no")')
  echo "round $round: $(wc -l <"$WORK/accepted") acknowledged so far, $missing missing, ledger balanced: $balanced"
  [ "$missing" = 0 ] && [ "$balanced" = yes ] || { echo "FAILED" >&2; exit 1; }
done

# Every acknowledged request's callback arrives (retries, leases expiring after crashes). More
# may arrive: a request can be accepted while the killed client never saw its 202.
for _ in $(seq 1 240); do
  left=$(python3 - "$WORK/accepted" "$WORK/callbacks.jsonl" <<'PY'
import json, sys
accepted = {line.strip() for line in open(sys.argv[1]) if line.strip()}
delivered = {json.loads(line)["referenceId"] for line in open(sys.argv[2]) if line.strip()}
print(len(accepted - delivered))
PY
)
  [ "$left" = 0 ] && break
  sleep 0.5
done
echo "callbacks: $left acknowledged requests without a callback"
[ "$left" = 0 ] || { echo "FAILED: callbacks missing" >&2; exit 1; }
echo "PASSED: $ROUNDS SIGKILLs, nothing acknowledged lost, ledger balanced, every callback delivered"
