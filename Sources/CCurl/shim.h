#include <curl/curl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

// curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call: one typed wrapper
// per argument type.
static inline CURLcode sheen_curl_set_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode sheen_curl_set_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode sheen_curl_set_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode sheen_curl_set_size(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}
typedef size_t (*sheen_curl_data_callback)(char *data, size_t size, size_t count, void *context);
static inline CURLcode sheen_curl_set_callback(CURL *handle, CURLoption option, sheen_curl_data_callback callback) {
    return curl_easy_setopt(handle, option, callback);
}
typedef int (*sheen_curl_progress_callback)(void *context, curl_off_t download_total, curl_off_t downloaded,
                                            curl_off_t upload_total, curl_off_t uploaded);
static inline CURLcode sheen_curl_set_progress(CURL *handle, sheen_curl_progress_callback callback, void *context) {
    CURLcode code = curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, callback);
    if (code == CURLE_OK) code = curl_easy_setopt(handle, CURLOPT_XFERINFODATA, context);
    if (code == CURLE_OK) code = curl_easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
    return code;
}
static inline CURLcode sheen_curl_get_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

// Whether a connection to `address` leaves this network: false for loopback, private, shared,
// link-local, multicast, reserved and documentation ranges, IPv4 or IPv6 (IPv4-mapped and NAT64
// addresses included). What a probe of a user's deployment may reach, checked on the address curl
// is about to connect to, so a name that resolves (or re-resolves) inside cannot lead it there.
static inline int sheen_address_is_public(const struct sockaddr *address) {
    if (address->sa_family == AF_INET) {
        uint32_t a = ntohl(((const struct sockaddr_in *)address)->sin_addr.s_addr);
        uint8_t b0 = a >> 24, b1 = (a >> 16) & 0xff, b2 = (a >> 8) & 0xff;
        if (b0 == 0 || b0 == 10 || b0 == 127 || b0 >= 224) return 0;
        if (b0 == 100 && (b1 & 0xc0) == 64) return 0;
        if (b0 == 169 && b1 == 254) return 0;
        if (b0 == 172 && (b1 & 0xf0) == 16) return 0;
        if (b0 == 192 && b1 == 168) return 0;
        if (b0 == 192 && b1 == 0 && (b2 == 0 || b2 == 2)) return 0;
        if (b0 == 198 && ((b1 & 0xfe) == 18 || (b1 == 51 && b2 == 100))) return 0;
        if (b0 == 203 && b1 == 0 && b2 == 113) return 0;
        return 1;
    }
    if (address->sa_family == AF_INET6) {
        const uint8_t *b = ((const struct sockaddr_in6 *)address)->sin6_addr.s6_addr;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(b, mapped, 12) == 0) {
            struct sockaddr_in v4;
            memset(&v4, 0, sizeof v4);
            v4.sin_family = AF_INET;
            memcpy(&v4.sin_addr, b + 12, 4);
            return sheen_address_is_public((const struct sockaddr *)&v4);
        }
        int leading_zero = 1;
        for (int i = 0; i < 15; i++) if (b[i] != 0) leading_zero = 0;
        if (leading_zero) return 0;                              // ::, ::1
        if ((b[0] & 0xfe) == 0xfc) return 0;                     // fc00::/7
        if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return 0;     // fe80::/10
        if (b[0] == 0xff) return 0;                              // multicast
        if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return 0;  // 2001:db8::/32
        if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b) return 0;  // 64:ff9b::/96
        return 1;
    }
    return 0;
}

static inline curl_socket_t sheen_open_public_socket(void *context, curlsocktype purpose,
                                                     struct curl_sockaddr *address) {
    (void)context;
    if (purpose != CURLSOCKTYPE_IPCXN || !sheen_address_is_public(&address->addr)) return CURL_SOCKET_BAD;
    return socket(address->family, address->socktype, address->protocol);
}

// Every connection of this handle goes to a public address, or is not made (CURLE_COULDNT_CONNECT),
// and never through a proxy the environment names.
static inline CURLcode sheen_curl_refuse_private_addresses(CURL *handle) {
    CURLcode code = curl_easy_setopt(handle, CURLOPT_OPENSOCKETFUNCTION, sheen_open_public_socket);
    if (code == CURLE_OK) code = curl_easy_setopt(handle, CURLOPT_NOPROXY, "*");
    return code;
}
