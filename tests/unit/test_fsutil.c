/*
 * File helpers and byte buffers: atomic writes with their final owner and
 * mode, capped reads that refuse symlinks, the secrecy check, and the
 * bounds-checked cursor of buf.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"

#include "testutil.c"

/* A fresh empty subfolder of tu_dir named name; its path goes to out. */
static void
subdir(const char *name, char out[TU_PATH_MAX])
{
	snprintf(out, TU_PATH_MAX, "%s/%s", tu_dir, name);
	assert_int_equal(mkdir(out, 0700), 0);
}

static void
assert_file(const char *path, const char *content, mode_t mode, uid_t uid, gid_t gid)
{
	struct buf b = { 0 };
	struct stat st;
	struct err e;

	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, mode);
	assert_int_equal(st.st_uid, uid);
	assert_int_equal(st.st_gid, gid);
	assert_int_equal(file_read(path, 1 << 20, &b, &e), 0);
	assert_int_equal(b.len, strlen(content));
	if (b.len > 0)
		assert_memory_equal(b.data, content, b.len);
	buf_free(&b);
}

static void
test_write_atomic(void **state)
{
	char d[TU_PATH_MAX], path[TU_PATH_MAX];
	uid_t other_uid = geteuid() == 0 ? 65534 : geteuid();
	gid_t other_gid = geteuid() == 0 ? 65534 : getegid();
	mode_t old = umask(077);
	struct stat st1, st2;
	struct err e;

	(void)state;
	subdir("atomic", d);
	snprintf(path, sizeof(path), "%s/cert.pem", d);
	/* The mode is exact whatever the umask, and so are the owners. */
	if (file_write_atomic(path, "first\n", 6, other_uid, other_gid, 0640, &e) == -1)
		fail_msg("%s", e.msg);
	assert_file(path, "first\n", 0640, other_uid, other_gid);
	assert_int_equal(tu_count_entries(d), 1);
	assert_int_equal(stat(path, &st1), 0);

	/* Replacing: new content, new inode, new mode; no temp file left. */
	if (file_write_atomic(path, "second\n", 7, geteuid(), getegid(), 0600, &e) == -1)
		fail_msg("%s", e.msg);
	assert_file(path, "second\n", 0600, geteuid(), getegid());
	assert_int_equal(stat(path, &st2), 0);
	assert_int_not_equal(st1.st_ino, st2.st_ino);
	assert_int_equal(tu_count_entries(d), 1);

	/* Unusual modes are kept as given. */
	assert_int_equal(file_write_atomic(path, "", 0, geteuid(), getegid(), 0444, &e), 0);
	assert_file(path, "", 0444, geteuid(), getegid());
	assert_int_equal(tu_count_entries(d), 1);
	umask(old);
}

static void
test_write_atomic_failure_cleans_up(void **state)
{
	char d[TU_PATH_MAX], path[TU_PATH_MAX];
	struct err e;

	(void)state;
	subdir("atomic-fail", d);
	/* Renaming a file over a folder fails: the temp file must go. */
	snprintf(path, sizeof(path), "%s/busy", d);
	assert_int_equal(mkdir(path, 0700), 0);
	e.msg[0] = '\0';
	assert_int_equal(file_write_atomic(path, "x", 1, geteuid(), getegid(), 0600, &e), -1);
	assert_true(tu_contains(e.msg, "rename"));
	assert_int_equal(tu_count_entries(d), 1);
	/* A folder that does not exist. */
	snprintf(path, sizeof(path), "%s/absent/file", d);
	assert_int_equal(file_write_atomic(path, "x", 1, geteuid(), getegid(), 0600, &e), -1);
	assert_true(tu_contains(e.msg, "No such file"));
	assert_int_equal(tu_count_entries(d), 1);
}

/* Replacing a symlink replaces the link, never writes through it. */
static void
test_write_atomic_symlink(void **state)
{
	char d[TU_PATH_MAX], target[TU_PATH_MAX], path[TU_PATH_MAX];
	struct stat st;
	struct err e;

	(void)state;
	subdir("atomic-link", d);
	assert_int_equal(tu_write(d, "target", "keep\n", 5, 0600, target), 0);
	snprintf(path, sizeof(path), "%s/link", d);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(file_write_atomic(path, "new\n", 4, geteuid(), getegid(), 0600,
	    &e), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_file(target, "keep\n", 0600, geteuid(), getegid());
	assert_file(path, "new\n", 0600, geteuid(), getegid());
}

static void
test_create_new(void **state)
{
	char d[TU_PATH_MAX], path[TU_PATH_MAX];
	struct err e;

	(void)state;
	subdir("create-new", d);
	snprintf(path, sizeof(path), "%s/key", d);
	assert_int_equal(file_create_new(path, "one", 3, 0600, &e), 0);
	assert_file(path, "one", 0600, geteuid(), getegid());
	assert_int_equal(file_create_new(path, "two", 3, 0600, &e), -1);
	assert_true(tu_contains(e.msg, "refusing to overwrite"));
	assert_file(path, "one", 0600, geteuid(), getegid());
	assert_int_equal(tu_count_entries(d), 1);
}

static void
test_read_refuses_symlink(void **state)
{
	char d[TU_PATH_MAX], target[TU_PATH_MAX], path[TU_PATH_MAX];
	struct buf b = { 0 };
	struct err e;

	(void)state;
	subdir("read-link", d);
	assert_int_equal(tu_write(d, "target", "data", 4, 0600, target), 0);
	snprintf(path, sizeof(path), "%s/link", d);
	assert_int_equal(symlink(target, path), 0);
	e.msg[0] = '\0';
	assert_int_equal(file_read(path, 100, &b, &e), -1);
	assert_null(b.data);
	assert_true(tu_contains(e.msg, path));
	/* Not ELOOP's "Too many levels of symbolic links". */
	assert_true(tu_contains(e.msg, ": is a symbolic link: refusing it"));
	/* The target itself reads fine. */
	assert_int_equal(file_read(target, 100, &b, &e), 0);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.data, "data", 4);
	buf_free(&b);
	/* A folder is not a regular file. */
	assert_int_equal(file_read(d, 100, &b, &e), -1);
	assert_true(tu_contains(e.msg, ": not a regular file (a directory)"));
	assert_null(b.data);
	/* Nor is a FIFO: refused at once, without waiting for a writer. */
	snprintf(path, sizeof(path), "%s/fifo", d);
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(5);
	assert_int_equal(file_read(path, 100, &b, &e), -1);
	alarm(0);
	assert_true(tu_contains(e.msg, ": not a regular file (a FIFO)"));
}

static void
test_read_cap(void **state)
{
	char d[TU_PATH_MAX], path[TU_PATH_MAX], *big;
	struct buf b = { 0 };
	struct err e;
	size_t n = 40000;	/* more than one read chunk */

	(void)state;
	subdir("read-cap", d);
	assert_non_null(big = malloc(n));
	memset(big, 'z', n);
	assert_int_equal(tu_write(d, "big", big, n, 0600, path), 0);
	errno = 0;
	assert_int_equal(file_read(path, n - 1, &b, &e), -1);
	assert_int_equal(errno, EFBIG);
	assert_true(tu_contains(e.msg, "larger than 39999 bytes"));
	assert_true(tu_contains(e.msg, path));
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(file_read(path, n, &b, &e), 0);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.data, big, n);
	buf_free(&b);
	/* An empty file reads as nothing. */
	assert_int_equal(tu_write(d, "empty", "", 0, 0600, path), 0);
	assert_int_equal(file_read(path, 0, &b, &e), 0);
	assert_int_equal(b.len, 0);
	buf_free(&b);
	free(big);
}

/* Writes len bytes into a pipe and returns its read end. */
static int
pipe_with(size_t len, char fill)
{
	char chunk[4096];
	int p[2];

	assert_true(len <= 60000);	/* fits a default pipe buffer */
	assert_int_equal(pipe(p), 0);
	memset(chunk, fill, sizeof(chunk));
	while (len > 0) {
		size_t n = len < sizeof(chunk) ? len : sizeof(chunk);

		assert_int_equal(write(p[1], chunk, n), (ssize_t)n);
		len -= n;
	}
	close(p[1]);
	return p[0];
}

static void
test_fd_read_capped(void **state)
{
	struct buf b = { 0 };
	struct err e;
	int fd;

	(void)state;
	fd = pipe_with(100, 'a');
	assert_int_equal(fd_read_capped(fd, 100, &b, &e), 0);
	assert_int_equal(b.len, 100);
	assert_int_equal(b.data[99], 'a');
	buf_free(&b);
	close(fd);

	fd = pipe_with(101, 'a');
	e.msg[0] = '\0';
	errno = 0;
	assert_int_equal(fd_read_capped(fd, 100, &b, &e), -1);
	assert_int_equal(errno, EFBIG);
	assert_true(tu_contains(e.msg, "larger than 100 bytes"));
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	close(fd);

	/* Over the cap after several chunks: nothing is kept. */
	fd = pipe_with(50000, 'b');
	assert_int_equal(fd_read_capped(fd, 40000, &b, &e), -1);
	assert_null(b.data);
	close(fd);
	fd = pipe_with(50000, 'b');
	assert_int_equal(fd_read_capped(fd, 50000, &b, &e), 0);
	assert_int_equal(b.len, 50000);
	buf_free(&b);
	close(fd);

	fd = pipe_with(0, 0);
	assert_int_equal(fd_read_capped(fd, 0, &b, &e), 0);
	assert_int_equal(b.len, 0);
	close(fd);
	fd = pipe_with(1, 'c');
	assert_int_equal(fd_read_capped(fd, 0, &b, &e), -1);
	close(fd);

	/* A closed descriptor is a read error. */
	assert_int_equal(fd_read_capped(fd, 10, &b, &e), -1);
	assert_true(tu_contains(e.msg, "read"));
}

/* file_read_stat describes the very file it read. */
static void
test_read_stat(void **state)
{
	char d[TU_PATH_MAX], path[TU_PATH_MAX];
	struct buf b = { 0 };
	struct stat st, st2;
	struct err e;

	(void)state;
	subdir("read-stat", d);
	assert_int_equal(tu_write(d, "f", "hello", 5, 0640, path), 0);
	memset(&st, 0, sizeof(st));
	assert_int_equal(file_read_stat(path, 100, &b, &st, &e), 0);
	assert_int_equal(b.len, 5);
	assert_int_equal(lstat(path, &st2), 0);
	assert_int_equal(st.st_ino, st2.st_ino);
	assert_int_equal(st.st_size, 5);
	assert_int_equal(st.st_mode & 07777, 0640);
	buf_free(&b);
	/* The secrecy check on that stat. */
	assert_int_equal(stat_check_secret(path, &st, &e), -1);
	assert_true(tu_contains(e.msg, "0640"));
	st.st_mode &= ~(mode_t)077;
	assert_int_equal(stat_check_secret(path, &st, &e), 0);
	/* A NULL stat is allowed. */
	assert_int_equal(file_read_stat(path, 100, &b, NULL, &e), 0);
	buf_free(&b);
}

static void
test_check_secret(void **state)
{
	static const mode_t bad[] = { 0640, 0604, 0660, 0606, 0610, 0601, 0620, 0602,
	    0700 | 0040 };
	char d[TU_PATH_MAX], path[TU_PATH_MAX], link[TU_PATH_MAX], mode[8];
	struct err e;
	size_t i;

	(void)state;
	subdir("secret", d);
	assert_int_equal(tu_write(d, "key", "k", 1, 0600, path), 0);
	assert_int_equal(file_check_secret(path, &e), 0);
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(file_check_secret(path, &e), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(chmod(path, bad[i]), 0);
		assert_int_equal(file_check_secret(path, &e), -1);
		snprintf(mode, sizeof(mode), "%04o", (unsigned)bad[i]);
		assert_true(tu_contains(e.msg, mode));
	}
	assert_int_equal(chmod(path, 0600), 0);
	snprintf(link, sizeof(link), "%s/link", d);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(file_check_secret(link, &e), -1);
	assert_true(tu_contains(e.msg, "not a regular file"));
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(file_check_secret(path, &e), -1);
		assert_true(tu_contains(e.msg, "owned by uid 65534"));
	}
}

static void
test_fsync_parent(void **state)
{
	char path[TU_PATH_MAX];
	struct err e;

	(void)state;
	snprintf(path, sizeof(path), "%s/whatever", tu_dir);
	assert_int_equal(fsync_parent(path, &e), 0);
	assert_int_equal(fsync_parent("relative-name", &e), 0);
	assert_int_equal(fsync_parent("/toplevel", &e), 0);
	assert_int_equal(fsync_parent("/nonexistent-cp/x", &e), -1);
	assert_true(tu_contains(e.msg, "/nonexistent-cp"));
}

/* ---- buf.h ------------------------------------------------------------ */

static void
test_buf_encode(void **state)
{
	static const uint8_t want[] = { 0x12, 0x34, 0x56, 0x89, 0xab, 0xcd, 0xef,
	    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0xff, 'h', 'i' };
	struct buf b = { 0 };
	size_t i;

	(void)state;
	assert_int_equal(buf_add_u8(&b, 0x12), 0);
	assert_int_equal(buf_add_u16(&b, 0x3456), 0);
	assert_int_equal(buf_add_u32(&b, 0x89abcdef), 0);
	assert_int_equal(buf_add_u64(&b, 0x0102030405060708ULL), 0);
	assert_int_equal(buf_add(&b, "\xff", 1), 0);
	assert_int_equal(buf_add_str(&b, "hi"), 0);
	assert_int_equal(buf_add(&b, NULL, 0), 0);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));
	/* Growth keeps the content. */
	for (i = 0; i < 10000; i++)
		assert_int_equal(buf_add_u8(&b, (uint8_t)i), 0);
	assert_memory_equal(b.data, want, sizeof(want));
	assert_int_equal(b.data[sizeof(want) + 9999], (uint8_t)9999);
	assert_true(b.cap >= b.len);
	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	buf_free(&b);	/* twice is harmless */

	b.secret = 1;
	assert_int_equal(buf_add_str(&b, "secret"), 0);
	for (i = 0; i < 1000; i++)
		assert_int_equal(buf_add_u8(&b, 's'), 0);
	buf_free(&b);
}

static void
test_cursor_reads(void **state)
{
	static const uint8_t in[] = { 0x12, 0x34, 0x56, 0x89, 0xab, 0xcd, 0xef,
	    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 'x', 'y' };
	struct cursor c;
	const uint8_t *p;
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;

	(void)state;
	cur_init(&c, in, sizeof(in));
	assert_int_equal(cur_u8(&c, &v8), 0);
	assert_int_equal(v8, 0x12);
	assert_int_equal(cur_u16(&c, &v16), 0);
	assert_int_equal(v16, 0x3456);
	assert_int_equal(cur_u32(&c, &v32), 0);
	assert_int_equal(v32, 0x89abcdef);
	assert_int_equal(cur_u64(&c, &v64), 0);
	assert_true(v64 == 0x0102030405060708ULL);
	assert_int_equal(cur_bytes(&c, 2, &p), 0);
	assert_ptr_equal(p, in + 15);
	assert_int_equal(c.left, 0);
	assert_int_equal(cur_bytes(&c, 0, &p), 0);
}

/* At the end, every read fails and consumes nothing. */
static void
test_cursor_end(void **state)
{
	static const uint8_t in[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct cursor c;
	const uint8_t *p = NULL;
	uint8_t v8 = 0xAA;
	uint16_t v16 = 0xAAAA;
	uint32_t v32 = 0xAAAAAAAA;
	uint64_t v64 = 0xAAAAAAAAAAAAAAAAULL;
	size_t left;

	(void)state;
	/* With 0 to 7 bytes left, every read wider than that fails in place. */
	for (left = 0; left < 8; left++) {
		cur_init(&c, in + 8 - left, left);
		if (left < 1)
			assert_int_equal(cur_u8(&c, &v8), -1);
		if (left < 2)
			assert_int_equal(cur_u16(&c, &v16), -1);
		if (left < 4)
			assert_int_equal(cur_u32(&c, &v32), -1);
		assert_int_equal(cur_u64(&c, &v64), -1);
		assert_int_equal(cur_bytes(&c, left + 1, &p), -1);
		assert_int_equal(cur_bytes(&c, SIZE_MAX, &p), -1);
		assert_ptr_equal(c.p, in + 8 - left);
		assert_int_equal(c.left, left);
	}
	assert_int_equal(v8, 0xAA);
	assert_int_equal(v16, 0xAAAA);
	assert_int_equal(v32, 0xAAAAAAAA);
	assert_true(v64 == 0xAAAAAAAAAAAAAAAAULL);
	assert_null(p);
	/* And an exact read still works after the failures. */
	cur_init(&c, in, 3);
	assert_int_equal(cur_u32(&c, &v32), -1);
	assert_int_equal(cur_u16(&c, &v16), 0);
	assert_int_equal(v16, 0x0102);
	assert_int_equal(cur_u16(&c, &v16), -1);
	assert_int_equal(cur_u8(&c, &v8), 0);
	assert_int_equal(v8, 3);
	assert_int_equal(cur_u8(&c, &v8), -1);
	assert_int_equal(c.left, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_atomic),
		cmocka_unit_test(test_write_atomic_failure_cleans_up),
		cmocka_unit_test(test_write_atomic_symlink),
		cmocka_unit_test(test_create_new),
		cmocka_unit_test(test_read_refuses_symlink),
		cmocka_unit_test(test_read_cap),
		cmocka_unit_test(test_fd_read_capped),
		cmocka_unit_test(test_read_stat),
		cmocka_unit_test(test_check_secret),
		cmocka_unit_test(test_fsync_parent),
		cmocka_unit_test(test_buf_encode),
		cmocka_unit_test(test_cursor_reads),
		cmocka_unit_test(test_cursor_end),
	};

	return cmocka_run_group_tests_name("fsutil", tests, tu_group_setup,
	    tu_group_teardown);
}
