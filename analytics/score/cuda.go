//go:build cuda

package score

import (
	"context"
	_ "embed"
	"errors"
	"runtime"
	"sync"
	"unsafe"

	"gorgonia.org/cu"
)

// scorePTX is kernels/score.cu compiled by nvcc (flags pinned in
// mk/analytics.mk; `make cuda-check` verifies it is fresh).
//
//go:embed kernels/score.ptx
var scorePTX string

// blockSize is the number of threads per CUDA block.
const blockSize = 256

// CUDA scores batches on the first CUDA device with the kernel in
// kernels/score.cu. Its results match the golden vectors within the same
// bounds as the CPU scorer.
type CUDA struct {
	mu     sync.Mutex
	ctx    cu.CUContext
	fn     cu.Function
	bufs   [9]cu.DevicePtr
	keys   int // capacity of bufs, in keys
	closed bool
}

// fieldSizes are the element sizes of the nine Batch arrays, in order.
var fieldSizes = [9]int64{8, 8, 8, 8, 8, 8, 8, 4, 1}

// NewCUDA opens the first CUDA device and loads the kernel. Without a device
// it returns an *EngineError wrapping ErrNoDevice.
func NewCUDA() (Scorer, error) {
	if err := driverInit(); err != nil {
		return nil, &EngineError{Engine: "cuda", Op: "init", Err: err}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	n, err := cu.NumDevices()
	if err != nil {
		return nil, engineErr("init", err)
	}
	if n == 0 {
		return nil, &EngineError{Engine: "cuda", Op: "init", Err: ErrNoDevice}
	}
	ctx, err := cu.Device(0).MakeContext(cu.SchedAuto)
	if err != nil {
		return nil, engineErr("create context", err)
	}
	mod, err := cu.LoadData(scorePTX)
	if err != nil {
		_ = ctx.Destroy()
		return nil, engineErr("load module", err)
	}
	fn, err := mod.Function("score")
	if err != nil {
		_ = ctx.Destroy()
		return nil, engineErr("find kernel", err)
	}
	return &CUDA{ctx: ctx, fn: fn}, nil
}

// engineErr wraps a cu error, mapping the driver's "no device" answers to
// ErrNoDevice so callers can tell it from a real failure.
func engineErr(op string, err error) error {
	if s := err.Error(); s == "NoDevice" || s == "InvalidDevice" || s == "NoBinaryForGPU" {
		err = errors.Join(ErrNoDevice, err)
	}
	return &EngineError{Engine: "cuda", Op: op, Err: err}
}

// Name implements Scorer.
func (*CUDA) Name() string { return "cuda" }

// Score implements Scorer: copy the inputs in, run one thread per key, copy
// the outputs back.
func (c *CUDA) Score(ctx context.Context, p Params, b *Batch) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if err := b.check(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	n := b.Len()
	if n == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return &EngineError{Engine: "cuda", Op: "score", Err: errors.New("scorer closed")}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cu.SetCurrentContext(c.ctx); err != nil {
		return engineErr("set context", err)
	}
	if err := c.reserve(n); err != nil {
		return err
	}
	host := [9]unsafe.Pointer{
		unsafe.Pointer(&b.WriteRate[0]), unsafe.Pointer(&b.ReadRate[0]), unsafe.Pointer(&b.MaxAge[0]), unsafe.Pointer(&b.TopWriterRate[0]),
		unsafe.Pointer(&b.PStale[0]), unsafe.Pointer(&b.ExpectedStale[0]), unsafe.Pointer(&b.Conflict[0]),
		unsafe.Pointer(&b.RecMaxAge[0]), unsafe.Pointer(&b.Action[0]),
	}
	for i := range 4 {
		if err := cu.MemcpyHtoD(c.bufs[i], host[i], int64(n)*fieldSizes[i]); err != nil {
			return engineErr("copy to device", err)
		}
	}
	k := newConsts(p)
	n64 := int64(n)
	args := []unsafe.Pointer{
		unsafe.Pointer(&n64),
		unsafe.Pointer(&k.xTarget), unsafe.Pointer(&k.window), unsafe.Pointer(&k.conflict), unsafe.Pointer(&k.pinHorizon),
		unsafe.Pointer(&k.minAge), unsafe.Pointer(&k.maxAge), unsafe.Pointer(&k.minAgeU), unsafe.Pointer(&k.maxAgeU),
	}
	for i := range c.bufs {
		args = append(args, unsafe.Pointer(&c.bufs[i]))
	}
	grid := min((n+blockSize-1)/blockSize, 1<<16)
	if err := c.fn.LaunchAndSync(grid, 1, 1, blockSize, 1, 1, 0, cu.Stream{}, args); err != nil {
		return engineErr("launch", err)
	}
	for i := 4; i < 9; i++ {
		if err := cu.MemcpyDtoH(host[i], c.bufs[i], int64(n)*fieldSizes[i]); err != nil {
			return engineErr("copy from device", err)
		}
	}
	return nil
}

// reserve makes the device buffers hold at least n keys.
func (c *CUDA) reserve(n int) error {
	if n <= c.keys {
		return nil
	}
	c.free()
	want := n + n/4
	for i := range c.bufs {
		ptr, err := cu.MemAlloc(int64(want) * fieldSizes[i])
		if err != nil {
			c.free()
			return engineErr("allocate", err)
		}
		c.bufs[i] = ptr
	}
	c.keys = want
	return nil
}

func (c *CUDA) free() {
	for i, ptr := range c.bufs {
		if ptr != 0 {
			_ = cu.MemFree(ptr)
			c.bufs[i] = 0
		}
	}
	c.keys = 0
}

// Close frees the device memory and the context.
func (c *CUDA) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cu.SetCurrentContext(c.ctx); err != nil {
		return engineErr("set context", err)
	}
	c.free()
	if err := c.ctx.Destroy(); err != nil {
		return engineErr("destroy context", err)
	}
	return nil
}
