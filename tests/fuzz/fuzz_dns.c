/*
 * libFuzzer harness for what a resolver returns (untrusted even when
 * DNSSEC-validated: a zone's owner writes it): TLSA rdata, parsed and
 * matched against a key, and DKIM TXT rdata, joined, its tags parsed and
 * p= decoded into a key.
 */
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include "dane.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static EVP_PKEY *key;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct tlsa t;
	struct err e;
	EVP_PKEY *k;

	if (key == NULL && (key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL)
		return 0;
	if (tlsa_parse(data, len, &t, &e) == 0)
		(void)tlsa_match_key(&t, key);
	if ((k = dkim_txt_key(data, len, &e)) != NULL) {
		(void)dane_same_key(k, key);
		EVP_PKEY_free(k);
	}
	return 0;
}
