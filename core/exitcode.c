/* exitcode.c — text of each exit status, generated from ML_EXIT_LIST. */
#include "exitcode.h"

#include <stddef.h>

const char *ml_exit_text(int code)
{
	switch (code) {
#define ML_EXIT_CASE(name, num, text)                                         \
	case num:                                                             \
		return text;
		ML_EXIT_LIST(ML_EXIT_CASE)
#undef ML_EXIT_CASE
	}
	return NULL;
}
