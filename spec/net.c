#include "schema.h"
static const struct field f[] = { FSTR("name", struct cim_net_spec, name, FIELD_REQUIRED, "name") };
SCHEMA(s, "net", f, true);
int spec_read_net(const struct tnode *node, const char *path, struct cim_net_spec *out, struct cim_err *err)
{ return spec_read_map(node, &s, path, out, err); }
