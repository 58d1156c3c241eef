#!/usr/bin/env bash
# make demo: runs sample enclaves on this machine. Live migration joins the
# demo when `optmig migrate` lands (see the README status table).
set -euo pipefail
BUILD=${1:-build}
OPTMIG=$BUILD/bin/optmig
echo "== measurement of build/samples/hello"
$OPTMIG measure "$BUILD/samples/hello"
echo "== optmig run build/samples/hello"
$OPTMIG run "$BUILD/samples/hello" -- demo
echo "== memstress: 256 MiB heap, 2 threads, inside the enclave"
$OPTMIG run --heap 1G "$BUILD/samples/memstress" -- -s 256M -t 2 -i 200
