/* config_pipeline.c — the Pipeline document: an ordered list of stages,
 * each naming an environment (existence is checked by project.c). */
#include "config_internal.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

int cfg_pipeline_load(const char *path, struct cfg_pipeline **out,
		      struct ml_diags *d)
{
	static const char *const keys[] = { "apiVersion", "kind", "name",
					    "stages", NULL };
	static const char *const stage_keys[] = { "env", NULL };
	*out = NULL;
	struct dec dc;
	struct ydoc *doc = cfg_open(path, "Pipeline", &dc, d);
	if (!doc)
		return -1;
	const struct ydoc_node *root = ydoc_root(doc);
	struct cfg_pipeline *p = xcalloc(1, sizeof(*p));
	p->file = xstrdup(path);
	dec_map(&dc, root, keys);
	dec_name(&dc, root, "name", true, &p->name, NULL);
	const struct ydoc_node *seq = dec_field(&dc, root, "stages", true);
	if (seq) {
		size_t saved = dec_push_key(&dc, "stages");
		if (dec_seq(&dc, seq)) {
			if (seq->n_items == 0)
				dec_error(&dc, seq, "expected at least one stage");
			p->stages = xcalloc(seq->n_items, sizeof(*p->stages));
			for (size_t i = 0; i < seq->n_items; i++) {
				size_t s2 = dec_push_index(&dc, i);
				const struct ydoc_node *st = seq->items[i];
				struct cfg_name_ref *r = &p->stages[p->n_stages];
				if (dec_map(&dc, st, stage_keys) &&
				    dec_name(&dc, st, "env", true, &r->name, &r->pos)) {
					for (size_t j = 0; j < p->n_stages; j++)
						if (strcmp(p->stages[j].name, r->name) == 0) {
							size_t s3 = dec_push_key(&dc, "env");
							dec_error_pos(&dc, r->pos,
								      "environment '%s' is "
								      "already stage %zu",
								      r->name, j);
							dec_pop(&dc, s3);
						}
					p->n_stages++;
				}
				dec_pop(&dc, s2);
			}
		}
		dec_pop(&dc, saved);
	}
	ydoc_free(doc);
	if (dc.errors) {
		cfg_pipeline_free(p);
		return -1;
	}
	*out = p;
	return 0;
}

void cfg_pipeline_free(struct cfg_pipeline *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_stages; i++)
		free(p->stages[i].name);
	free(p->stages);
	free(p->name);
	free(p->file);
	free(p);
}
