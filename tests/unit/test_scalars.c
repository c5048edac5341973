/* test_scalars.c — the strict scalar parsers shared by the config loaders
 * and command-line flags: durations, percentages, rates, URLs, host:port,
 * sha256 digests, and YAML's number/integer/boolean spellings. */
#include "cfgdec.h"
#include "config.h"

#include <criterion/criterion.h>
#include <stdlib.h>

static void duration_is(const char *s, long long want)
{
	long long ms = -42;
	cr_assert_eq(cfg_parse_duration(s, &ms), 0, "'%s' rejected", s);
	cr_assert_eq(ms, want, "'%s' = %lld ms, expected %lld", s, ms, want);
}

static void duration_bad(const char *s)
{
	long long ms = -42;
	cr_assert_eq(cfg_parse_duration(s, &ms), -1, "'%s' accepted as %lld ms", s,
		     ms);
}

Test(cfg_scalar, durations_in_every_unit)
{
	duration_is("250ms", 250);
	duration_is("10s", 10000);
	duration_is("2m", 120000);
	duration_is("1h", 3600000);
	duration_is("0s", 0);
	duration_is("1.5s", 1500);
	duration_is(".5s", 500);
	duration_is("1m30s", 90000);
	duration_is("1h2m3s4ms", 3723004);
	duration_is("100000h", 360000000000LL);
}

Test(cfg_scalar, durations_rejected)
{
	static const char *const bad[] = {
		"", "10", "s", "ms", "5 s", " 5s", "5s ", "-5s", "+5s", "5S",
		"5sec", "5d", "1e3s", "0x10s", "0x1p3s", "1.2.3s", ".s", "inf",
		"nan", "5s5", "1000000000000h", "5\xC2\xB5s",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		duration_bad(bad[i]);
}

static void percent_is(const char *s, double want)
{
	double f = -1;
	cr_assert_eq(cfg_parse_percent(s, &f), 0, "'%s' rejected", s);
	cr_assert_float_eq(f, want, 1e-12, "'%s' = %g, expected %g", s, f, want);
}

Test(cfg_scalar, percentages_and_fractions)
{
	percent_is("1%", 0.01);
	percent_is("0.5%", 0.005);
	percent_is("0%", 0);
	percent_is("100%", 1);
	percent_is("0.01", 0.01);
	percent_is("0", 0);
	percent_is("1", 1);
	percent_is(".25", 0.25);
}

Test(cfg_scalar, percentages_rejected)
{
	static const char *const bad[] = { "", "%", "101%", "-1%", "1.5", "-0.1",
					   "abc", "1 %", "50%%", "0x1", "nan%",
					   "inf", "1/2" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		double f = -1;
		cr_assert_eq(cfg_parse_percent(bad[i], &f), -1, "'%s' accepted as %g",
			     bad[i], f);
	}
}

Test(cfg_scalar, rates_per_second)
{
	static const struct {
		const char *s;
		double want;
	} ok[] = { { "500", 500 }, { "500/s", 500 }, { "0.5", 0.5 },
		   { "1e3", 1000 }, { "1000000000", 1e9 } };
	for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
		double r = -1;
		cr_assert_eq(cfg_parse_rate(ok[i].s, &r), 0, "'%s' rejected", ok[i].s);
		cr_assert_float_eq(r, ok[i].want, 1e-9);
	}
	static const char *const bad[] = { "", "0", "0/s", "-1", "/s", "500/m",
					   "500 /s", "fast", "1e10", "5//s" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		double r = -1;
		cr_assert_eq(cfg_parse_rate(bad[i], &r), -1, "'%s' accepted as %g",
			     bad[i], r);
	}
}

Test(cfg_scalar, urls_with_host_and_port)
{
	char *host = NULL;
	int port = 0;
	bool tls = true;
	cr_assert_eq(cfg_parse_url("http://127.0.0.1:8411", true, &host, &port, &tls), 0);
	cr_assert_str_eq(host, "127.0.0.1");
	cr_assert_eq(port, 8411);
	cr_assert_not(tls);
	free(host);
	cr_assert_eq(cfg_parse_url("https://models.example.com:8443/v2?x=1#f", true,
				   &host, &port, &tls), 0);
	cr_assert_str_eq(host, "models.example.com");
	cr_assert_eq(port, 8443);
	cr_assert(tls);
	free(host);
	/* without require_port the scheme's port applies */
	cr_assert_eq(cfg_parse_url("https://h", false, &host, &port, &tls), 0);
	cr_assert_eq(port, 443);
	free(host);
	cr_assert_eq(cfg_parse_url("http://h/x", false, &host, &port, &tls), 0);
	cr_assert_eq(port, 80);
	free(host);
	cr_assert_eq(cfg_parse_url("http://h:1", true, NULL, NULL, NULL), 0);
	cr_assert_eq(cfg_parse_url("http://h:65535/", true, NULL, NULL, NULL), 0);
}

Test(cfg_scalar, urls_rejected)
{
	static const char *const bad[] = {
		"", "http://", "http://h", "http://h/", "127.0.0.1:8411",
		"ftp://h:21", "HTTP://h:80", "file:///x", "http://:80",
		"http://h:0", "http://h:65536", "http://h:123456", "http://h:8x",
		"http://h:", "http://user@h:80", "http://h:80/a b",
		"http://h:80/\x01", "http://[::1]:80", "http://h h:80",
		"http://h:80:90",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char *host = NULL;
		cr_assert_eq(cfg_parse_url(bad[i], true, &host, NULL, NULL), -1,
			     "'%s' accepted", bad[i]);
		cr_assert_null(host);
	}
	cr_assert_eq(cfg_parse_url("ftp://h", false, NULL, NULL, NULL), -1);
	cr_assert_eq(cfg_parse_url("http:///x", false, NULL, NULL, NULL), -1);
}

Test(cfg_scalar, host_and_port)
{
	char *host = NULL;
	int port = 0;
	cr_assert_eq(cfg_parse_hostport("127.0.0.1:8410", &host, &port), 0);
	cr_assert_str_eq(host, "127.0.0.1");
	cr_assert_eq(port, 8410);
	free(host);
	cr_assert_eq(cfg_parse_hostport("localhost:1", NULL, &port), 0);
	cr_assert_eq(port, 1);
	cr_assert_eq(cfg_parse_hostport("0.0.0.0:65535", NULL, NULL), 0);
	static const char *const bad[] = { "", "127.0.0.1", ":80", "h:", "h:0",
					   "h:65536", "h:80x", "http://h:80",
					   "a b:80", "h:-1", "::1:80" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		host = NULL;
		cr_assert_eq(cfg_parse_hostport(bad[i], &host, &port), -1,
			     "'%s' accepted", bad[i]);
		cr_assert_null(host);
	}
}

Test(cfg_scalar, sha256_is_exactly_64_hex_digits)
{
	static const char ok[] =
		"e60e6567810f49f157bfe7923298268713058d86d7ad2a2c67008193ebf518a0";
	cr_assert(cfg_is_sha256(ok));
	cr_assert(cfg_is_sha256(
		"E60E6567810F49F157BFE7923298268713058D86D7AD2A2C67008193EBF518A0"));
	cr_assert_not(cfg_is_sha256(""));
	/* 63 and 65 digits */
	cr_assert_not(cfg_is_sha256(
		"e60e6567810f49f157bfe7923298268713058d86d7ad2a2c67008193ebf518a"));
	cr_assert_not(cfg_is_sha256(
		"e60e6567810f49f157bfe7923298268713058d86d7ad2a2c67008193ebf518a00"));
	cr_assert_not(cfg_is_sha256(
		"g60e6567810f49f157bfe7923298268713058d86d7ad2a2c67008193ebf518a0"));
	cr_assert_not(cfg_is_sha256(
		" 60e6567810f49f157bfe7923298268713058d86d7ad2a2c67008193ebf518a0"));
	cr_assert_not(cfg_is_sha256(
		"sha256:e60e6567810f49f157bfe7923298268713058d86d7ad2a2c67008193ebf5"));
}

Test(cfg_scalar, yaml_numbers_integers_and_booleans)
{
	double d;
	cr_assert(scalar_is_number("1e3", &d));
	cr_assert_float_eq(d, 1000, 0);
	cr_assert(scalar_is_number("-0.5", &d));
	cr_assert(scalar_is_number(".5", &d));
	cr_assert(scalar_is_number("+7", &d));
	static const char *const not_numbers[] = { "", ".", "-", "1e", "1e+",
						   "0x10", "1_000", ".inf",
						   "nan", "1e400", "1.2.3", "1 " };
	for (size_t i = 0; i < sizeof(not_numbers) / sizeof(*not_numbers); i++)
		cr_assert_not(scalar_is_number(not_numbers[i], &d), "'%s'",
			      not_numbers[i]);
	long long v;
	cr_assert(scalar_is_int("+5", &v));
	cr_assert_eq(v, 5);
	cr_assert(scalar_is_int("-9223372036854775808", &v));
	cr_assert_not(scalar_is_int("9223372036854775808", &v));
	cr_assert_not(scalar_is_int("1.0", &v));
	cr_assert_not(scalar_is_int("0x10", &v));
	bool b = false;
	cr_assert(scalar_is_bool("True", &b));
	cr_assert(b);
	cr_assert(scalar_is_bool("FALSE", &b));
	cr_assert_not(b);
	cr_assert_not(scalar_is_bool("yes", &b));
	cr_assert_not(scalar_is_bool("on", &b));
	cr_assert_not(scalar_is_bool("tRUE", &b));
}

Test(cfg_scalar, enum_names_parse_and_print)
{
	cr_assert_eq(cfg_strategy_parse("bluegreen"), CFG_STRAT_BLUEGREEN);
	cr_assert_eq(cfg_strategy_parse("blue-green"), -1);
	cr_assert_eq(cfg_gate_parse("acceptance"), CFG_GATE_ACCEPTANCE);
	cr_assert_eq(cfg_gate_parse("Smoke"), -1);
	cr_assert_str_eq(cfg_strategy_name(CFG_STRAT_CANARY), "canary");
	cr_assert_str_eq(cfg_router_driver_name(CFG_ROUTER_HAPROXY), "haproxy");
	cr_assert_str_eq(cfg_node_driver_name(CFG_NODE_EXEC), "exec");
	cr_assert_str_eq(cfg_tier_name(CFG_TIER_STAGING), "staging");
	cr_assert_str_eq(cfg_serving_mode_name(CFG_MODE_NEAR_REAL_TIME),
			 "near-real-time");
	cr_assert_str_eq(cfg_metric_name(CFG_M_RMSE), "rmse");
	cr_assert(cfg_metric_lower_is_better(CFG_M_MAE));
	cr_assert_not(cfg_metric_lower_is_better(CFG_M_EXACT));
	cr_assert_str_eq(cfg_type_v2(CFG_T_INTEGER), "INT64");
	cr_assert_str_eq(cfg_kind_name(CFG_KIND_PIPELINE), "Pipeline");
}

Test(cfg_scalar, contract_bounds_messages)
{
	struct cfg_field f = { .name = "v", .type = CFG_T_INTEGER, .has_xmin = true,
			       .xmin = 0, .has_max = true, .max = 10 };
	char msg[128];
	cr_assert(cfg_field_check_number(&f, 3, msg, sizeof(msg)));
	cr_assert_not(cfg_field_check_number(&f, 0, msg, sizeof(msg)));
	cr_assert_str_eq(msg, "must be > 0, got 0");
	cr_assert_not(cfg_field_check_number(&f, 10.5, msg, sizeof(msg)));
	cr_assert_str_eq(msg, "must be an integer, got 10.5");
	cr_assert_not(cfg_field_check_number(&f, 11, msg, sizeof(msg)));
	cr_assert_str_eq(msg, "must be <= 10, got 11");
	cr_assert_not(cfg_field_check_number(&f, 1.0 / 0.0, msg, sizeof(msg)));
	cr_assert_str_eq(msg, "must be a finite number, got inf");
}

Test(cfg_scalar, contract_bounds_print_plain_numbers)
{
	struct cfg_field f = { .name = "d", .type = CFG_T_NUMBER, .has_min = true,
			       .min = 100, .has_max = true, .max = 1e20 };
	char msg[128];
	cr_assert_not(cfg_field_check_number(&f, 50, msg, sizeof(msg)));
	cr_assert_str_eq(msg, "must be >= 100, got 50");
	cr_assert_not(cfg_field_check_number(&f, 2e20, msg, sizeof(msg)));
	cr_assert_str_eq(msg, "must be <= 1e+20, got 2e+20");
	f.min = 0.05;
	cr_assert_not(cfg_field_check_number(&f, 0.001, msg, sizeof(msg)));
	cr_assert_str_eq(msg, "must be >= 0.05, got 0.001");
}
