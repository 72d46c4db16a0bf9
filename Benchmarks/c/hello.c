/* The baseline of scripts/bench fastcgi: a plain libfcgi server answering the same tiny JSON as
 * fastcgi-hello, with the same threading (N threads accepting under one mutex). */
#include <fcgiapp.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int listen_fd;
static pthread_mutex_t accept_lock = PTHREAD_MUTEX_INITIALIZER;

static void *serve(void *unused) {
    (void)unused;
    FCGX_Request request;
    FCGX_InitRequest(&request, listen_fd, 0);
    for (;;) {
        pthread_mutex_lock(&accept_lock);
        int accepted = FCGX_Accept_r(&request);
        pthread_mutex_unlock(&accept_lock);
        if (accepted < 0) break;
        FCGX_PutS("Status: 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n"
                  "{\"hello\":\"world\"}", request.out);
        FCGX_Finish_r(&request);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) return 64;
    int workers = atoi(argv[2]);
    if (workers < 1 || workers > 64) return 64;
    FCGX_Init();
    unlink(argv[1]);
    listen_fd = FCGX_OpenSocket(argv[1], 1024);
    if (listen_fd < 0) return 71;
    chmod(argv[1], 0666);
    pthread_t threads[64];
    for (int i = 0; i < workers; i++) pthread_create(&threads[i], NULL, serve, NULL);
    for (int i = 0; i < workers; i++) pthread_join(threads[i], NULL);
    return 0;
}
