/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the parts of tld-demo (C main program, C++ hints, dlopen'ed plugin) share. */
#ifndef TLD_DEMO_H
#define TLD_DEMO_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The value behind the C++ key "demo.request". */
struct demo_request {
	uint32_t prio;
	uint32_t id;
};

/* demo_hints.cpp: sets this thread's C++ hints for @round; returns 0 or -errno. */
int demo_cpp_tick(unsigned idx, unsigned long round);
/* demo_hints.cpp: this thread's C++ values, for the report. */
const struct demo_request *demo_cpp_request(void);
const uint32_t *demo_cpp_weight(void);

/* The plugin's entry point, found with dlsym(). Returns its key's value for this thread. */
typedef const uint32_t *(*demo_plugin_tick_fn)(unsigned idx);
#define DEMO_PLUGIN_TICK "demo_plugin_tick"

#ifdef __cplusplus
}
#endif

#endif
