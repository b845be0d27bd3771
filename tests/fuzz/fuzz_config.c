/*
 * libFuzzer harness for the configuration loaders: the input is parsed as
 * certpull.yaml and as certpush.yaml through the same strict reader that
 * reads files (yconf_load_string), and every load is freed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pullconf.h"
#include "pushconf.h"
#include "yconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct pullconf pull;
	struct pushconf push;
	struct err e;

	if (pullconf_load_string("fuzz.yaml", (const char *)data, len, &pull, &e) == 0)
		pullconf_free(&pull);
	if (pushconf_load_string("fuzz.yaml", (const char *)data, len, &push, &e) == 0)
		pushconf_free(&push);
	return 0;
}
