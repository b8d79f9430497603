/* Seed source for the elf fuzzer corpus (testdata/fuzz/elf/), also used by
   src/symbolize/symbolizer_test.cc. Regenerate with:
     gcc -O0 -g   -Wl,-z,noseparate-code -o tiny_O0_g.elf tiny.c
     gcc -O2 -g -gz=zlib -Wl,-z,noseparate-code -o tiny_O2_gz.elf tiny.c
     gcc -O2 -g0  -Wl,-z,noseparate-code -o tiny_g0.elf tiny.c
     head -c 3000 tiny_O0_g.elf > truncated.elf */
#include <stdio.h>

static inline __attribute__((always_inline)) int tiny_leaf(int x) {
  return x * 3 + 1; /* tiny_leaf body */
}

__attribute__((noinline)) int tiny_add(int a, int b) {
  int r = tiny_leaf(a) + b; /* tiny_add calls tiny_leaf */
  return r;
}

int main(int argc, char** argv) {
  printf("%d\n", tiny_add(argc, 2));
  return 0;
}
