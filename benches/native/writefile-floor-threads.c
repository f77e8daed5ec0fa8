// Build: gcc -O2 -pthread -o writefile-floor-threads writefile-floor-threads.c;
// run: ./writefile-floor-threads DIR THREADS 2000 5 (benches/RESULTS.md,
// "writeFile: where the time goes").
// The kernel's best at any concurrency: T threads, each rewriting its own
// n files (open O_WRONLY|O_CREAT|O_TRUNC, write 4 KiB, close) for R rounds
// after 2 warm-up rounds; aggregate wall us/file and CPU us/file (process).
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
static int n, rounds; static const char *base; static pthread_barrier_t bar;
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e6 + t.tv_nsec / 1e3; }
static double cpu(void) { struct rusage u; getrusage(RUSAGE_SELF, &u); return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e6 + u.ru_utime.tv_usec + u.ru_stime.tv_usec; }
static void pass(long id) {
  char buf[4096], p[512]; memset(buf, 'a', sizeof buf);
  for (int i = 0; i < n; i++) {
    snprintf(p, sizeof p, "%s/t%ld/f%d", base, id, i);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0 || write(fd, buf, sizeof buf) != sizeof buf) { perror(p); exit(1); }
    close(fd);
  }
}
static void *worker(void *a) {
  long id = (long)a;
  pass(id); pass(id);
  pthread_barrier_wait(&bar);
  for (int r = 0; r < rounds; r++) pass(id);
  return NULL;
}
int main(int argc, char **argv) {
  base = argv[1]; int T = atoi(argv[2]); n = atoi(argv[3]) / T; rounds = atoi(argv[4]);
  mkdir(base, 0755);
  for (long t = 0; t < T; t++) { char d[512]; snprintf(d, sizeof d, "%s/t%ld", base, t); mkdir(d, 0755); }
  pthread_barrier_init(&bar, NULL, T + 1);
  pthread_t th[256];
  for (long t = 0; t < T; t++) pthread_create(&th[t], NULL, worker, (void *)t);
  pthread_barrier_wait(&bar);
  double t0 = now(), c0 = cpu();
  for (int t = 0; t < T; t++) pthread_join(th[t], NULL);
  double files = (double)n * T * rounds;
  printf("threads %2d: %.1f us/file wall, %.1f us/file cpu (%.0f files/s)\n", T, (now() - t0) / files, (cpu() - c0) / files, files / (now() - t0) * 1e6);
  return 0;
}
