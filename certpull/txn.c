#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "txn.h"

#define JOURNAL_MAGIC	"certpull-journal 1"

void
txn_crash_point(const char *step)
{
	const char *at = getenv("CERTPULL_TEST_CRASH_AT");

	if (at != NULL && strcmp(at, step) == 0)
		raise(SIGKILL);
}

/*
 * The mode a rollback or a recovery gives back: permissions and the
 * sticky bit.  Never set-user-ID nor set-group-ID, which certpull does
 * not recreate on a file it writes as root (the journal records the mode
 * on disk all the same).
 */
#define RESTORABLE_MODE	01777

/*
 * Reads the current file at tf's path: content, owner and mode from one
 * descriptor, so that they describe the same file.  *absent is set if
 * there is none.  0, or -1 with e set (also for anything but a regular
 * file: a symlink, a FIFO, a directory).
 */
static int
read_current(struct txn_file *tf, int *absent, struct stat *st, struct err *e)
{
	const char *path = tf->f->path;
	struct err why;
	int fd, rc;

	*absent = 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT) {
		*absent = 1;
		return 0;
	}
	if (fd == -1)
		return err_set(e, "%s: %s", path, strerror(errno));
	if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode)) {
		close(fd);
		return err_set(e, "%s: not a regular file", path);
	}
	if ((uintmax_t)st->st_size > TXN_FILE_CAP) {
		close(fd);
		return err_set(e, "%s: larger than %d bytes", path, TXN_FILE_CAP);
	}
	rc = fd_read_capped(fd, TXN_FILE_CAP, &tf->old, &why);
	close(fd);
	return rc == -1 ? err_set(e, "%s: %s", path, why.msg) : 0;
}

int
txn_compare(struct txn *t, struct err *e)
{
	struct stat st;
	size_t i;
	int absent;

	for (i = 0; i < t->nfiles; i++) {
		struct txn_file *tf = &t->files[i];

		tf->old.secret = 1;
		if (read_current(tf, &absent, &st, e) == -1)
			return -1;
		if (absent) {
			tf->changed = 1;
			continue;
		}
		tf->existed = 1;
		tf->old_uid = st.st_uid;
		tf->old_gid = st.st_gid;
		tf->old_mode = st.st_mode & 07777;
		tf->changed = tf->old.len != tf->new.len ||
		    memcmp(tf->old.data, tf->new.data, tf->new.len) != 0 ||
		    st.st_uid != tf->f->uid || st.st_gid != tf->f->gid ||
		    tf->old_mode != tf->f->mode;
	}
	return 0;
}

/*
 * Writes data to tmp, created exclusively (never through a symlink) with
 * mode 0600, given its final owner and mode before any byte is written.
 */
static int
stage_one(const char *tmp, const struct buf *data, uid_t uid, gid_t gid,
    mode_t mode, struct err *e)
{
	int fd;

	if (unlink(tmp) == -1 && errno != ENOENT)
		return err_set(e, "%s: %s", tmp, strerror(errno));
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		return err_set(e, "create %s: %s", tmp, strerror(errno));
	return fd_fill_new(fd, tmp, data->data, data->len, uid, gid, mode, e);
}

static void
remove_staged(struct txn *t)
{
	size_t i;

	for (i = 0; i < t->nfiles; i++)
		if (t->files[i].staged && !t->files[i].swapped) {
			unlink(t->files[i].tmp);
			t->files[i].staged = 0;
		}
}

int
txn_stage(struct txn *t, struct err *e)
{
	size_t i;

	for (i = 0; i < t->nfiles; i++) {
		struct txn_file *tf = &t->files[i];

		if (!tf->changed)
			continue;
		snprintf(tf->tmp, sizeof(tf->tmp), "%s.certpull-new", tf->f->path);
		if (stage_one(tf->tmp, &tf->new, tf->f->uid, tf->f->gid, tf->f->mode,
		    e) == -1) {
			remove_staged(t);
			return -1;
		}
		tf->staged = 1;
	}
	return 0;
}

static void
prev_path(const char *state_dir, size_t idx, char *out, size_t len)
{
	snprintf(out, len, "%s/prev/%zu", state_dir, idx);
}

static int
write_journal(struct txn *t, struct err *e)
{
	char path[PATH_MAX], line[PATH_MAX + 128];
	struct buf j = { 0 };
	size_t i;
	int rc;

	snprintf(line, sizeof(line), JOURNAL_MAGIC "\nserial %" PRIu64 "\n", t->serial);
	buf_add_str(&j, line);
	snprintf(line, sizeof(line), "state %d\n", t->had_state);
	buf_add_str(&j, line);
	for (i = 0; i < t->nfiles; i++) {
		const struct txn_file *tf = &t->files[i];

		if (!tf->changed)
			continue;
		snprintf(line, sizeof(line), "file %zu %d %u %u %04o %s %s\n", i,
		    tf->existed, (unsigned)tf->old_uid, (unsigned)tf->old_gid,
		    (unsigned)tf->old_mode, tf->svc->name, tf->f->path);
		buf_add_str(&j, line);
	}
	snprintf(path, sizeof(path), "%s/journal", t->state_dir);
	rc = file_write_atomic(path, j.data, j.len, geteuid(), getegid(), 0600, e);
	buf_free(&j);
	return rc;
}

/*
 * Writes a copy in STATE/prev: created anew (O_EXCL, never through a
 * symlink, mode 0600) and synced, but not renamed into place nor its
 * directory synced.  A copy only counts once the journal naming it is on
 * disk, which comes after one sync of STATE/prev for every copy (see
 * save_previous); a run killed before that leaves copies that the next
 * run removes unread (txn_recover: no journal).
 */
static int
write_copy(const char *path, const struct buf *data, struct err *e)
{
	int fd;

	if (unlink(path) == -1 && errno != ENOENT)
		return err_set(e, "%s: %s", path, strerror(errno));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		return err_set(e, "create %s: %s", path, strerror(errno));
	return fd_fill_new(fd, path, data->data, data->len, geteuid(), getegid(),
	    0600, e);
}

/*
 * Copies STATE/installed to STATE/prev/installed (if there is one), so that
 * a recovery puts the state back with the files.
 */
static int
save_state(struct txn *t, struct err *e)
{
	char path[PATH_MAX], prev[PATH_MAX];
	struct buf st = { 0 };
	int rc;

	t->had_state = 0;
	snprintf(path, sizeof(path), "%s/installed", t->state_dir);
	if (access(path, F_OK) == -1 && errno == ENOENT)
		return 0;
	snprintf(prev, sizeof(prev), "%s/prev/installed", t->state_dir);
	if (file_read(path, TXN_FILE_CAP, &st, e) == -1)
		return -1;
	rc = write_copy(prev, &st, e);
	buf_free(&st);
	t->had_state = rc == 0;
	return rc;
}

static int
save_previous(struct txn *t, struct err *e)
{
	char dir[PATH_MAX], path[PATH_MAX];
	size_t i;

	snprintf(dir, sizeof(dir), "%s/prev", t->state_dir);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return err_set(e, "%s: %s", dir, strerror(errno));
	for (i = 0; i < t->nfiles; i++) {
		const struct txn_file *tf = &t->files[i];

		if (!tf->changed || !tf->existed)
			continue;
		prev_path(t->state_dir, i, path, sizeof(path));
		if (write_copy(path, &tf->old, e) == -1)
			return -1;
	}
	if (save_state(t, e) == -1)
		return -1;
	/* One sync of STATE/prev for every copy, before the journal. */
	snprintf(path, sizeof(path), "%s/installed", dir);
	return fsync_parent(path, e);
}

/*
 * Syncs the directory of every swapped file once, after all the renames:
 * the journal, on disk before the first rename, covers a crash between
 * them.
 */
static int
sync_swapped_dirs(const struct txn *t, struct err *e)
{
	size_t i, j, len;

	for (i = 0; i < t->nfiles; i++) {
		const char *path = t->files[i].f->path, *slash = strrchr(path, '/');

		if (!t->files[i].swapped)
			continue;
		len = slash == NULL ? 0 : (size_t)(slash - path);
		for (j = 0; j < i; j++) {
			const char *other = t->files[j].f->path;

			if (t->files[j].swapped && strncmp(other, path, len) == 0 &&
			    strrchr(other, '/') == other + len)
				break;
		}
		if (j == i && fsync_parent(path, e) == -1)
			return -1;
	}
	return 0;
}

int
txn_swap(struct txn *t, struct err *e)
{
	char step[32];
	size_t i;

	if (save_previous(t, e) == -1)
		return -1;
	txn_crash_point("saved");
	if (write_journal(t, e) == -1)
		return -1;
	txn_crash_point("journaled");
	for (i = 0; i < t->nfiles; i++) {
		struct txn_file *tf = &t->files[i];

		if (!tf->changed)
			continue;
		if (rename(tf->tmp, tf->f->path) == -1)
			return err_set(e, "rename %s: %s", tf->tmp, strerror(errno));
		tf->swapped = 1;
		snprintf(step, sizeof(step), "swapped-%zu", i);
		txn_crash_point(step);
	}
	return sync_swapped_dirs(t, e);
}

/*
 * Puts old content back at path with its old owner and mode, less any
 * set-id bit (RESTORABLE_MODE).
 */
static int
restore_one(const char *path, const struct buf *old, int existed, uid_t uid,
    gid_t gid, mode_t mode, struct err *e)
{
	char tmp[PATH_MAX];

	if (!existed) {
		if (unlink(path) == -1 && errno != ENOENT)
			return err_set(e, "remove %s: %s", path, strerror(errno));
		return fsync_parent(path, e);
	}
	snprintf(tmp, sizeof(tmp), "%s.certpull-new", path);
	if (stage_one(tmp, old, uid, gid, mode & RESTORABLE_MODE, e) == -1)
		return -1;
	if (rename(tmp, path) == -1) {
		err_set(e, "restore %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return fsync_parent(path, e);
}

int
txn_rollback(struct txn *t, struct err *e)
{
	struct err why;
	size_t i;
	int rc = 0;

	for (i = 0; i < t->nfiles; i++) {
		struct txn_file *tf = &t->files[i];

		if (!tf->swapped)
			continue;
		if (restore_one(tf->f->path, &tf->old, tf->existed, tf->old_uid,
		    tf->old_gid, tf->old_mode, &why) == -1)
			rc = err_set(e, "rollback: %s", why.msg);
		else
			tf->swapped = 0;
	}
	remove_staged(t);
	return rc;
}

/*
 * Removes the copies in STATE/prev once the journal is gone: nothing reads
 * them any more, and they may hold private keys that were just replaced.
 */
static void
clear_prev(const char *state_dir)
{
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/prev", state_dir);
	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

/*
 * Removes the journal at path.  -1 with e set if it is still there; 0
 * once it is gone, with *synced 0 (and e saying why) if its removal could
 * not be synced.  The copies in STATE/prev go only once the removal is on
 * disk: a power loss may bring back a journal whose removal was not, and
 * the next run needs them then.
 */
static int
remove_journal(const char *state_dir, const char *path, int *synced, struct err *e)
{
	*synced = 0;
	if (unlink(path) == -1 && errno != ENOENT)
		return err_set(e, "remove %s: %s", path, strerror(errno));
	if (fsync_parent(path, e) == -1)
		return 0;
	*synced = 1;
	clear_prev(state_dir);
	return 0;
}

int
txn_finish(struct txn *t, int *synced, struct err *e)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/journal", t->state_dir);
	return remove_journal(t->state_dir, path, synced, e);
}

void
txn_free(struct txn *t)
{
	size_t i;

	remove_staged(t);
	for (i = 0; i < t->nfiles; i++) {
		buf_free(&t->files[i].new);
		buf_free(&t->files[i].old);
	}
	t->nfiles = 0;
}

int
txn_services_has(const struct txn_services *svcs, const char *name)
{
	size_t i;

	for (i = 0; i < svcs->n; i++)
		if (strcmp(svcs->name[i], name) == 0)
			return 1;
	return 0;
}

/* Restores the file of one journal line. */
static int
recover_line(const char *state_dir, const char *line, struct txn_services *svcs,
    struct err *e)
{
	char svc[TXN_NAME_MAX], path[PATH_MAX], prev[PATH_MAX], tmp[PATH_MAX + 16];
	struct buf old = { .secret = 1 };
	unsigned uid, gid, mode;
	size_t idx;
	int existed, rc = -1;

	if (sscanf(line, "file %zu %d %u %u %o %127s %4095[^\n]", &idx, &existed,
	    &uid, &gid, &mode, svc, path) != 7)
		return err_set(e, "corrupt journal line \"%.100s\"", line);
	prev_path(state_dir, idx, prev, sizeof(prev));
	if (existed && file_read(prev, TXN_FILE_CAP, &old, e) == -1)
		goto out;
	snprintf(tmp, sizeof(tmp), "%s.certpull-new", path);
	unlink(tmp);
	if (restore_one(path, &old, existed, uid, gid, mode, e) == -1)
		goto out;
	/* The journal has at most TXN_MAX_FILES lines: svcs has room. */
	if (!txn_services_has(svcs, svc) && svcs->n < TXN_MAX_FILES)
		snprintf(svcs->name[svcs->n++], TXN_NAME_MAX, "%s", svc);
	rc = 0;
out:
	buf_free(&old);
	return rc;
}

/*
 * Puts back the installed state saved before the swap (had: there was
 * one), or removes the one a failed or interrupted install recorded.
 */
static int
restore_state(const char *state_dir, int had, struct err *e)
{
	char path[PATH_MAX], prev[PATH_MAX];
	struct buf st = { 0 };
	int rc;

	snprintf(path, sizeof(path), "%s/installed", state_dir);
	if (!had) {
		if (unlink(path) == -1 && errno != ENOENT)
			return err_set(e, "remove %s: %s", path, strerror(errno));
		return fsync_parent(path, e);
	}
	snprintf(prev, sizeof(prev), "%s/prev/installed", state_dir);
	if (file_read(prev, TXN_FILE_CAP, &st, e) == -1)
		return -1;
	rc = file_write_atomic(path, st.data, st.len, geteuid(), getegid(), 0600, e);
	buf_free(&st);
	return rc;
}

/* The journal's "state HAD" line. */
static int
recover_state(const char *state_dir, const char *line, struct err *e)
{
	int had;

	if (sscanf(line, "state %d", &had) != 1)
		return err_set(e, "corrupt journal line \"%.100s\"", line);
	return restore_state(state_dir, had, e);
}

int
txn_restore_state(struct txn *t, struct err *e)
{
	return restore_state(t->state_dir, t->had_state, e);
}

/*
 * True if name is a temp file of file_write_atomic (".NAME.XXXXXX") for
 * one of the files certpull writes in its state directory (dir) or in
 * dir/prev (prev).
 */
static int
stale_temp(const char *name, int prev)
{
	static const char *const state_files[] = { "installed", "journal",
	    "last-outcome.json", NULL };
	const char *dot = strrchr(name, '.');
	size_t i, n;

	if (name[0] != '.' || dot == NULL || dot == name || strlen(dot + 1) != 6)
		return 0;
	n = (size_t)(dot - name - 1);
	if (prev && n == strspn(name + 1, "0123456789") && n > 0)
		return 1;
	for (i = 0; state_files[i] != NULL; i++)
		if (strlen(state_files[i]) == n && strncmp(name + 1, state_files[i], n) == 0)
			return 1;
	return 0;
}

/*
 * Removes the temp files a killed run left in the state directory (dir)
 * or in dir/prev (prev): every writer there holds the lock, so none is
 * in use.
 */
static void
sweep_temps(const char *dir, int prev)
{
	struct dirent *de;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (stale_temp(de->d_name, prev))
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

/*
 * No journal: copies left in STATE/prev (a run killed before its journal
 * was written, or one whose journal removal was not synced) are removed
 * once the state directory is synced.
 */
static void
clear_stale_prev(const char *state_dir, const char *journal)
{
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int any = 0;

	/* Nothing to remove (the usual case): no sync needed. */
	snprintf(dir, sizeof(dir), "%s/prev", state_dir);
	if ((d = opendir(dir)) == NULL)
		return;
	while (!any && (de = readdir(d)) != NULL)
		any = strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	if (any && fsync_parent(journal, NULL) == 0)
		clear_prev(state_dir);
}

int
txn_recover(const char *state_dir, int *recovered, struct txn_services *svcs,
    struct err *e)
{
	char path[PATH_MAX], *text, *line, *save = NULL;
	struct buf j = { 0 };
	int rc = 0, synced;

	*recovered = 0;
	svcs->n = 0;
	sweep_temps(state_dir, 0);
	snprintf(path, sizeof(path), "%s/prev", state_dir);
	sweep_temps(path, 1);
	snprintf(path, sizeof(path), "%s/journal", state_dir);
	if (access(path, F_OK) == -1 && errno == ENOENT) {
		clear_stale_prev(state_dir, path);
		return 0;
	}
	if (file_read(path, TXN_FILE_CAP, &j, e) == -1 || buf_add_u8(&j, '\0') == -1) {
		buf_free(&j);
		return -1;
	}
	text = (char *)j.data;
	if (strncmp(text, JOURNAL_MAGIC "\n", strlen(JOURNAL_MAGIC) + 1) != 0)
		rc = err_set(e, "%s: not a certpull journal", path);
	for (line = strtok_r(text, "\n", &save); rc == 0 && line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, "file ", 5) == 0)
			rc = recover_line(state_dir, line, svcs, e);
		else if (strncmp(line, "state ", 6) == 0)
			rc = recover_state(state_dir, line, e);
	buf_free(&j);
	if (rc == 0)
		rc = remove_journal(state_dir, path, &synced, e);
	if (rc == 0) {
		*recovered = 1;
		/* Restored, and a next run would restore the same again. */
		if (!synced)
			log_warnx("the removal of %s may not be durable: %s", path,
			    e->msg);
	}
	return rc;
}
