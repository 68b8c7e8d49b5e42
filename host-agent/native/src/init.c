/*
 * Start-up: the real symbols, the environment, the first read of the rules.
 *
 * vf_init() runs init_once exactly once per process through pthread_once. It is called from our
 * constructor AND at the top of every hook: another library's constructor may call connect()
 * before ours has run (tests/ctor_lib.c proves it). init_once marks the thread as "inside the
 * shim" first, so a hooked call made while initialising goes straight to the real function (or
 * the raw syscall while the symbol is not loaded yet) instead of recursing into pthread_once.
 *
 * Nothing here ever exits or aborts: a missing symbol falls back to the raw syscall, a missing
 * or bad environment means pass-through, and each is reported once on stderr.
 */
#include "hooks.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct vf_libc vf_libc;
__thread int vf_in_shim __attribute__((tls_model("initial-exec")));
bool vf_session_enabled;

static pthread_once_t init_control = PTHREAD_ONCE_INIT;
static __thread const char *init_caller;

static void load_symbols(void) {
#define VF_LOAD_SYMBOL(name, sysno, mandatory) \
  { \
    union { \
      void *obj; \
      VF_##name##_RET(*fn) VF_##name##_PARAMS; \
    } sym; \
    sym.obj = dlsym(RTLD_NEXT, #name); \
    if (sym.fn == name) { /* circular interposition: the "next" one is us */ \
      VF_ERROR("dlsym(RTLD_NEXT, \"%s\") returned the shim's own wrapper", #name); \
      sym.fn = NULL; \
    } \
    if (sym.fn == NULL && (mandatory)) { \
      vf_log_once(VF_ONCE_SYMBOL_MISSING, __func__, \
                  "real %s not found: calling the kernel directly", #name); \
    } \
    vf_libc.name = sym.fn; \
  }
  VF_HOOKED_CALLS(VF_LOAD_SYMBOL)
  VF_VARIADIC_CALLS(VF_LOAD_SYMBOL)
  VF_RESOLVER_CALLS(VF_LOAD_SYMBOL)
#undef VF_LOAD_SYMBOL
}

/* Session ids become a file name: letters, digits, '.', '_', '-', not starting with '.'. */
static bool valid_session_id(const char *id) {
  size_t n = strlen(id);
  if (n == 0 || n > 128 || id[0] == '.') return false;
  return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static void init_once(void) {
  int saved_errno = errno; /* the first hooked call may be any close() or dup(): leave no trace */
  vf_in_shim++;
  vf_log_init(getenv("VIPFARM_SHIM_LOG"));
  load_symbols();
  VF_DEBUG("initialising (first call: %s)", init_caller != NULL ? init_caller : "?");

  const char *session = getenv("VIPFARM_SESSION");
  const char *run_dir = getenv("VIPFARM_RUN_DIR");
  if (session == NULL || session[0] == '\0') {
    VF_DEBUG("VIPFARM_SESSION is not set: passing everything through");
  } else if (!valid_session_id(session)) {
    vf_log_once(VF_ONCE_BAD_SESSION, __func__,
                "VIPFARM_SESSION '%s' is not a valid session id: passing everything through",
                session);
  } else if (run_dir == NULL || run_dir[0] != '/') {
    vf_log_once(VF_ONCE_NO_RUN_DIR, __func__,
                "VIPFARM_RUN_DIR is %s: passing everything through",
                run_dir == NULL ? "not set" : "not an absolute path");
  } else {
    struct vf_program prog;
    vf_program_detect(&prog);
    vf_rules_start(run_dir, session, &prog);
    vf_session_enabled = true;
  }
  vf_in_shim--;
  errno = saved_errno;
}

void vf_init(const char *caller) {
  init_caller = caller;
  pthread_once(&init_control, init_once);
}

__attribute__((constructor)) static void vf_constructor(void) { vf_init("constructor"); }
