/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A library the BPF test dlopen()s after its threads run: it brings its own key. */
#include "tld.h"

TLD_DEFINE_KEY(plugin_key, "test.plugin", sizeof(__u32));

/* Sets the calling thread's "test.plugin"; returns 0 or -errno. */
int tld_test_plugin_set(__u32 v)
{
	__u32 *p = tld_resolve_key(plugin_key);

	if (!p)
		return -errno;
	*p = v;
	return 0;
}
