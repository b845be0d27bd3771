/*
 * Strict YAML configuration reading on top of libyaml's document API.
 * Every error names file:line:column and the key path, e.g.
 *   certpull.yaml:12:7: services[0].files[1].mode: "0999" is not an octal mode
 * Unknown keys, duplicate keys, missing required keys and wrong types are
 * all errors.  Accessors return 0 on success (or when an optional key is
 * absent, leaving *out untouched) and -1 after filling the error.
 * A file is one YAML document, nested at most YCONF_MAX_DEPTH levels.
 */
#ifndef CP_YCONF_H
#define CP_YCONF_H

#include <sys/types.h>

#include <yaml.h>

#include "err.h"

/* Our schemas nest 4 levels; 64 leaves room and bounds the parse. */
#define YCONF_MAX_DEPTH		64
#define YCONF_MAX_DEPTH_TEXT	"64"

struct yconf {
	const char	*file;
	yaml_document_t	 doc;
	int		 loaded;
	struct err	*e;
};

/* Parses path; the root must be a mapping.  0, or -1 with e set. */
int	yconf_load(struct yconf *y, const char *path, struct err *e);
/* Parses an in-memory document named name (for tests). */
int	yconf_load_string(struct yconf *y, const char *name, const char *text,
	    size_t len, struct err *e);
void	yconf_free(struct yconf *y);
yaml_node_t *yconf_root(struct yconf *y);

/* Formats an error at node's position for the key path where. Returns -1. */
int	yconf_error(struct yconf *y, yaml_node_t *node, const char *where,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Checks that node is a mapping whose keys are all scalars in allowed
 * (NULL-terminated), none repeated, and that every key in required is
 * present.
 */
int	yconf_map(struct yconf *y, yaml_node_t *node, const char *where,
	    const char *const *allowed, const char *const *required);
/* The value of key in map, or NULL. */
yaml_node_t *yconf_get(struct yconf *y, yaml_node_t *map, const char *key);
/* Checks node is a sequence; *n receives its length. */
int	yconf_seq(struct yconf *y, yaml_node_t *node, const char *where, size_t *n);
yaml_node_t *yconf_item(struct yconf *y, yaml_node_t *seq, size_t i);

/* Typed values of key in map.  Strings are malloc'd (caller frees). */
int	yconf_str(struct yconf *y, yaml_node_t *map, const char *where,
	    const char *key, char **out);
int	yconf_uint(struct yconf *y, yaml_node_t *map, const char *where,
	    const char *key, unsigned long min, unsigned long max, unsigned long *out);
int	yconf_bool(struct yconf *y, yaml_node_t *map, const char *where,
	    const char *key, int *out);
/* An octal file mode written "0640". */
int	yconf_mode(struct yconf *y, yaml_node_t *map, const char *where,
	    const char *key, mode_t *out);
/* A user or group name (or number) that must exist on this system. */
int	yconf_user(struct yconf *y, yaml_node_t *map, const char *where,
	    const char *key, uid_t *out);
int	yconf_group(struct yconf *y, yaml_node_t *map, const char *where,
	    const char *key, gid_t *out);
/*
 * A sequence of scalars (at most max), as a NULL-terminated malloc'd
 * array of malloc'd strings; free with yconf_strv_free.
 */
int	yconf_strv(struct yconf *y, yaml_node_t *map, const char *where,
	    const char *key, size_t max, char ***out, size_t *n);
void	yconf_strv_free(char **v);

#endif
