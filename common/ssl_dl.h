/*
 * libssl through dlopen (lib_dl.h).  Included by tlsprobe.c, the only
 * user of libssl, after <openssl/ssl.h>: its calls go through the table
 * with libssl's own prototypes (SSL_set_tlsext_host_name is a macro over
 * SSL_ctrl).  Only the live checks and the audit's probes speak TLS;
 * an install without endpoints, a verify or a bundle never maps libssl.
 * libcrypto stays linked: everything else needs it.
 */
#ifndef CP_SSL_DL_H
#define CP_SSL_DL_H

#include <openssl/ssl.h>

#include "lib_dl.h"

/* Debian's libssl3, which also holds the linked libcrypto.so.3. */
#define SSL_DL_SONAME	"libssl.so.3"

#define SSL_DL_FUNCS(X) \
	X(SSL_CTX_free) X(SSL_CTX_new) X(SSL_connect) X(SSL_ctrl) X(SSL_free) \
	X(SSL_get1_peer_certificate) X(SSL_get_error) X(SSL_get_peer_cert_chain) \
	X(SSL_new) X(SSL_set_fd) X(SSL_shutdown) X(TLS_client_method)

struct ssl_dl {
	SSL_DL_FUNCS(LIB_DL_MEMBER)
};

extern struct ssl_dl ssl_dl;

/* Loads libssl and the functions above, once.  0, or -1 with e set. */
int	ssl_dl_load(struct err *e);

#ifndef LIB_DL_SELF
#define SSL_CTX_free	(*ssl_dl.SSL_CTX_free)
#define SSL_CTX_new	(*ssl_dl.SSL_CTX_new)
#define SSL_connect	(*ssl_dl.SSL_connect)
#define SSL_ctrl	(*ssl_dl.SSL_ctrl)
#define SSL_free	(*ssl_dl.SSL_free)
#define SSL_get1_peer_certificate	(*ssl_dl.SSL_get1_peer_certificate)
#define SSL_get_error	(*ssl_dl.SSL_get_error)
#define SSL_get_peer_cert_chain	(*ssl_dl.SSL_get_peer_cert_chain)
#define SSL_new		(*ssl_dl.SSL_new)
#define SSL_set_fd	(*ssl_dl.SSL_set_fd)
#define SSL_shutdown	(*ssl_dl.SSL_shutdown)
#define TLS_client_method	(*ssl_dl.TLS_client_method)
#endif

#endif
