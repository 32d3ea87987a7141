# Shared by tools/test, tools/demo and tools/bench. Source it; it defines functions only.

SLUICE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

log() { printf '%s %s\n' "[$(date +%H:%M:%S)]" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

need_root() {
	[ "$(id -u)" = 0 ] || die "run as root (installs packages, creates network namespaces, uses hugepages)"
}

# Install every package of tools/lib/packages.txt that is not installed yet.
ensure_packages() {
	local want missing=()
	want=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$SLUICE_ROOT/tools/lib/packages.txt")
	for p in $want; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing: ${missing[*]}"
	# Postfix must not configure or start a system mail server on this host: the tests
	# run their own instances inside network namespaces.
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	echo "tshark wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
	# clamav pulls in clamav-freshclam: "manual" leaves its daemon disabled (the tests
	# write their own databases and never update signatures from the network).
	echo "clamav-freshclam clamav-freshclam/autoupdate_freshclam select manual" | debconf-set-selections 2>/dev/null || true
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null || die "apt-get update failed"
	# No package may start a service while it installs (invoke-rc.d asks policy-rc.d):
	# clamav-freshclam's postinst would otherwise run freshclam, which downloads from the
	# internet. A policy-rc.d already there (containers have one) is left as it is.
	local own_policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\n# tools/lib/common.sh ensure_packages: no service starts\nexit 101\n' \
			>/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && own_policy=1
	fi
	local rc=0
	apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
	[ -z "$own_policy" ] || rm -f /usr/sbin/policy-rc.d
	[ $rc = 0 ] || die "apt-get install failed: ${missing[*]}"
}

# 2 MB hugepages for DPDK; the programs fall back to --no-huge when this fails.
ensure_hugepages() {
	local have
	have=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)
	[ "$have" -ge 256 ] || echo 256 > /proc/sys/vm/nr_hugepages 2>/dev/null || true
	mkdir -p /dev/hugepages
	mountpoint -q /dev/hugepages || mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null || true
}

# meson_build DIR COMPILER [--buildtype=TYPE] [-DOPTION=VALUE]...: configure DIR with
# this C compiler (gcc or clang) and these options, then compile. A DIR configured before
# is checked against them (meson introspection) and reconfigured when they differ (a
# stale build-san must not run the unit suites without sanitizers), or made afresh when
# its compiler differs; DIR still wrong after that fails.
meson_build() {
	local name=$1 cc=$2
	shift 2
	local dir=$SLUICE_ROOT/$name want=() o why rc
	for o in "$@"; do
		case $o in
		--buildtype=*) want+=("buildtype=${o#--buildtype=}") ;;
		-D*) want+=("${o#-D}") ;;
		esac
	done
	if [ -f "$dir/build.ninja" ]; then
		rc=0
		why=$(_build_options "$dir" "$cc" "${want[@]}") || rc=$?
		if [ $rc = 1 ]; then
			log "$name has other options; reconfiguring: $why"
			# meson configure, not setup --reconfigure: the latter keeps b_* options
			_meson "$name" configure "$dir" "$@" || return 1
		elif [ $rc != 0 ]; then
			log "$name cannot be reused; configuring it afresh: $why"
			rm -rf "$dir"
		fi
	fi
	if [ ! -f "$dir/build.ninja" ]; then
		CC=$cc _meson "$name" setup "$dir" "$SLUICE_ROOT" "$@" || return 1
	fi
	why=$(_build_options "$dir" "$cc" "${want[@]}") ||
		{ log "$name has the wrong options after configuring: $why"; return 1; }
	meson compile -C "$dir" >"$dir.compile.log" 2>&1 ||
		{ tail -60 "$dir.compile.log" >&2; return 1; }
}
_build_options() { /usr/bin/python3 "$SLUICE_ROOT/tools/lib/build_options.py" "$@"; }
_meson() { # _meson NAME ARGS...: meson ARGS, its output in NAME.setup.log
	local log_file=$SLUICE_ROOT/$1.setup.log
	shift
	meson "$@" >"$log_file" 2>&1 || { cat "$log_file" >&2; return 1; }
}

# The release build the demo, lab tests and benchmarks use (gcc, -Werror).
build_release() {
	meson_build build gcc --buildtype=release -Db_sanitize=none -Dfuzz=false -Dwerror=true
}

# bench_policy DIR KEYWORDS SEED: the engine and dataplane benchmarks' policy in DIR —
# the shipped policy's own rules (the speed goals of issue 14 were set on them, before the
# imported SpamAssassin set was included; its cost: tools/bench spam) + KEYWORDS keyword rules.
bench_policy() {
	rm -rf "$1"
	cp -r "$SLUICE_ROOT/docs/examples" "$1"
	sed -i '/^include "spamassassin.rules"/d' "$1/policy.rules"
	/usr/bin/python3 "$SLUICE_ROOT/tools/lib/bench-keyword-rules.py" "$2" "$3" >>"$1/policy.rules"
}
