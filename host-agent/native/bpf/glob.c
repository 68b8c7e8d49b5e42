/*
 * Compiles a shell glob (fnmatch(3) without flags, as the shim matches) into the form the kernel's
 * matcher runs (struct vfb_glob): a sequence of elements, each '*' or a set of bytes.
 *   literal byte    one bit;  '\x' escapes x
 *   '?'             every byte but NUL
 *   [abc] [a-z]     the bytes listed / in the ranges; [!...] and [^...] the complement (minus NUL);
 *                   ']' first in the brackets is literal; an unclosed '[' is a literal '['
 *   '*'             any run of bytes (consecutive stars are one element)
 * Not supported in kernel mode (refused, so the agent can say so): [[:class:]], [[=x=]], [[.x.]].
 */
#include "vipfarm-bpf.h"

#include <stdio.h>
#include <string.h>

static void set_bit(struct vfb_glob *g, unsigned k, unsigned char c) {
  g->sets[k][c >> 3] |= (unsigned char)(1u << (c & 7));
}

/* Parses a bracket expression at p (just after '['); returns the end (after ']') or NULL. */
static const char *bracket(const char *p, struct vfb_glob *g, unsigned k, char *error,
                           size_t error_len) {
  unsigned char set[32] = {0};
  int negate = 0;
  if (*p == '!' || *p == '^') {
    negate = 1;
    p++;
  }
  const char *start = p;
  while (*p != '\0' && (*p != ']' || p == start)) {
    if (p[0] == '[' && (p[1] == ':' || p[1] == '=' || p[1] == '.')) {
      snprintf(error, error_len, "[%c...%c] classes are not supported in kernel mode", p[1], p[1]);
      return NULL;
    }
    unsigned char lo = (unsigned char)*p++;
    unsigned char hi = lo;
    if (p[0] == '-' && p[1] != ']' && p[1] != '\0') {
      hi = (unsigned char)p[1];
      p += 2;
    }
    for (unsigned c = lo; c <= hi; c++) set[c >> 3] |= (unsigned char)(1u << (c & 7));
  }
  if (*p != ']') return NULL; /* unclosed: the caller takes '[' literally */
  for (unsigned i = 0; i < 32; i++) g->sets[k][i] = negate ? (unsigned char)~set[i] : set[i];
  g->sets[k][0] &= (unsigned char)~1u; /* never NUL */
  return p + 1;
}

int vfb_glob_compile(const char *glob, struct vfb_glob *g, char *error, size_t error_len) {
  memset(g->sets, 0, sizeof g->sets);
  g->star_mask = 0;
  unsigned k = 0;
  for (const char *p = glob; *p != '\0';) {
    if (k == VFB_GLOB_ELEMS) {
      snprintf(error, error_len, "glob '%s' has more than %d elements (kernel mode limit)", glob,
               VFB_GLOB_ELEMS);
      return -1;
    }
    if (*p == '*') {
      while (*p == '*') p++;
      g->star_mask |= 1ull << k;
      k++;
      continue;
    }
    if (*p == '?') {
      memset(g->sets[k], 0xff, 32);
      g->sets[k][0] &= (unsigned char)~1u;
      p++;
      k++;
      continue;
    }
    if (*p == '[') {
      error[0] = '\0';
      const char *end = bracket(p + 1, g, k, error, error_len);
      if (end != NULL) {
        p = end;
        k++;
        continue;
      }
      if (error[0] != '\0') return -1;
      memset(g->sets[k], 0, 32); /* unclosed: a literal '[' */
    }
    if (*p == '\\' && p[1] != '\0') p++;
    set_bit(g, k, (unsigned char)*p);
    p++;
    k++;
  }
  g->n_elems = (__u8)k;
  return 0;
}
