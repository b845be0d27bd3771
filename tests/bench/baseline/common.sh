# Sourced by the shell baselines.  They take their parameters from the
# environment, set by tests/bench/fanout.sh:
#   BL_HOSTS	file of "root@ADDR:PORT" lines (parallel-ssh's hosts format)
#   BL_SRC	the renewed sources: fullchain.pem, key.pem, dkim.private
#   BL_STAGE	a local scratch directory laid out like the targets
#   BL_TGT	where the files go on every target (etc/ssl, etc/dkimkeys)
#   BL_RELOAD	the reload command, run as "BL_RELOAD BL_TGT" on the target
#   BL_SSH_OPTS	OpenSSH client options (key, known_hosts, no user config)
#   BL_DKIM	owner:group of the DKIM key (opendkim:opendkim)
#   BL_PAR	parallelism (parallel-ssh -p)
set -u
: "${BL_HOSTS:?}" "${BL_SRC:?}" "${BL_STAGE:?}" "${BL_TGT:?}" "${BL_RELOAD:?}"
: "${BL_SSH_OPTS:?}" "${BL_DKIM:?}" "${BL_PAR:=16}"

# What an operator runs on each node after copying: owners, modes, reload.
BL_FIX="chown root:root $BL_TGT/etc/ssl/www.pem $BL_TGT/etc/ssl/www.key &&
 chmod 0644 $BL_TGT/etc/ssl/www.pem && chmod 0600 $BL_TGT/etc/ssl/www.key &&
 chown $BL_DKIM $BL_TGT/etc/dkimkeys/dkim.private &&
 chmod 0600 $BL_TGT/etc/dkimkeys/dkim.private && $BL_RELOAD $BL_TGT"

# bl_stage: copy the sources into the stage, as they will be named there.
bl_stage () {
	mkdir -p "$BL_STAGE/etc/ssl" "$BL_STAGE/etc/dkimkeys" &&
	cp "$BL_SRC/fullchain.pem" "$BL_STAGE/etc/ssl/www.pem" &&
	cp "$BL_SRC/key.pem" "$BL_STAGE/etc/ssl/www.key" &&
	cp "$BL_SRC/dkim.private" "$BL_STAGE/etc/dkimkeys/dkim.private"
}
