/*
 * hwe-cpuid: prints the CPUID leaves nfd-worker decodes, in the line format of Debian's
 * `cpuid -r` ("   0x00000007 0x00: eax=0x... ebx=0x... ecx=0x... edx=0x..."), and the OS's
 * enabled XSAVE state as "xcr0=0x...". The worker runs it where /dev/cpu/N/cpuid is missing
 * (in a pod, /dev is the container's). CPUID and XGETBV need no privilege.
 */
#include <cpuid.h>
#include <stdint.h>
#include <stdio.h>

static void leaf(uint32_t l, uint32_t s) {
  uint32_t a, b, c, d;
  __cpuid_count(l, s, a, b, c, d);
  printf("   0x%08x 0x%02x: eax=0x%08x ebx=0x%08x ecx=0x%08x edx=0x%08x\n", l, s, a, b, c, d);
}

int main(void) {
  uint32_t max, maxext, a, b, c, d;
  __cpuid(0, max, b, c, d);
  __cpuid(0x80000000, maxext, b, c, d);
  printf("CPU:\n");
  for (uint32_t l = 0; l <= max && l <= 0x24; l++) leaf(l, 0);
  leaf(7, 1);
  leaf(7, 2);
  leaf(0xd, 1);
  leaf(0x40000000, 0);
  leaf(0x4000000c, 0);
  for (uint32_t l = 0x80000000; l <= maxext && l <= 0x80000021; l++) leaf(l, 0);
  __cpuid(1, a, b, c, d);
  if (c & (1u << 27)) { /* OSXSAVE: XGETBV is available */
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    printf("xcr0=0x%08x\n", lo);
  }
  return 0;
}
