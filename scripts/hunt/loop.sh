#!/usr/bin/env bash
# Runs a command RUNS times, each under scripts/watchdog.mjs, and keeps the
# log of every run that failed or hung (the watchdog's stacks are in it):
#   scripts/hunt/loop.sh RUNS LOGDIR cmd [args...]
# "{i}" in the args is replaced by the run's number (smoke.mjs takes it as
# its mode). UM_WATCHDOG_IDLE / UM_WATCHDOG_TOTAL set the per-run limits
# (defaults here: 30 s idle, 60 s total). Prints one summary line at the end.
set -u
cd "$(dirname "$0")/../.."
runs=$1 logdir=$2
shift 2
mkdir -p "$logdir"
export UM_WATCHDOG_IDLE=${UM_WATCHDOG_IDLE:-30} UM_WATCHDOG_TOTAL=${UM_WATCHDOG_TOTAL:-60}
ok=0 failed=0 hung=0
for ((i = 0; i < runs; i++)); do
  args=("${@//\{i\}/$i}")
  log="$logdir/run-$i.log"
  node scripts/watchdog.mjs --label "run $i" -- "${args[@]}" >"$log" 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then ok=$((ok + 1)); rm -f "$log"
  elif [ $rc -eq 124 ]; then hung=$((hung + 1)); echo "run $i HUNG: $log"
  else failed=$((failed + 1)); echo "run $i failed (rc $rc): $log"
  fi
done
echo "loop: $runs runs of $*: $ok ok, $failed failed, $hung hung"
