/* replay.c — runs a libFuzzer target's entry point over files (its seed
 * corpus) and the empty input, without libFuzzer. `make test` builds every
 * target this way with the normal compiler and flags (`make fuzz-replay`),
 * so a target that no longer builds, or that crashes or aborts on its own
 * seeds, fails the suite; `make fuzz` is the real fuzzing, with clang. */
#define _DEFAULT_SOURCE /* DT_REG */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REPLAY_MAX_INPUT (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* optional in a target (fuzz_config has one) */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Run one file; -1 when it cannot be read. */
static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	uint8_t *buf = malloc(REPLAY_MAX_INPUT);
	if (!buf) {
		fclose(f);
		return -1;
	}
	size_t n = fread(buf, 1, REPLAY_MAX_INPUT, f);
	int bad = ferror(f);
	fclose(f);
	if (!bad)
		LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return bad ? -1 : 0;
}

int main(int argc, char **argv)
{
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	size_t runs = 1;
	LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: no such file\n", argv[i]);
			return 2;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (replay_file(argv[i]) != 0) {
				fprintf(stderr, "replay: cannot read %s\n", argv[i]);
				return 2;
			}
			runs++;
			continue;
		}
		DIR *d = opendir(argv[i]);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			size_t len = strlen(argv[i]) + strlen(de->d_name) + 2;
			char *path = malloc(len);
			if (!path)
				return 2;
			snprintf(path, len, "%s/%s", argv[i], de->d_name);
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
				if (replay_file(path) != 0) {
					fprintf(stderr, "replay: cannot read %s\n", path);
					free(path);
					closedir(d);
					return 2;
				}
				runs++;
			}
			free(path);
		}
		if (d)
			closedir(d);
	}
	printf("replay: %s: %zu inputs\n", argv[0], runs);
	return 0;
}
