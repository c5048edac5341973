/* libinfo.c — asks each library (libyaml, libcurl, libuv, libgit2,
 * jansson, OpenSSL) for its run-time version. The one file besides the
 * wrappers that includes their headers, and only for their version calls. */
#include "libinfo.h"

#include <curl/curl.h>
#include <git2.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <uv.h>
#include <yaml.h>

int libinfo_get(struct libinfo *out, int max)
{
	int n = 0;
	if (n < max) {
		out[n].name = "libyaml";
		snprintf(out[n++].version, sizeof(out->version), "%s",
			 yaml_get_version_string());
	}
	if (n < max) {
		curl_version_info_data *c = curl_version_info(CURLVERSION_NOW);
		out[n].name = "libcurl";
		snprintf(out[n++].version, sizeof(out->version), "%s", c->version);
	}
	if (n < max) {
		out[n].name = "libuv";
		snprintf(out[n++].version, sizeof(out->version), "%s",
			 uv_version_string());
	}
	if (n < max) {
		int a = 0, b = 0, c = 0;
		git_libgit2_version(&a, &b, &c);
		out[n].name = "libgit2";
		snprintf(out[n++].version, sizeof(out->version), "%d.%d.%d", a, b, c);
	}
	if (n < max) {
		out[n].name = "jansson";
		snprintf(out[n++].version, sizeof(out->version), "%s",
			 jansson_version_str());
	}
	if (n < max) {
		out[n].name = "openssl";
		snprintf(out[n++].version, sizeof(out->version), "%s",
			 OpenSSL_version(OPENSSL_VERSION_STRING));
	}
	return n;
}
