// Accepting connections without libfcgi's accept, so a draining server can stop waiting for one
// without a signal. A signal cannot tell the wait for a connection from the read of one already
// accepted: libfcgi closes a connection whose first read or readiness wait is interrupted, and the
// web server answers that request 502. Here the wait is a poll on the listening socket and a wake
// descriptor; once a connection is accepted nothing interrupts it.
#define _GNU_SOURCE
#include "fastcgi_accept.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int sheen_accept_prepare(int listen_fd) {
    int flags = fcntl(listen_fd, F_GETFL, 0);
    if (flags < 0) return -1;
    if (!(flags & O_NONBLOCK) && fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) < 0) return -1;
    return 0;
}

int sheen_accept_wake_create(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

void sheen_accept_wake(int wake_fd) {
    uint64_t one = 1;
    ssize_t written;
    do {
        written = write(wake_fd, &one, sizeof one);
    } while (written < 0 && errno == EINTR);
}

int sheen_accept_next(int listen_fd, int wake_fd, int receive_timeout_ms) {
    struct pollfd waits[2] = {{.fd = listen_fd, .events = POLLIN}, {.fd = wake_fd, .events = POLLIN}};
    for (;;) {
        // The wake descriptor is never read: once woken, every worker polling it sees it at once.
        if (poll(waits, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        if (waits[1].revents) return -1;
        struct sockaddr_storage peer;
        socklen_t length = sizeof peer;
        int fd = accept4(listen_fd, (struct sockaddr *)&peer, &length, SOCK_CLOEXEC);
        if (fd < 0) {
            switch (errno) {
            // Another worker or process took it, or the peer left before it was taken.
            case EAGAIN:
#if EAGAIN != EWOULDBLOCK
            case EWOULDBLOCK:
#endif
            case EINTR:
            case ECONNABORTED:
            case EPROTO:
                continue;
            default:
                return -errno;
            }
        }
        if (peer.ss_family == AF_INET || peer.ss_family == AF_INET6) {
            int set = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &set, sizeof set);
        }
        struct timeval timeout = {.tv_sec = receive_timeout_ms / 1000, .tv_usec = (receive_timeout_ms % 1000) * 1000};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        return fd;
    }
}
