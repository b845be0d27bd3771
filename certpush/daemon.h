/*
 * certpush run: the watch daemon.  Watches the sources, waits for a quiet
 * period after the last event, checks that every certbot lineage is
 * consistent, pushes to the targets whose content changed, and retries
 * failed targets on their backoff schedule.  SIGHUP reloads the
 * configuration (an invalid one is refused and the old one kept);
 * SIGTERM and SIGINT stop it.  Idle, it sleeps in the kernel until an
 * event or the next scheduled retry.
 */
#ifndef CP_DAEMON_H
#define CP_DAEMON_H

/* Runs until SIGTERM; returns the exit status. */
int	daemon_run(const char *config_path);

#endif
