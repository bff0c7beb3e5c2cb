#!/bin/sh
# The SPKI pin of a PEM certificate (its first one): the base64 SHA-256 of
# its DER SubjectPublicKeyInfo, as Chromium's
# --ignore-certificate-errors-spki-list takes it.
#   spki_pin.sh CERT.pem
set -eu
openssl x509 -in "$1" -noout -pubkey |
  openssl pkey -pubin -outform DER |
  openssl dgst -sha256 -binary |
  openssl base64 -A
echo
