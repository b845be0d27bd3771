/*
 * The fixture of the bundle tests (test_bundle.c, test_bundle_forged.c):
 * real certificates and keys made once per group (testcerts.c), a trusted
 * and an untrusted signing key, and helpers to build, encode and verify
 * bundles.  Included by the test files (#include "bundlefixture.c").
 */
#ifndef CP_BUNDLEFIXTURE_H
#define CP_BUNDLEFIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "bundle.h"
#include "buf.h"
#include "sig.h"
#include "testcerts.h"

#define SERIAL		1000
#define AUDIENCE	"mail"

struct fixture {
	struct tc_pki	 pki;
	EVP_PKEY	*sk;		/* trusted signing key */
	EVP_PKEY	*sk2;		/* a signing key nobody trusts */
	struct pubkey	 pk, pk2;
};

extern struct fixture *F;

/* cmocka group setup and teardown: make and free F. */
int	group_setup(void **state);
int	group_teardown(void **state);
/* A policy that trusts F->sk, for AUDIENCE, at F's time. */
void	policy_init(struct verify_policy *pol);
/* An empty bundle for AUDIENCE, created a minute ago, valid 30 days. */
void	bundle_init(struct bundle *b);
/* bundle_add_entry, or fail the test. */
void	add(struct bundle *b, const char *item, enum entry_kind kind, const char *pem);
/* bundle_encode, or fail the test. */
void	encode(struct bundle *b, EVP_PKEY *sk, struct buf *out);
/* The small bundle: the ECDSA chain (leaf + intermediate) and its key. */
void	small_bundle(struct bundle *b, struct buf *out);
/* Verifies data[0..len) from an exact-size copy. */
enum bundle_check verify(const void *data, size_t len,
	    const struct verify_policy *pol, struct bundle *out, int *unchanged,
	    struct err *e);
/* The metadata bundle_init would encode, then the entry count. */
void	body_start(struct buf *b, uint16_t count);
/* A body with the ECDSA pair under the given entry names and kinds. */
void	body_pair(struct buf *b, const char *chain_name, uint8_t chain_kind,
	    const char *key_name, uint8_t key_kind);
void	assert_same_entries(const struct bundle *a, const struct bundle *b);

#endif
