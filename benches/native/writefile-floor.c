// Build: gcc -O2 -o writefile-floor writefile-floor.c; run: ./writefile-floor DIR 2000 4
// (benches/RESULTS.md, "writeFile: where the time goes").
// Kernel floor per file: open(O_WRONLY|O_CREAT|O_TRUNC), write 4 KiB, close,
// one thread, timing each syscall (wall, CLOCK_MONOTONIC) and the thread's CPU.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
static double now(clockid_t c) { struct timespec t; clock_gettime(c, &t); return t.tv_sec * 1e6 + t.tv_nsec / 1e3; }
int main(int argc, char **argv) {
  const char *dir = argv[1]; int n = atoi(argv[2]); int rounds = atoi(argv[3]);
  char buf[4096]; memset(buf, 'a', sizeof buf); char p[4096];
  mkdir(dir, 0755);
  for (int r = 0; r < rounds; r++) {
    double o = 0, w = 0, c = 0, t0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_THREAD_CPUTIME_ID);
    double co = 0, cw = 0, cc = 0;
    for (int i = 0; i < n; i++) {
      snprintf(p, sizeof p, "%s/f%d", dir, i);
      double a = now(CLOCK_MONOTONIC), ca = now(CLOCK_THREAD_CPUTIME_ID);
      int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
      double b = now(CLOCK_MONOTONIC), cb = now(CLOCK_THREAD_CPUTIME_ID);
      if (write(fd, buf, sizeof buf) != sizeof buf) return 1;
      double d = now(CLOCK_MONOTONIC), cd = now(CLOCK_THREAD_CPUTIME_ID);
      close(fd);
      double e = now(CLOCK_MONOTONIC), ce = now(CLOCK_THREAD_CPUTIME_ID);
      o += b - a; w += d - b; c += e - d; co += cb - ca; cw += cd - cb; cc += ce - cd;
    }
    double t = now(CLOCK_MONOTONIC) - t0, ct = now(CLOCK_THREAD_CPUTIME_ID) - c0;
    printf("round %d: %.1f us/file wall (open %.1f, write %.1f, close %.1f); cpu %.1f us/file (open %.1f, write %.1f, close %.1f)\n",
           r, t / n, o / n, w / n, c / n, ct / n, co / n, cw / n, cc / n);
  }
  return 0;
}
