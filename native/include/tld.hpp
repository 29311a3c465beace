// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// libtld for C++: a task local data key as a typed per-thread variable.
//
//	struct req { int prio; unsigned id; };
//	static tld::variable<req> current("app.request");
//	current->prio = 3;          // this thread's value, read by BPF by name
//	tld::variable<int> lat("sched.latency_critical");
//	lat = 1;
#ifndef TLD_HPP
#define TLD_HPP

#include <type_traits>

#include "tld.h"

namespace tld {

namespace detail {
// One cached data area per thread, shared by every variable: a thread's keys
// all live in its one page, so a single pointer serves them all.
inline char *&thread_base()
{
	static thread_local char *base = nullptr;
	return base;
}

inline char *data()
{
	char *&base = thread_base();
	if (__builtin_expect(base == nullptr, 0))
		base = static_cast<char *>(tld_thread_data());
	return base;
}
} // namespace detail

template <typename T> class variable {
	static_assert(std::is_trivially_copyable<T>::value,
		      "tld::variable<T> needs a trivially copyable T: BPF reads its bytes");
	static_assert(sizeof(T) <= TLD_DATA_MAX_FOR(TLD_PAGE_SIZE_MAX), "tld::variable<T> must fit a page");

public:
	explicit variable(const char *name) : key_(tld_add_key_def(name, sizeof(T))) {}
	variable(const variable &) = delete;
	variable &operator=(const variable &) = delete;

	// This thread's value, or nullptr when the key or the thread's page failed (see error()).
	T *get() const
	{
		if (__builtin_expect(key_.off < 0, 0))
			return nullptr;
		char *base = detail::data();
		return base ? reinterpret_cast<T *>(base + key_.off) : nullptr;
	}

	variable &operator=(const T &v)
	{
		if (T *p = get())
			*p = v;
		return *this;
	}

	T &operator*() const { return *get(); }
	T *operator->() const { return get(); }

	bool ok() const { return key_.off >= 0; }
	// The negative errno of the key, or 0.
	int error() const { return tld_off_err(key_); }
	tld_off_t key() const { return key_; }

private:
	tld_off_t key_;
};

} // namespace tld

#endif // TLD_HPP
