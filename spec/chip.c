#include "schema.h"
static const struct field f[] = { FSTR("name", struct cim_chip_spec, name, FIELD_REQUIRED, "name") };
SCHEMA(s, "chip", f, true);
int spec_read_chip(const struct tnode *node, const char *path, struct cim_chip_spec *out, struct cim_err *err)
{ return spec_read_map(node, &s, path, out, err); }
