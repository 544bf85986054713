#ifndef PSR_CHDF5_SHIM_H
#define PSR_CHDF5_SHIM_H
#include <hdf5.h>
// HDF5 exposes its type ids and property-list defaults as macros that expand to
// global variables after library initialisation; Swift cannot import them, so
// these functions return them.
static inline hid_t psr_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t psr_h5t_native_int32(void) { return H5T_NATIVE_INT32; }
static inline hid_t psr_h5t_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t psr_h5t_native_uint64(void) { return H5T_NATIVE_UINT64; }
static inline hid_t psr_h5t_std_u64le(void) { return H5T_STD_U64LE; }
static inline hid_t psr_h5t_ieee_f16le(void) {
#ifdef H5T_IEEE_F16LE
  return H5T_IEEE_F16LE;
#else
  return -1;
#endif
}
static inline hid_t psr_h5t_c_s1(void) { return H5T_C_S1; }
static inline hid_t psr_h5t_ieee_f32le(void) { return H5T_IEEE_F32LE; }
static inline hid_t psr_h5t_std_i32le(void) { return H5T_STD_I32LE; }
static inline hid_t psr_h5t_std_i64le(void) { return H5T_STD_I64LE; }
static inline hid_t psr_h5e_default(void) { return H5E_DEFAULT; }
static inline hid_t psr_h5p_file_access(void) { return H5P_FILE_ACCESS; }
static inline hid_t psr_h5p_link_create(void) { return H5P_LINK_CREATE; }
static inline hid_t psr_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t psr_h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t psr_h5s_all(void) { return H5S_ALL; }
static inline hsize_t psr_h5s_unlimited(void) { return H5S_UNLIMITED; }
static inline unsigned psr_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline unsigned psr_h5f_acc_rdwr(void) { return H5F_ACC_RDWR; }
static inline unsigned psr_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
#endif
