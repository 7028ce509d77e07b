/*
 * Runs one Xen release's own libxlutil (compiled beside this file by build.mjs) on one input and
 * prints what it made of it as one line of JSON.
 *
 *   harness cfg FILE     xlu_cfg_readdata on the file's bytes (as xl create does after reading the
 *                        file), then, per setting name, what xlu_cfg_get_string, xlu_cfg_get_long
 *                        and xlu_cfg_get_list (items by xlu_cfg_get_listitem, nested values by
 *                        xlu_cfg_get_listitem2 where the release has it) return; for a `disk`
 *                        list, xlu_disk_parse of each string item, as xl's parse_config_data does
 *   harness disk SPEC    xlu_disk_parse(cfg, 1, &SPEC, &disk) on a freshly initialised disk
 *   harness rate RATE    xlu_vif_parse_rate(cfg, RATE, &nic) on a freshly initialised nic
 *
 * Strings are printed byte for byte: every byte >= 0x80 as \u00XX (its Latin-1 code point).
 * "report" is what libxlutil wrote to its report stream. Feature macros (HAVE_*) and the generated
 * gen_libxl.h (init functions and field printers from the release's own _libxl_types.h/.c) come
 * from build.mjs.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "libxlu_internal.h"

static FILE *report;
static char *report_buf;
static size_t report_len, report_seen;

static void json_str(const char *s, size_t n) {
  putchar('"');
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"') fputs("\\\"", stdout);
    else if (c == '\\') fputs("\\\\", stdout);
    else if (c < 0x20 || c >= 0x7f) printf("\\u%04x", c);
    else putchar(c);
  }
  putchar('"');
}
static void json_cstr(const char *s) {
  if (!s) fputs("null", stdout);
  else json_str(s, strlen(s));
}

/* What libxlutil reported since the last call. */
static void json_report(void) {
  fflush(report);
  json_str(report_buf + report_seen, report_len - report_seen);
  report_seen = report_len;
}

#include "gen_libxl.h"

#ifdef HAVE_DONT_WARN
#define DW , 1
#else
#define DW
#endif
#ifdef HAVE_LIST_DONT_WARN
#define LDW , 1
#else
#define LDW
#endif

#ifdef HAVE_LISTITEM2
static void json_value(XLU_Config *cfg, XLU_ConfigValue *v) {
  if (xlu_cfg_value_type(v) == XLU_STRING) {
    char *s;
    xlu_cfg_value_get_string(cfg, v, &s, 1);
    json_cstr(s);
    return;
  }
  XLU_ConfigList *l;
  xlu_cfg_value_get_list(cfg, v, &l, 1);
  putchar('[');
  for (int i = 0;; i++) {
    XLU_ConfigValue *item = xlu_cfg_get_listitem2(l, i);
    if (!item) break;
    if (i) putchar(',');
    json_value(cfg, item);
  }
  putchar(']');
}
#endif

#ifdef HAVE_DISK
static void disk_one(XLU_Config *cfg, const char *spec) {
  libxl_device_disk disk;
  gen_disk_init(&disk);
  const char *specs[1] = {spec};
  errno = 0;
  int rc = xlu_disk_parse(cfg, 1, specs, &disk);
  printf("{\"spec\":");
  json_cstr(spec);
  printf(",\"rc\":%d,\"report\":", rc);
  json_report();
  if (!rc) {
    printf(",\"disk\":{");
    gen_disk_print(&disk);
    putchar('}');
  }
  putchar('}');
}
#endif

static int mode_cfg(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); return 2; }
  char *data = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    if (n == cap) { cap = cap ? cap * 2 : 65536; data = realloc(data, cap); }
    size_t r = fread(data + n, 1, cap - n, f);
    if (!r) break;
    n += r;
  }
  fclose(f);
  XLU_Config *cfg = xlu_cfg_init(report, "config");
#ifdef HAVE_READDATA
  int rc = xlu_cfg_readdata(cfg, data, (int)n);
#else
  /* 4.0.x has only xlu_cfg_readfile, which xl create calls on the file. */
  int rc = xlu_cfg_readfile(cfg, path);
#endif
  printf("{\"rc\":%d,\"report\":", rc);
  json_report();
  if (rc) { puts("}"); return 0; }
  /* Every setting as stored, newest first (the getters find the first of a name). */
  printf(",\"settings\":[");
  int first = 1;
  for (XLU_ConfigSetting *s = cfg->settings; s; s = s->next) {
    printf("%s{\"name\":", first ? "" : ",");
    json_cstr(s->name);
    printf(",\"lineno\":%d", s->lineno);
#ifdef HAVE_OP
    printf(",\"op\":\"%s\"", s->op == XLU_OP_ADDITION ? "+=" : "=");
#endif
    putchar('}');
    first = 0;
  }
  printf("],\"values\":{");
  first = 1;
  for (XLU_ConfigSetting *s = cfg->settings; s; s = s->next) {
    int seen = 0;
    for (XLU_ConfigSetting *t = cfg->settings; t != s; t = t->next)
      if (!strcmp(t->name, s->name)) seen = 1;
    if (seen) continue;
    const char *name = s->name;
    if (!first) putchar(',');
    first = 0;
    json_cstr(name);
    const char *str = NULL;
    long l = 0;
    XLU_ConfigList *list = NULL;
    int entries = 0;
    errno = 0;
    int rs = xlu_cfg_get_string(cfg, name, &str DW);
    printf(":{\"string\":{\"rc\":%d", rs);
    if (!rs) { printf(",\"value\":"); json_cstr(str); }
    printf(",\"report\":");
    json_report();
    errno = 0;
    int rl = xlu_cfg_get_long(cfg, name, &l DW);
    printf("},\"long\":{\"rc\":%d", rl);
    if (!rl) printf(",\"value\":%ld", l);
    printf(",\"report\":");
    json_report();
    errno = 0;
    int rli = xlu_cfg_get_list(cfg, name, &list, &entries LDW);
    printf("},\"list\":{\"rc\":%d", rli);
    if (!rli) {
      printf(",\"entries\":%d,\"items\":[", entries);
      for (int i = 0; i < entries; i++) {
        if (i) putchar(',');
        json_cstr(xlu_cfg_get_listitem(list, i));
      }
      putchar(']');
#ifdef HAVE_LISTITEM2
      printf(",\"values\":[");
      for (int i = 0; i < entries; i++) {
        if (i) putchar(',');
        json_value(cfg, xlu_cfg_get_listitem2(list, i));
      }
      putchar(']');
#endif
    }
    printf(",\"report\":");
    json_report();
    printf("}}");
  }
  putchar('}');
#ifdef HAVE_DISK
  XLU_ConfigList *disks;
  int ndisks;
  if (!xlu_cfg_get_list(cfg, "disk", &disks, &ndisks LDW)) {
    printf(",\"disks\":[");
    for (int i = 0; i < ndisks; i++) {
      const char *spec = xlu_cfg_get_listitem(disks, i);
      if (i) putchar(',');
      if (!spec) { fputs("null", stdout); continue; }
      /* xl parses each disk with a config of its own (parse_disk_config). */
      XLU_Config *dcfg = xlu_cfg_init(report, "config");
      disk_one(dcfg, spec);
    }
    putchar(']');
  }
  fflush(report);
  report_seen = report_len;
#endif
  puts("}");
  return 0;
}

int main(int argc, char **argv) {
  report = open_memstream(&report_buf, &report_len);
  if (argc != 3) {
    fprintf(stderr, "usage: harness cfg FILE | disk SPEC | rate RATE\n");
    return 2;
  }
  if (!strcmp(argv[1], "cfg")) return mode_cfg(argv[2]);
#ifdef HAVE_DISK
  if (!strcmp(argv[1], "disk")) {
    disk_one(xlu_cfg_init(report, "config"), argv[2]);
    putchar('\n');
    return 0;
  }
#endif
#ifdef HAVE_VIF
  if (!strcmp(argv[1], "rate")) {
    XLU_Config *cfg = xlu_cfg_init(report, "config");
    libxl_device_nic nic;
    gen_nic_init(&nic);
    errno = 0;
    int rc = xlu_vif_parse_rate(cfg, argv[2], &nic);
    printf("{\"rc\":%d,\"report\":", rc);
    json_report();
    if (!rc)
      printf(",\"bytes_per_interval\":%llu,\"interval_usecs\":%llu", (unsigned long long)nic.rate_bytes_per_interval,
             (unsigned long long)nic.rate_interval_usecs);
    puts("}");
    return 0;
  }
#endif
  printf("{\"unsupported\":true}\n");
  return 0;
}
