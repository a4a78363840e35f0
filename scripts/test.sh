#!/usr/bin/env bash
# The whole suite, as `npm test` and CI run it: provision the host, typecheck, lint, build, then
# unit+ui, integration+security (one vitest run) and e2e tests. Every stage runs even after a failure so one run shows
# everything; the exit code is non-zero if anything failed, and the last line is always
# "N passed, N failed" (tests summed over all vitest runs; a stage that failed outside a test,
# such as typecheck or a test file that does not load, counts as one failure).
set -uo pipefail
cd "$(dirname "$0")/.."

results=$(mktemp -d "${TMPDIR:-/tmp}/virtdeck-test.XXXXXX")
trap 'rm -rf "$results"' EXIT
status=0
stage_failures=0
failed_stages=()

banner() { printf '\n=== %s\n' "$1"; }
fail_stage() {
  status=1
  stage_failures=$((stage_failures + 1))
  failed_stages+=("$1")
}

banner "host setup"
setup_out=$(bash scripts/ensure-host.sh 2>&1) || fail_stage "host setup"
echo "$setup_out"

# libguestfs cannot use KVM where QEMU cannot: tell it so before any test launches an appliance.
export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}
if grep -q 'KVM not usable' <<<"$setup_out"; then
  export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}
  # The same appliance kernel, booted without its TCG-slow self-decompression (see the script):
  # about half the CPU of each of the suite's libguestfs launches. Not where the caller chose a
  # kernel already; VIRTDECK_TEST_DEFAULT_APPLIANCE=1 runs the suite on the host's default one.
  if [[ -z ${SUPERMIN_KERNEL:-} && -z ${VIRTDECK_TEST_DEFAULT_APPLIANCE:-} ]] && appliance_env=$(bash scripts/tcg-appliance.sh); then
    while IFS='=' read -r name value; do export "$name=$value"; done <<<"$appliance_env"
    echo "libguestfs appliance: $SUPERMIN_KERNEL (PVH boot, cache $LIBGUESTFS_CACHEDIR)"
  fi
fi

for stage in typecheck lint build; do
  banner "$stage"
  npm run --silent "$stage" || fail_stage "$stage"
done

# run_vitest NAME [vitest args…]: one vitest run whose JSON report is summed at the end.
run_vitest() {
  local name=$1
  shift
  banner "tests: $name"
  npx vitest run --passWithNoTests --reporter=default --reporter=json \
    --outputFile.json="$results/$name.json" "$@" || {
    status=1
    echo "$name: vitest exited non-zero" >"$results/$name.exit"
  }
}

banner "test leftovers"
bash scripts/clear-test-leftovers.sh || fail_stage "test leftovers"

# vitest's own default in a run is one worker fewer than the cores: ONE worker on CI's two.
run_vitest unit --maxWorkers=2 --minWorkers=1 test/unit test/ui
# Real-host tests share libvirtd, disks and 2 CPUs: a little parallelism, not one file per core.
# Hostile inputs (test/security, SECURITY.md: guest disks, imported files, backups and state files
# that try to reach the host) run in the same invocation, so the short files of both fill in around
# the long libguestfs ones (vitest.config.ts starts those first) instead of one stage's last long
# file leaving a worker idle.
run_vitest integration --maxWorkers=2 --minWorkers=1 test/integration test/security
run_vitest e2e --maxWorkers=2 --minWorkers=1 test/e2e

summary=$(node --input-type=module - "$results" "$stage_failures" <<'EOF'
import { existsSync, readFileSync } from 'node:fs';
const [dir, stageFailures] = process.argv.slice(2);
let passed = 0;
let failed = Number(stageFailures);
// CI shows only the tail of this log: name each failed test there, with the first line of its error.
const failures = [];
for (const name of ['unit', 'integration', 'e2e']) {
  const file = `${dir}/${name}.json`;
  const crashed = existsSync(`${dir}/${name}.exit`);
  if (!existsSync(file)) {
    if (crashed) failed += 1;
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests;
  // A file that fails to load has no failed test, only a failed suite: count it, never hide it.
  const extra = crashed && r.numFailedTests === 0 ? Math.max(1, r.numFailedTestSuites) : 0;
  failed += r.numFailedTests + extra;
  for (const file of r.testResults ?? []) {
    const where = file.name.replace(`${process.cwd()}/`, '');
    const bad = (file.assertionResults ?? []).filter((t) => t.status === 'failed');
    if (bad.length === 0 && file.status === 'failed') failures.push(`${name}: ${where}: ${firstLine(file.message)}`);
    for (const t of bad) failures.push(`${name}: ${where} > ${t.fullName}: ${firstLine(t.failureMessages?.[0])}`);
  }
}
function firstLine(text) {
  const line = String(text ?? '').split('\n').find((l) => l.trim() !== '') ?? '';
  return line.replace(/\x1b\[[0-9;]*m/g, '').trim().slice(0, 240);
}
if (failures.length > 0) {
  console.log('failed tests:');
  for (const f of failures.slice(0, 30)) console.log(`  ${f}`);
  if (failures.length > 30) console.log(`  … and ${failures.length - 30} more`);
}
console.log(`${passed} passed, ${failed} failed`);
EOF
) || { summary="0 passed, 1 failed"; status=1; }

if ((${#failed_stages[@]} > 0)); then
  echo
  echo "failed stages: ${failed_stages[*]}"
fi
echo
echo "$summary"
exit "$status"
