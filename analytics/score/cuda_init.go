//go:build cuda

package score

// gorgonia.org/cu calls cuInit from its package init and exits the process
// when it fails, which is what happens on a machine without a GPU. This
// file defines cuInit in the executable itself, so that cu's call binds
// here instead of to libcuda: it calls the driver's cuInit (found with
// RTLD_NEXT), records the result, and reports success to cu. NewCUDA then
// turns a recorded failure into an *EngineError, and the process lives on.

/*
#cgo LDFLAGS: -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <cuda.h>

static int cachet_cuinit_result = -1;

CUresult CUDAAPI cuInit(unsigned int flags) {
	CUresult (*driver)(unsigned int) = (CUresult (*)(unsigned int))dlsym(RTLD_NEXT, "cuInit");
	cachet_cuinit_result = driver ? (int)driver(flags) : (int)CUDA_ERROR_NO_DEVICE;
	return CUDA_SUCCESS;
}

static int cachet_cuinit(void) { return cachet_cuinit_result; }
static int cachet_cuinit_again(void) { return (int)cuInit(0), cachet_cuinit_result; }
*/
import "C"

import "fmt"

// CUDA driver result codes this package tells apart.
const (
	cudaSuccess      = 0
	cudaNoDevice     = 100
	cudaInvalidDev   = 101
	cudaNotInitState = -1
)

// driverInit returns the driver's answer to cuInit, calling it if cu's
// package init has not.
func driverInit() error {
	r := int(C.cachet_cuinit())
	if r == cudaNotInitState {
		r = int(C.cachet_cuinit_again())
	}
	switch r {
	case cudaSuccess:
		return nil
	case cudaNoDevice, cudaInvalidDev:
		return ErrNoDevice
	default:
		return fmt.Errorf("cuInit: CUDA driver error %d", r)
	}
}
