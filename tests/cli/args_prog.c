/* args_prog.c — the program of the DWARF golden tests (`sled replay` and
 * `sled graph` naming arguments by type): one function per kind of value
 * the formatter knows (pointer and size, char and enum, bool return, a
 * small struct in one register and returned in one, a struct with an
 * integer and a floating-point half, a double argument and return, a void
 * function). Built with -g; the tests also strip a copy to check the raw
 * form. Instrumented, not linked with sled. */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define NOINLINE __attribute__((noinline))

enum color { RED, GREEN, BLUE };
struct point {
  int x;
  int y;
};
struct span {
  long lo;
  double width;
};

NOINLINE int parse_field(const char *buf, size_t len) {
  int fields = 1;
  for (size_t i = 0; i < len; i++) fields += buf[i] == ',';
  __asm__ volatile("" : "+r"(fields)::"memory");
  return fields;
}
NOINLINE bool is_sep(char c, enum color col) {
  __asm__ volatile("" ::: "memory");
  return c == ',' && col != RED;
}
NOINLINE struct point move(struct point p, short dx) {
  __asm__ volatile("" ::: "memory");
  p.x += dx;
  return p;
}
NOINLINE long span_end(struct span s, int scale) {
  __asm__ volatile("" ::: "memory");
  return s.lo + (long)s.width * scale;
}
NOINLINE double ratio(double a, int b) {
  __asm__ volatile("" ::: "memory");
  return a / b;
}
NOINLINE void note(unsigned count) { __asm__ volatile("" : : "r"(count) : "memory"); }

static const char line[] = "a,b,c";

int main(void) {
  int n = parse_field(line, 5);
  bool sep = is_sep(',', BLUE);
  struct point p = move((struct point){2, -7}, -3);
  long end = span_end((struct span){40, 1.5}, 2);
  double r = ratio(7.0, 2);
  note(9);
  printf("fields=%d sep=%d p=%d,%d end=%ld r=%.1f\n", n, sep, p.x, p.y, end, r);
  return 0;
}
