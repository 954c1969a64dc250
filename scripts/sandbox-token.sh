#!/bin/bash
# sandbox-token.sh PORT: once `momo serve` on 127.0.0.1:PORT (started with --subscription-key
# benchkey) answers its health check, a new sandbox user with its key, and a collection token
# for it on stdout. Used by wrk-api.sh and instructions-per-get.sh.
set -e
port=$1
for i in $(seq 300); do curl -sf 127.0.0.1:$port/_momo/health >/dev/null && break; sleep 0.1; done
user=$(cat /proc/sys/kernel/random/uuid)
curl -sf -o /dev/null -X POST 127.0.0.1:$port/v1_0/apiuser -H 'Ocp-Apim-Subscription-Key: benchkey' -H "X-Reference-Id: $user" -H 'Content-Type: application/json' -d '{"providerCallbackHost":"127.0.0.1"}'
key=$(curl -sf -X POST 127.0.0.1:$port/v1_0/apiuser/$user/apikey -H 'Ocp-Apim-Subscription-Key: benchkey' | sed 's/.*"apiKey":"\([^"]*\)".*/\1/')
curl -sf -X POST 127.0.0.1:$port/collection/token/ -u "$user:$key" -H 'Ocp-Apim-Subscription-Key: benchkey' | sed 's/.*"access_token":"\([^"]*\)".*/\1/'
