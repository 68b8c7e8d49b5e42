/*
 * A library whose constructor binds and connects before the program's main() and, when preloaded
 * after the shim (LD_PRELOAD="libvipfarm.so libvf-ctor.so"), before the shim's own constructor
 * (libfaketime's test_constructors idea). The shim must apply the rules anyway: its hooks
 * initialise it on first use. Prints "ctor-bound A" for a bind of 0.0.0.0:0, and with
 * VF_CTOR_CONNECT=IP:PORT (a listening TCP server) "ctor-local A" after connecting there.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static void print_local(const char *label, int fd) {
  struct sockaddr_in sin;
  socklen_t len = sizeof sin;
  memset(&sin, 0, sizeof sin);
  syscall(SYS_getsockname, fd, &sin, &len); /* where it really is (the shim hides L/V) */
  char ip[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &sin.sin_addr, ip, sizeof ip);
  printf("%s %s:%u\n", label, ip, ntohs(sin.sin_port));
}

__attribute__((constructor)) static void early_sockets(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in any = {.sin_family = AF_INET};
  if (fd < 0 || bind(fd, (struct sockaddr *)&any, sizeof any) != 0) {
    printf("ctor-error bind\n");
  } else {
    print_local("ctor-bound", fd);
  }
  close(fd);

  fflush(stdout);
  const char *target = getenv("VF_CTOR_CONNECT");
  char ip[64];
  unsigned port;
  if (target == NULL || sscanf(target, "%63[^:]:%u", ip, &port) != 2) return;
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, ip, &to.sin_addr);
  fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof to) != 0) {
    printf("ctor-error connect\n");
  } else {
    print_local("ctor-local", fd);
  }
  close(fd);
  fflush(stdout);
}
