#!/bin/bash
# Builds the stand-in base root: Debian trixie (minbase) with the packages of packages.txt, written as a tarball to
# stdout for `docker import`. Run as root; needs debootstrap. Services are kept from starting (policy-rc.d) and
# PostgreSQL makes no cluster (the images' entrypoints create their own). Usage: base.sh WORKDIR > root.tar
set -euo pipefail
work="$1"
here="$(cd "$(dirname "$0")" && pwd)"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
root="$work/root"
cleanup() {
  for m in "$root/dev" "$root/proc"; do mountpoint -q "$m" && umount -l "$m" || true; done
}
trap cleanup EXIT
echo "stand-ins: debootstrap trixie (minbase) into $root" >&2
debootstrap --variant=minbase trixie "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d" && chmod +x "$root/usr/sbin/policy-rc.d"
mkdir -p "$root/etc/postgresql-common/createcluster.d"
echo 'create_main_cluster = false' > "$root/etc/postgresql-common/createcluster.d/stackyard.conf"
# the official PostgreSQL images run it as uid/gid 999
chroot "$root" groupadd --system --gid 999 postgres
chroot "$root" useradd --system --uid 999 --gid 999 --home-dir /var/lib/postgresql --shell /bin/bash postgres
pkgs=$(grep -v '^#' "$here/packages.txt" | xargs)
echo "stand-ins: apt-get install $pkgs" >&2
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $pkgs >"$work/apt.log" 2>&1 || { tail -20 "$work/apt.log" >&2; exit 1; }
chroot "$root" ln -sf /bin/busybox /usr/local/bin/wget
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root/usr/sbin/policy-rc.d"
cleanup
tar --numeric-owner --xattrs -C "$root" -c .
