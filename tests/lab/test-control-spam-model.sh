#!/usr/bin/env bash
# lab-control-spam-model — a policy whose classifier model (`spam-model`, a binary
# source file; docs/spam.md) goes through sluice-control (docs/control.md) to live
# dataplanes:
#   - pushed while the dataplane is down (pending), dp0 starts on the control's bundle,
#     which carries the model: a spam message of tests/data/spam-sample is rejected by
#     the classifier rule, a ham message passes, and each verdict has its probability;
#   - a second version whose model is trained with the labels swapped (same file name,
#     other bytes) is pushed live: the same two messages now get the opposite verdicts;
#   - `rules list` and `rules diff` cope with the binary file;
#   - dp1 runs with `[policy] spam_model` (the override): the control brings it to the
#     current version once and then leaves it there (the override is in the verdicts'
#     digest, not in the bundle digest the control compares).
set -uo pipefail
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/control.sh"

sluicectl=$SLUICE_BUILD_ROOT/control/sluicectl
sample=$SLUICE_SOURCE_ROOT/tests/data/spam-sample

lab_up
p=$LAB_DIR/policy
mkdir -p "$p" "$LAB_DIR/train/spam" "$LAB_DIR/train/ham" "$LAB_DIR/msg"
# train on the even-numbered half of the sample; the messages sent come from the other
for cls in spam ham; do
	i=0
	for f in "$sample/$cls"/*.eml; do
		[ $((i++ % 2)) = 0 ] && cp "$f" "$LAB_DIR/train/$cls/"
	done
done
"$sluicectl" spam train --spam "$LAB_DIR/train/spam" --ham "$LAB_DIR/train/ham" --min-count 1 \
	--out "$LAB_DIR/own.model" >/dev/null || lab_fail "spam train"
"$sluicectl" spam train --spam "$LAB_DIR/train/ham" --ham "$LAB_DIR/train/spam" --min-count 1 \
	--out "$LAB_DIR/swapped.model" >/dev/null || lab_fail "spam train (swapped)"
cat >"$p/policy.rules" <<'EOF'
spam-model "spam.model"

rule lab.bayes {
	description "the statistical classifier is sure"
	match spam-probability >= 0.9
	action reject "554 5.7.1 Spam (classifier)"
}
EOF
cp "$LAB_DIR/own.model" "$p/spam.model"

# prob FILE: the message's probability under the policy in $p (sluicectl rules test)
prob() {
	"$sluicectl" rules test --json "$p/policy.rules" "$1" |
		"$LAB_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["spam_probability"])'
}
# the first odd-numbered spam (ham) message the policy's own model is sure of
pick() {
	local cls=$1 want=$2 i=0 f
	for f in "$sample/$cls"/*.eml; do
		[ $((i++ % 2)) = 1 ] || continue
		if "$LAB_PYTHON" -c "import sys; sys.exit(0 if $(prob "$f") $want else 1)"; then
			echo "$f"
			return 0
		fi
	done
	return 1
}
spam=$(pick spam '>= 0.99') || lab_fail "no test spam message scores >= 0.99"
ham=$(pick ham '<= 0.01') || lab_fail "no test ham message scores <= 0.01"
cp "$spam" "$LAB_DIR/msg/bayes-spam.eml"
cp "$ham" "$LAB_DIR/msg/bayes-ham.eml"
send() { # send ID: $LAB_DIR/msg/ID.eml through the bridge; the transcript in $LAB_DIR/ID.N.txt
	lab_smtp send "$LAB_DIR/msg/$1.eml" >"$LAB_DIR/$1.$2.txt"
}

lab_control_start dp0 dp1

lab_log "1. push with the dataplane down: pending; dp0 starts on the control's bundle"
out=$(lab_sluicectl rules push "$p/policy.rules" --comment "classifier" 2>&1)
rc=$?
[ $rc = 3 ] || lab_fail "push with no dataplane up: exit $rc, want 3 (pending): $out"
lab_dataplane_start $(lab_managed_dp dp0)
lab_postfix_server
lab_expect_running dp0 1
send bayes-spam 1
lab_expect_reply "$LAB_DIR/bayes-spam.1.txt" END 554 bayes-spam
send bayes-ham 1
lab_expect_reply "$LAB_DIR/bayes-ham.1.txt" END 250 bayes-ham

lab_log "2. a version with the model retrained (labels swapped), pushed live"
cp "$LAB_DIR/swapped.model" "$p/spam.model"
out=$(lab_sluicectl rules push "$p/policy.rules" --comment "swapped model" 2>&1)
rc=$?
[ $rc = 3 ] || lab_fail "push 2 (dp1 not started yet): exit $rc, want 3 (pending): $out"
echo "$out" | grep -q "dp0 .*loaded" || lab_fail "push 2: $out"
lab_dp_running dp0 2 || lab_fail "dp0 not on version 2 after the push"
send bayes-spam 2
lab_expect_reply "$LAB_DIR/bayes-spam.2.txt" END 250 bayes-spam
send bayes-ham 2
lab_expect_reply "$LAB_DIR/bayes-ham.2.txt" END 554 bayes-ham
lab_wait_for 10 "four verdicts in dp0's event log" \
	test "$(grep -c '"event_type":"smtp"' "$LAB_DIR/dp0.eve.json" 2>/dev/null)" -ge 4 ||
	lab_fail "dp0's event log lacks the verdicts"
"$LAB_PYTHON" - "$LAB_DIR/dp0.eve.json" <<'PY' || lab_fail "events"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
got = [(e["bundle"]["id"], e["verdict"]["verdict"], e["verdict"]["spam_probability"])
       for e in ev if e["event_type"] == "smtp"]
assert [g[:2] for g in got] == [(1, "reject"), (1, "pass"), (2, "pass"), (2, "reject")], got
assert got[0][2] >= 0.99 and got[1][2] <= 0.01 and got[2][2] <= 0.01 and got[3][2] >= 0.99, got
print("events: each verdict with the version and the probability that judged it")
PY

lab_log "3. rules list and rules diff with a binary source file"
n=$(lab_sluicectl rules list --json | "$LAB_PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)))') ||
	lab_fail "rules list"
[ "$n" = 2 ] || lab_fail "rules list: $n versions, want 2"
diff=$(lab_sluicectl rules diff 1 2 2>&1) || lab_fail "rules diff 1 2: $diff"
echo "$diff" | grep -q "spam.model" || lab_fail "rules diff does not name the changed model: $diff"
if echo "$diff" | LC_ALL=C grep -q '[^[:print:][:space:]]'; then
	lab_fail "rules diff printed the binary model's bytes"
fi

lab_log "4. dp1 with its own model (policy.spam_model): brought to version 2 once, then left alone"
lab_second_dataplane_start dp1 control.socket="$LAB_DIR/dp1.sock" control.name=dp1 \
	control.public_key="$LAB_CONTROL_DIR/control.pub" events.file="$LAB_DIR/dp1.eve.json" \
	policy.spam_model="$LAB_DIR/own.model"
lab_expect_running dp1 2 40
sleep 5 # ten heartbeats: a control that saw another policy would load it again
loads=$(grep -c "dataplane dp1 loaded version" "$LAB_DIR/control.log")
[ "$loads" = 1 ] || lab_fail "dp1 was loaded $loads times (the control does not see its version running)"
lab_dp_running dp1 2 || lab_fail "dp1 left version 2: $(lab_sluicectl status 2>&1)"

lab_bridge_alive || lab_fail "sluice-dp died"
kill -0 "$LAB_PID_control" || lab_fail "sluice-control died"
lab_second_dataplane_stop dp1
lab_log "PASS: a policy with a spam model pushed through sluice-control decides live mail"
