/* config_scalar.c — strict scalar syntax shared by the config loaders and
 * command-line flags: durations, percentages, rates, URLs, host:port and
 * sha256 digests. Pure functions, no diagnostics. */
#include "config.h"
#include "cfgdec.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

bool scalar_is_number(const char *s, double *out)
{
	/* [+-]? digits [. digits] [e [+-] digits], or [+-]? . digits */
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	bool digits = false;
	while (isdigit((unsigned char)*p))
		p++, digits = true;
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p))
			p++, digits = true;
	}
	if (!digits)
		return false;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p)
		return false;
	errno = 0;
	double v = strtod(s, NULL);
	if (!isfinite(v))
		return false;
	if (out)
		*out = v;
	return true;
}

bool scalar_is_int(const char *s, long long *out)
{
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	if (!isdigit((unsigned char)*p))
		return false;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p)
		return false;
	errno = 0;
	long long v = strtoll(s, NULL, 10);
	if (errno == ERANGE)
		return false;
	if (out)
		*out = v;
	return true;
}

bool scalar_is_bool(const char *s, bool *out)
{
	static const char *const t[] = { "true", "True", "TRUE" };
	static const char *const f[] = { "false", "False", "FALSE" };
	for (size_t i = 0; i < 3; i++) {
		if (strcmp(s, t[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcmp(s, f[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

int cfg_parse_duration(const char *s, long long *ms)
{
	/* one or more <number><unit> groups: 1h30m, 1.5s, 250ms */
	const char *p = s;
	double total = 0;
	if (!*p)
		return -1;
	while (*p) {
		/* decimal digits only: strtod alone would take 0x10 or 1e3 */
		char num[32];
		size_t n = strspn(p, "0123456789.");
		double v;
		if (n == 0 || n >= sizeof(num))
			return -1;
		memcpy(num, p, n);
		num[n] = '\0';
		if (!scalar_is_number(num, &v))
			return -1;
		p += n;
		double unit;
		if (strncmp(p, "ms", 2) == 0)
			unit = 1, p += 2;
		else if (*p == 's')
			unit = 1000, p++;
		else if (*p == 'm')
			unit = 60000, p++;
		else if (*p == 'h')
			unit = 3600000, p++;
		else
			return -1;
		total += v * unit;
	}
	if (total > 1e15)
		return -1;
	*ms = llround(total);
	return 0;
}

int cfg_parse_percent(const char *s, double *frac)
{
	size_t n = strlen(s);
	double v;
	if (n > 1 && s[n - 1] == '%') {
		char buf[64];
		if (n - 1 >= sizeof(buf))
			return -1;
		memcpy(buf, s, n - 1);
		buf[n - 1] = '\0';
		if (!scalar_is_number(buf, &v) || v < 0 || v > 100)
			return -1;
		*frac = v / 100.0;
		return 0;
	}
	if (!scalar_is_number(s, &v) || v < 0 || v > 1)
		return -1;
	*frac = v;
	return 0;
}

int cfg_parse_rate(const char *s, double *rate)
{
	char buf[64];
	size_t n = strlen(s);
	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n + 1);
	if (n > 2 && strcmp(buf + n - 2, "/s") == 0)
		buf[n - 2] = '\0';
	double v;
	if (!scalar_is_number(buf, &v) || v <= 0 || v > 1e9)
		return -1;
	*rate = v;
	return 0;
}

static int parse_port(const char *s, size_t len, int *port)
{
	if (len == 0 || len > 5)
		return -1;
	int v = 0;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*port = v;
	return 0;
}

static bool host_ok(const char *h, size_t len)
{
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)h[i];
		if (!isalnum(c) && c != '.' && c != '-' && c != '_')
			return false;
	}
	return true;
}

int cfg_parse_hostport(const char *s, char **host, int *port)
{
	const char *colon = strrchr(s, ':');
	if (!colon || !host_ok(s, (size_t)(colon - s)))
		return -1;
	int p;
	if (parse_port(colon + 1, strlen(colon + 1), &p))
		return -1;
	if (host)
		*host = xstrndup(s, (size_t)(colon - s));
	if (port)
		*port = p;
	return 0;
}

int cfg_parse_url(const char *s, bool require_port, char **host, int *port,
		  bool *tls)
{
	bool secure;
	const char *p;
	if (strncmp(s, "http://", 7) == 0)
		secure = false, p = s + 7;
	else if (strncmp(s, "https://", 8) == 0)
		secure = true, p = s + 8;
	else
		return -1;
	size_t hl = strcspn(p, ":/?#");
	if (!host_ok(p, hl))
		return -1;
	int pt = secure ? 443 : 80;
	const char *rest = p + hl;
	if (*rest == ':') {
		size_t pl = strcspn(rest + 1, "/?#");
		if (parse_port(rest + 1, pl, &pt))
			return -1;
		rest += 1 + pl;
	} else if (require_port) {
		return -1;
	}
	for (const char *q = rest; *q; q++)
		if ((unsigned char)*q <= ' ' || *q == 0x7f)
			return -1;
	if (host)
		*host = xstrndup(p, hl);
	if (port)
		*port = pt;
	if (tls)
		*tls = secure;
	return 0;
}

bool cfg_is_sha256(const char *s)
{
	size_t i = 0;
	for (; s[i]; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return i == 64;
}
