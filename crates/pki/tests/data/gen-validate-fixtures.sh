#!/usr/bin/env bash
# Builds the PKI fixtures for the validator's unit tests with openssl:
# two CA domains (A, B) with cross-certificates in both directions, a CA key
# rollover (NewWithOld / OldWithNew), a name-constrained sub-CA, revoked and
# expired leaves, CRLs, and a hostile bundle of same-name CA certificates.
# Usage: gen-validate-fixtures.sh OUTDIR
set -euo pipefail
out="$1"; mkdir -p "$out"; cd "$out"
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
cat > ext.cnf <<'CNF'
[req]
distinguished_name=dn
[dn]
[ca]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid:always
[root]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
[nc]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid:always
nameConstraints=critical,permitted;DNS:a.example
[leaf]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid:always
subjectAltName=@san
[san]
DNS.1=vpn.a.example
[leafout]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid:always
subjectAltName=DNS:vpn.b.example
CNF
# selfsigned NAME SUBJ
root() { ec "$1"; openssl req -new -x509 -config ext.cnf -key "$1.key" -subj "$2" -days 7300 -set_serial "0x$(openssl rand -hex 8)" \
  -extensions root -out "$1.pem" 2>/dev/null; }
# sign NAME SUBJ ISSUER EXT [KEYFROM] [DAYS]
sign() { local key="${5:-$1}"; [ -f "$key.key" ] || ec "$key"
  openssl req -new -config ext.cnf -key "$key.key" -subj "$2" -out "$1.csr" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -set_serial "0x$(openssl rand -hex 8)" \
    -days "${6:-3650}" -extfile ext.cnf -extensions "$4" -out "$1.pem" 2>/dev/null; }
root rootA "/O=Domain A/CN=Root A"
root rootB "/O=Domain B/CN=Root B"
root rootC "/O=Domain C/CN=Root C"
sign intA "/O=Domain A/CN=Sub A" rootA ca
sign leafA "/O=Domain A/CN=vpn.a.example" intA leaf
sign revokedA "/O=Domain A/CN=revoked.a.example" intA leaf
sign expiredA "/O=Domain A/CN=expired.a.example" intA leaf "" 1
sign leafB "/O=Domain B/CN=vpn.b.example" rootB leaf
sign leafC "/O=Domain C/CN=vpn.c.example" rootC leaf
# cross-certificates: rootB's key certified by rootA, rootA's key certified by rootB
sign crossAB "/O=Domain B/CN=Root B" rootA ca rootB
sign crossBA "/O=Domain A/CN=Root A" rootB ca rootA
# C is cross-certified by nobody we trust, but B and C cross-certify each other (a loop without an anchor)
sign crossCB "/O=Domain C/CN=Root C" rootB ca rootC
sign crossBC "/O=Domain B/CN=Root B" rootC ca rootB
# name-constrained sub-CA under A, one leaf inside and one outside the subtree
sign ncA "/O=Domain A/CN=Constrained A" rootA nc
sign ncInside "/O=Domain A/CN=inside" ncA leaf
sign ncOutside "/O=Domain A/CN=outside" ncA leafout
# key rollover of Root A: new self-signed root, NewWithOld (new key signed by old), a leaf under the new key
ec rootAnew
openssl req -new -x509 -config ext.cnf -key rootAnew.key -subj "/O=Domain A/CN=Root A" -days 7300 \
  -extensions root -out rootAnew.pem 2>/dev/null
cp rootAnew.key rootAnewsigner.key; cp rootAnew.pem rootAnewsigner.pem
sign newWithOld "/O=Domain A/CN=Root A" rootA ca rootAnew
sign oldWithNew "/O=Domain A/CN=Root A" rootAnewsigner ca rootA
sign leafNew "/O=Domain A/CN=new.a.example" rootAnewsigner leaf
# CRLs of Sub A (revokes revokedA) and Root A (empty), via openssl ca
mkdir -p db; : > db/index.txt; echo 01 > db/crlnumber
cat > ca.cnf <<'CNF'
[ca]
default_ca=d
[d]
database=db/index.txt
crlnumber=db/crlnumber
default_md=sha256
default_crl_days=3650
crl_extensions=crlext
[crlext]
authorityKeyIdentifier=keyid:always
CNF
openssl ca -config ca.cnf -revoke revokedA.pem -keyfile intA.key -cert intA.pem -crl_reason keyCompromise 2>/dev/null
openssl ca -config ca.cnf -gencrl -keyfile intA.key -cert intA.pem -out intA.crl 2>/dev/null
: > db/index.txt
openssl ca -config ca.cnf -gencrl -keyfile rootA.key -cert rootA.pem -out rootA.crl 2>/dev/null
# a DSA CA (SHA-256 signatures) and a leaf under it
openssl genpkey -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:2048 -pkeyopt dsa_paramgen_q_bits:256 -out dsaparam.pem 2>/dev/null
openssl genpkey -paramfile dsaparam.pem -out rootDSA.key 2>/dev/null
openssl req -new -x509 -config ext.cnf -key rootDSA.key -subj "/O=Domain D/CN=DSA Root" -days 7300 -extensions root -out rootDSA.pem 2>/dev/null
sign leafDSA "/O=Domain D/CN=vpn.d.example" rootDSA leaf
# hostile bundle: many CA certificates named like Sub A, with other keys
for i in $(seq 1 40); do sign "evil$i" "/O=Domain A/CN=Sub A" rootC ca; done
cat evil*.pem > evil-bundle.pem
rm -f ./*.csr
# Validation time for the tests: ten days from now (expiredA has expired by then).
echo $(( $(date +%s) + 864000 )) > attime
echo ok
