#!/bin/sh
# Time the console's pages (transactions, overview, callbacks, handset) of a running `momo serve` against a database seeded by
# `cargo run --release -p momo-server --example seed_transactions` (docs/performance.md, "Console
# pages at 1,000,000 transactions"). Usage: measure-console.sh BASE_URL OPERATOR_TOKEN [RUNS]
set -eu
base=$1 token=$2 runs=${3:-20}
jar=$(mktemp) && trap 'rm -f "$jar"' EXIT
csrf=$(curl -s -c "$jar" "$base/_momo/console/sign-in" | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' | head -1)
curl -s -b "$jar" -c "$jar" -o /dev/null --data-urlencode "token=$token" --data-urlencode "csrf=$csrf" "$base/_momo/console/sign-in"
page() { curl -s -b "$jar" "$base$1"; }
list=/_momo/console/transactions
# A deep page: follow "Older" 200 times (10,000 transactions back).
deep=$list
for _ in $(seq 200); do
  deep=$(page "$deep" | sed -n 's/.*<a rel="next" href="\([^"]*\)".*/\1/p' | sed 's/&amp;/\&/g')
done
user=$(page "$list?environment=mtnghana" | sed -n 's/.*<code title="\([^"]*\)".*/\1/p' | head -1)
detail=$(page "$list?status=FAILED" | sed -n 's/.*<a href="\(\/_momo\/console\/transactions\/[^"]*\)".*/\1/p' | head -1)
reference=${detail##*/}
payer=$(page "$list" | sed -n 's/.*<span class="party">\([^<]*\)<.*/\1/p' | head -1)
handset="/_momo/console/handset?environment=sandbox&type=MSISDN&id=$payer"
callbacks=/_momo/console/callbacks
# Half a million rows back: a cursor 15 days before now (the seed spreads a million over 30 days).
middle="$list?before=$(( $(date +%s) * 1000 - 15 * 86400000 )).collection.requesttopay.0"
for path in "$list" "$list?product=remittance" "$list?kind=cashtransfer" "$list?status=FAILED" \
  "$list?status=PENDING" "$list?status=SUCCESSFUL" "$list?environment=mtnghana" "$list?environment=sandbox" \
  "$list?api_user=$user" "$list?reference=$reference" "$deep" "$middle" "$middle&status=FAILED" "$detail" \
  /_momo/console/ "$callbacks" "$callbacks?state=failed" "$callbacks?state=pending" "$callbacks?state=delivered" \
  "$handset"; do
  times=$(for _ in $(seq "$runs"); do curl -s -o /dev/null -b "$jar" -w '%{time_total}\n' "$base$path"; done | sort -n)
  median=$(echo "$times" | sed -n "$(( (runs + 1) / 2 ))p")
  worst=$(echo "$times" | tail -1)
  rows=$(page "$path" | grep -o '<td data-label="Created">' | wc -l)
  printf '%-60.60s median %6.1f ms  max %6.1f ms  rows %s\n' "$path" "$(echo "$median * 1000" | bc)" "$(echo "$worst * 1000" | bc)" "$rows"
done
