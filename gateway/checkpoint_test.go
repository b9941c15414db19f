package gateway_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/record"
)

func TestFileCheckpointerPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "relay.checkpoint")
	c, err := gateway.OpenFileCheckpointer(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Last(); ok {
		t.Fatal("a new checkpoint must report no position")
	}
	for _, p := range []record.Position{{Block: 3, TxIndex: 0}, {Block: 3, TxIndex: 7}, {Block: 9, TxIndex: 1}} {
		if err := c.Save(p); err != nil {
			t.Fatal(err)
		}
	}
	reopened, err := gateway.OpenFileCheckpointer(path)
	if err != nil {
		t.Fatal(err)
	}
	if pos, ok := reopened.Last(); !ok || pos != (record.Position{Block: 9, TxIndex: 1}) {
		t.Fatalf("reopened at %v %v, want 9:1", pos, ok)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

func TestFileCheckpointerIgnoresTornTemporaryFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cp")
	c, _ := gateway.OpenFileCheckpointer(path)
	if err := c.Save(record.Position{Block: 5, TxIndex: 2}); err != nil {
		t.Fatal(err)
	}
	// A crash between write and rename leaves a partial temporary file.
	if err := os.WriteFile(filepath.Join(dir, ".cp.123"), []byte(`{"v":1,"blo`), 0o600); err != nil {
		t.Fatal(err)
	}
	reopened, err := gateway.OpenFileCheckpointer(path)
	if err != nil {
		t.Fatal(err)
	}
	if pos, _ := reopened.Last(); pos != (record.Position{Block: 5, TxIndex: 2}) {
		t.Fatalf("got %v, want 5:2", pos)
	}
}

func TestFileCheckpointerRefusesCorruptFile(t *testing.T) {
	for name, content := range map[string]string{"torn": `{"v":1,"blo`, "future": `{"v":2,"block":1}`} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cp")
			os.WriteFile(path, []byte(content), 0o600)
			_, err := gateway.OpenFileCheckpointer(path)
			var ce *gateway.CorruptCheckpointError
			if !errors.As(err, &ce) || ce.Path != path {
				t.Fatalf("got %v, want CorruptCheckpointError", err)
			}
		})
	}
}
