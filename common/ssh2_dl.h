/*
 * libssh2 through dlopen (lib_dl.h).  Included by ssh.c and certpull's
 * main after <libssh2.h>: their libssh2 calls go through the table, with
 * libssh2's own prototypes (its macros, such as libssh2_session_init,
 * expand to the functions listed here).  ssh_open loads it; so does
 * certpull's fetch before libssh2_init.  Not in ssh.h: certpush's main
 * calls the linked libssh2_init before the table is loaded.
 */
#ifndef CP_SSH2_DL_H
#define CP_SSH2_DL_H

#include <libssh2.h>
#include <libssh2_sftp.h>

#include "lib_dl.h"

/* Debian's libssh2-1 (packaging/debian/control names the package). */
#define SSH2_DL_SONAME	"libssh2.so.1"

#define SSH2_DL_FUNCS(X) \
	 X(libssh2_channel_close) X(libssh2_channel_eof) X(libssh2_channel_free) \
	 X(libssh2_channel_get_exit_status) X(libssh2_channel_open_ex) \
	 X(libssh2_channel_process_startup) X(libssh2_channel_read_ex) \
	 X(libssh2_channel_send_eof) X(libssh2_channel_wait_closed) X(libssh2_channel_write_ex) \
	 X(libssh2_exit) X(libssh2_hostkey_hash) X(libssh2_init) X(libssh2_knownhost_checkp) \
	 X(libssh2_knownhost_free) X(libssh2_knownhost_init) X(libssh2_knownhost_readfile) \
	 X(libssh2_session_block_directions) X(libssh2_session_disconnect_ex) \
	 X(libssh2_session_free) X(libssh2_session_handshake) X(libssh2_session_hostkey) \
	 X(libssh2_session_init_ex) X(libssh2_session_last_errno) X(libssh2_session_last_error) \
	 X(libssh2_session_method_pref) X(libssh2_session_set_blocking) \
	 X(libssh2_sftp_close_handle) X(libssh2_sftp_init) X(libssh2_sftp_last_error) \
	 X(libssh2_sftp_open_ex) X(libssh2_sftp_read) X(libssh2_sftp_shutdown) \
	 X(libssh2_userauth_publickey_fromfile_ex)

struct ssh2_dl {
	SSH2_DL_FUNCS(LIB_DL_MEMBER)
};

extern struct ssh2_dl ssh2_dl;

/* Loads libssh2 and the functions above, once.  0, or -1 with e set. */
int	ssh2_dl_load(struct err *e);

#ifndef LIB_DL_SELF
#define libssh2_channel_close	(*ssh2_dl.libssh2_channel_close)
#define libssh2_channel_eof	(*ssh2_dl.libssh2_channel_eof)
#define libssh2_channel_free	(*ssh2_dl.libssh2_channel_free)
#define libssh2_channel_get_exit_status	(*ssh2_dl.libssh2_channel_get_exit_status)
#define libssh2_channel_open_ex	(*ssh2_dl.libssh2_channel_open_ex)
#define libssh2_channel_process_startup	(*ssh2_dl.libssh2_channel_process_startup)
#define libssh2_channel_read_ex	(*ssh2_dl.libssh2_channel_read_ex)
#define libssh2_channel_send_eof	(*ssh2_dl.libssh2_channel_send_eof)
#define libssh2_channel_wait_closed	(*ssh2_dl.libssh2_channel_wait_closed)
#define libssh2_channel_write_ex	(*ssh2_dl.libssh2_channel_write_ex)
#define libssh2_exit	(*ssh2_dl.libssh2_exit)
#define libssh2_hostkey_hash	(*ssh2_dl.libssh2_hostkey_hash)
#define libssh2_init	(*ssh2_dl.libssh2_init)
#define libssh2_knownhost_checkp	(*ssh2_dl.libssh2_knownhost_checkp)
#define libssh2_knownhost_free	(*ssh2_dl.libssh2_knownhost_free)
#define libssh2_knownhost_init	(*ssh2_dl.libssh2_knownhost_init)
#define libssh2_knownhost_readfile	(*ssh2_dl.libssh2_knownhost_readfile)
#define libssh2_session_block_directions	(*ssh2_dl.libssh2_session_block_directions)
#define libssh2_session_disconnect_ex	(*ssh2_dl.libssh2_session_disconnect_ex)
#define libssh2_session_free	(*ssh2_dl.libssh2_session_free)
#define libssh2_session_handshake	(*ssh2_dl.libssh2_session_handshake)
#define libssh2_session_hostkey	(*ssh2_dl.libssh2_session_hostkey)
#define libssh2_session_init_ex	(*ssh2_dl.libssh2_session_init_ex)
#define libssh2_session_last_errno	(*ssh2_dl.libssh2_session_last_errno)
#define libssh2_session_last_error	(*ssh2_dl.libssh2_session_last_error)
#define libssh2_session_method_pref	(*ssh2_dl.libssh2_session_method_pref)
#define libssh2_session_set_blocking	(*ssh2_dl.libssh2_session_set_blocking)
#define libssh2_sftp_close_handle	(*ssh2_dl.libssh2_sftp_close_handle)
#define libssh2_sftp_init	(*ssh2_dl.libssh2_sftp_init)
#define libssh2_sftp_last_error	(*ssh2_dl.libssh2_sftp_last_error)
#define libssh2_sftp_open_ex	(*ssh2_dl.libssh2_sftp_open_ex)
#define libssh2_sftp_read	(*ssh2_dl.libssh2_sftp_read)
#define libssh2_sftp_shutdown	(*ssh2_dl.libssh2_sftp_shutdown)
#define libssh2_userauth_publickey_fromfile_ex	(*ssh2_dl.libssh2_userauth_publickey_fromfile_ex)
#endif

#endif
