#!/usr/bin/env bash
# README command 1: install everything (Debian 12, root), build the fixture repos and the
# demo bundle from manifests/demo.toml. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
apt_pkgs="rpm createrepo-c dnf dnf-plugins-core python3-dnf keepalived mariadb-server
  mariadb-client firewalld nftables iptables iproute2 arping shellcheck dash busybox makeself
  xz-utils zstd dbus procps psmisc curl iputils-ping util-linux iputils-clockdiff python3-venv rsync passwd gnupg"
missing=""
for p in $apt_pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup: installing Debian packages:$missing"
  apt-get update -qq
  # no systemd here: keep package scripts from starting the daemons we install
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

echo "setup: installing ha-bundle and its Python dependencies"
python3 -m pip install -q --disable-pip-version-check -e '.[test]'

if [ "${1:-}" = "--deps-only" ]; then
  exit 0
fi

echo "setup: building the fixture repos (rpmbuild + createrepo_c) under build/fixture-repos"
python3 -m tests.fixtures.build_repos build/fixture-repos

echo "setup: building the demo bundle"
ha-bundle build manifests/demo.toml --out dist
