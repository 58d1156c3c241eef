#!/bin/sh
# Runs the wire protocol fuzzer for SECONDS from freshly generated seeds.
# usage: fuzz_proto.sh FUZZER MKSEEDS WORKDIR SECONDS DICT
set -eu
fuzzer=$1 mkseeds=$2 work=$3 secs=$4 dict=$5
mkdir -p "$work/corpus" "$work/seeds" "$work/artifacts"
rm -f "$work/seeds"/*
"$mkseeds" "$work/seeds"
exec "$fuzzer" -max_total_time="$secs" -max_len=20000 -dict="$dict" -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" "$work/seeds"
