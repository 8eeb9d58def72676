/* fake_nvml.c - placeholder; the fake NVML lands with the NVML backend. */
int nvmlInit_v2(void);
int nvmlInit_v2(void)
{
    return 12; /* NVML_ERROR_LIBRARY_NOT_FOUND */
}
