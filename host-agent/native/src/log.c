/*
 * Logging to stderr: "vipfarm-shim[pid]: level: function: message".
 *
 * The level comes from VIPFARM_SHIM_LOG (off|error|warn|info|debug, or 0..4; default warn). Lines
 * are formatted into a stack buffer and written with one write(2), so concurrent threads do not
 * interleave and nothing is allocated. Warnings about the environment or the rules file are
 * reported once per process (vf_log_once): a program that binds a thousand sockets under a broken
 * rules file says so once, not a thousand times.
 */
#include "shim.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static _Atomic int log_level = VF_LOG_WARN;
static atomic_bool once_done[VF_ONCE_COUNT];

static const char *const level_names[] = {"off", "error", "warn", "info", "debug"};

void vf_log_init(const char *env_value) {
  if (env_value == NULL || *env_value == '\0') return;
  for (int level = VF_LOG_OFF; level <= VF_LOG_DEBUG; level++) {
    if (strcasecmp(env_value, level_names[level]) == 0 ||
        (env_value[0] == '0' + level && env_value[1] == '\0')) {
      atomic_store(&log_level, level);
      return;
    }
  }
  vf_log(VF_LOG_WARN, __func__, "VIPFARM_SHIM_LOG=%s is not one of off|error|warn|info|debug|0-4;"
                                " using warn", env_value);
}

bool vf_log_enabled(enum vf_log_level level) {
  return level != VF_LOG_OFF && (int)level <= atomic_load_explicit(&log_level, memory_order_relaxed);
}

static void log_va(enum vf_log_level level, const char *func, const char *fmt, va_list ap) {
  int saved_errno = errno;
  char line[1024];
  int n = snprintf(line, sizeof line, "vipfarm-shim[%ld]: %s: %s: ", (long)getpid(),
                   level_names[level], func);
  if (n < 0) n = 0;
  if ((size_t)n < sizeof line) {
    int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    if (m > 0) n += m;
  }
  if ((size_t)n >= sizeof line) n = (int)sizeof line - 1;
  line[n++] = '\n';
  ssize_t ignored = write(STDERR_FILENO, line, (size_t)n);
  (void)ignored;
  errno = saved_errno;
}

void vf_log(enum vf_log_level level, const char *func, const char *fmt, ...) {
  if (!vf_log_enabled(level)) return;
  va_list ap;
  va_start(ap, fmt);
  log_va(level, func, fmt, ap);
  va_end(ap);
}

void vf_log_once(enum vf_once which, const char *func, const char *fmt, ...) {
  if (which < 0 || which >= VF_ONCE_COUNT) return;
  if (atomic_exchange(&once_done[which], true)) return;
  if (!vf_log_enabled(VF_LOG_WARN)) return;
  va_list ap;
  va_start(ap, fmt);
  log_va(VF_LOG_WARN, func, fmt, ap);
  va_end(ap);
}
