#!/usr/bin/env bash
# Signs a yikatong terminal request with openssl, and optionally sends it with curl.
#   sign.sh SECRET METHOD PATH TIMESTAMP BODY          prints body-sha256 and x-signature
#   sign.sh --send URL TERMINAL_ID SECRET BODY         POSTs BODY to URL/v1/taps, signed now
# X-Signature = hex(HMAC-SHA256(secret, METHOD \n PATH \n TIMESTAMP \n hex(SHA-256(body bytes))))
set -euo pipefail

usage () { sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; }
[ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ] && { usage; exit 0; }

sha256_hex () { openssl dgst -sha256 -r | cut -d' ' -f1; }
signature () { # secret method path timestamp body
  local body_hash
  body_hash=$(printf '%s' "$5" | sha256_hex)
  # printf, not echo: the signed string has exactly three \n and no trailing newline.
  printf '%s\n%s\n%s\n%s' "$2" "$3" "$4" "$body_hash" | openssl dgst -sha256 -hmac "$1" -r | cut -d' ' -f1
}

if [ "${1:-}" = "--send" ]; then
  [ $# -eq 5 ] || { usage >&2; exit 2; }
  url=$2 terminal=$3 secret=$4 body=$5
  ts=$(( $(date +%s%N) / 1000000 ))
  sig=$(signature "$secret" POST /v1/taps "$ts" "$body")
  # --data-binary sends the bytes as they are (-d would strip newlines).
  exec curl -sS --fail-with-body -X POST "$url/v1/taps" \
    -H 'content-type: application/json' -H "x-terminal-id: $terminal" -H "x-timestamp: $ts" -H "x-signature: $sig" \
    --data-binary "$body"
fi

[ $# -eq 5 ] || { usage >&2; exit 2; }
echo "body-sha256: $(printf '%s' "$5" | sha256_hex)"
echo "x-signature: $(signature "$@")"
