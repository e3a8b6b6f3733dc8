#!/usr/bin/env bash
# The 2023 edition's HTTPS certificates: a lab certificate authority (CA) made on this machine,
# and a certificate for `localhost` signed by it, for the proxy of compose/edition-2023.yaml.
#
#   bash scripts/lab-cert.sh            # makes them once; run again: keeps them (idempotent)
#   bash scripts/lab-cert.sh --force    # makes new ones (a new CA: trust it again)
#   LAB_CERT_DIR=/tmp/x bash scripts/lab-cert.sh   # into /tmp/x/certs and /tmp/x/ca (tests)
#
# Writes (all gitignored):
#   compose/edition-2023/certs/ca.crt         the CA's certificate: give it to clients to trust
#                                             (curl --cacert, lab check --cacert, a browser)
#   compose/edition-2023/certs/localhost.crt  the proxy's certificate (localhost, 127.0.0.1, ::1)
#   compose/edition-2023/certs/localhost.key  its private key; mode 0644 because the proxy in the
#                                             container runs as nobody (65534), not as you
#   compose/edition-2023/ca/ca.key            the CA's private key, 0600, never mounted anywhere
#
# Why a CA rather than one self-signed certificate: clients trust the CA once, and every
# certificate it signs later (another name, a renewal) is trusted with it. The CA may sign only
# for localhost and loopback addresses (nameConstraints): if its key ever leaked, it could not be
# used to impersonate any real site to a browser that trusts it.
set -euo pipefail
cd "$(dirname "$0")/.."

dir="${LAB_CERT_DIR:-compose/edition-2023}"
certs="$dir/certs"
ca_dir="$dir/ca"
force=false
case "${1:-}" in
  --force) force=true ;;
  "") ;;
  *) echo "usage: bash scripts/lab-cert.sh [--force]" >&2; exit 2 ;;
esac

command -v openssl >/dev/null || {
  echo "lab-cert: openssl is not installed: apt-get install openssl (brew install openssl)" >&2
  exit 1
}

# Good as they are: all four files, the certificate signed by this CA for localhost, and more
# than 30 days left (2592000 s).
usable() {
  [ -s "$certs/ca.crt" ] && [ -s "$ca_dir/ca.key" ] && [ -s "$certs/localhost.crt" ] &&
    [ -s "$certs/localhost.key" ] &&
    openssl verify -CAfile "$certs/ca.crt" "$certs/localhost.crt" >/dev/null 2>&1 &&
    openssl x509 -in "$certs/localhost.crt" -noout -checkend 2592000 >/dev/null 2>&1 &&
    openssl x509 -in "$certs/ca.crt" -noout -checkend 2592000 >/dev/null 2>&1
}

if ! $force && usable; then
  echo "lab-cert: $certs already holds a valid localhost certificate from the lab CA; keeping it" \
    "(--force makes new ones)"
  exit 0
fi

mkdir -p "$certs" "$ca_dir"
chmod 700 "$ca_dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The CA: 5 years, may sign end certificates only (pathlen:0), and only for loopback names.
cat >"$work/ca.ext" <<'EXT'
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
nameConstraints = critical, permitted;DNS:localhost, permitted;IP:127.0.0.0/255.0.0.0, permitted;IP:0:0:0:0:0:0:0:1/FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF
EXT
(umask 077 && openssl ecparam -name prime256v1 -genkey -noout -out "$work/ca.key")
openssl req -new -key "$work/ca.key" -subj "/O=HTTP Infra Lab/CN=HTTP Infra Lab CA ($(hostname))" \
  -out "$work/ca.csr"
openssl x509 -req -in "$work/ca.csr" -signkey "$work/ca.key" -days 1825 -sha256 \
  -extfile "$work/ca.ext" -set_serial "0x$(openssl rand -hex 16)" -out "$work/ca.crt" 2>/dev/null

# The proxy's certificate: 397 days (what browsers accept for a server certificate), for the
# names a student types: localhost, 127.0.0.1 and [::1].
cat >"$work/leaf.ext" <<'EXT'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EXT
openssl ecparam -name prime256v1 -genkey -noout -out "$work/localhost.key"
openssl req -new -key "$work/localhost.key" -subj "/O=HTTP Infra Lab/CN=localhost" \
  -out "$work/localhost.csr"
openssl x509 -req -in "$work/localhost.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" \
  -days 397 -sha256 -extfile "$work/leaf.ext" -set_serial "0x$(openssl rand -hex 16)" \
  -out "$work/localhost.crt" 2>/dev/null
openssl verify -CAfile "$work/ca.crt" "$work/localhost.crt" >/dev/null

# PKCS#8, the form every TLS library reads ("BEGIN PRIVATE KEY").
openssl pkcs8 -topk8 -nocrypt -in "$work/localhost.key" -out "$certs/localhost.key"
(umask 077 && openssl pkcs8 -topk8 -nocrypt -in "$work/ca.key" -out "$ca_dir/ca.key")
cp "$work/ca.crt" "$certs/ca.crt"
cp "$work/localhost.crt" "$certs/localhost.crt"
chmod 644 "$certs/ca.crt" "$certs/localhost.crt" "$certs/localhost.key"
chmod 600 "$ca_dir/ca.key"

echo "lab-cert: wrote $certs/localhost.crt (localhost, 127.0.0.1, ::1; valid 397 days), signed by"
echo "  the lab CA $certs/ca.crt (its key: $ca_dir/ca.key). Trust the CA, not the certificate:"
echo "  curl --cacert $certs/ca.crt https://localhost/"
