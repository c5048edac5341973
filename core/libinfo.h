/* libinfo.h — the versions of the libraries mlctl is built on, as the
 * libraries report them at run time. */
#ifndef MLCTL_LIBINFO_H
#define MLCTL_LIBINFO_H

struct libinfo {
	const char *name;
	char version[32];
};

/* Fills up to `max` entries; returns how many. */
int libinfo_get(struct libinfo *out, int max);

#endif
