/*
 * libFuzzer harness for the bundle decoder: any input, verified against a
 * fixed trusted key.  Signatures stop most inputs early; the harness also
 * re-signs the input's body with the trusted key half of the time, so the
 * fuzzer reaches the metadata, entry and PEM parsers behind the signature.
 * Each input is verified as a node without a key and as one with a fixed
 * node key (seed sealed.bundle is sealed to it); the last byte of the
 * input also picks the re-signed header's format (1 or 2) and whether the
 * node has the key, so that the seal check and the opening of sealed
 * boxes are fuzzed too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bundle.h"
#include "seal.h"
#include "sig.h"

static EVP_PKEY *sk;
static struct pubkey pk;
static struct seal_key node;

static void
setup(void)
{
	static const uint8_t seed[32] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	static const uint8_t node_seed[32] = { 8, 7, 6, 5, 4, 3, 2, 1 };

	sk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof(seed));
	sig_pubkey_of(sk, &pk, NULL);
	seal_init(NULL);
	memcpy(node.sk, node_seed, sizeof(node.sk));
	crypto_scalarmult_base(node.pub.raw, node.sk);
	keyid_of(node.pub.raw, node.pub.id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct verify_policy pol = { .trusted = &pk, .ntrusted = 1,
	    .audience = "mail", .now = 1800000000 };
	static struct bundle b;
	uint8_t *copy;
	int unchanged;

	if (sk == NULL)
		setup();
	/* As a node without a key, then as one with (format 2 opens). */
	if (bundle_verify(data, len, &pol, &b, &unchanged, NULL) == BC_OK)
		bundle_release(&b);
	pol.open_key = &node;
	if (bundle_verify(data, len, &pol, &b, &unchanged, NULL) == BC_OK)
		bundle_release(&b);
	if (len < BUNDLE_HEADER_LEN + SIG_LEN || len > BUNDLE_MAX_SIZE ||
	    (data[len - 1] & 1))
		return 0;
	pol.open_key = (data[len - 1] & 4) ? &node : NULL;
	/* Patch in our key id and a valid signature over the rest. */
	if ((copy = malloc(len)) == NULL)
		return 0;
	memcpy(copy, data, len);
	memcpy(copy, BUNDLE_MAGIC, 8);
	copy[8] = 0, copy[10] = 0, copy[11] = BUNDLE_ALG_ED25519;
	copy[9] = (data[len - 1] & 2) ? BUNDLE_FORMAT_SEALED : BUNDLE_FORMAT;
	memcpy(copy + 12, pk.id, SIG_KEYID_LEN);
	copy[20] = (uint8_t)((len - BUNDLE_HEADER_LEN - SIG_LEN) >> 24);
	copy[21] = (uint8_t)((len - BUNDLE_HEADER_LEN - SIG_LEN) >> 16);
	copy[22] = (uint8_t)((len - BUNDLE_HEADER_LEN - SIG_LEN) >> 8);
	copy[23] = (uint8_t)(len - BUNDLE_HEADER_LEN - SIG_LEN);
	if (sig_sign(sk, copy, len - SIG_LEN, copy + len - SIG_LEN, NULL) == 0 &&
	    bundle_verify(copy, len, &pol, &b, &unchanged, NULL) == BC_OK)
		bundle_release(&b);
	free(copy);
	return 0;
}
