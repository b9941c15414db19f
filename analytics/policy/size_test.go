package policy

import (
	"testing"
	"unsafe"
)

// The analytics README sizes the key table with 40 bytes a key here.
func TestQuestionIs40Bytes(t *testing.T) {
	if n := unsafe.Sizeof(question{}); n != 40 {
		t.Errorf("question is %d bytes, the README says 40", n)
	}
}
