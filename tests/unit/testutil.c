/*
 * Scratch folders and files for the unit tests; see testutil.h.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

int
tu_mkdtemp(char dir[TU_PATH_MAX])
{
	const char *tmp = getenv("TMPDIR");

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(dir, TU_PATH_MAX, "%s/cp-unit.XXXXXX", tmp);
	/* mkdtemp creates the folder with mode 0700. */
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
tu_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) == -1 ? -1 : 0;
}

int
tu_rmtree(const char *dir)
{
	return nftw(dir, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int
tu_write(const char *dir, const char *name, const void *data, size_t len,
    mode_t mode, char path[TU_PATH_MAX])
{
	char p[TU_PATH_MAX];
	const char *c = data;
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (path != NULL)
		snprintf(path, TU_PATH_MAX, "%s", p);
	if (unlink(p) == -1 && errno != ENOENT)
		return -1;
	if ((fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600)) == -1)
		return -1;
	while (len > 0) {
		if ((n = write(fd, c, len)) == -1) {
			close(fd);
			return -1;
		}
		c += n;
		len -= (size_t)n;
	}
	if (fchmod(fd, mode) == -1) {
		close(fd);
		return -1;
	}
	return close(fd);
}

int
tu_count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

int
tu_contains(const char *s, const char *sub)
{
	return s != NULL && sub != NULL && strstr(s, sub) != NULL;
}

char tu_dir[TU_PATH_MAX];

int
tu_group_setup(void **state)
{
	(void)state;
	return tu_mkdtemp(tu_dir);
}

int
tu_group_teardown(void **state)
{
	(void)state;
	return tu_rmtree(tu_dir);
}
