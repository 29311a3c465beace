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
	explicit variable(const char *name)
		: key_(tld_add_key_def(name, sizeof(T))),
		  slot_(key_.off >= 0 ? key_.off : static_cast<long>(tld_scratch_offset()))
	{
	}
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

	// Stores @v in this thread's value. A key that failed stores into the
	// thread's scratch area (tld_scratch_offset()) instead, so the store checks
	// only that the thread has its page: as cheap as a store to a __thread.
	variable &operator=(const T &v)
	{
		if (T *p = slot())
			*p = v;
		return *this;
	}

	// This thread's value; for a key that failed, a scratch value nothing reads.
	T &operator*() const { return *slot(); }
	T *operator->() const { return slot(); }

	bool ok() const { return key_.off >= 0; }
	// The negative errno of the key, or 0.
	int error() const { return tld_off_err(key_); }
	tld_off_t key() const { return key_; }

private:
	// Where stores go: the key's offset, or the scratch area for a failed key
	// when T fits it (one page of the smallest size); larger types check.
	T *slot() const
	{
		if (sizeof(T) > TLD_PAGE_SIZE_MIN && __builtin_expect(key_.off < 0, 0))
			return nullptr;
		char *base = detail::data();
		return base ? reinterpret_cast<T *>(base + slot_) : nullptr;
	}

	tld_off_t key_;
	long slot_;
};

} // namespace tld

#endif // TLD_HPP
