#ifndef CIM_SPEC_SPEC_CHIP_H
#define CIM_SPEC_SPEC_CHIP_H
struct cim_chip_spec { char name[64]; };
#endif
