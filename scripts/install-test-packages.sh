#!/usr/bin/env bash
# Installs the Debian packages the tests drive, when they are missing: Chromium (WebChat in a
# real browser), ngircd (a real IRC server), dovecot-imapd (a real IMAP server for the email
# channel), openssl (its TLS certificate), bubblewrap (the exec tool's sandbox) and PostgreSQL's
# server (cluster mode; when nothing answers on 127.0.0.1:5432, scripts/run-tests.mjs starts a
# server of the tests' own with it). Part of `npm test`, so the README's test command works on a
# fresh Debian machine.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x "${NGIRCD_BIN:-/usr/sbin/ngircd}" ] || missing+=(ngircd)
[ -x "${DOVECOT_BIN:-/usr/sbin/dovecot}" ] || missing+=(dovecot-imapd)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
[ ${#missing[@]} -eq 0 ] && exit 0

fail() {
  echo "The tests need these Debian packages: ${missing[*]}. $1" >&2
  echo "Install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
}
command -v apt-get >/dev/null 2>&1 || fail "This machine has no apt-get."
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null || fail "Installing them needs root."
  sudo=(sudo -n)
fi
echo "Installing the Debian packages the tests need: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq >/dev/null || fail "apt-get update failed."
"${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null || fail "apt-get install failed."
