/*
 * pcap_anchor: the C anchor for SeccompKit's interpreter-throughput benchmark.
 *
 * Runs a seccomp filter with libpcap's classic-BPF interpreter, bpf_filter(3PCAP), over the same inputs
 * the C# benchmark uses, checks every result against SeccompKit's (abort on any difference), then times it.
 *
 *   pcap_anchor FILTER.bpf INPUTS.bin OURS.bin [MIN_SECONDS]
 *
 * FILTER.bpf  raw struct sock_filter array as seccomp_export_bpf writes it (host order);
 * INPUTS.bin  N struct seccomp_data records, 64 bytes each, little-endian (the kernel's layout on x86_64);
 * OURS.bin    N little-endian u32: SeccompKit's Interpreter.Evaluate result for each input.
 *
 * bpf_filter reads packet words big-endian (EXTRACT_BE_U_4), so each seccomp_data is handed to it with
 * every 32-bit word byte-swapped: a LD W ABS k then sees the same value the kernel's loader gives.
 * wirelen = buflen = 64, the size of struct seccomp_data. struct bpf_insn and struct sock_filter share
 * one layout (u16 code, u8 jt, u8 jf, u32 k).
 *
 * Output: one JSON object on stdout.
 */
#define _DEFAULT_SOURCE /* u_int, u_short, u_char for pcap.h; clock_gettime */
#include <pcap/pcap.h>
#include <pcap/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SECCOMP_DATA_SIZE 64

static void *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) { perror(path); exit(2); }
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	void *buf = malloc(n > 0 ? (size_t)n : 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) { fprintf(stderr, "%s: read failed\n", path); exit(2); }
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s FILTER.bpf INPUTS.bin OURS.bin [MIN_SECONDS]\n", argv[0]);
		return 2;
	}
	double min_seconds = argc > 4 ? atof(argv[4]) : 0.5;

	size_t flen, ilen, olen;
	unsigned char *raw = read_file(argv[1], &flen);
	unsigned char *inputs = read_file(argv[2], &ilen);
	unsigned char *ours = read_file(argv[3], &olen);
	if (flen == 0 || flen % 8 || ilen == 0 || ilen % SECCOMP_DATA_SIZE || olen != ilen / SECCOMP_DATA_SIZE * 4) {
		fprintf(stderr, "bad sizes: filter %zu, inputs %zu, ours %zu\n", flen, ilen, olen);
		return 2;
	}
	size_t ninsn = flen / 8, n = ilen / SECCOMP_DATA_SIZE;

	struct bpf_insn *prog = calloc(ninsn, sizeof *prog);
	for (size_t i = 0; i < ninsn; i++) {
		const unsigned char *p = raw + 8 * i;
		prog[i].code = (u_short)(p[0] | p[1] << 8);
		prog[i].jt = p[2];
		prog[i].jf = p[3];
		prog[i].k = le32(p + 4);
	}

	/* Big-endian copies of the inputs, so bpf_filter's BE loads read the little-endian layout's words. */
	unsigned char *be = malloc(ilen);
	for (size_t i = 0; i < ilen; i += 4) {
		uint32_t w = le32(inputs + i);
		be[i] = (unsigned char)(w >> 24);
		be[i + 1] = (unsigned char)(w >> 16);
		be[i + 2] = (unsigned char)(w >> 8);
		be[i + 3] = (unsigned char)w;
	}

	for (size_t i = 0; i < n; i++) {
		uint32_t got = bpf_filter(prog, be + i * SECCOMP_DATA_SIZE, SECCOMP_DATA_SIZE, SECCOMP_DATA_SIZE);
		uint32_t want = le32(ours + 4 * i);
		if (got != want) {
			const unsigned char *d = inputs + i * SECCOMP_DATA_SIZE;
			fprintf(stderr, "MISMATCH at input %zu (nr=0x%08x arch=0x%08x): libpcap 0x%08x, SeccompKit 0x%08x\n",
				i, le32(d), le32(d + 4), got, want);
			return 1;
		}
	}

	/* Time whole sweeps: find a sweep count that takes MIN_SECONDS / 5, then time five rounds of it and report
	 * both the mean and the fastest round (the C# side reports the same two statistics over its iterations). */
	volatile uint32_t sink = 0;
	size_t sweeps = 1;
	for (;;) {
		double t0 = now();
		uint32_t acc = 0;
		for (size_t s = 0; s < sweeps; s++)
			for (size_t i = 0; i < n; i++)
				acc ^= bpf_filter(prog, be + i * SECCOMP_DATA_SIZE, SECCOMP_DATA_SIZE, SECCOMP_DATA_SIZE);
		sink ^= acc;
		if (now() - t0 >= min_seconds / 5) break;
		sweeps *= 2;
	}
	double best = 1e30, total = 0;
	for (int round = 0; round < 5; round++) {
		double t0 = now();
		uint32_t acc = 0;
		for (size_t s = 0; s < sweeps; s++)
			for (size_t i = 0; i < n; i++)
				acc ^= bpf_filter(prog, be + i * SECCOMP_DATA_SIZE, SECCOMP_DATA_SIZE, SECCOMP_DATA_SIZE);
		sink ^= acc;
		double t = now() - t0;
		total += t;
		if (t < best) best = t;
	}
	double mean = total / 5;
	double evals = (double)sweeps * (double)n;
	printf("{\"inputs\": %zu, \"instructions\": %zu, \"verified\": true, \"sweepsPerRound\": %zu, \"rounds\": 5, "
	       "\"meanRoundSeconds\": %.9f, \"bestRoundSeconds\": %.9f, "
	       "\"nsPerEvalMean\": %.4f, \"evalsPerSecondMean\": %.1f, \"nsPerEvalBest\": %.4f, \"evalsPerSecondBest\": %.1f, "
	       "\"libpcap\": \"%s\", \"sink\": %u}\n",
	       n, ninsn, sweeps, mean, best, mean * 1e9 / evals, evals / mean, best * 1e9 / evals, evals / best,
	       pcap_lib_version(), (unsigned)sink);
	free(prog); free(be); free(raw); free(inputs); free(ours);
	return 0;
}
