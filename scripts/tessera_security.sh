#!/usr/bin/env bash
# Creates a job's security directory: a CA of its own, one certificate for
# every task, and a random job token (docs/security.md).
#
#   scripts/tessera_security.sh DIR CLUSTER
#
# DIR gets (directory mode 0700, every file 0600):
#   ca.pem    the job's CA certificate (its key is deleted once it signed)
#   cert.pem  a certificate signed by it, for server and client use, whose
#             subject alternative names are every host of CLUSTER plus
#             localhost, 127.0.0.1 and ::1 (IP SANs for addresses, DNS for names)
#   key.pem   its private key (P-256)
#   token     32 random bytes, hex
# Every task (ps, worker) and tessera_ctl then takes --security_dir=DIR.
# The material is valid for TESSERA_CERT_DAYS days (default 30).
#
# When DIR already holds ca.pem, cert.pem, key.pem and token, nothing is made
# (bring your own: docs/security.md). DIR is built beside itself and renamed
# into place, so processes racing to create it (array elements) see either
# nothing or all of it. Exits 1 with a message when openssl fails.
#
# Environment (optional): TESSERA_CTL_BIN (default
# $TESSERA_HOME/bazel-bin/tools/tessera_ctl), TESSERA_CERT_DAYS.
# shellcheck disable=SC2317
set -uo pipefail
readonly ME="tessera_security.sh"

die() {
  echo "$ME: $1" >&2
  exit 1
}

if [ $# -ne 2 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
  sed -n '2,/^# shellcheck/{/^# shellcheck/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
  exit 2
fi
dir="$1"
cluster="$2"
home="${TESSERA_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
ctl_bin="${TESSERA_CTL_BIN:-$home/bazel-bin/tools/tessera_ctl}"
days="${TESSERA_CERT_DAYS:-30}"
[[ "$days" =~ ^[0-9]+$ ]] || die "TESSERA_CERT_DAYS=$days: want whole days"
command -v openssl > /dev/null || die "openssl is not installed (scripts/setup.sh installs it)"

if [ -s "$dir/ca.pem" ] && [ -s "$dir/cert.pem" ] && [ -s "$dir/key.pem" ] && [ -s "$dir/token" ]; then
  exit 0
fi
[ -e "$dir" ] && die "$dir exists but lacks some of ca.pem, cert.pem, key.pem, token; remove it or complete it"

tasks="$("$ctl_bin" tasks --cluster="$cluster" 2>&1)" || die "$tasks"
# Subject alternative names: every host of the cluster, and loopback.
declare -A seen=()
sans=()
while read -r _ _ address; do
  host="${address%:*}"
  host="${host#[}"
  host="${host%]}"
  [ -n "$host" ] && [ -z "${seen[$host]:-}" ] || continue
  seen[$host]=1
  if [[ "$host" =~ ^[0-9.]+$ ]] || [[ "$host" == *:* ]]; then
    sans+=("IP:$host")
  else
    sans+=("DNS:$host")
  fi
done <<< "$tasks"
for extra in DNS:localhost IP:127.0.0.1 IP:::1; do
  [ -z "${seen[${extra#*:}]:-}" ] && sans+=("$extra")
done
san_list="$(IFS=,; echo "${sans[*]}")"

umask 077
tmp="$dir.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp" || die "cannot create $tmp"
trap 'rm -rf "$tmp"' EXIT
log="$tmp/openssl.log"
run() { "$@" >> "$log" 2>&1 || die "failed: $* ($(tail -n 3 "$log" | tr '\n' ' '))"; }
run openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$tmp/ca.key" -out "$tmp/ca.pem" -days "$days" -subj "/CN=tessera job CA"
run openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$tmp/key.pem" -out "$tmp/cert.csr" -subj "/CN=tessera task"
printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n' \
  "$san_list" > "$tmp/cert.ext"
run openssl x509 -req -in "$tmp/cert.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
  -CAcreateserial -days "$days" -extfile "$tmp/cert.ext" -out "$tmp/cert.pem"
run openssl rand -out "$tmp/token" -hex 32
rm -f "$tmp/ca.key" "$tmp/ca.srl" "$tmp/cert.csr" "$tmp/cert.ext" "$log"
chmod 600 "$tmp"/* && chmod 700 "$tmp" || die "cannot set the modes in $tmp"
# Atomic: a racing creator that renamed first wins; ours is dropped.
mv -T "$tmp" "$dir" 2>/dev/null || [ -s "$dir/token" ] || die "cannot rename $tmp to $dir"
