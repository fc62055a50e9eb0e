#!/usr/bin/env python3
"""Signs a yikatong terminal request (standard library only).

usage: sign.py SECRET METHOD PATH TIMESTAMP BODY   -> prints body-sha256 and x-signature
X-Signature = hex(HMAC-SHA256(secret, METHOD \\n PATH \\n TIMESTAMP \\n hex(SHA-256(body bytes))))
Send the same bytes you signed: json.dumps a dict once, sign those bytes, send those bytes.
"""
import hashlib
import hmac
import sys


def sign(secret: str, method: str, path: str, timestamp: str, body: bytes) -> str:
    body_hash = hashlib.sha256(body).hexdigest()
    message = f"{method.upper()}\n{path}\n{timestamp}\n{body_hash}".encode("utf-8")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


if __name__ == "__main__":
    if len(sys.argv) != 6 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if len(sys.argv) > 1 and sys.argv[1] in ("-h", "--help") else 2)
    secret, method, path, timestamp, body = sys.argv[1:]
    print("body-sha256: " + hashlib.sha256(body.encode("utf-8")).hexdigest())
    print("x-signature: " + sign(secret, method, path, timestamp, body.encode("utf-8")))
