/* ledger.c — opening the ledger repository and writing records: one commit
 * per record on env/<name> (manifest, state, carried-forward rejections),
 * the author fallback, and moving the deployment tag. Reading the ledger
 * back is ledger_read.c; what a record means is the caller's business. */
#define _XOPEN_SOURCE 700 /* nftw, gethostname */
#include "ledger_internal.h"
#include "sbuf.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "exitcode.h"
#include "util.h"

/* How long a writer keeps retrying when other processes move the same
 * branch or hold a ref's lock file: attempts x backoff ~ 2 s. */
#define RECORD_ATTEMPTS 80
#define RECORD_BACKOFF_MS 25

/* ---- Errors and small helpers ----------------------------------------- */

int ledger_git_err(struct ml_err *err, int rc, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	const git_error *ge = git_error_last();
	if (ge && ge->message && *ge->message)
		return ml_err_set(err, ML_EXIT_OPERATIONAL, "ledger: %s: %s",
				  what, ge->message);
	return ml_err_set(err, ML_EXIT_OPERATIONAL, "ledger: %s: error %d",
			  what, rc);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* mkdir -p; 0 or -1 with errno. */
static int mkdir_p(const char *path)
{
	char *p = xstrdup(path);
	int rc = 0;
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0777) == -1 && errno != EEXIST) {
			rc = -1;
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	if (rc == 0 && !path_is_dir(path)) {
		errno = ENOTDIR;
		rc = -1;
	}
	free(p);
	return rc;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void rm_rf(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int check_refname(const char *refname, const char *what,
			 struct ml_err *err)
{
	int valid = 0;
	if (git_reference_name_is_valid(&valid, refname) < 0 || !valid)
		return ml_err_set(err, ML_EXIT_USAGE,
				  "ledger: %s makes an invalid git ref name '%s'",
				  what, refname);
	return 0;
}

int ledger_branch_ref(const char *env, char **out, struct ml_err *err)
{
	*out = NULL;
	if (!env || !*env)
		return ml_err_set(err, ML_EXIT_USAGE,
				  "ledger: no environment name");
	char *ref = xasprintf("refs/heads/env/%s", env);
	char what[160];
	snprintf(what, sizeof(what), "environment name '%s'", env);
	if (check_refname(ref, what, err) < 0) {
		free(ref);
		return -1;
	}
	*out = ref;
	return 0;
}

int ledger_tag_ref(const char *env, const char *model, const char *version,
		   char **out, struct ml_err *err)
{
	*out = NULL;
	char *ref = xasprintf("refs/tags/%s/%s/%s", env, model, version);
	char what[200];
	snprintf(what, sizeof(what), "release %s %s in '%s'", model, version,
		 env);
	if (check_refname(ref, what, err) < 0) {
		free(ref);
		return -1;
	}
	*out = ref;
	return 0;
}

int ledger_tip(struct ledger *l, const char *refname, git_commit **out,
	       struct ml_err *err)
{
	*out = NULL;
	git_oid id;
	int rc = git_reference_name_to_id(&id, l->repo, refname);
	if (rc == GIT_ENOTFOUND)
		return 0;
	if (rc < 0)
		return ledger_git_err(err, rc, "cannot read %s", refname);
	rc = git_commit_lookup(out, l->repo, &id);
	if (rc < 0)
		return ledger_git_err(err, rc, "cannot read the tip of %s",
				      refname);
	return 0;
}

int ledger_blob_of(struct ledger *l, git_commit *c, const char *name,
		   char **out, size_t *len, struct ml_err *err)
{
	git_tree *tree = NULL;
	git_blob *blob = NULL;
	int ret = -1;
	*out = NULL;
	if (len)
		*len = 0;
	int rc = git_commit_tree(&tree, c);
	if (rc < 0) {
		ledger_git_err(err, rc, "cannot read the tree of commit %s",
			       git_oid_tostr_s(git_commit_id(c)));
		goto out;
	}
	const git_tree_entry *te = git_tree_entry_byname(tree, name);
	if (!te || git_tree_entry_type(te) != GIT_OBJECT_BLOB) {
		ret = 0;
		goto out;
	}
	rc = git_blob_lookup(&blob, l->repo, git_tree_entry_id(te));
	if (rc < 0) {
		ledger_git_err(err, rc, "cannot read %s of commit %s", name,
			       git_oid_tostr_s(git_commit_id(c)));
		goto out;
	}
	size_t n = (size_t)git_blob_rawsize(blob);
	*out = xstrndup(git_blob_rawcontent(blob), n);
	if (len)
		*len = n;
	ret = 0;
out:
	git_blob_free(blob);
	git_tree_free(tree);
	return ret;
}

int ledger_rejected_of(struct ledger *l, git_commit *c, json_t **out,
		       struct ml_err *err)
{
	char *text = NULL;
	size_t len = 0;
	*out = NULL;
	if (c && ledger_blob_of(l, c, LEDGER_FILE_REJECTED, &text, &len, err) < 0)
		return -1;
	if (!text) {
		*out = json_array();
		return 0;
	}
	json_error_t je;
	json_t *arr = json_loadb(text, len, 0, &je);
	free(text);
	if (!arr || !json_is_array(arr)) {
		json_decref(arr);
		return ml_err_set(err, ML_EXIT_OPERATIONAL,
				  "ledger: %s of commit %s is not a JSON array",
				  LEDGER_FILE_REJECTED,
				  git_oid_tostr_s(git_commit_id(c)));
	}
	*out = arr;
	return 0;
}

/* ---- Opening ---------------------------------------------------------- */

/* Whether `path` is a directory with nothing in it (rename() may replace
 * it with the new repository). */
static bool dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return false;
	bool empty = true;
	struct dirent *e;
	while (empty && (e = readdir(d)))
		empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
	closedir(d);
	return empty;
}

/* Create the bare repository in a temporary directory beside `path` and
 * rename it into place, so a concurrent opener sees either nothing or a
 * whole repository. Losing the rename race to another process is fine. */
static int create_repo(const char *state_dir, const char *path,
		       struct ml_err *err)
{
	char *tmp = path_join(state_dir, ".ledger-new-XXXXXX");
	git_repository *repo = NULL;
	git_config *cfg = NULL;
	int ret = -1;
	if (!mkdtemp(tmp)) {
		ml_err_set(err, ML_EXIT_OPERATIONAL,
			   "ledger: cannot create a directory in %s: %s",
			   state_dir, strerror(errno));
		free(tmp);
		return -1;
	}
	mode_t mask = umask(0);
	umask(mask);
	chmod(tmp, 0777 & ~mask);

	git_repository_init_options opts = GIT_REPOSITORY_INIT_OPTIONS_INIT;
	opts.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH;
	opts.description = "mlctl ledger: branch env/<name> per environment, "
			   "tags <env>/<model>/<version>";
	int rc = git_repository_init_ext(&repo, tmp, &opts);
	if (rc < 0) {
		ledger_git_err(err, rc, "cannot create a repository in %s", tmp);
		goto out;
	}
	/* Reflogs for every ref: the tags move, and their history is audit
	 * trail too. */
	rc = git_repository_config(&cfg, repo);
	if (rc == 0)
		rc = git_config_set_string(cfg, "core.logAllRefUpdates",
					   "always");
	if (rc < 0) {
		ledger_git_err(err, rc, "cannot configure %s", tmp);
		goto out;
	}
	git_config_free(cfg);
	cfg = NULL;
	git_repository_free(repo);
	repo = NULL;
	if (rename(tmp, path) == -1 && errno != EEXIST && errno != ENOTEMPTY) {
		ml_err_set(err, ML_EXIT_OPERATIONAL,
			   "ledger: cannot create %s: %s", path,
			   strerror(errno));
		goto out;
	}
	ret = 0;
out:
	git_config_free(cfg);
	git_repository_free(repo);
	rm_rf(tmp); /* gone after a successful rename */
	free(tmp);
	return ret;
}

int ledger_open(const char *state_dir, struct ledger **out,
		struct ml_err *err)
{
	struct ledger *l = NULL;
	*out = NULL;
	if (git_libgit2_init() < 0)
		return ledger_git_err(err, -1, "cannot initialise libgit2");
	/* The state dir may belong to another user (CI caches, sudo). */
	git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
	/* The audit trail should survive a power cut. */
	git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);

	l = xcalloc(1, sizeof(*l));
	if (mkdir_p(state_dir) < 0) {
		ml_err_set(err, ML_EXIT_OPERATIONAL,
			   "ledger: cannot create state directory %s: %s",
			   state_dir, strerror(errno));
		goto fail;
	}
	l->path = path_join(state_dir, "ledger");
	unsigned flags = GIT_REPOSITORY_OPEN_NO_SEARCH | GIT_REPOSITORY_OPEN_BARE;
	int rc = git_repository_open_ext(&l->repo, l->path, flags, NULL);
	if (rc == GIT_ENOTFOUND) {
		/* none yet: make one, unless another process has just put
		 * its own in place (create_repo renames a finished one in) */
		if ((!path_is_dir(l->path) || dir_is_empty(l->path)) &&
		    create_repo(state_dir, l->path, err) < 0)
			goto fail;
		git_error_clear();
		rc = git_repository_open_ext(&l->repo, l->path, flags, NULL);
	}
	if (rc < 0) {
		ledger_git_err(err, rc, "cannot open %s", l->path);
		goto fail;
	}
	*out = l;
	return 0;
fail:
	ledger_free(l);
	return -1;
}

void ledger_free(struct ledger *l)
{
	if (!l)
		return;
	git_repository_free(l->repo);
	free(l->path);
	free(l);
	git_libgit2_shutdown();
}

const char *ledger_path(const struct ledger *l)
{
	return l->path;
}

/* ---- Author ----------------------------------------------------------- */

/* Trimmed copy without the characters a git signature refuses. */
static char *clean_ident(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *o = xmalloc(strlen(s) + 1), *p = o;
	for (; *s; s++)
		if (*s != '<' && *s != '>' && (unsigned char)*s >= 0x20)
			*p++ = *s;
	while (p > o && isspace((unsigned char)p[-1]))
		p--;
	*p = '\0';
	return o;
}

static char *config_string(git_config *cfg, const char *key)
{
	git_buf buf = { 0 };
	char *v = NULL;
	if (cfg && git_config_get_string_buf(&buf, cfg, key) == 0 && buf.ptr)
		v = clean_ident(buf.ptr);
	git_buf_dispose(&buf);
	if (v && !*v) {
		free(v);
		v = NULL;
	}
	return v;
}

static char *system_email(void)
{
	return user_at_host();
}

/* The signature of this record: git config, else MLCTL_AUTHOR, else the
 * system's user@host (DESIGN.md "Ledger"). */
static int resolve_author(git_signature **out, struct ml_err *err)
{
	git_config *cfg = NULL;
	char *name = NULL, *email = NULL;
	/* libgit2 guesses HOME / XDG_CONFIG_HOME once, at its first init,
	 * which may predate this process's environment changes (a library
	 * that initialised it earlier, a test): guess again now. */
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL, NULL);
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_XDG, NULL);
	if (git_config_open_default(&cfg) < 0) {
		git_error_clear();
		cfg = NULL; /* an unreadable config is not a reason to stop */
	}
	name = config_string(cfg, "user.name");
	if (name)
		email = config_string(cfg, "user.email");
	git_config_free(cfg);

	const char *env = getenv("MLCTL_AUTHOR");
	if (!name && env && *env) {
		const char *lt = strchr(env, '<'), *gt = strrchr(env, '>');
		if (lt && gt && gt > lt) {
			char *n = xstrndup(env, (size_t)(lt - env));
			char *m = xstrndup(lt + 1, (size_t)(gt - lt - 1));
			name = clean_ident(n);
			email = clean_ident(m);
			free(n);
			free(m);
		} else {
			name = clean_ident(env);
		}
		if (!*name) {
			free(name);
			free(email);
			name = email = NULL;
		}
	}
	if (!name)
		name = user_name();
	if (!email || !*email) {
		free(email);
		email = system_email();
	}
	int rc = git_signature_now(out, name, email);
	if (rc < 0)
		ledger_git_err(err, rc, "cannot use author '%s <%s>'", name,
			       email);
	free(name);
	free(email);
	return rc < 0 ? -1 : 0;
}

/* ---- Composing a record ----------------------------------------------- */

static const char *const outcomes[] = {
	LEDGER_OUTCOME_DEPLOYED,     LEDGER_OUTCOME_ROLLED_BACK,
	LEDGER_OUTCOME_ABORTED,      LEDGER_OUTCOME_REJECTED,
	LEDGER_OUTCOME_GATES_PASSED, LEDGER_OUTCOME_GATES_FAILED,
	LEDGER_OUTCOME_FAILED,       LEDGER_OUTCOME_PAUSED,
};

static bool one_line(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static int validate(const struct ledger_record *r, struct ml_err *err)
{
#define BAD(...) ml_err_set(err, ML_EXIT_USAGE, "ledger: " __VA_ARGS__)
	if (!r->env || !*r->env)
		return BAD("record without an environment");
	if (!r->action || !*r->action)
		return BAD("record without an action");
	for (const char *s = r->action; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || *s == '-'))
			return BAD("bad action '%s' (a lowercase word)",
				   r->action);
	bool known = false;
	for (size_t i = 0; r->outcome && i < sizeof(outcomes) / sizeof(*outcomes);
	     i++)
		known = known || strcmp(r->outcome, outcomes[i]) == 0;
	if (!known)
		return BAD("bad outcome '%s'", r->outcome ? r->outcome : "");
	if (!r->model != !r->version || (r->model && (!*r->model || !*r->version)))
		return BAD("record needs both a model and a version, or neither");
	const char *fields[] = { r->env, r->model, r->version, r->strategy,
				 r->detail };
	for (size_t i = 0; i < sizeof(fields) / sizeof(*fields); i++)
		if (!one_line(fields[i]))
			return BAD("control character in '%s'", fields[i]);
	if ((r->reject || r->unreject || r->tag) && !r->model)
		return BAD("reject/unreject/tag need a model and a version");
	if (r->reject && r->unreject)
		return BAD("a record cannot both reject and unreject");
	if (r->manifest == NULL && r->manifest_len)
		return BAD("manifest length without bytes");
#undef BAD
	return 0;
}

/* The first line: what happened, readable in `git log --oneline`. */
static char *summary_line(const struct ledger_record *r)
{
	char *what;
	if (!r->model)
		what = xasprintf("%s %s", r->action, r->env);
	else if (strcmp(r->action, LEDGER_ACTION_ROLLBACK) == 0)
		what = xasprintf("%s %s to %s %s", r->action, r->env, r->model,
				 r->version);
	else if (strcmp(r->action, LEDGER_ACTION_GATE) == 0 ||
		 strcmp(r->action, LEDGER_ACTION_ABORT) == 0)
		what = xasprintf("%s %s %s in %s", r->action, r->model,
				 r->version, r->env);
	else
		what = xasprintf("%s %s %s to %s", r->action, r->model,
				 r->version, r->env);
	char *s = xasprintf("%s%s%s%s: %s%s%s%s", what,
			    r->strategy && *r->strategy ? " (" : "",
			    r->strategy && *r->strategy ? r->strategy : "",
			    r->strategy && *r->strategy ? ")" : "", r->outcome,
			    r->detail && *r->detail ? " (" : "",
			    r->detail && *r->detail ? r->detail : "",
			    r->detail && *r->detail ? ")" : "");
	free(what);
	return s;
}

/* Whitespace runs (newlines included) folded to one space, trimmed. */
static char *fold_ws(const char *s)
{
	char *o = xmalloc(strlen(s) + 1), *p = o;
	bool space = false;
	for (; *s; s++) {
		if (isspace((unsigned char)*s) || (unsigned char)*s < 0x20) {
			space = p > o;
			continue;
		}
		if (space)
			*p++ = ' ';
		space = false;
		*p++ = *s;
	}
	*p = '\0';
	return o;
}


static void trailer(struct sbuf *b, const char *key, const char *value)
{
	if (!value || !*value)
		return;
	char *v = fold_ws(value);
	if (*v)
		sbuf_printf(b, "%s: %s\n", key, v);
	free(v);
}

static char *message(const struct ledger_record *r, const char *summary)
{
	struct sbuf b = SBUF_INIT;
	sbuf_printf(&b, "%s\n\n", summary);
	if (r->body && *r->body) {
		size_t n = strlen(r->body);
		while (n && (r->body[n - 1] == '\n' || r->body[n - 1] == ' '))
			n--;
		if (n)
			sbuf_printf(&b, "%.*s\n\n", (int)n, r->body);
	}
	trailer(&b, "Action", r->action);
	trailer(&b, "Outcome", r->outcome);
	trailer(&b, "Environment", r->env);
	trailer(&b, "Model", r->model);
	trailer(&b, "Version", r->version);
	trailer(&b, "Strategy", r->strategy);
	if (r->duration_s > 0) {
		char d[64];
		snprintf(d, sizeof(d), "%.3fs", r->duration_s);
		trailer(&b, "Duration", d);
	}
	trailer(&b, "Detail", r->detail);
	trailer(&b, "Reason", r->reason);
	if (r->reject || r->unreject) {
		char *mv = xasprintf("%s %s", r->model, r->version);
		trailer(&b, r->reject ? "Rejected" : "Unrejected", mv);
		free(mv);
	}
	return b.s;
}

static void iso_now(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Apply the record's reject/unreject to the parent's list (in place). */
static void apply_rejection(json_t *arr, const struct ledger_record *r,
			    const git_signature *who)
{
	if (!r->reject && !r->unreject)
		return;
	size_t i;
	json_t *it;
	json_array_foreach(arr, i, it) {
		const char *m = json_string_value(json_object_get(it, "model"));
		const char *v = json_string_value(json_object_get(it, "version"));
		if (m && v && !strcmp(m, r->model) && !strcmp(v, r->version))
			break;
	}
	if (r->unreject) {
		if (i < json_array_size(arr))
			json_array_remove(arr, i);
		return;
	}
	char when[32];
	iso_now(when);
	json_t *o = json_object();
	json_object_set_new(o, "model", json_string(r->model));
	json_object_set_new(o, "version", json_string(r->version));
	json_object_set_new(o, "reason", json_string(r->reason ? r->reason : ""));
	json_object_set_new(o, "when", json_string(when));
	json_object_set_new(o, "by", json_string(who->name));
	if (i < json_array_size(arr))
		json_array_set_new(arr, i, o); /* re-rejected: newest reason */
	else
		json_array_append_new(arr, o);
}

static int blob(struct ledger *l, const void *buf, size_t len, git_oid *id,
		const char *what, struct ml_err *err)
{
	int rc = git_blob_create_from_buffer(id, l->repo, buf, len);
	if (rc < 0)
		return ledger_git_err(err, rc, "cannot write %s", what);
	return 0;
}

static bool retryable(int rc)
{
	return rc == GIT_EMODIFIED || rc == GIT_EEXISTS || rc == GIT_ELOCKED;
}

/* ---- Writing ---------------------------------------------------------- */

/* One attempt: build the tree on the current tip and move the branch from
 * that tip to the new commit. Returns 0, a retryable libgit2 code when
 * another writer got there first, or -1 with err filled. */
static int commit_once(struct ledger *l, const struct ledger_record *r,
		       const char *refname, const char *msg,
		       const char *summary, const git_signature *sig,
		       const git_oid *manifest_id, const git_oid *state_id,
		       git_oid *commit_id, struct ml_err *err)
{
	git_commit *parent = NULL;
	git_treebuilder *tb = NULL;
	git_tree *tree = NULL;
	git_reference *ref = NULL;
	json_t *rejected = NULL;
	char *rtext = NULL;
	int ret = -1, rc;

	if (ledger_tip(l, refname, &parent, err) < 0 ||
	    ledger_rejected_of(l, parent, &rejected, err) < 0)
		goto out;
	apply_rejection(rejected, r, sig);
	char *dump = json_dumps(rejected, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	rtext = xasprintf("%s\n", dump ? dump : "[]");
	free(dump);

	git_oid rejected_id, tree_id;
	if (blob(l, rtext, strlen(rtext), &rejected_id, LEDGER_FILE_REJECTED,
		 err) < 0)
		goto out;
	if ((rc = git_treebuilder_new(&tb, l->repo, NULL)) < 0 ||
	    (manifest_id &&
	     (rc = git_treebuilder_insert(NULL, tb, LEDGER_FILE_MANIFEST,
					  manifest_id, GIT_FILEMODE_BLOB)) < 0) ||
	    (rc = git_treebuilder_insert(NULL, tb, LEDGER_FILE_STATE, state_id,
					 GIT_FILEMODE_BLOB)) < 0 ||
	    (rc = git_treebuilder_insert(NULL, tb, LEDGER_FILE_REJECTED,
					 &rejected_id, GIT_FILEMODE_BLOB)) < 0 ||
	    (rc = git_treebuilder_write(&tree_id, tb)) < 0 ||
	    (rc = git_tree_lookup(&tree, l->repo, &tree_id)) < 0) {
		ledger_git_err(err, rc, "cannot write the tree of a record");
		goto out;
	}
	const git_commit *parents[1] = { parent };
	rc = git_commit_create(commit_id, l->repo, NULL, sig, sig, NULL, msg,
			       tree, parent ? 1 : 0, parents);
	if (rc < 0) {
		ledger_git_err(err, rc, "cannot write the commit of a record");
		goto out;
	}
	/* Compare-and-swap: the branch must still be where we read it. */
	char *logmsg = xasprintf("mlctl: %s", summary);
	if (parent)
		rc = git_reference_create_matching(&ref, l->repo, refname,
						   commit_id, 1,
						   git_commit_id(parent), logmsg);
	else
		rc = git_reference_create(&ref, l->repo, refname, commit_id, 0,
					  logmsg);
	free(logmsg);
	if (retryable(rc)) {
		git_error_clear();
		ret = rc;
		goto out;
	}
	if (rc < 0) {
		ledger_git_err(err, rc, "cannot move %s", refname);
		goto out;
	}
	ret = 0;
out:
	free(rtext);
	json_decref(rejected);
	git_reference_free(ref);
	git_tree_free(tree);
	git_treebuilder_free(tb);
	git_commit_free(parent);
	return ret;
}

/* Writers of one ledger take turns: a POSIX record lock on
 * <ledger>/mlctl-write.lock, held around a record's commit and tag. The
 * compare-and-swap on the branch alone is not enough: libgit2 checks "the
 * branch does not exist yet" outside the ref's lock, so two first records
 * of a branch could both land and one be lost. -1 with err when the lock
 * cannot be had within ~4 s; else the descriptor (closing it unlocks). */
#define WRITE_LOCK_POLL_MS 5
#define WRITE_LOCK_TRIES 800

static int write_lock(struct ledger *l, struct ml_err *err)
{
	char *path = path_join(l->path, "mlctl-write.lock");
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		ml_err_set(err, ML_EXIT_OPERATIONAL, "ledger: cannot open %s: %s",
			   path, strerror(errno));
		free(path);
		return -1;
	}
	struct flock fl;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	for (int i = 0;; i++) {
		if (fcntl(fd, F_SETLK, &fl) == 0)
			break;
		if ((errno != EACCES && errno != EAGAIN && errno != EINTR) ||
		    i == WRITE_LOCK_TRIES) {
			ml_err_set(err, ML_EXIT_OPERATIONAL,
				   "ledger: cannot lock %s: %s", path,
				   errno == EACCES || errno == EAGAIN
					   ? "another writer holds it"
					   : strerror(errno));
			close(fd);
			free(path);
			return -1;
		}
		sleep_ms(WRITE_LOCK_POLL_MS);
	}
	free(path);
	return fd;
}

static int move_tag(struct ledger *l, const char *tagref,
		    const git_oid *commit_id, const char *summary,
		    const git_signature *sig, struct ml_err *err)
{
	git_object *target = NULL;
	const char *name = tagref + strlen("refs/tags/");
	int rc = git_object_lookup(&target, l->repo, commit_id, GIT_OBJECT_COMMIT);
	if (rc == 0) {
		char *msg = xasprintf("%s\n", summary);
		git_oid tag_id;
		for (int i = 0; i < RECORD_ATTEMPTS; i++) {
			rc = git_tag_create(&tag_id, l->repo, name, target, sig,
					    msg, 1);
			if (rc != GIT_ELOCKED)
				break;
			git_error_clear();
			sleep_ms(RECORD_BACKOFF_MS);
		}
		free(msg);
	}
	git_object_free(target);
	if (rc < 0)
		return ledger_git_err(err, rc, "cannot move tag %s", name);
	return 0;
}

int ledger_record(struct ledger *l, const struct ledger_record *r,
		  char oid_hex[41], struct ml_err *err)
{
	char *refname = NULL, *tagref = NULL, *summary = NULL, *msg = NULL;
	char *state = NULL;
	git_signature *sig = NULL;
	int ret = -1;

	if (oid_hex)
		oid_hex[0] = '\0';
	if (validate(r, err) < 0 || ledger_branch_ref(r->env, &refname, err) < 0)
		goto out;
	if (r->tag && ledger_tag_ref(r->env, r->model, r->version, &tagref, err) < 0)
		goto out;

	const char *sj = r->state_json ? r->state_json : "{}";
	size_t sl = strlen(sj);
	json_error_t je;
	json_t *parsed = json_loadb(sj, sl, JSON_DECODE_ANY, &je);
	if (!parsed) {
		ml_err_set(err, ML_EXIT_USAGE,
			   "ledger: state of the record is not JSON: line %d: %s",
			   je.line, je.text);
		goto out;
	}
	json_decref(parsed);
	state = xasprintf("%s%s", sj, sl && sj[sl - 1] == '\n' ? "" : "\n");

	if (resolve_author(&sig, err) < 0)
		goto out;
	/* Reflog entries carry the same identity as the commits. */
	git_repository_set_ident(l->repo, sig->name, sig->email);
	summary = summary_line(r);
	msg = message(r, summary);

	git_oid manifest_id, state_id, commit_id;
	if ((r->manifest && blob(l, r->manifest, r->manifest_len, &manifest_id,
				 LEDGER_FILE_MANIFEST, err) < 0) ||
	    blob(l, state, strlen(state), &state_id, LEDGER_FILE_STATE, err) < 0)
		goto out;

	int lock_fd = write_lock(l, err);
	if (lock_fd < 0)
		goto out;
	int rc = GIT_EMODIFIED;
	for (int i = 0; i < RECORD_ATTEMPTS && retryable(rc); i++) {
		if (i)
			sleep_ms(RECORD_BACKOFF_MS / 2 +
				 (long)(now_ns() % RECORD_BACKOFF_MS));
		rc = commit_once(l, r, refname, msg, summary, sig,
				 r->manifest ? &manifest_id : NULL, &state_id,
				 &commit_id, err);
	}
	if (rc < 0) {
		if (retryable(rc))
			ml_err_set(err, ML_EXIT_OPERATIONAL,
				   "ledger: %s kept moving under other writers; "
				   "record not written", refname);
		close(lock_fd);
		goto out;
	}
	rc = tagref ? move_tag(l, tagref, &commit_id, summary, sig, err) : 0;
	close(lock_fd);
	if (rc < 0)
		goto out;
	if (oid_hex)
		git_oid_tostr(oid_hex, 41, &commit_id);
	ret = 0;
out:
	git_signature_free(sig);
	free(state);
	free(msg);
	free(summary);
	free(tagref);
	free(refname);
	return ret;
}
