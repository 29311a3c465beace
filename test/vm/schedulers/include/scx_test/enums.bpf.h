/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sched_ext constants whose values belong to the kernel the scheduler runs on, not the one
 * it was built against: each is a read-only global named after the kernel's enumerator with
 * "__" in front, which the loader fills from the running kernel's BTF before loading
 * (scx_test_enums_init() in common.h, or tld-scx-run for any object). A macro of the
 * enumerator's own name then reads the global, so code keeps writing SCX_DSQ_LOCAL.
 * A global the loader does not fill stays 0.
 */
#ifndef SCX_TEST_ENUMS_BPF_H
#define SCX_TEST_ENUMS_BPF_H

#define SCX_TEST_ENUM(name) const volatile u64 __##name __weak

SCX_TEST_ENUM(SCX_DSQ_LOCAL);
#define SCX_DSQ_LOCAL __SCX_DSQ_LOCAL
SCX_TEST_ENUM(SCX_DSQ_GLOBAL);
#define SCX_DSQ_GLOBAL __SCX_DSQ_GLOBAL
SCX_TEST_ENUM(SCX_SLICE_DFL);
#define SCX_SLICE_DFL __SCX_SLICE_DFL
SCX_TEST_ENUM(SCX_ENQ_WAKEUP);
#define SCX_ENQ_WAKEUP __SCX_ENQ_WAKEUP

#endif /* SCX_TEST_ENUMS_BPF_H */
