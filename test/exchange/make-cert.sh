#!/usr/bin/env bash
# make-cert.sh DIR - a throw-away CA and a server certificate for the local
# test exchange (exchange_sim --tls DIR/server.pem DIR/server.key).
#
# Writes into DIR (created if missing):
#   ca.pem, ca.key          self-signed CA (clients trust it via a CA-file option)
#   server.pem, server.key  server certificate for 127.0.0.1 and localhost,
#                           signed by the CA (subjectAltName IP + DNS)
# Keys are P-256 and unencrypted; everything is valid for 30 days.  Nothing
# here is secret: the files exist only for tests on the loopback interface.
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi
command -v openssl >/dev/null || { echo "make-cert.sh: openssl not found (apt-get install openssl)" >&2; exit 1; }
dir=$1
mkdir -p "$dir"
umask 077

openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	-keyout "$dir/ca.key" -out "$dir/ca.pem" -days 30 \
	-subj "/CN=triggerstock test CA" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	-keyout "$dir/server.key" -out "$dir/server.csr" \
	-subj "/CN=localhost" 2>/dev/null

cat > "$dir/server.ext" <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
EXT

openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
	-CAcreateserial -out "$dir/server.pem" -days 30 -sha256 \
	-extfile "$dir/server.ext" 2>/dev/null

rm -f "$dir/server.csr" "$dir/server.ext" "$dir/ca.srl"
chmod 644 "$dir/ca.pem" "$dir/server.pem"
openssl verify -CAfile "$dir/ca.pem" "$dir/server.pem" >/dev/null
echo "make-cert.sh: CA $dir/ca.pem, server certificate $dir/server.pem (key $dir/server.key)"
