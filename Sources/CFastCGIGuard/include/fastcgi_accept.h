#ifndef SHEEN_FASTCGI_ACCEPT_H
#define SHEEN_FASTCGI_ACCEPT_H

/// Makes the listening socket non-blocking, so a worker that lost the race for a connection to
/// another worker or process goes back to waiting instead of blocking in accept. 0, or -1.
int sheen_accept_prepare(int listen_fd);

/// A wake descriptor (an eventfd) for `sheen_accept_next`; -1 when none could be made.
int sheen_accept_wake_create(void);

/// Wakes every worker waiting in `sheen_accept_next` on `wake_fd`, now and from then on.
void sheen_accept_wake(int wake_fd);

/// Waits until a connection can be taken from `listen_fd` or `wake_fd` is woken. Returns the
/// connection (blocking, close-on-exec, reads bounded by `receive_timeout_ms`); -1 when woken;
/// another negative number, minus errno, when accepting failed (out of descriptors, say): the
/// caller pauses and calls again.
int sheen_accept_next(int listen_fd, int wake_fd, int receive_timeout_ms);

#endif
