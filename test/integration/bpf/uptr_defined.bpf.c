/* uptr_forward.bpf.c with the fix applied: the pointee struct is defined in full. */
#define DEFINE_PAGE
#include "uptr_forward.bpf.c"
