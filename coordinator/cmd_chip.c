#include "cli.h"
int cim_cmd_chip(int argc, char **argv) { (void)argc; (void)argv; return 1; }
