#!/bin/bash
# The hand method: one host after the other, rsync the files, then one ssh
# to set owners and modes and reload.  OpenSSH's defaults, as typed.
# rsync -I: the bench renews faster than rsync's quick check can see (same
# size, same second), and a skipped copy would not be a push.
. "$(dirname "$0")/common.sh"
bl_stage || exit 1
rc=0
while read -r h; do
	rsync -rtI -e "ssh $BL_SSH_OPTS -p ${h##*:}" "$BL_STAGE/" "${h%:*}:$BL_TGT/" \
		</dev/null &&
	ssh -n $BL_SSH_OPTS -p "${h##*:}" "${h%:*}" "$BL_FIX" || rc=1
done <"$BL_HOSTS"
exit $rc
