/*
 * libFuzzer harness for certpush's reading of a target's answer (the
 * target is not trusted): the JSON outcome line with every exit status.
 */
#include <stdint.h>
#include <string.h>

#include "deliver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct buf answer = { (uint8_t *)data, len, len, 0 };
	struct delivery d;
	int status;

	for (status = 0; status < 3; status++) {
		memset(&d, 0, sizeof(d));
		d.result = DELIVERY_FAILED;
		parse_answer(&d, &answer, status);
	}
	return 0;
}
