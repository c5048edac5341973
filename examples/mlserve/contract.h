/* contract.h — the data contract a model version was loaded with, and the
 * decoding of a V2 infer request against it. Every rule violation gives a
 * message that names the input and the rule ("input 'v': must be > 0, got
 * -3"); the caller answers 400. A contract built from the model alone (no
 * `expectations` given at load) still requires finite numbers for every
 * input the model uses. With enforcement off (mlserve --no-contract) only
 * what is needed to evaluate is checked: a JSON object with an `inputs`
 * array; anything else becomes NaN. */
#ifndef MLSERVE_CONTRACT_H
#define MLSERVE_CONTRACT_H

#include "config.h"
#include "json.h"

#include <stdbool.h>
#include <stddef.h>

struct contract {
	struct cfg_field *inputs; /* owned, names owned */
	size_t n_inputs;
	struct cfg_field *outputs;
	size_t n_outputs;
	bool declared; /* from the release's expectations, not synthesised */
};

/* Parse an `expectations` JSON object (the shape cfg_expectations_to_json
 * writes: {"inputs":{"v":{"type":"number","exclusive_min":0}},"outputs":
 * {...}}; an array of {"name",...} objects is accepted too) at token index
 * `tok` of d. Returns 0, or -1 with a message. */
int contract_from_json(struct contract *c, const struct mjson_doc *d, size_t tok,
		       char *msg, size_t msgsz);
/* Deep copy of a release's expectations. */
void contract_from_cfg(struct contract *c, const struct cfg_expectations *e);
/* A contract for a model loaded without expectations: each model input a
 * required number, the output a number. */
void contract_from_model(struct contract *c, const struct cfg_model *m);
/* Check that the model can be evaluated under the contract: every model
 * input is a declared number/integer input and the model's output is
 * declared (when outputs are declared). */
int contract_check_model(const struct contract *c, const struct cfg_model *m,
			 char *msg, size_t msgsz);
void contract_release(struct contract *c);
/* Index of the input named `name`, or -1. */
long contract_input(const struct contract *c, const char *name);

/* A decoded infer request. Values are column-major: vals[i * rows + r] is
 * row r of contract input i. Storage is reused between requests. */
struct infer_in {
	size_t rows;
	long id_tok; /* token index of the "id" string, or -1 */
	double *vals;
	size_t cap;
	long *seen; /* per contract input: token index of its entry, or -1 */
	size_t seen_cap;
};

void infer_in_release(struct infer_in *in);

/* Decode and check the parsed request `d` against c. `enforce` false is
 * --no-contract. `output` is the model's output name (for a request's
 * "outputs" list). Returns 0, or -1 with the message for a 400. */
int contract_decode(const struct contract *c, bool enforce, const char *output,
		    const struct mjson_doc *d, struct infer_in *in, char *msg,
		    size_t msgsz);

/* The V2 datatype names a field of type t accepts, e.g. FP64 also takes
 * FP32, FP16 and the integer types; true when `dt` is acceptable. */
bool contract_datatype_ok(enum cfg_type t, const char *dt);

#endif
