/*
 * Scratch folders and files for the unit tests.  Included by the test
 * files (#include "testutil.c") like testcerts.c.
 */
#ifndef CP_TESTUTIL_H
#define CP_TESTUTIL_H

#include <sys/types.h>

#include <stddef.h>

#define TU_PATH_MAX	4096

/* Creates a fresh 0700 folder under $TMPDIR (or /tmp) into dir.  0 or -1. */
int	tu_mkdtemp(char dir[TU_PATH_MAX]);
/* Removes dir and everything below it.  0 or -1. */
int	tu_rmtree(const char *dir);
/*
 * Writes len bytes of data to dir/name (replacing it) with exactly mode
 * (whatever the umask), and puts the full path in path if not NULL.
 * 0 or -1.
 */
int	tu_write(const char *dir, const char *name, const void *data, size_t len,
	    mode_t mode, char path[TU_PATH_MAX]);
/* Number of entries in dir other than . and .., or -1. */
int	tu_count_entries(const char *dir);
/* True if s contains sub. */
int	tu_contains(const char *s, const char *sub);

/*
 * cmocka group fixtures for a binary whose tests share one scratch
 * folder: tu_group_setup makes it (its path in tu_dir), tu_group_teardown
 * removes it.  0 or -1.
 */
extern char tu_dir[TU_PATH_MAX];
int	tu_group_setup(void **state);
int	tu_group_teardown(void **state);

#endif
