#!/usr/bin/env bash
# The systemd units (packaging/systemd): systemd-analyze verify finds no error and no
# warning (an unknown or misspelt directive is only a warning there, so any output fails),
# and systemd-analyze security scores each at most the exposure docs/control.md states
# (sluice-control and sluice-archive "OK" <= 2.0; sluice-dp, which needs DPDK's devices
# and capabilities, <= 6.0).
set -uo pipefail
src=${SLUICE_SOURCE_ROOT:?} build=${SLUICE_BUILD_ROOT:?}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
declare -A max=([sluice-dp]=6.0 [sluice-control]=2.0 [sluice-archive]=2.0)
for unit in "$src"/packaging/systemd/*.service; do
	name=$(basename "$unit" .service)
	# the binaries as built here (verify checks that ExecStart is executable)
	sed -e "s|/usr/bin/sluice-dp|$build/dataplane/sluice-dp|" \
		-e "s|/usr/bin/sluice-control|$build/control/sluice-control|" \
		-e "s|/usr/bin/sluice-archive|$build/archive/sluice-archive|" "$unit" >"$work/$name.service"
	out=$(systemd-analyze verify "$work/$name.service" 2>&1)
	if [ $? != 0 ] || [ -n "$out" ]; then
		echo "FAIL: $name: systemd-analyze verify: $out"
		fail=1
	fi
	score=$(systemd-analyze security --offline=yes "$work/$name.service" 2>&1 |
		sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
	if [ -z "$score" ] || [ -z "${max[$name]:-}" ] || awk -v s="$score" -v m="${max[$name]}" 'BEGIN { exit !(s > m) }'; then
		echo "FAIL: $name: exposure ${score:-unknown}, at most ${max[$name]:-?} allowed"
		fail=1
	else
		echo "$name: verify clean, exposure $score (at most ${max[$name]})"
	fi
done
[ $fail = 0 ]
