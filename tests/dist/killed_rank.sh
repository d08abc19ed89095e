#!/usr/bin/env bash
# Check 4: a rank killed mid-run makes the job stop, non-zero, within a bounded time, with a message
# naming the failed rank. Usage: killed_rank.sh MPIEXEC PROGRAM
set -uo pipefail
mpiexec=$1 program=$2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$(date +%s)
# The survivor's own bound: its collectives time out after 60 s even if the launcher did not stop it.
AXON_DIST_TIMEOUT=60 timeout 150 "$mpiexec" --allow-run-as-root --oversubscribe -np 2 "$program" >"$log" 2>&1
rc=$?
elapsed=$(( $(date +%s) - start ))
cat "$log"
echo "killed_rank.sh: exit status $rc after ${elapsed} s"
if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ]; then echo "FAIL: expected a non-zero exit before the 150 s limit"; exit 1; fi
if ! grep -qE "rank 1[^0-9]" "$log"; then echo "FAIL: no message names rank 1"; exit 1; fi
echo "PASS: the job stopped (status $rc) in ${elapsed} s, naming rank 1"
