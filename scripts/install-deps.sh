#!/usr/bin/env bash
# Installs optmig's Debian 12 build and test dependencies; does nothing when they are present.
set -euo pipefail
PKGS=(clang-14 llvm-14-dev llvm-14-tools libclang-rt-14-dev cmake make
      musl-dev musl-tools libbearssl-dev lld-14 iproute2 gnuplot-nox python3 procps bc jq)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "installing: ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
