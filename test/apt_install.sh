#!/usr/bin/env bash
# Sourced by the scripts that set up a fresh Debian machine (test/run_all.sh,
# test/run_reliability.sh, bench/demo.sh).
#
# apt_install PKG...   installs the given Debian packages, as root or through
#                      sudo, after one `apt-get update`; returns apt's status.
apt_install() {
  [ $# -gt 0 ] || return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "== installing: $*"
  if [ -z "${CT_APT_UPDATED:-}" ]; then
    $sudo apt-get update -qq || return
    export CT_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}
