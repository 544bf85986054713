#ifndef PSR_CBLAS_SHIM_H
#define PSR_CBLAS_SHIM_H
#include <cblas.h>
// OpenBLAS extensions, declared here so Swift sees them even where cblas.h omits them.
int openblas_get_num_threads(void);
void openblas_set_num_threads(int num_threads);
#endif
