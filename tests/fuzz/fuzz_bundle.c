/*
 * libFuzzer harness for the bundle decoder: any input, verified against a
 * fixed trusted key.  Signatures stop most inputs early; the harness also
 * re-signs the input's body with the trusted key half of the time, so the
 * fuzzer reaches the metadata, entry and PEM parsers behind the signature.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "sig.h"

static EVP_PKEY *sk;
static struct pubkey pk;

static void
setup(void)
{
	static const uint8_t seed[32] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	sk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof(seed));
	sig_pubkey_of(sk, &pk, NULL);
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
	bundle_verify(data, len, &pol, &b, &unchanged, NULL);
	if (len < BUNDLE_HEADER_LEN + SIG_LEN || len > BUNDLE_MAX_SIZE ||
	    (data[len - 1] & 1))
		return 0;
	/* Patch in our key id and a valid signature over the rest. */
	if ((copy = malloc(len)) == NULL)
		return 0;
	memcpy(copy, data, len);
	memcpy(copy, BUNDLE_MAGIC, 8);
	copy[8] = 0, copy[9] = BUNDLE_FORMAT, copy[10] = 0, copy[11] = BUNDLE_ALG_ED25519;
	memcpy(copy + 12, pk.id, SIG_KEYID_LEN);
	copy[20] = (uint8_t)((len - BUNDLE_HEADER_LEN - SIG_LEN) >> 24);
	copy[21] = (uint8_t)((len - BUNDLE_HEADER_LEN - SIG_LEN) >> 16);
	copy[22] = (uint8_t)((len - BUNDLE_HEADER_LEN - SIG_LEN) >> 8);
	copy[23] = (uint8_t)(len - BUNDLE_HEADER_LEN - SIG_LEN);
	if (sig_sign(sk, copy, len - SIG_LEN, copy + len - SIG_LEN, NULL) == 0)
		bundle_verify(copy, len, &pol, &b, &unchanged, NULL);
	free(copy);
	return 0;
}
