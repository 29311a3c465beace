// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// tld-demo's C++ hints: a struct and an integer through tld::variable. The hints (the
// request's priority, the weight) are set once when a thread starts and then left to the
// user; only the request id, a counter, moves on every tick.
#include "demo.h"
#include "tld.hpp"

static tld::variable<demo_request> request("demo.request");
static tld::variable<uint32_t> weight("sched.weight");

extern "C" int demo_cpp_tick(unsigned idx, unsigned long round)
{
	if (!request.ok())
		return request.error();
	if (!weight.ok())
		return weight.error();
	if (!request.get())
		return -1;
	if (round == 0) {
		// Per-thread priorities 0..3 and weights 100..400: hints, written once.
		request->prio = idx % 4;
		weight = 100 * (idx % 4 + 1);
	}
	// The request id counts up: a field store, so a priority the user set stays.
	request->id = static_cast<uint32_t>(round);
	return 0;
}

extern "C" const demo_request *demo_cpp_request(void)
{
	return request.get();
}

extern "C" const uint32_t *demo_cpp_weight(void)
{
	return weight.get();
}
