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
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null || die "apt-get update failed"
	apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null || die "apt-get install failed: ${missing[*]}"
}

# 2 MB hugepages for DPDK; the programs fall back to --no-huge when this fails.
ensure_hugepages() {
	local have
	have=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)
	[ "$have" -ge 256 ] || echo 256 > /proc/sys/vm/nr_hugepages 2>/dev/null || true
	mkdir -p /dev/hugepages
	mountpoint -q /dev/hugepages || mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null || true
}

# meson_build DIR [meson setup options...]: configure once, then compile.
meson_build() {
	local dir=$1; shift
	if [ ! -f "$SLUICE_ROOT/$dir/build.ninja" ]; then
		meson setup "$SLUICE_ROOT/$dir" "$SLUICE_ROOT" "$@" >"$SLUICE_ROOT/$dir.setup.log" 2>&1 ||
			{ cat "$SLUICE_ROOT/$dir.setup.log" >&2; return 1; }
	fi
	meson compile -C "$SLUICE_ROOT/$dir" >"$SLUICE_ROOT/$dir.compile.log" 2>&1 ||
		{ tail -60 "$SLUICE_ROOT/$dir.compile.log" >&2; return 1; }
}

# The release build the demo, lab tests and benchmarks use.
build_release() {
	meson_build build --buildtype=release
}
