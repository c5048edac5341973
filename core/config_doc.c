/* config_doc.c — opening a config document (read, compose, check the
 * apiVersion/kind header) and peeking at a file's kind. */
#include "config_internal.h"
#include "util.h"

#include <string.h>

struct ydoc *cfg_open(const char *path, const char *kind, struct dec *dc,
		      struct ml_diags *d)
{
	struct ydoc *doc = NULL;
	if (ydoc_load_file(path, &doc, d))
		return NULL;
	dec_init(dc, path, d);
	const struct ydoc_node *root = ydoc_root(doc);
	if (root->kind != YDOC_MAP) {
		dec_error(dc, root, "expected a mapping at the top of the file, "
				    "found %s",
			  ydoc_describe(root));
		ydoc_free(doc);
		return NULL;
	}
	dec_header(dc, root, kind);
	return doc;
}

enum cfg_kind cfg_peek_kind(const char *path)
{
	struct ml_diags d = ML_DIAGS_INIT;
	struct ydoc *doc = NULL;
	enum cfg_kind k = CFG_KIND_UNKNOWN;
	if (ydoc_load_file(path, &doc, &d) == 0) {
		const struct ydoc_node *v = ydoc_get(ydoc_root(doc), "kind");
		if (v && v->kind == YDOC_SCALAR) {
			for (int i = CFG_KIND_ENVIRONMENT; i <= CFG_KIND_PIPELINE; i++)
				if (strcmp(v->str, cfg_kind_name((enum cfg_kind)i)) == 0)
					k = (enum cfg_kind)i;
		}
	}
	ydoc_free(doc);
	ml_diags_release(&d);
	return k;
}

char *cfg_peek_name(const char *path)
{
	struct ml_diags d = ML_DIAGS_INIT;
	struct ydoc *doc = NULL;
	char *name = NULL;
	if (ydoc_load_file(path, &doc, &d) == 0) {
		const struct ydoc_node *v = ydoc_get(ydoc_root(doc), "name");
		if (v && v->kind == YDOC_SCALAR && !ydoc_is_null(v))
			name = xstrdup(v->str);
	}
	ydoc_free(doc);
	ml_diags_release(&d);
	return name;
}
