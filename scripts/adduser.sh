#!/bin/sh
# The unprivileged user the daemons run as after setup (--user, default
# iphttps): a system user and group, no home, no shell.  Run by
# `make install`, `make demo` and the scenario tests, as the Debian package's
# maintainer script does.  Does nothing when the user exists.
#   scripts/adduser.sh [NAME]
set -e
name=${1:-iphttps}
if getent passwd "$name" >/dev/null; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "adduser.sh: the user '$name' does not exist and only root can create it" >&2
	exit 1
fi
useradd --system --user-group --home-dir /nonexistent --no-create-home \
	--shell /usr/sbin/nologin --comment "iphttps daemons" "$name"
