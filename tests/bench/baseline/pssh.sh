#!/bin/bash
# Debian's pssh: parallel-scp the files to every host, then parallel-ssh
# the owners, modes and reload, BL_PAR hosts at a time.
. "$(dirname "$0")/common.sh"
bl_stage || exit 1
parallel-scp -h "$BL_HOSTS" -p "$BL_PAR" -t 120 -x "$BL_SSH_OPTS" -r \
	"$BL_STAGE/etc" "$BL_TGT/" >"$BL_STAGE/pscp.out" &&
parallel-ssh -h "$BL_HOSTS" -p "$BL_PAR" -t 120 -x "$BL_SSH_OPTS" \
	"$BL_FIX" >"$BL_STAGE/pssh.out"
