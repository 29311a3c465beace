/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* tld-demo's plugin: a shared library, dlopen'ed after the threads run, that adds its own key. */
#include <stddef.h>

#include "demo.h"
#include "tld.h"

TLD_DEFINE_KEY(plugin_requests, "plugin.requests", sizeof(uint32_t));

const uint32_t *demo_plugin_tick(unsigned idx)
{
	uint32_t *v = tld_resolve_key(plugin_requests);

	/* Each thread serves idx + 1 requests per tick. */
	if (v)
		*v += idx + 1;
	return v;
}
