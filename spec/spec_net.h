#ifndef CIM_SPEC_SPEC_NET_H
#define CIM_SPEC_SPEC_NET_H
struct cim_net_spec { char name[64]; };
#endif
