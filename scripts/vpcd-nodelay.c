/* LD_PRELOAD shim for pcscd: TCP_NODELAY on every TCP socket vpcd accepts or connects.
 *
 * vpcd writes each message as two send() calls (2-byte length, then payload). With Nagle's
 * algorithm on, the payload waits for the peer's delayed ACK, so every APDU costs ~40 ms.
 * vpcd is the listening side (accept); connect covers its reverse mode. accept4 is wrapped too
 * in case a future pcscd/vpcd build switches to it. Unix-domain sockets (pcscd's client socket)
 * are left alone.
 *
 * Build: gcc -shared -fPIC -O2 -o vpcd-nodelay.so vpcd-nodelay.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static void set_nodelay_if_tcp(int fd)
{
    int domain = 0;
    int type = 0;
    socklen_t len = sizeof(domain);
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0)
        return;
    if (domain != AF_INET && domain != AF_INET6)
        return;
    len = sizeof(type);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM)
        return;
    int one = 1;
    /* Best effort: a failure here only means the slow path, never a broken connection. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int accept(int fd, struct sockaddr *addr, socklen_t *addrlen)
{
    static int (*real_accept)(int, struct sockaddr *, socklen_t *);
    if (!real_accept)
        real_accept = (int (*)(int, struct sockaddr *, socklen_t *))dlsym(RTLD_NEXT, "accept");
    int result = real_accept(fd, addr, addrlen);
    if (result >= 0) {
        int saved = errno;
        set_nodelay_if_tcp(result);
        errno = saved;
    }
    return result;
}

int accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags)
{
    static int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);
    if (!real_accept4)
        real_accept4 = (int (*)(int, struct sockaddr *, socklen_t *, int))dlsym(RTLD_NEXT, "accept4");
    int result = real_accept4(fd, addr, addrlen, flags);
    if (result >= 0) {
        int saved = errno;
        set_nodelay_if_tcp(result);
        errno = saved;
    }
    return result;
}

int connect(int fd, const struct sockaddr *addr, socklen_t addrlen)
{
    static int (*real_connect)(int, const struct sockaddr *, socklen_t);
    if (!real_connect)
        real_connect = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "connect");
    int result = real_connect(fd, addr, addrlen);
    /* A non-blocking connect still in progress gets the option now; it applies once connected. */
    if (result == 0 || errno == EINPROGRESS) {
        int saved = errno;
        set_nodelay_if_tcp(fd);
        errno = saved;
    }
    return result;
}
