// A fault (a Swift trap, a bad pointer) in a request handler must not take the process down. Swift
// cannot catch a trap, so this handler, which only uses async-signal-safe calls, answers the
// faulting thread's request with the 500 prepared before the handler ran, closes that connection,
// and parks the thread for good. The server starts a replacement worker; other requests go on.
#include "fastcgi_guard.h"

#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REPLY_CAPACITY 4096
#define ALT_STACK_SIZE (64 * 1024)

static _Thread_local int armed_fd = -1;
static _Thread_local size_t armed_length;
static _Thread_local unsigned char armed_reply[REPLY_CAPACITY];

static _Thread_local int thread_kind;

static sem_t parked_signal;
static volatile sig_atomic_t parked_count;
static volatile sig_atomic_t parked_of_kind[SHEEN_GUARD_KINDS];

static void write_all(int fd, const unsigned char *bytes, size_t length) {
    size_t offset = 0;
    while (offset < length) {
        ssize_t written = write(fd, bytes + offset, length - offset);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) return;
        offset += (size_t)written;
    }
}

static void on_fault(int number, siginfo_t *info, void *context) {
    (void)info;
    (void)context;
    int fd = armed_fd;
    if (fd < 0) {
        // Not inside a request: a real crash of the process. Let it happen as usual.
        signal(number, SIG_DFL);
        raise(number);
        return;
    }
    armed_fd = -1;
    write_all(fd, armed_reply, armed_length);
    close(fd);
    static const char note[] =
        "{\"level\":\"critical\",\"message\":\"handler faulted; request answered 500, worker parked\"}\n";
    write_all(2, (const unsigned char *)note, sizeof note - 1);
    parked_count++;
    parked_of_kind[thread_kind]++;
    sem_post(&parked_signal);
    for (;;) sleep(3600);
}

void sheen_guard_install(void) {
    static int installed;
    if (installed) return;
    installed = 1;
    sem_init(&parked_signal, 0, 0);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_fault;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    int numbers[] = {SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGFPE};
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) sigaction(numbers[i], &action, NULL);
}

int sheen_guard_prepare_thread(int kind) {
    thread_kind = (kind >= 0 && kind < SHEEN_GUARD_KINDS) ? kind : 0;
    stack_t stack;
    memset(&stack, 0, sizeof stack);
    stack.ss_sp = malloc(ALT_STACK_SIZE);
    if (stack.ss_sp == NULL) return -1;
    stack.ss_size = ALT_STACK_SIZE;
    return sigaltstack(&stack, NULL);
}

int sheen_guard_arm(int fd, const unsigned char *reply, size_t length) {
    if (length > REPLY_CAPACITY) {
        armed_fd = -1;
        return -1;
    }
    memcpy(armed_reply, reply, length);
    armed_length = length;
    armed_fd = fd;
    return 0;
}

static size_t put(unsigned char *out, size_t at, const char *text, size_t length) {
    memcpy(out + at, text, length);
    return at + length;
}

static size_t put_record_header(unsigned char *out, size_t at, unsigned char type, unsigned short id, size_t length) {
    unsigned char header[8] = {1, type, (unsigned char)(id >> 8), (unsigned char)id,
                               (unsigned char)(length >> 8), (unsigned char)length, 0, 0};
    return put(out, at, (const char *)header, 8);
}

static size_t put_end_request(unsigned char *out, size_t at, unsigned short id) {
    at = put_record_header(out, at, 3, id, 8);
    static const char complete[8] = {0};
    return put(out, at, complete, 8);
}

static size_t put_decimal(unsigned char *out, size_t at, size_t value) {
    char digits[20];
    size_t count = 0;
    do {
        digits[count++] = (char)('0' + value % 10);
        value /= 10;
    } while (value > 0);
    while (count > 0) out[at++] = (unsigned char)digits[--count];
    return at;
}

// Must read as HTTPApplication.internalError does.
#define BODY_START "{\"code\":\"INTERNAL_ERROR\",\"error\":\"The service failed to handle this request\",\"requestId\":\""
#define BODY_END "\"}"

int sheen_guard_arm_internal_error(int fd, unsigned short record_id, const char *request_id) {
    size_t id_length = strnlen(request_id, 129);
    if (id_length == 0 || id_length > 128) {
        armed_fd = -1;
        return -1;
    }
    size_t body_length = sizeof BODY_START - 1 + id_length + sizeof BODY_END - 1;
    unsigned char *out = armed_reply;
    size_t at = 8;  // the STDOUT record header goes first, once its length is known
    static const char head[] = "Status: 500 Internal Server Error\r\nContent-Type: application/json\r\nX-Request-ID: ";
    at = put(out, at, head, sizeof head - 1);
    at = put(out, at, request_id, id_length);
    at = put(out, at, "\r\nContent-Length: ", 18);
    at = put_decimal(out, at, body_length);
    at = put(out, at, "\r\n\r\n", 4);
    at = put(out, at, BODY_START, sizeof BODY_START - 1);
    at = put(out, at, request_id, id_length);
    at = put(out, at, BODY_END, sizeof BODY_END - 1);
    put_record_header(out, 0, 6, record_id, at - 8);
    at = put_record_header(out, at, 6, record_id, 0);
    at = put_end_request(out, at, record_id);
    armed_length = at;
    armed_fd = fd;
    return 0;
}

int sheen_guard_arm_end_only(int fd, unsigned short record_id) {
    armed_length = put_end_request(armed_reply, 0, record_id);
    armed_fd = fd;
    return 0;
}

void sheen_guard_disarm(void) { armed_fd = -1; }

int sheen_guard_wait_for_parked(void) {
    while (sem_wait(&parked_signal) != 0 && errno == EINTR) {}
    return parked_count;
}

int sheen_guard_parked_of_kind(int kind) {
    return (kind >= 0 && kind < SHEEN_GUARD_KINDS) ? parked_of_kind[kind] : 0;
}
