#ifndef SHEEN_FASTCGI_GUARD_H
#define SHEEN_FASTCGI_GUARD_H

#include <stddef.h>

/// Installs the fault handlers (SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGFPE) once per process.
void sheen_guard_install(void);

/// How many kinds of worker thread the guard counts apart (the server's accepting and upstream workers).
#define SHEEN_GUARD_KINDS 2

/// Gives the calling thread an alternate signal stack, so a stack overflow can still be answered,
/// and records its kind (0 to SHEEN_GUARD_KINDS - 1), so a parked thread is replaced by one alike.
int sheen_guard_prepare_thread(int kind);

/// Arms the calling thread: if it faults before `sheen_guard_disarm`, `reply` (complete FastCGI
/// records, at most 4096 bytes, copied here) is written to `fd`, `fd` is closed and the thread parks.
/// Returns 0, or -1 when the reply is too long (the thread is then disarmed).
int sheen_guard_arm(int fd, const unsigned char *reply, size_t length);

/// Arms the calling thread with the service's standard 500 reply for FastCGI request `record_id`,
/// formatted here without allocating: `{"code":"INTERNAL_ERROR","error":"...","requestId":"<id>"}`.
/// `request_id` must be 1-128 characters of [A-Za-z0-9._:-] (the caller validates it).
int sheen_guard_arm_internal_error(int fd, unsigned short record_id, const char *request_id);

/// Arms the calling thread to only end FastCGI request `record_id` (its head is already sent).
int sheen_guard_arm_end_only(int fd, unsigned short record_id);

/// Disarms the calling thread: a fault now ends the process as usual.
void sheen_guard_disarm(void);

/// Blocks until a thread has parked after a fault; returns how many have parked so far.
int sheen_guard_wait_for_parked(void);

/// How many threads of `kind` have parked so far.
int sheen_guard_parked_of_kind(int kind);

#endif
